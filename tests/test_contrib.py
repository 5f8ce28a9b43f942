"""The ready-made integrations: a signed JSON webhook and a Slack-compatible
notifier, fed by the app's own blinker signals, delivered to a local receiver.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import http.server
import json
import re
import threading
import time
import typing as t
import uuid

import pytest
from blinker import Signal
from flask import Flask

from flask_integrations import FlaskIntegrations
from flask_integrations.contrib import (
    SignalEventsIntegration,
    SlackIntegration,
    WebhookIntegration,
)
from flask_integrations.contrib.slack import escape_text
from flask_integrations.errors import WebhookVerificationError
from flask_integrations.signing import generate_secret, verify

SLACK_PATH = "/services/T0001/B0002/d4Cz8kP1vQw7mZr3"


@pytest.fixture
def app_config() -> dict[str, t.Any]:
    return {
        "INTEGRATIONS_DISPATCHER": "sync",
        "INTEGRATIONS_OUTBOUND_ALLOWLIST": ["127.0.0.1"],
        "INTEGRATIONS_RETRY_SCHEDULE": (0.01,),
    }


# -- the local receiver --------------------------------------------------------


@dataclasses.dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> t.Any:
        return json.loads(self.body)


class Receiver(http.server.ThreadingHTTPServer):
    """Records the requests it gets and answers with the statuses queued in
    :attr:`statuses` (200 once they run out)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), ReceiverHandler)
        self.requests: list[Received] = []
        self.statuses: list[int] = []

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def at(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]


class ReceiverHandler(http.server.BaseHTTPRequestHandler):
    server: Receiver

    def log_message(self, format: str, *args: t.Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.server.requests.append(Received(self.path, headers, body))
        status = self.server.statuses.pop(0) if self.server.statuses else 200
        answer = b"ok"
        self.send_response(status)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


@pytest.fixture
def receiver() -> t.Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


# -- the app's signals and integrations ---------------------------------------


@dataclasses.dataclass
class Ticket:
    id: int
    title: str


@dataclasses.dataclass
class Signals:
    created: Signal
    closed: Signal


@pytest.fixture
def signals() -> Signals:
    return Signals(Signal("ticket-created"), Signal("ticket-closed"))


@pytest.fixture
def webhooks(app: Flask, integrations: FlaskIntegrations, signals: Signals) -> type:
    class TicketWebhooks(WebhookIntegration):
        integration_id = "tests.webhooks"
        events = {"ticket.created": "Ticket created", "ticket.closed": "Ticket closed"}
        event_signals = {
            "ticket.created": signals.created,
            "ticket.closed": signals.closed,
        }

        def build_payload(
            self, event: str, sender: t.Any, ticket: Ticket, **kwargs: t.Any
        ) -> t.Any:
            return {"id": ticket.id, "title": ticket.title}

    return register(app, integrations, TicketWebhooks)


@pytest.fixture
def slack(app: Flask, integrations: FlaskIntegrations, signals: Signals) -> type:
    class TicketChat(SlackIntegration):
        integration_id = "tests.chat"
        events = {"ticket.created": "Ticket created", "ticket.closed": "Ticket closed"}
        event_signals = {
            "ticket.created": signals.created,
            "ticket.closed": signals.closed,
        }

        def build_payload(
            self, event: str, sender: t.Any, ticket: Ticket, **kwargs: t.Any
        ) -> t.Any:
            return {"id": ticket.id, "title": ticket.title}

    return register(app, integrations, TicketChat)


def register(app: Flask, integrations: FlaskIntegrations, cls: type) -> type:
    """Register ``cls`` inside the app, so it is there at once."""
    with app.app_context():
        integrations.register(cls)
    return cls


def add_config(client: t.Any, integration_id: str, **fields: t.Any) -> int:
    """Add a configuration through the admin page, with every event ticked
    (as the page starts) unless ``events`` is given; return its id."""
    with client.application.app_context():
        manager = client.application.extensions["integrations"].manager
        events = list(manager.get_integration(integration_id).events)
    data = {"name": "Config", "enabled": "y", "events": events, **fields}
    response = client.post(f"/integrations/{integration_id}/configs/add/", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    with client.application.app_context():
        configs = manager.get_integration_configs(integration_id, name=data["name"])
        return int(configs[0].id)


def send(app: Flask, signal: Signal, ticket: Ticket) -> None:
    """Send ``signal`` the way app code does: inside the app, then commit."""
    with app.app_context():
        signal.send(app, ticket=ticket)
        db = app.extensions["sqlalchemy"]
        db.session.commit()


# -- the webhook ---------------------------------------------------------------


@pytest.mark.parametrize(
    "secret",
    ["correct horse battery staple", generate_secret()],
    ids=["typed", "generated"],
)
def test_signal_delivers_signed_json(
    app: Flask,
    client: t.Any,
    receiver: Receiver,
    webhooks: type,
    signals: Signals,
    secret: str,
) -> None:
    add_config(client, "tests.webhooks", payload_url=receiver.url(), secret=secret)
    before = time.time()
    send(app, signals.created, Ticket(7, "Printer on fire"))

    [request] = receiver.requests
    assert request.path == "/hook"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == "flask-integrations"
    body = request.json()
    assert set(body) == {"type", "timestamp", "data"}
    assert body["type"] == "ticket.created"
    assert body["data"] == {"id": 7, "title": "Printer on fire"}
    assert body["timestamp"].endswith("Z")
    sent = datetime.datetime.fromisoformat(body["timestamp"].replace("Z", "+00:00"))
    assert sent.utcoffset() == datetime.timedelta(0)
    assert before - 1 <= sent.timestamp() <= time.time() + 1
    assert abs(int(request.headers["webhook-timestamp"]) - sent.timestamp()) < 1

    assert (
        verify(secret, request.headers, request.body) == request.headers["webhook-id"]
    )
    with pytest.raises(WebhookVerificationError):
        verify("another secret", request.headers, request.body)
    with pytest.raises(WebhookVerificationError):
        verify(secret, request.headers, request.body.replace(b"7", b"8"))


def test_unsigned_without_secret(
    app: Flask, client: t.Any, receiver: Receiver, webhooks: type, signals: Signals
) -> None:
    add_config(client, "tests.webhooks", payload_url=receiver.url(), secret="")
    send(app, signals.closed, Ticket(1, "Done"))

    [request] = receiver.requests
    assert request.json()["type"] == "ticket.closed"
    assert request.headers["webhook-id"]
    assert int(request.headers["webhook-timestamp"]) == pytest.approx(
        time.time(), abs=5
    )
    assert "webhook-signature" not in request.headers
    with pytest.raises(WebhookVerificationError):
        verify("anything", request.headers, request.body)


def test_only_configs_that_chose_the_event_get_it(
    app: Flask, client: t.Any, receiver: Receiver, webhooks: type, signals: Signals
) -> None:
    for name, events in [
        ("created", ["ticket.created"]),
        ("closed", ["ticket.closed"]),
        ("both", ["ticket.created", "ticket.closed"]),
    ]:
        add_config(
            client,
            "tests.webhooks",
            name=name,
            payload_url=receiver.url(f"/{name}"),
            events=events,
        )

    send(app, signals.created, Ticket(1, "One"))
    assert sorted(r.path for r in receiver.requests) == ["/both", "/created"]

    receiver.requests.clear()
    send(app, signals.closed, Ticket(1, "One"))
    assert sorted(r.path for r in receiver.requests) == ["/both", "/closed"]
    assert {r.json()["type"] for r in receiver.requests} == {"ticket.closed"}


def test_disabled_config_gets_nothing(
    app: Flask, client: t.Any, receiver: Receiver, webhooks: type, signals: Signals
) -> None:
    config_id = add_config(client, "tests.webhooks", payload_url=receiver.url())
    client.post(f"/integrations/tests.webhooks/configs/{config_id}/toggle/")
    send(app, signals.created, Ticket(1, "One"))
    assert receiver.requests == []


def test_retry_keeps_the_webhook_id(
    app: Flask, client: t.Any, receiver: Receiver, webhooks: type, signals: Signals
) -> None:
    secret = generate_secret()
    config_id = add_config(
        client, "tests.webhooks", payload_url=receiver.url(), secret=secret
    )
    receiver.statuses = [500, 200]
    send(app, signals.created, Ticket(3, "Flaky"))

    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.json()["data"] == second.json()["data"] == {"id": 3, "title": "Flaky"}
    for request in (first, second):
        verify(secret, request.headers, request.body)
    page = client.get(f"/integrations/tests.webhooks/configs/{config_id}/")
    assert "HTTP 500" in page.get_data(as_text=True)


def test_send_test_webhook(
    app: Flask, client: t.Any, receiver: Receiver, webhooks: type
) -> None:
    secret = generate_secret()
    config_id = add_config(
        client, "tests.webhooks", name="Ops", payload_url=receiver.url(), secret=secret
    )
    response = client.post(f"/integrations/tests.webhooks/configs/{config_id}/test/")
    assert "The test was delivered." in response.get_data(as_text=True)

    [request] = receiver.requests
    assert request.json()["type"] == "test"
    assert "Ops" in request.json()["data"]["message"]
    verify(secret, request.headers, request.body)


def test_send_test_reports_failure(
    app: Flask, client: t.Any, receiver: Receiver, webhooks: type
) -> None:
    config_id = add_config(client, "tests.webhooks", payload_url=receiver.url())
    receiver.statuses = [410]
    response = client.post(f"/integrations/tests.webhooks/configs/{config_id}/test/")
    html = response.get_data(as_text=True)
    assert "The test failed." in html
    assert "410" in html


def test_webhook_secret_is_write_only(
    app: Flask, client: t.Any, receiver: Receiver, webhooks: type, signals: Signals
) -> None:
    secret = generate_secret()
    config_id = add_config(
        client, "tests.webhooks", payload_url=receiver.url(), secret=secret
    )
    page = client.get(f"/integrations/tests.webhooks/configs/{config_id}/")
    assert secret not in page.get_data(as_text=True)

    # Saving with the secret left blank keeps it.
    response = client.post(
        f"/integrations/tests.webhooks/configs/{config_id}/",
        data={
            "name": "Renamed",
            "enabled": "y",
            "payload_url": receiver.url(),
            "events": ["ticket.created"],
        },
    )
    assert response.status_code == 302
    send(app, signals.created, Ticket(1, "One"))
    [request] = receiver.requests
    verify(secret, request.headers, request.body)


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"payload_url": ""}, "This field is required."),
        ({"payload_url": "http://10.0.0.1/hook"}, "private address"),
        ({"payload_url": "ftp://example.com/"}, "http"),
        ({"secret": "whsec_not base64!"}, "not valid base64"),
    ],
)
def test_webhook_form_errors(
    app: Flask,
    client: t.Any,
    receiver: Receiver,
    webhooks: type,
    fields: dict[str, str],
    error: str,
) -> None:
    data = {"name": "Bad", "enabled": "y", "payload_url": receiver.url(), **fields}
    response = client.post("/integrations/tests.webhooks/configs/add/", data=data)
    assert response.status_code == 200
    assert error in response.get_data(as_text=True)
    with app.app_context():
        manager = app.extensions["integrations"].manager
        assert manager.get_integration_configs("tests.webhooks") == []


def test_events_are_chosen_on_the_page(client: t.Any, webhooks: type) -> None:
    html = client.get("/integrations/tests.webhooks/configs/add/").get_data(
        as_text=True
    )
    assert "Ticket created" in html
    assert "Ticket closed" in html
    assert 'value="ticket.created"' in html


# -- Slack-compatible chat -----------------------------------------------------


def test_slack_message_shape_and_escaping(
    app: Flask, client: t.Any, receiver: Receiver, slack: type, signals: Signals
) -> None:
    add_config(
        client,
        "tests.chat",
        name="full",
        webhook_url=receiver.url("/full"),
        channel=" #alerts ",
        username="Ticket bot",
        icon_emoji="robot_face",
    )
    add_config(
        client,
        "tests.chat",
        name="bare",
        webhook_url=receiver.url("/bare"),
        channel="",
        username="",
        icon_emoji="",
    )
    send(app, signals.created, Ticket(5, "<b>Tom & Jerry</b> > cats"))

    [full] = receiver.at("/full")
    assert full.headers["content-type"] == "application/json"
    assert full.headers["user-agent"] == "flask-integrations"
    text = "Ticket created: id: 5, title: &lt;b&gt;Tom &amp; Jerry&lt;/b&gt; &gt; cats"
    assert full.json() == {
        "text": text,
        "username": "Ticket bot",
        "channel": "#alerts",
        "icon_emoji": ":robot_face:",
    }
    [bare] = receiver.at("/bare")
    assert bare.json() == {"text": text}


def test_slack_username_defaults(
    app: Flask, client: t.Any, receiver: Receiver, slack: type, signals: Signals
) -> None:
    page = client.get("/integrations/tests.chat/configs/add/").get_data(as_text=True)
    assert 'value="flask-integrations"' in page
    with app.app_context():
        manager = app.extensions["integrations"].manager
        integration = manager.get_integration("tests.chat")
        integration.create_config(
            name="Stored before the username existed",
            enabled=True,
            settings={"webhook_url": receiver.url()},
            save=True,
        )
    send(app, signals.closed, Ticket(2, "Fixed"))
    [request] = receiver.requests
    assert request.json() == {
        "text": "Ticket closed: id: 2, title: Fixed",
        "username": "flask-integrations",
    }


def test_slack_webhook_url_never_in_pages(
    app: Flask, client: t.Any, receiver: Receiver, slack: type, signals: Signals
) -> None:
    url = receiver.url(SLACK_PATH)
    config_id = add_config(client, "tests.chat", webhook_url=url, channel="#a")
    edit_url = f"/integrations/tests.chat/configs/{config_id}/"
    for html in (
        client.get(edit_url).get_data(as_text=True),
        client.get("/integrations/").get_data(as_text=True),
        client.post(f"{edit_url}test/").get_data(as_text=True),
    ):
        assert SLACK_PATH not in html
        assert "d4Cz8kP1vQw7" not in html


def test_slack_edit_keeps_the_url_left_blank(
    app: Flask, client: t.Any, receiver: Receiver, slack: type, signals: Signals
) -> None:
    config_id = add_config(client, "tests.chat", webhook_url=receiver.url(SLACK_PATH))
    response = client.post(
        f"/integrations/tests.chat/configs/{config_id}/",
        data={
            "name": "Config",
            "enabled": "y",
            "webhook_url": "",
            "channel": "#b",
            "events": ["ticket.created"],
        },
    )
    assert SLACK_PATH not in response.get_data(as_text=True)
    assert response.status_code == 302
    send(app, signals.created, Ticket(1, "One"))
    [request] = receiver.requests
    assert request.path == SLACK_PATH
    assert request.json()["channel"] == "#b"


def test_slack_new_url_is_checked(
    app: Flask, client: t.Any, receiver: Receiver, slack: type, signals: Signals
) -> None:
    config_id = add_config(client, "tests.chat", webhook_url=receiver.url("/old"))
    edit_url = f"/integrations/tests.chat/configs/{config_id}/"
    data = {"name": "Config", "enabled": "y", "events": ["ticket.created"]}
    response = client.post(edit_url, data={**data, "webhook_url": "http://10.1.2.3/"})
    assert "private address" in response.get_data(as_text=True)
    response = client.post(edit_url, data={**data, "webhook_url": receiver.url("/new")})
    assert response.status_code == 302
    send(app, signals.created, Ticket(1, "One"))
    assert [r.path for r in receiver.requests] == ["/new"]


def test_send_test_slack(
    app: Flask, client: t.Any, receiver: Receiver, slack: type
) -> None:
    config_id = add_config(
        client, "tests.chat", name="Ops <team>", webhook_url=receiver.url()
    )
    response = client.post(f"/integrations/tests.chat/configs/{config_id}/test/")
    assert "The test was delivered." in response.get_data(as_text=True)
    [request] = receiver.requests
    text = request.json()["text"]
    assert text.startswith("Hello from flask-integrations!")
    assert "'Ops &lt;team&gt;'" in text


def test_slack_form_rejects_bad_emoji(client: t.Any, slack: type) -> None:
    response = client.post(
        "/integrations/tests.chat/configs/add/",
        data={
            "name": "X",
            "enabled": "y",
            "webhook_url": "http://127.0.0.1:9/x",
            "icon_emoji": "not an emoji",
        },
    )
    assert response.status_code == 200
    assert "Write an emoji name" in response.get_data(as_text=True)


def test_exported_only_from_contrib() -> None:
    import flask_integrations

    assert not hasattr(flask_integrations, "WebhookIntegration")
    assert not hasattr(flask_integrations, "SlackIntegration")


def test_escape_text() -> None:
    assert escape_text("a & b <c> &amp;") == "a &amp; b &lt;c&gt; &amp;amp;"


def test_build_message_one_line(app: Flask, slack: type) -> None:
    with app.app_context():
        integration = app.extensions["integrations"].manager.get_integration(
            "tests.chat"
        )
        message = integration.build_message(
            "ticket.created", {"title": "two\nlines", "extra": {"x": 1}, "n": 2}
        )
        assert message == "Ticket created: title: two lines, n: 2"
        assert integration.build_message("other", None) == "other"
        long = integration.build_message("ticket.closed", {"title": "x" * 2000})
        assert len(long) == 500 and long.endswith("…")


# -- icons -----------------------------------------------------------------------


def test_icons_resolve_on_the_list_page(
    client: t.Any, webhooks: type, slack: type
) -> None:
    html = client.get("/integrations/").get_data(as_text=True)
    sources = set(re.findall(r'<img class="fi-icon" src="([^"]+)"', html))
    assert {s.rsplit("/", 1)[-1] for s in sources} >= {"webhook.svg", "slack.svg"}
    for source in sources:
        response = client.get(source)
        assert response.status_code == 200, source
        assert response.mimetype == "image/svg+xml"
        assert b"<svg" in response.data
        response.close()


# -- SignalEventsIntegration -------------------------------------------------------


class Recording(SignalEventsIntegration):
    """Records deliveries instead of sending them."""

    delivered: t.ClassVar[list[tuple[str, t.Any]]]

    def deliver(
        self, config: t.Any, event: str, payload: t.Any, delivery: t.Any
    ) -> None:
        type(self).delivered.append((event, payload))


def test_events_default_to_signal_names() -> None:
    one, two = Signal(), Signal()

    class Named(Recording):
        event_signals = {"a.one": one, "a.two": two}

    class Labelled(Named):
        events = {"a.two": "Second", "a.three": "Third"}

    class Inherits(Labelled):
        event_signals = {"a.two": two, "a.four": one}

    assert Named.events == {"a.one": "a.one", "a.two": "a.two"}
    assert Labelled.events == {"a.two": "Second", "a.three": "Third", "a.one": "a.one"}
    assert Inherits.events == {
        "a.two": "Second",
        "a.three": "Third",
        "a.four": "a.four",
    }
    assert SignalEventsIntegration.events == {}


def test_default_payload_keeps_simple_values(
    app: Flask, client: t.Any, integrations: FlaskIntegrations
) -> None:
    happened = Signal()

    class Default(Recording):
        integration_id = "tests.default-payload"
        event_signals = {"happened": happened}
        delivered = []

    register(app, integrations, Default)
    add_config(client, "tests.default-payload")
    when = datetime.datetime(2024, 5, 1, 12, 30, tzinfo=datetime.timezone.utc)
    ident = uuid.UUID(int=1)
    with app.app_context():
        happened.send(
            object(),
            text="hi",
            number=3,
            ratio=0.5,
            flag=True,
            nothing=None,
            when=when,
            day=when.date(),
            price=decimal.Decimal("1.50"),
            ident=ident,
            obj=object(),
            nan=float("nan"),
            items=[1, 2],
        )
    assert Default.delivered == [
        (
            "happened",
            {
                "text": "hi",
                "number": 3,
                "ratio": 0.5,
                "flag": True,
                "nothing": None,
                "when": "2024-05-01T12:30:00+00:00",
                "day": "2024-05-01",
                "price": "1.50",
                "ident": str(ident),
            },
        )
    ]


def test_none_payload_sends_nothing(
    app: Flask, client: t.Any, integrations: FlaskIntegrations
) -> None:
    happened = Signal()

    class Filtering(Recording):
        integration_id = "tests.filtering"
        event_signals = {"happened": happened}
        delivered = []

        def build_payload(self, event: str, sender: t.Any, **kwargs: t.Any) -> t.Any:
            return kwargs if kwargs.get("important") else None

    register(app, integrations, Filtering)
    add_config(client, "tests.filtering")
    with app.app_context():
        happened.send(app, important=False)
        happened.send(app, important=True)
    assert Filtering.delivered == [("happened", {"important": True})]


def test_signals_disconnect_when_disabled(
    app: Flask, client: t.Any, integrations: FlaskIntegrations
) -> None:
    happened = Signal()

    class Toggled(Recording):
        integration_id = "tests.toggled"
        event_signals = {"happened": happened}
        delivered = []

    register(app, integrations, Toggled)
    config_id = add_config(client, "tests.toggled")
    assert happened.receivers
    client.post(f"/integrations/tests.toggled/configs/{config_id}/toggle/")
    with app.app_context():
        app.extensions["integrations"].manager.check_expired()
        happened.send(app)
    assert not happened.receivers
    assert Toggled.delivered == []
