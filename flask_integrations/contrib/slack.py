"""Messages to Slack-compatible incoming webhooks.

Slack, Mattermost, Rocket.Chat and Discord (its ``/slack`` endpoint) accept a
``POST`` of ``{"text": ..., "username": ..., "channel": ...,
"icon_emoji": ...}`` at a secret URL.
"""

from __future__ import annotations

import typing as t

from wtforms import StringField
from wtforms.validators import InputRequired, Length, Optional, Regexp

from ..errors import IntegrationError
from ..fields import OutboundURLField
from ..forms import Fieldset, IntegrationConfigForm
from ..i18n import lazy_gettext
from .base import SignalEventsIntegration, package_icon_urls

if t.TYPE_CHECKING:  # pragma: no cover
    from ..delivery import DeliveryJob
    from ..outbound import OutboundResponse
    from ..snapshot import ConfigSnapshot

__all__ = ["SlackForm", "SlackIntegration", "escape_text"]

#: The longest message :meth:`SlackIntegration.build_message` makes by default.
MAX_MESSAGE_LENGTH = 500


def escape_text(text: str) -> str:
    """Escape ``&``, ``<`` and ``>`` the way Slack's message format needs."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _strip(value: t.Any) -> t.Any:
    return value.strip() if isinstance(value, str) else value


def _emoji_colons(value: t.Any) -> t.Any:
    if isinstance(value, str) and value.strip():
        return f":{value.strip().strip(':')}:"
    return value


class SlackForm(IntegrationConfigForm):
    """The configuration form of :class:`SlackIntegration`.

    The webhook URL is the credential itself: it is a secret field, never
    shown again once saved.
    """

    webhook_url = OutboundURLField(
        lazy_gettext("Webhook URL"),
        validators=[InputRequired()],
        description=lazy_gettext(
            "The incoming webhook URL the chat service gave you (Slack,"
            " Mattermost, Rocket.Chat, or a Discord webhook URL ending in"
            " /slack). Anyone who has it can post, so it is not shown again."
        ),
    )
    channel = StringField(
        lazy_gettext("Channel"),
        validators=[Optional(), Length(max=80)],
        filters=[_strip],
        description=lazy_gettext(
            "E.g. #alerts. Leave blank for the webhook's own channel (Slack's"
            " current webhooks always post there)."
        ),
    )
    username = StringField(
        lazy_gettext("Post as"),
        validators=[Optional(), Length(max=80)],
        filters=[_strip],
        description=lazy_gettext("The name shown as the sender, where allowed."),
    )
    icon_emoji = StringField(
        lazy_gettext("Icon emoji"),
        validators=[
            Optional(),
            Regexp(
                r"^:[A-Za-z0-9_+'-]+:$",
                message=lazy_gettext("Write an emoji name, such as :robot_face:."),
            ),
        ],
        filters=[_emoji_colons],
        description=lazy_gettext("E.g. :robot_face:. Leave blank for the default."),
    )

    secret_fields = ("webhook_url",)
    fieldsets = (
        Fieldset(
            lazy_gettext("Where to post"),
            ("webhook_url", "channel", "username", "icon_emoji"),
        ),
        Fieldset(lazy_gettext("What to post"), ("events",)),
    )


class SlackIntegration(SignalEventsIntegration):
    """Post a message to a Slack-compatible incoming webhook for each event.

    Subclass it like :class:`~flask_integrations.contrib.WebhookIntegration`;
    override :meth:`build_message` to word the messages, or
    :meth:`build_body` to send more than text.
    """

    name = "Slack-compatible chat"
    description = (
        "Post a message to a channel of Slack, Mattermost, Rocket.Chat or"
        " Discord (through an incoming webhook) when something happens."
    )
    config_form_cls = SlackForm
    default_settings = {"username": "flask-integrations"}

    @property
    def icon_static_urls(self) -> t.Mapping[str, str]:  # type: ignore[override]
        """The package's chat icon."""
        return package_icon_urls("slack.svg")

    def build_message(self, event: str, payload: t.Any) -> str:
        """Return the plain text of the message for ``event``.

        The default is the event's label followed by the payload's simple
        values (``Ticket created: id: 3, title: Printer on fire``), at most
        ``MAX_MESSAGE_LENGTH`` (500) characters on one line; a test says what
        :meth:`test_payload` says. The text is escaped when sent, so write
        it plainly.

        :param event: The event name (``"test"`` for *Send test*).
        :param payload: The event's data.
        """
        if event == "test" and isinstance(payload, t.Mapping):
            return str(payload.get("message", "Test"))
        label = str(self.events.get(event, event))
        details = _describe(payload)
        text = f"{label}: {details}" if details else label
        text = " ".join(text.split())
        if len(text) > MAX_MESSAGE_LENGTH:
            text = text[: MAX_MESSAGE_LENGTH - 1] + "…"
        return text

    def build_body(
        self, config: ConfigSnapshot, event: str, payload: t.Any
    ) -> dict[str, t.Any]:
        """Return the JSON body posted for ``event``.

        ``text`` is :meth:`build_message`'s, escaped; ``username``,
        ``channel`` and ``icon_emoji`` are sent only when set.
        """
        body: dict[str, t.Any] = {
            "text": escape_text(self.build_message(event, payload))
        }
        for key in ("username", "channel", "icon_emoji"):
            value = config.get(key)
            if isinstance(value, str) and value.strip():
                body[key] = value.strip()
        return body

    def deliver(
        self,
        config: ConfigSnapshot,
        event: str,
        payload: t.Any,
        delivery: DeliveryJob,
    ) -> OutboundResponse:
        """Post the message to the configuration's webhook URL.

        :raises IntegrationError: The configuration has no webhook URL.
        """
        url = config.get("webhook_url")
        if not url:
            raise IntegrationError(
                f"The configuration '{config.name}' has no webhook URL."
                " Edit it and enter one."
            )
        body = self.build_body(config, event, payload)
        return self.get_client(config).post(url, json=body)

    def test_payload(self, config: ConfigSnapshot) -> t.Any:
        """A friendly message saying the configuration works."""
        return {
            "message": (
                f"Hello from flask-integrations! This test shows that the"
                f" configuration '{config.name}' can post here."
            )
        }


def _describe(payload: t.Any) -> str:
    """The simple values of ``payload`` on one line."""
    if isinstance(payload, t.Mapping):
        return ", ".join(
            f"{key}: {value}"
            for key, value in payload.items()
            if isinstance(value, (str, int, float)) and value != ""
        )
    if isinstance(payload, (list, tuple)):
        return ", ".join(_describe(item) for item in payload if _describe(item))
    if payload is None:
        return ""
    return str(payload)
