"""The example app end to end: tickets, the webhook to the inbox, the chat
command, with CSRF protection on as in the real app.

The app is served by werkzeug in a thread on 127.0.0.1, so that webhook
deliveries reach its inbox; the test client drives the pages, and the
synchronous dispatcher delivers before each request returns.
"""

from __future__ import annotations

import json
import re
import typing as t
from html.parser import HTMLParser

import pytest
from flask import Flask

from example_app import create_app
from example_app.commands import init_example
from example_app.extensions import db, integrations
from example_app.models import InboxRequest, Ticket
from flask_integrations.signing import generate_secret, verify
from tests.browser.conftest import LiveServer

PASSWORD = "flow-test-password"
WEBHOOK = "example.webhook"
SLACK = "example.slack"
CHAT = "example.chat_commands"


class _Inputs(HTMLParser):
    """The hidden inputs of a page, by name."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "input" and values.get("type") == "hidden" and values.get("name"):
            self.hidden[t.cast(str, values["name"])] = values.get("value") or ""


def hidden_inputs(html: str) -> dict[str, str]:
    parser = _Inputs()
    parser.feed(html)
    return parser.hidden


def csrf_token(client: t.Any, url: str) -> str:
    """The CSRF token of the first form on the page at ``url``."""
    response = client.get(url)
    assert response.status_code == 200, url
    return hidden_inputs(response.get_data(as_text=True))["csrf_token"]


@pytest.fixture
def server(shared_database_url: str, tmp_path: t.Any) -> t.Iterator[LiveServer]:
    """The example app, seeded, with CSRF on, served on a free port."""
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": shared_database_url,
            "EXAMPLE_ADMIN_PASSWORD": PASSWORD,
            "INTEGRATIONS_DISPATCHER": "sync",
        }
    )
    app.instance_path = str(tmp_path)
    server = LiveServer(app)
    with app.app_context():
        init_example(base_url=server.url)
    with server:
        yield server
    # Disconnect the hooks from the app's signals before the next test's app
    # sends them.
    app.extensions["integrations"].manager.shutdown()
    with app.app_context():
        db.session.remove()
        db.drop_all()
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture
def app(server: LiveServer) -> Flask:
    return t.cast(Flask, server.app)


@pytest.fixture
def admin(app: Flask) -> t.Any:
    """A test client logged in as the admin."""
    client = app.test_client()
    response = client.post(
        "/login",
        data={
            "username": "admin",
            "password": PASSWORD,
            "csrf_token": csrf_token(client, "/login"),
        },
    )
    assert response.status_code == 302
    return client


def config_id(app: Flask, integration_id: str) -> int:
    with app.app_context():
        manager = integrations.manager
        (config,) = manager.get_integration_configs(
            manager.get_integration(integration_id)
        )
        return int(config.id)


def toggle(client: t.Any, app: Flask, integration_id: str) -> None:
    url = f"/integrations/{integration_id}/configs/{config_id(app, integration_id)}/"
    response = client.post(
        url + "toggle/", data={"csrf_token": csrf_token(client, url)}
    )
    assert response.status_code == 302


def open_ticket(client: t.Any, title: str) -> int:
    response = client.post(
        "/tickets/new",
        data={
            "title": title,
            "body": "Seen in the flow test.",
            "csrf_token": csrf_token(client, "/tickets/new"),
        },
    )
    assert response.status_code == 302
    match = re.search(r"/tickets/(\d+)$", response.location)
    assert match is not None
    return int(match.group(1))


def received(app: Flask, inbox: str | None = None) -> list[InboxRequest]:
    with app.app_context():
        query = db.select(InboxRequest).order_by(InboxRequest.id)
        if inbox is not None:
            query = query.filter_by(inbox=inbox)
        return list(db.session.execute(query).scalars())


def test_signed_deliveries_reach_the_inbox_until_disabled(
    server: LiveServer, app: Flask, admin: t.Any
) -> None:
    secret = generate_secret()

    # The inbox 'flow' expects the secret; the webhook signs with it.
    response = admin.post(
        "/inbox/",
        data={
            "inbox": "flow",
            "secret": secret,
            "csrf_token": csrf_token(admin, "/inbox/"),
        },
    )
    assert response.status_code == 302
    url = f"/integrations/{WEBHOOK}/configs/{config_id(app, WEBHOOK)}/"
    page = admin.get(url)
    assert "Payload URL" in page.get_data(as_text=True)
    response = admin.post(
        url,
        data={
            **hidden_inputs(page.get_data(as_text=True)),
            "name": "Flow inbox",
            "enabled": "y",
            "payload_url": f"{server.url}/inbox/flow",
            "secret": secret,
            "events": ["ticket.created", "comment.added", "ticket.closed"],
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    # Only the webhook sends; the seeded chat configuration is switched off.
    toggle(admin, app, SLACK)
    assert received(app) == []

    ticket_id = open_ticket(admin, "Flow: the lift is stuck")

    (request,) = received(app)
    assert request.inbox == "flow"
    assert request.verified
    assert request.problem is None
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert verify(secret, headers, request.body.encode()) == headers["webhook-id"]
    body = json.loads(request.body)
    assert body["type"] == "ticket.created"
    assert body["data"]["ticket"]["id"] == ticket_id
    assert body["data"]["ticket"]["title"] == "Flow: the lift is stuck"
    assert body["data"]["ticket"]["url"].endswith(f"/tickets/{ticket_id}")

    inbox_page = admin.get("/inbox/").get_data(as_text=True)
    assert "ticket.created" in inbox_page
    assert "Verified ✓" in inbox_page
    assert "Flow: the lift is stuck" in inbox_page

    # Comments and closing are delivered too.
    ticket_url = f"/tickets/{ticket_id}"
    response = admin.post(
        f"{ticket_url}/comments",
        data={"body": "On it.", "csrf_token": csrf_token(admin, ticket_url)},
    )
    assert response.status_code == 302
    response = admin.post(
        f"{ticket_url}/close", data={"csrf_token": csrf_token(admin, ticket_url)}
    )
    assert response.status_code == 302
    requests = received(app)
    assert [json.loads(r.body)["type"] for r in requests] == [
        "ticket.created",
        "comment.added",
        "ticket.closed",
    ]
    assert all(r.verified for r in requests)
    assert json.loads(requests[1].body)["data"]["comment"]["body"] == "On it."
    assert json.loads(requests[2].body)["data"]["closed_by"] == "admin"

    # Disabled: nothing more arrives.
    toggle(admin, app, WEBHOOK)
    open_ticket(admin, "Flow: nobody hears this one")
    assert len(received(app)) == 3
    with app.app_context():
        assert db.session.execute(db.select(db.func.count(Ticket.id))).scalar() == 5


def test_the_seeded_webhook_posts_to_the_demo_inbox(app: Flask, admin: t.Any) -> None:
    open_ticket(admin, "Seeded configurations work as they are")

    (demo,) = received(app, "demo")
    assert demo.verified
    assert json.loads(demo.body)["type"] == "ticket.created"
    (chat,) = received(app, "slack")
    # The chat integration does not sign; this inbox has no secret to check.
    assert not chat.verified
    assert chat.problem == "No signing secret is set for this inbox."
    assert json.loads(chat.body) == {
        "text": "admin opened #4 Seeded configurations work as they are"
        " (http://localhost/tickets/4)",
        "username": "Example tracker",
        "channel": "#support",
        "icon_emoji": ":ticket:",
    }


def test_chat_command_opens_a_ticket_with_the_right_token(app: Flask) -> None:
    with app.app_context():
        (config,) = integrations.manager.get_integration(CHAT).get_configs()
        token = config.get("token")
    client = app.test_client()
    url = f"/integrations/{CHAT}/command"

    response = client.post(
        url, data={"token": token, "user_name": "alice", "text": "  Coffee   is out "}
    )

    assert response.status_code == 200
    reply = response.get_json()
    assert reply["response_type"] == "in_channel"
    assert reply["text"].startswith("Opened ticket #4: Coffee is out http")
    with app.app_context():
        ticket = db.session.get(Ticket, 4)
        assert ticket is not None
        assert (ticket.title, ticket.author, ticket.source) == (
            "Coffee is out",
            "alice",
            "chat",
        )
    # The new ticket went out like any other.
    assert [json.loads(r.body)["type"] for r in received(app, "demo")] == [
        "ticket.created"
    ]

    page = client.get("/tickets/4").get_data(as_text=True)
    assert "This ticket was opened from the chat by alice." in page


@pytest.mark.parametrize(
    "data", [{"token": "wrong-token-wrong-token"}, {"token": ""}, {}]
)
def test_chat_command_refuses_a_wrong_token(app: Flask, data: dict[str, str]) -> None:
    client = app.test_client()
    response = client.post(
        f"/integrations/{CHAT}/command", data={**data, "text": "Let me in"}
    )
    assert response.status_code == 403
    assert response.get_json()["text"] == "Invalid token."
    with app.app_context():
        assert db.session.execute(db.select(db.func.count(Ticket.id))).scalar() == 3


def test_chat_command_without_text_explains_itself(app: Flask) -> None:
    with app.app_context():
        (config,) = integrations.manager.get_integration(CHAT).get_configs()
        token = config.get("token")
    response = app.test_client().post(
        f"/integrations/{CHAT}/command", data={"token": token, "text": " "}
    )
    assert response.status_code == 200
    assert response.get_json() == {
        "response_type": "ephemeral",
        "text": "Usage: /ticket <what is wrong>",
    }


def test_inbox_checks_signatures(app: Flask) -> None:
    client = app.test_client()
    body = b'{"type": "hello"}'

    unsigned = client.post("/inbox/other", data=body)
    assert unsigned.status_code == 200
    assert unsigned.get_json()["verified"] is False

    forged = client.post(
        "/inbox/demo",
        data=body,
        headers={
            "webhook-id": "msg_1",
            "webhook-timestamp": "1",
            "webhook-signature": "v1,AAAA",
        },
    )
    assert forged.status_code == 401

    other, demo = received(app)
    assert (other.inbox, other.verified) == ("other", False)
    assert other.problem == "No signing secret is set for this inbox."
    assert (demo.inbox, demo.verified) == ("demo", False)
    assert "more than 300 seconds away" in (demo.problem or "")


def test_inbox_refuses_bad_names_and_large_bodies(app: Flask) -> None:
    client = app.test_client()
    assert client.post("/inbox/no.dots").status_code == 404
    assert client.post("/inbox/big", data=b"x" * (64 * 1024 + 1)).status_code == 413
    assert received(app) == []


def test_inbox_page_is_for_admins(app: Flask, admin: t.Any) -> None:
    response = app.test_client().get("/inbox/")
    assert response.status_code == 302
    assert "/login" in response.location

    page = admin.get("/inbox/").get_data(as_text=True)
    assert "<h1>Webhook inbox</h1>" in page
    assert "Nothing received yet." in page
    # The seeded webhook's secret is known to the 'demo' inbox.
    assert re.search(r"<code>demo</code></th>\s*<td>set, ends in …", page)


def test_ticket_pages(app: Flask, admin: t.Any) -> None:
    anonymous = app.test_client()
    home = anonymous.get("/").get_data(as_text=True)
    assert "VPN drops every hour" in home
    assert "Open (2)" in home
    assert "Closed (1)" in home
    assert "Welcome! Integrations are managed" in home
    assert anonymous.get("/tickets/new").status_code == 302
    assert anonymous.get("/tickets/99").status_code == 404

    ticket = anonymous.get("/tickets/2").get_data(as_text=True)
    assert "Which client version do you have?" in ticket
    # The chat commands' template hook.
    assert "<code>/ticket what is wrong</code> in <strong>#support</strong>" in ticket
    assert "Log in</a> to comment" in ticket

    response = admin.post(
        "/tickets/new",
        data={"title": "", "csrf_token": csrf_token(admin, "/tickets/new")},
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'aria-invalid="true"' in page
    assert "This field is required." in page

    # A form without its CSRF token is refused.
    assert admin.post("/tickets/new", data={"title": "x"}).status_code == 400


def test_chat_commands_configuration_page(app: Flask, admin: t.Any) -> None:
    url = f"/integrations/{CHAT}/configs/add/"
    page = admin.get(url).get_data(as_text=True)
    assert "Set up the command in your chat app" in page
    assert f"http://localhost/integrations/{CHAT}/command" in page
    assert f'src="/integrations/{CHAT}/static/icon.svg"' in page
    assert 'value="/ticket"' in page

    response = admin.post(
        url,
        data={
            "name": "Second chat",
            "enabled": "y",
            "command": "ticket",
            "channel": "support",
            "token": "short",
            "csrf_token": hidden_inputs(page)["csrf_token"],
        },
    )
    assert response.status_code == 200
    errors = response.get_data(as_text=True)
    assert "Start with &#39;/&#39;" in errors
    assert "Write the channel as &#39;#name&#39;" in errors
    assert "Field must be between 16 and 200 characters long." in errors

    icon = admin.get(f"/integrations/{CHAT}/static/icon.svg")
    assert icon.status_code == 200
    assert icon.mimetype == "image/svg+xml"
    icon.close()
