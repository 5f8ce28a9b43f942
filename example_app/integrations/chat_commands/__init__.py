"""An integration written in the app itself: open tickets from a chat app.

It shows the authoring API end to end: a configuration form with
validation and a secret, default settings, an icon in its own ``static/``
folder, its own configuration page template, a template hook on the ticket
page, and an incoming route that the chat app calls (``/command``), which
works without a login and with the app's CSRF protection on.

A chat app's slash command (``/ticket The printer is on fire``) posts a form
with the command's verification token, the text and the user's name, as
Slack and Mattermost do; try it with::

    curl -d token=... -d user_name=alice -d text="The printer is on fire" \\
        http://127.0.0.1:5000/integrations/example.chat_commands/command
"""

from __future__ import annotations

import hmac
import typing as t

from flask import request, url_for
from wtforms import PasswordField, StringField
from wtforms.validators import InputRequired, Length, Optional, Regexp

from flask_integrations import (
    ConfigSnapshot,
    Fieldset,
    Integration,
    IntegrationConfigForm,
    TemplateHook,
    route,
)

from ...tickets import open_ticket

#: Longest title a ticket takes; longer command texts are cut.
TITLE_LENGTH = 200


class ChatCommandForm(IntegrationConfigForm):
    command = StringField(
        "Command",
        validators=[
            InputRequired(),
            Regexp(
                r"^/[a-z0-9_-]{1,31}$",
                message="Start with '/' followed by up to 31 lower-case letters,"
                " digits, '-' or '_', e.g. '/ticket'.",
            ),
        ],
        description="The slash command as your chat app knows it.",
    )
    channel = StringField(
        "Channel",
        validators=[
            Optional(),
            Regexp(
                r"^#[\w-]{1,80}$",
                message="Write the channel as '#name', e.g. '#support'.",
            ),
        ],
        description="Where people should use the command; shown on ticket pages.",
    )
    token = PasswordField(
        "Verification token",
        validators=[InputRequired(), Length(min=16, max=200)],
        description="The token your chat app sends with each command"
        " (at least 16 characters).",
    )

    fieldsets = [
        Fieldset(
            "Slash command",
            ("command", "channel"),
            "How people open tickets from the chat.",
        ),
        Fieldset(
            "Security",
            ("token",),
            "Commands without this token are refused.",
        ),
    ]


class ChatCommandIntegration(Integration):
    integration_id = "example.chat_commands"
    name = "Chat commands"
    description = "Open tickets from a chat app with a slash command such as /ticket."
    icon_static_urls = {"1x": "icon.svg"}
    default_settings = {"command": "/ticket", "channel": "#support"}
    config_form_cls = ChatCommandForm
    config_template_name = "chat_commands/config.html"

    def initialize(self) -> None:
        TemplateHook(self, "ticket_aside", "chat_commands/ticket_aside.html")

    def config_for_token(self, token: str) -> ConfigSnapshot | None:
        """The enabled configuration whose token is ``token``, or ``None``."""
        if not token:
            return None
        for config in self.get_configs():
            stored = config.get("token") or ""
            if stored and hmac.compare_digest(stored.encode(), token.encode()):
                return config
        return None

    @route("/command", methods=["POST"])
    def command(self) -> tuple[dict[str, t.Any], int]:
        """Open a ticket titled with the command's text."""
        config = self.config_for_token(request.form.get("token", ""))
        if config is None:
            return {"response_type": "ephemeral", "text": "Invalid token."}, 403
        text = " ".join(request.form.get("text", "").split())
        if not text:
            usage = f"Usage: {config.get('command')} <what is wrong>"
            return {"response_type": "ephemeral", "text": usage}, 200
        author = request.form.get("user_name", "").strip()[:80] or "chat"
        ticket = open_ticket(text[:TITLE_LENGTH], text, author, source="chat")
        link = url_for("example.ticket", ticket_id=ticket.id, _external=True)
        reply = f"Opened ticket #{ticket.id}: {ticket.title} {link}"
        return {"response_type": "in_channel", "text": reply}, 200
