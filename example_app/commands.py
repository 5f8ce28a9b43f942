"""``flask init-example``: create the database, the admin user and seed data."""

from __future__ import annotations

import os
import secrets
import typing as t
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone

import click
from flask import Flask, current_app

from flask_integrations import Integration, acting_as
from flask_integrations.signing import generate_secret

from .extensions import db, integrations
from .inbox import set_inbox_secret
from .integrations.announcements import AnnouncementIntegration
from .integrations.chat_commands import ChatCommandIntegration
from .integrations.ticket_events import TicketSlack, TicketWebhook
from .models import Comment, Ticket, User

ADMIN_USERNAME = "admin"
DEFAULT_BASE_URL = "http://127.0.0.1:5000"

#: The seeded tickets: title, body, author, comments, status.
SEED_TICKETS = [
    (
        "The printer on the 2nd floor jams",
        "Every third page gets stuck since Monday.",
        "maria",
        [("admin", "Ordered a new roller.")],
        "closed",
    ),
    (
        "VPN drops every hour",
        "The connection resets at :00 each hour, on Wi-Fi and cable.",
        "sam",
        [("admin", "Which client version do you have?"), ("sam", "4.2.1")],
        "open",
    ),
    (
        "Request: a second monitor for the front desk",
        "",
        "lee",
        [],
        "open",
    ),
]


def _admin_password() -> str:
    """Return the admin password, making one on first start.

    It is kept in the instance folder so that every ``make run`` can print it.
    """
    path = os.path.join(current_app.instance_path, "admin-password.txt")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            return f.read().strip()
    password = (
        current_app.config.get("EXAMPLE_ADMIN_PASSWORD")
        or os.environ.get("EXAMPLE_ADMIN_PASSWORD")
        or secrets.token_urlsafe(9)
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(password + "\n")
    return password


def _seed_tickets() -> None:
    start = datetime.now(timezone.utc) - timedelta(days=3)
    for number, (title, body, author, comments, status) in enumerate(SEED_TICKETS):
        created = start + timedelta(hours=5 * number)
        ticket = Ticket(
            title=title, body=body, author=author, status=status, created=created
        )
        for offset, (comment_author, text) in enumerate(comments, 1):
            ticket.comments.append(
                Comment(
                    author=comment_author,
                    body=text,
                    created=created + timedelta(minutes=20 * offset),
                )
            )
        db.session.add(ticket)


def _seed_configs(base_url: str) -> None:
    """One configuration of each integration that has none; the webhooks
    post to this app's inbox."""
    manager = integrations.manager

    def add(cls: type[Integration], name: str, settings: Mapping[str, t.Any]) -> bool:
        integration = manager.get_integration(str(cls.integration_id))
        if manager.get_integration_configs(integration):
            return False
        db.session.add(
            integration.create_config(name=name, enabled=True, settings=dict(settings))
        )
        return True

    # The banner first: it is the configuration with id 1.
    add(
        AnnouncementIntegration,
        "Welcome banner",
        {"message": "Welcome! Integrations are managed under /integrations/."},
    )
    secret = generate_secret()
    webhook = {"payload_url": f"{base_url}/inbox/demo", "secret": secret}
    if add(TicketWebhook, "Inbox demo", webhook):
        set_inbox_secret("demo", secret)
    add(
        TicketSlack,
        "Chat (posts to the inbox)",
        {"webhook_url": f"{base_url}/inbox/slack", "channel": "#support"},
    )
    add(ChatCommandIntegration, "Team chat", {"token": secrets.token_urlsafe(24)})


def init_example(base_url: str = DEFAULT_BASE_URL) -> str:
    """Create the tables, the admin user, a few tickets and one configuration
    of each integration; return the admin password.

    Running it again adds only what is missing.

    :param base_url: Where the app is served; the seeded webhooks post to
        its inbox.
    """
    db.create_all()
    password = _admin_password()
    admin = db.session.execute(
        db.select(User).filter_by(username=ADMIN_USERNAME)
    ).scalar_one_or_none()
    if admin is None:
        admin = User(username=ADMIN_USERNAME, is_admin=True)
        admin.set_password(password)
        db.session.add(admin)
    if db.session.execute(db.select(Ticket.id).limit(1)).first() is None:
        _seed_tickets()
    _seed_configs(base_url.rstrip("/"))
    db.session.commit()
    return password


def chat_command_example(base_url: str = DEFAULT_BASE_URL) -> str | None:
    """A curl command line that opens a ticket through the chat command."""
    integration = integrations.manager.get_integration(
        ChatCommandIntegration.integration_id
    )
    for config in integration.get_configs():
        with current_app.test_request_context(base_url=base_url):
            url = integration.url_for("command", _external=True)
        return (
            f"curl -d token={config.get('token')} -d user_name=alice"
            f' -d text="The coffee machine is empty" {url}'
        )
    return None


def register(app: Flask) -> None:
    @app.cli.command("init-example")
    @click.option(
        "--base-url",
        default=DEFAULT_BASE_URL,
        show_default=True,
        help="Where the app will be served; the seeded webhooks post to its inbox.",
    )
    def init_example_command(base_url: str) -> None:
        """Create the database and the admin user, seed example data."""
        with acting_as("flask init-example"):
            password = init_example(base_url)
        click.echo(f"Database: {current_app.config['SQLALCHEMY_DATABASE_URI']}")
        click.echo(f"Admin login: {ADMIN_USERNAME} / {password}")
        click.echo(f"Then open {base_url}/ and log in. Integrations are at")
        click.echo(f"{base_url}/integrations/, the webhook inbox at {base_url}/inbox/")
        command = chat_command_example(base_url)
        if command:
            click.echo(f"Open a ticket from the 'chat':\n  {command}")
