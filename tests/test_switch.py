"""``INTEGRATIONS_ENABLED = False`` switches every integration of an app off,
while the admin pages keep managing configurations."""

from __future__ import annotations

import html
import typing as t

import pytest
from blinker import Namespace
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_integrations import (
    FlaskIntegrations,
    SignalHook,
    integration_enabled,
    record_deliveries,
)
from flask_integrations.delivery import DeliveryJob, get_log, run_job
from flask_integrations.testing import IntegrationsReceiver

from .conftest import SimpleIntegration, make_app
from .delivery_support import HookIntegration

sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])

PREFIX = "/integrations"
HOOK = HookIntegration.integration_id
NOTICE = "Integrations are switched off"

ticket_opened = Namespace().signal("ticket-opened")


class Listening(SimpleIntegration):
    """Records the signals it hears while enabled."""

    integration_id = "tests.listening"

    def __init__(self, integration_mgr: t.Any) -> None:
        super().__init__(integration_mgr)
        self.heard: list[t.Any] = []

    def initialize(self) -> None:
        super().initialize()
        SignalHook(self, ticket_opened, self.on_ticket)

    def on_ticket(self, sender: t.Any, **kwargs: t.Any) -> None:
        self.heard.append(sender)


@pytest.fixture
def app_config() -> dict[str, t.Any]:
    return {
        "INTEGRATIONS_ENABLED": False,
        "INTEGRATIONS_DISPATCHER": "sync",
        "INTEGRATIONS_OUTBOUND_ALLOWLIST": ["127.0.0.1"],
    }


@pytest.fixture
def receiver() -> t.Iterator[IntegrationsReceiver]:
    with IntegrationsReceiver() as receiver:
        yield receiver


@pytest.fixture
def listening(manager: t.Any, integrations: FlaskIntegrations) -> t.Any:
    integrations.register(Listening)
    return manager.get_integration(Listening.integration_id)


@pytest.fixture
def hook(manager: t.Any, integrations: FlaskIntegrations) -> t.Any:
    integrations.register(HookIntegration)
    return manager.get_integration(HOOK)


def text(response: t.Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_it_defaults_to_true(db: SQLAlchemy, integrations: FlaskIntegrations) -> None:
    app = make_app("sqlite://", db, integrations)
    assert app.config["INTEGRATIONS_ENABLED"] is True


def test_no_integration_is_enabled_and_no_hook_connects(
    listening: t.Any, client: t.Any
) -> None:
    with integration_enabled.connected_to(lambda sender: pytest.fail("enabled")):
        listening.create_config(name="on", enabled=True, save=True)
        client.get(f"{PREFIX}/")
        listening.enable_integration()

    ticket_opened.send("ticket 1")

    assert listening.enabled is False
    assert listening.initialize_calls == 0
    assert listening.hooks == set()
    assert listening.heard == []


def test_send_event_queues_nothing(hook: t.Any, receiver: IntegrationsReceiver) -> None:
    config = hook.create_config(
        name="ops", enabled=True, settings={"url": receiver.url}, save=True
    )

    with record_deliveries() as outbox:
        assert hook.send_event("ticket.created", {"n": 1}) == []
    assert outbox == []
    assert receiver.requests == []
    assert get_log(hook.integration_mgr, config.id) == []


@sqlite_only
def test_a_worker_of_a_switched_off_app_drops_its_jobs(
    app: Flask, hook: t.Any, receiver: IntegrationsReceiver
) -> None:
    config = hook.create_config(
        name="ops", enabled=True, settings={"url": receiver.url}, save=True
    )
    job = DeliveryJob("d1", config.id, HOOK, "ticket.created", {"n": 1})

    assert run_job(app, job) is None
    assert receiver.requests == []


@sqlite_only
def test_the_admin_pages_keep_managing_configurations(
    hook: t.Any, client: t.Any, receiver: IntegrationsReceiver
) -> None:
    listed = client.get(f"{PREFIX}/")
    assert NOTICE in text(listed)
    assert "INTEGRATIONS_ENABLED to False" in text(listed)

    added = client.post(
        f"{PREFIX}/{HOOK}/configs/add/",
        data={"name": "ops", "enabled": "y", "url": receiver.url},
    )
    assert added.status_code == 302
    [config] = hook.integration_mgr.get_integration_configs(HOOK)
    page = client.get(f"{PREFIX}/{HOOK}/configs/{config.id}/")
    assert NOTICE in text(page)

    saved = client.post(
        f"{PREFIX}/{HOOK}/configs/{config.id}/",
        data={"name": "renamed", "enabled": "y", "url": receiver.url},
    )
    assert saved.status_code == 302
    toggled = client.post(f"{PREFIX}/{HOOK}/configs/{config.id}/toggle/")
    assert toggled.status_code == 302
    assert [(c.name, c.enabled) for c in hook.get_configs(enabled=False)] == [
        ("renamed", False)
    ]
    deleted = client.post(f"{PREFIX}/{HOOK}/configs/{config.id}/delete/")
    assert deleted.status_code == 302
    assert hook.integration_mgr.get_integration_configs(HOOK) == []
    assert hook.enabled is False
    assert receiver.requests == []


@sqlite_only
def test_send_test_and_redeliver_send_nothing(
    hook: t.Any, client: t.Any, receiver: IntegrationsReceiver
) -> None:
    config = hook.create_config(
        name="ops", enabled=True, settings={"url": receiver.url}, save=True
    )
    tested = client.post(f"{PREFIX}/{HOOK}/configs/{config.id}/test/")
    assert "The test failed." in text(tested)
    assert "'INTEGRATIONS_ENABLED' is False): nothing was sent." in text(tested)

    # A delivery logged before the switch went off.
    hook.integration_mgr.app.config["INTEGRATIONS_ENABLED"] = True
    client.get(f"{PREFIX}/")
    [job] = hook.send_event("ticket.created", {"n": 1})
    hook.integration_mgr.app.config["INTEGRATIONS_ENABLED"] = False
    redelivered = client.post(
        f"{PREFIX}/{HOOK}/configs/{config.id}/deliveries/{job.delivery_id}/redeliver/",
        follow_redirects=True,
    )
    assert "nothing was queued" in text(redelivered)
    assert len(receiver.requests) == 1


def test_another_app_with_it_true_behaves_normally(listening: t.Any) -> None:
    listening.create_config(name="on", enabled=True, save=True)
    db = SQLAlchemy()
    integrations = FlaskIntegrations(db=db)
    integrations.register(Listening)
    other = make_app("sqlite://", db, integrations, name="other")
    try:
        with other.app_context():
            db.create_all()
            other_listening = integrations.manager.get_integration(
                Listening.integration_id
            )
            other_listening.create_config(name="on", enabled=True, save=True)
            assert other_listening.enabled is True
            ticket_opened.send("ticket 2")
            assert other_listening.heard == ["ticket 2"]
        assert listening.enabled is False
        assert listening.heard == []
    finally:
        with other.app_context():
            integrations.manager.shutdown()
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()


@sqlite_only
def test_setting_it_at_run_time_takes_effect_at_the_next_request(
    app: Flask, listening: t.Any, client: t.Any
) -> None:
    listening.create_config(name="on", enabled=True, save=True)
    assert listening.enabled is False

    app.config["INTEGRATIONS_ENABLED"] = True
    client.get(f"{PREFIX}/")
    assert listening.enabled is True
    ticket_opened.send("heard")

    app.config["INTEGRATIONS_ENABLED"] = False
    listed = client.get(f"{PREFIX}/")
    assert NOTICE in text(listed)
    ticket_opened.send("not heard")

    assert listening.enabled is False
    assert listening.shutdown_calls == 1
    assert listening.heard == ["heard"]
