"""Capture mode: deliveries recorded in an outbox instead of being sent,
following the same rules as real ones."""

from __future__ import annotations

import html
import typing as t

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_integrations import (
    CapturedDelivery,
    FlaskIntegrations,
    IntegrationError,
    record_deliveries,
)
from flask_integrations.capture import CaptureDispatcher
from flask_integrations.delivery import get_log
from flask_integrations.dispatch import get_dispatcher
from flask_integrations.testing import IntegrationsReceiver

from .conftest import make_app
from .delivery_support import HookIntegration, guard_connections

sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])

PREFIX = "/integrations"
HOOK = HookIntegration.integration_id
CREATED = "ticket.created"
CLOSED = "ticket.closed"


@pytest.fixture
def app_config() -> dict[str, t.Any]:
    return {
        "INTEGRATIONS_DISPATCHER": "sync",
        "INTEGRATIONS_OUTBOUND_ALLOWLIST": ["127.0.0.1"],
    }


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> t.Iterator[IntegrationsReceiver]:
    guard_connections(monkeypatch)
    with IntegrationsReceiver() as receiver:
        yield receiver


@pytest.fixture
def hook(manager: t.Any, integrations: FlaskIntegrations) -> t.Any:
    integrations.register(HookIntegration)
    return manager.get_integration(HOOK)


def add_config(hook: t.Any, url: str, name: str = "ops", **settings: t.Any) -> t.Any:
    return hook.create_config(
        name=name, enabled=True, settings={"url": url, **settings}, save=True
    )


def test_deliveries_are_recorded_and_not_sent(
    hook: t.Any, receiver: IntegrationsReceiver
) -> None:
    config = add_config(hook, receiver.url)

    with record_deliveries() as outbox:
        [job] = hook.send_event(CREATED, {"ticket": 7})

    assert outbox == [
        CapturedDelivery(
            delivery_id=job.delivery_id,
            config_id=config.id,
            config_name="ops",
            integration_id=HOOK,
            event=CREATED,
            payload={"ticket": 7},
        )
    ]
    assert outbox[0].job == job
    assert receiver.requests == []
    assert get_log(hook.integration_mgr, config.id) == []


def test_after_the_block_deliveries_are_sent_again(
    hook: t.Any, receiver: IntegrationsReceiver
) -> None:
    add_config(hook, receiver.url)
    with record_deliveries() as outbox:
        pass

    hook.send_event(CREATED, {"ticket": 8})

    assert outbox == []
    assert [r.json["payload"] for r in receiver.requests] == [{"ticket": 8}]


def test_only_after_the_commit_and_never_on_rollback(
    hook: t.Any, db: SQLAlchemy, receiver: IntegrationsReceiver
) -> None:
    config = add_config(hook, receiver.url)
    manager = hook.integration_mgr

    with record_deliveries() as outbox:
        manager.get_config(config.id).name = "renamed"
        hook.send_event(CREATED, {"n": "committed"})
        assert outbox == []
        db.session.commit()
        assert [d.payload for d in outbox] == [{"n": "committed"}]

        manager.get_config(config.id).name = "rolled back"
        hook.send_event(CREATED, {"n": "rolled back"})
        db.session.rollback()

    assert [(d.payload, d.config_name) for d in outbox] == [
        ({"n": "committed"}, "renamed")
    ]
    assert receiver.requests == []


def test_only_configurations_that_receive_the_event(
    hook: t.Any, receiver: IntegrationsReceiver
) -> None:
    everything = add_config(hook, receiver.url, name="everything")
    add_config(hook, receiver.url, name="closed only", events=[CLOSED])
    off = add_config(hook, receiver.url, name="off")
    live = hook.integration_mgr.get_config(off.id)
    live.enabled = False
    hook.integration_mgr.session.commit()

    with record_deliveries() as outbox:
        hook.send_event(CREATED, {})

    assert [(d.config_id, d.config_name) for d in outbox] == [
        (everything.id, "everything")
    ]


@sqlite_only
def test_blocks_nest(hook: t.Any, receiver: IntegrationsReceiver) -> None:
    add_config(hook, receiver.url)

    with record_deliveries() as outer:
        hook.send_event(CREATED, {"n": 1})
        with record_deliveries() as inner:
            hook.send_event(CREATED, {"n": 2})
        hook.send_event(CREATED, {"n": 3})

    assert [d.payload["n"] for d in outer] == [1, 2, 3]
    assert [d.payload["n"] for d in inner] == [2]
    assert receiver.requests == []


@sqlite_only
def test_the_extension_records_for_the_current_app(
    hook: t.Any, integrations: FlaskIntegrations, receiver: IntegrationsReceiver
) -> None:
    add_config(hook, receiver.url)

    with integrations.record_deliveries() as outbox:
        hook.send_event(CREATED, {"n": 1})

    assert [d.event for d in outbox] == [CREATED]
    with pytest.raises(IntegrationError, match="set 'INTEGRATIONS_DISPATCHER' to"):
        integrations.outbox  # noqa: B018


@sqlite_only
def test_nothing_is_captured_while_integrations_are_switched_off(
    app: Flask, hook: t.Any, receiver: IntegrationsReceiver
) -> None:
    add_config(hook, receiver.url)
    app.config["INTEGRATIONS_ENABLED"] = False

    with record_deliveries(app) as outbox:
        hook.send_event(CREATED, {})

    assert outbox == []


@pytest.fixture
def capture_app(db: SQLAlchemy, integrations: FlaskIntegrations) -> t.Iterator[Flask]:
    integrations.register(HookIntegration)
    app = make_app(
        "sqlite://",
        db,
        integrations,
        INTEGRATIONS_DISPATCHER="capture",
        INTEGRATIONS_OUTBOUND_ALLOWLIST=["127.0.0.1"],
    )
    with app.app_context():
        db.create_all()
        yield app
        integrations.manager.shutdown()
        db.session.remove()
        db.engine.dispose()


def test_the_capture_dispatcher_records_everything_of_the_app(
    capture_app: Flask,
    integrations: FlaskIntegrations,
    receiver: IntegrationsReceiver,
) -> None:
    hook = integrations.manager.get_integration(HOOK)
    add_config(hook, receiver.url)

    hook.send_event(CREATED, {"n": 1})
    with record_deliveries() as block:
        hook.send_event(CLOSED, {"n": 2})

    assert [(d.event, d.payload) for d in integrations.outbox] == [
        (CREATED, {"n": 1}),
        (CLOSED, {"n": 2}),
    ]
    assert [d.event for d in block] == [CLOSED]
    assert isinstance(get_dispatcher(capture_app), CaptureDispatcher)
    integrations.outbox.clear()
    get_dispatcher(capture_app).dispatch(block[0].job)
    assert [d.event for d in integrations.outbox] == [CLOSED]
    assert receiver.requests == []


def test_send_test_in_capture_mode_says_so_and_sends_nothing(
    capture_app: Flask,
    integrations: FlaskIntegrations,
    receiver: IntegrationsReceiver,
) -> None:
    hook = integrations.manager.get_integration(HOOK)
    config = add_config(hook, receiver.url)

    page = capture_app.test_client().post(f"{PREFIX}/{HOOK}/configs/{config.id}/test/")

    text = html.unescape(page.get_data(as_text=True))
    assert "The test was captured, not sent." in text
    assert [(d.event, d.config_name) for d in integrations.outbox] == [("test", "ops")]
    assert receiver.requests == []
    assert get_log(hook.integration_mgr, config.id) == []


def test_a_capture_dispatcher_object_captures_too(
    db: SQLAlchemy, integrations: FlaskIntegrations, receiver: IntegrationsReceiver
) -> None:
    integrations.register(HookIntegration)
    app = make_app(
        "sqlite://",
        db,
        integrations,
        INTEGRATIONS_DISPATCHER=CaptureDispatcher,
        INTEGRATIONS_OUTBOUND_ALLOWLIST=["127.0.0.1"],
    )
    with app.app_context():
        db.create_all()
        hook = integrations.manager.get_integration(HOOK)
        add_config(hook, receiver.url)
        hook.send_event(CREATED, {"n": 1})
        hook.send_event(CREATED, {"n": 2})
        assert [d.payload["n"] for d in integrations.outbox] == [1, 2]
        integrations.manager.shutdown()
        db.session.remove()
        db.engine.dispose()
    assert receiver.requests == []
