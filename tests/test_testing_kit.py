"""The pytest plugin ``flask_integrations.testing``: its fixtures used
directly (the suite enables the plugin in ``conftest.py``), and small test
files run with ``pytester``, as integration authors and host apps use it."""

from __future__ import annotations

import html
import pathlib
import typing as t
import urllib.request

import pytest
from blinker import Namespace
from flask import Flask, current_app

from flask_integrations import IntegrationRegistrationError, WebhookVerificationError
from flask_integrations.admin import TEST_ADMIN_ENVIRON_KEY
from flask_integrations.contrib import WebhookIntegration
from flask_integrations.dispatch import SyncDispatcher, get_dispatcher
from flask_integrations.signing import generate_secret
from flask_integrations.testing import (
    IntegrationsReceiver,
    create_test_app,
    dispose_test_app,
    find_form,
    make_admin_client,
)

from .delivery_support import HookIntegration

ROOT = pathlib.Path(__file__).resolve().parents[1]
PREFIX = "/integrations"
HOOK = HookIntegration.integration_id
CREATED = "ticket.created"

ticket_created = Namespace().signal("kit-ticket-created")


class TicketWebhooks(WebhookIntegration):
    integration_id = "tests.kit-webhooks"
    event_signals = {CREATED: ticket_created}


@pytest.fixture
def integrations_classes() -> list[type[t.Any]]:
    return [HookIntegration]


def text(response: t.Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def add_config(manager: t.Any, url: str, **settings: t.Any) -> t.Any:
    hook = manager.get_integration(HOOK)
    return hook.create_config(
        name="ops", enabled=True, settings={"url": url, **settings}, save=True
    )


# -- the app ---------------------------------------------------------------------


def test_the_app_is_ready_for_tests(
    integrations_app: Flask, integrations_manager: t.Any
) -> None:
    assert current_app._get_current_object() is integrations_app  # type: ignore[attr-defined]
    assert integrations_app.testing
    assert isinstance(get_dispatcher(integrations_app), SyncDispatcher)
    assert integrations_manager is integrations_app.extensions["integrations"].manager
    assert [type(i) for i in integrations_manager.get_integrations()] == [
        HookIntegration
    ]
    # The tables exist.
    assert integrations_manager.get_integration_configs() == []


@pytest.mark.integrations(TicketWebhooks, INTEGRATIONS_PAGE_SIZE=3)
def test_the_marker_adds_classes_and_config(integrations_app: Flask) -> None:
    manager = integrations_app.extensions["integrations"].manager
    assert [i.integration_id for i in manager.get_integrations()] == [
        HOOK,
        TicketWebhooks.integration_id,
    ]
    assert integrations_app.config["INTEGRATIONS_PAGE_SIZE"] == 3


def test_registration_errors_surface_when_the_app_is_built() -> None:
    class Broken(HookIntegration):
        integration_id = "not valid!"

    with pytest.raises(IntegrationRegistrationError, match="is not valid"):
        create_test_app([Broken])


# -- the admin client ------------------------------------------------------------


def test_only_the_admin_client_passes_the_admin_check(
    integrations_app: Flask, integrations_admin_client: t.Any
) -> None:
    other = integrations_app.test_client()
    token = integrations_app.extensions["integrations"].test_admin_token

    assert integrations_admin_client.get(f"{PREFIX}/").status_code == 200
    assert other.get(f"{PREFIX}/").status_code == 403
    # The key cannot come over HTTP: a header named like it is 'HTTP_…'.
    header = other.get(f"{PREFIX}/", headers={TEST_ADMIN_ENVIRON_KEY: token})
    assert header.status_code == 403
    wrong = other.get(f"{PREFIX}/", environ_base={TEST_ADMIN_ENVIRON_KEY: "guess"})
    assert wrong.status_code == 403


def test_a_token_of_another_app_does_not_pass(
    integrations_app: Flask, integrations_admin_client: t.Any
) -> None:
    other_app = create_test_app([HookIntegration])
    other_client = make_admin_client(other_app)
    token = other_client.environ_base[TEST_ADMIN_ENVIRON_KEY]

    stranger = integrations_app.test_client()
    response = stranger.get(f"{PREFIX}/", environ_base={TEST_ADMIN_ENVIRON_KEY: token})

    assert response.status_code == 403
    dispose_test_app(other_app)


def test_submit_form_adds_edits_and_deletes_with_csrf_on(
    integrations_app: Flask,
    integrations_admin_client: t.Any,
    integrations_receiver: IntegrationsReceiver,
    integrations_manager: t.Any,
) -> None:
    client = integrations_admin_client
    assert integrations_app.config.get("WTF_CSRF_ENABLED", True)
    without_token = client.post(
        f"{PREFIX}/{HOOK}/configs/add/", data={"name": "x", "url": "https://a.test"}
    )
    assert without_token.status_code == 400

    added = client.submit_form(
        f"{PREFIX}/{HOOK}/configs/add/",
        {"name": "ops", "url": integrations_receiver.url, "events": [CREATED]},
    )
    assert added.status_code == 302
    [config] = integrations_manager.get_integration_configs(HOOK)
    assert (config.name, config.enabled, config.get("events")) == (
        "ops",
        True,
        [CREATED],
    )

    edit_url = f"{PREFIX}/{HOOK}/configs/{config.id}/"
    saved = client.submit_form(edit_url, {"enabled": False}, follow_redirects=True)
    assert "Saved “ops”." in text(saved)
    [config] = integrations_manager.get_integration_configs(HOOK)
    assert (config.enabled, config.get("url")) == (False, integrations_receiver.url)

    enabled = client.submit_form(edit_url, button="Enable")
    assert enabled.status_code == 302
    deleted = client.submit_form(f"{edit_url}delete/", button="Delete")
    assert deleted.status_code == 302
    assert integrations_manager.get_integration_configs(HOOK) == []


def test_submit_form_says_what_is_missing(integrations_admin_client: t.Any) -> None:
    with pytest.raises(AssertionError, match="answered 404"):
        integrations_admin_client.submit_form(f"{PREFIX}/nope/configs/add/")
    with pytest.raises(AssertionError, match="no form with a 'Launch' button"):
        integrations_admin_client.submit_form(
            f"{PREFIX}/{HOOK}/configs/add/", button="Launch"
        )


def test_find_form_reads_fields_as_a_browser_sends_them() -> None:
    page = """
    <form method="get"><input name="q" value="search"></form>
    <form method="post" action="/save">
      <input type="hidden" name="csrf_token" value="t0k">
      <input name="name" value="A &amp; B">
      <input type="checkbox" name="enabled" value="y" checked>
      <input type="checkbox" name="events" value="a" checked>
      <input type="checkbox" name="events" value="b">
      <input type="checkbox" name="events" value="c" checked>
      <input name="disabled" value="x" disabled>
      <select name="size"><option value="s">S</option>
        <option value="m" selected>M</option></select>
      <select name="color"><option>red</option><option>blue</option></select>
      <select name="sizes" multiple><option>s</option><option>m</option></select>
      <textarea name="notes">
line one</textarea>
      <button type="submit">Save <span>ops</span></button>
    </form>"""

    form = find_form(page)

    assert (form.action, form.method, form.buttons) == ("/save", "post", ["Save ops"])
    assert form.values.to_dict(flat=False) == {
        "csrf_token": ["t0k"],
        "name": ["A & B"],
        "enabled": ["y"],
        "events": ["a", "c"],
        "size": ["m"],
        "color": ["red"],
        "notes": ["line one"],
    }
    assert find_form(page, button="Save").action == "/save"


# -- the receiver ----------------------------------------------------------------


def test_the_receiver_records_requests(
    integrations_receiver: IntegrationsReceiver,
) -> None:
    request = urllib.request.Request(
        integrations_receiver.url + "hooks/ops?x=1&x=2&y=3",
        data=b'{"text": "hello"}',
        headers={"Content-Type": "application/json", "X-Token": "abc"},
        method="PUT",
    )
    with urllib.request.urlopen(request) as response:
        assert response.status == 200
    with urllib.request.urlopen(integrations_receiver.url) as response:
        assert response.read() == b""

    put, get = integrations_receiver.wait_for(2)
    assert (put.method, put.path, put.query) == (
        "PUT",
        "/hooks/ops",
        {"x": "1", "y": "3"},
    )
    assert put.headers["x-token"] == "abc"
    assert put.json == {"text": "hello"}
    assert put.text == '{"text": "hello"}'
    assert (get.method, get.path, get.body, get.json) == ("GET", "/", b"", None)
    integrations_receiver.clear()
    assert integrations_receiver.requests == []


def test_the_receiver_answers_as_told(
    integrations_receiver: IntegrationsReceiver,
) -> None:
    receiver = integrations_receiver
    receiver.reply(410, "gone for good", path="/gone")
    receiver.reply(503, headers={"Retry-After": "1"}, times=1)

    def status(path: str) -> tuple[int, str, str | None]:
        try:
            with urllib.request.urlopen(receiver.url + path) as response:
                return response.status, response.read().decode(), None
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(), exc.headers.get("Retry-After")

    assert status("gone") == (503, "", "1")
    assert status("gone") == (410, "gone for good", None)
    assert status("other") == (200, "", None)


def test_wait_for_says_how_many_arrived(
    integrations_receiver: IntegrationsReceiver,
) -> None:
    with pytest.raises(AssertionError, match="got 0 requests, not the 1 expected"):
        integrations_receiver.wait_for(1, timeout=0.01)


def test_the_receiver_url_needs_a_started_receiver() -> None:
    with pytest.raises(RuntimeError, match="call 'start\\(\\)' first"):
        IntegrationsReceiver().url  # noqa: B018


def test_deliveries_reach_the_receiver_and_failures_are_retried(
    integrations_app: Flask,
    integrations_receiver: IntegrationsReceiver,
    integrations_manager: t.Any,
) -> None:
    assert "127.0.0.1" in integrations_app.config["INTEGRATIONS_OUTBOUND_ALLOWLIST"]
    add_config(integrations_manager, integrations_receiver.url + "hook", token="t")
    integrations_receiver.reply(503, times=2)

    [job] = integrations_manager.get_integration(HOOK).send_event(CREATED, {"n": 1})

    requests = integrations_receiver.wait_for(3)
    assert [r.json for r in requests] == [{"event": CREATED, "payload": {"n": 1}}] * 3
    assert {r.headers["x-delivery"] for r in requests} == {job.delivery_id}


@pytest.mark.integrations(TicketWebhooks)
def test_the_receiver_verifies_signatures(
    integrations_manager: t.Any, integrations_receiver: IntegrationsReceiver
) -> None:
    secret = generate_secret()
    webhooks = integrations_manager.get_integration(TicketWebhooks.integration_id)
    webhooks.create_config(
        name="signed",
        enabled=True,
        settings={"payload_url": integrations_receiver.url, "secret": secret},
        save=True,
    )

    ticket_created.send("app", title="Printer on fire")

    [request] = integrations_receiver.wait_for(1)
    assert request.verify(secret) == request.headers["webhook-id"]
    assert request.json["data"] == {"title": "Printer on fire"}
    with pytest.raises(WebhookVerificationError):
        request.verify(generate_secret())


# -- the outbox --------------------------------------------------------------------


def test_the_outbox_captures_instead_of_sending(
    integrations_outbox: list[t.Any],
    integrations_receiver: IntegrationsReceiver,
    integrations_manager: t.Any,
) -> None:
    config = add_config(integrations_manager, integrations_receiver.url)

    integrations_manager.get_integration(HOOK).send_event(CREATED, {"n": 1})

    assert [(d.config_id, d.event, d.payload) for d in integrations_outbox] == [
        (config.id, CREATED, {"n": 1})
    ]
    assert integrations_receiver.requests == []


# -- pytester: the plugin as its users run it ------------------------------------


@pytest.fixture
def kit_pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> t.Any:
    """A pytester with this checkout importable and warnings as errors."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    pytester.makeini(
        """
        [pytest]
        addopts = -p no:cacheprovider --strict-markers
        filterwarnings = error
        """
    )
    return pytester


AUTHOR_TESTS = """
    import pytest
    from flask_integrations import Integration, IntegrationConfigForm
    from flask_integrations.outbound import OutboundClient
    from wtforms import StringField

    class PingForm(IntegrationConfigForm):
        url = StringField("URL")

    class Ping(Integration):
        integration_id = "acme.ping"
        name = "Ping"
        config_form_cls = PingForm

        def deliver(self, config, event, payload, delivery):
            return OutboundClient().post(config.get("url"), json=payload)

    @pytest.fixture
    def integrations_classes():
        return [Ping]

    def test_add_through_the_page(integrations_admin_client, integrations_manager):
        page = integrations_admin_client.submit_form(
            "/integrations/acme.ping/configs/add/", {"name": "p", "url": "x"}
        )
        assert page.status_code == 302
        assert integrations_manager.get_integration("acme.ping").enabled

    def test_deliver(integrations_manager, integrations_receiver):
        ping = integrations_manager.get_integration("acme.ping")
        ping.create_config(
            name="p", enabled=True, settings={"url": integrations_receiver.url},
            save=True,
        )
        ping.send_event("ping", {"n": 1})
        [request] = integrations_receiver.wait_for(1)
        assert request.json == {"n": 1}

    def test_outbox(integrations_manager, integrations_outbox):
        ping = integrations_manager.get_integration("acme.ping")
        ping.create_config(name="p", enabled=True, settings={"url": "x"}, save=True)
        ping.send_event("ping", {"n": 2})
        assert [d.payload for d in integrations_outbox] == [{"n": 2}]

    @pytest.mark.integrations(INTEGRATIONS_ENABLED=False)
    def test_switched_off(integrations_manager, integrations_outbox):
        ping = integrations_manager.get_integration("acme.ping")
        ping.create_config(name="p", enabled=True, settings={"url": "x"}, save=True)
        assert not ping.enabled
        assert ping.send_event("ping", {}) == []
        assert integrations_outbox == []
"""


def test_the_plugin_is_not_enabled_by_itself(kit_pytester: pytest.Pytester) -> None:
    kit_pytester.makepyfile(
        test_author="""
        def test_app(integrations_app):
            pass
        """
    )

    result = kit_pytester.runpytest_subprocess()

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'integrations_app' not found*"])


def test_an_author_enables_it_on_the_command_line(
    kit_pytester: pytest.Pytester,
) -> None:
    kit_pytester.makepyfile(test_author=AUTHOR_TESTS)

    result = kit_pytester.runpytest_subprocess("-p", "flask_integrations.testing")

    result.assert_outcomes(passed=4)


HOST_CONFTEST = """
    import pytest
    from blinker import Namespace
    from flask import Flask
    from flask_sqlalchemy import SQLAlchemy
    from flask_wtf.csrf import CSRFProtect
    from flask_integrations import FlaskIntegrations
    from flask_integrations.contrib import WebhookIntegration

    pytest_plugins = ["flask_integrations.testing"]

    ticket_created = Namespace().signal("ticket-created")
    db = SQLAlchemy()
    integrations = FlaskIntegrations(db=db, admin_required=lambda: False)

    @integrations.register
    class Webhooks(WebhookIntegration):
        integration_id = "host.webhooks"
        event_signals = {"ticket.created": ticket_created}

    def create_app(config):
        app = Flask("host")
        app.config.update(SECRET_KEY="host", **config)
        db.init_app(app)
        CSRFProtect(app)
        integrations.init_app(app)
        return app

    @pytest.fixture
    def integrations_app():
        app = create_app({
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "INTEGRATIONS_DISPATCHER": "sync",
        })
        with app.app_context():
            db.create_all()
            yield app
            integrations.manager.shutdown()
            db.session.remove()
            db.engine.dispose()
"""

HOST_TESTS = """
    from conftest import ticket_created

    def test_the_host_check_still_applies_to_other_clients(
        integrations_app, integrations_admin_client
    ):
        assert integrations_app.test_client().get("/integrations/").status_code == 403
        assert integrations_admin_client.get("/integrations/").status_code == 200

    def test_an_admin_adds_a_webhook_and_a_ticket_reaches_it(
        integrations_admin_client, integrations_receiver, integrations_manager
    ):
        page = integrations_admin_client.submit_form(
            "/integrations/host.webhooks/configs/add/",
            {"name": "ci", "payload_url": integrations_receiver.url + "ci"},
        )
        assert page.status_code == 302
        ticket_created.send("app", title="Hello")
        [request] = integrations_receiver.wait_for(1)
        assert request.path == "/ci"
        assert request.json["data"] == {"title": "Hello"}

    def test_events_are_captured(integrations_manager, integrations_outbox):
        webhooks = integrations_manager.get_integration("host.webhooks")
        webhooks.create_config(
            name="ci", enabled=True, settings={"payload_url": "https://ci.test/"},
            save=True,
        )
        ticket_created.send("app", title="Hello")
        assert [(d.config_name, d.event) for d in integrations_outbox] == [
            ("ci", "ticket.created")
        ]
"""


def test_a_host_app_overrides_the_app_fixture(kit_pytester: pytest.Pytester) -> None:
    kit_pytester.makeconftest(HOST_CONFTEST)
    kit_pytester.makepyfile(test_host=HOST_TESTS)

    result = kit_pytester.runpytest_subprocess()

    result.assert_outcomes(passed=3)


def test_the_marker_is_registered(kit_pytester: pytest.Pytester) -> None:
    kit_pytester.makepyfile(
        test_marker="""
        import pytest

        @pytest.mark.integrations(INTEGRATIONS_PAGE_SIZE=2)
        def test_config(integrations_app):
            assert integrations_app.config["INTEGRATIONS_PAGE_SIZE"] == 2
        """
    )

    result = kit_pytester.runpytest_subprocess("-p", "flask_integrations.testing")

    result.assert_outcomes(passed=1)
