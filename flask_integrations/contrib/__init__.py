"""Ready-made integrations an app registers for its own blinker signals.

:class:`WebhookIntegration` sends signed JSON requests to a URL;
:class:`SlackIntegration` posts messages to Slack-compatible incoming
webhooks. Both derive from :class:`SignalEventsIntegration`.
"""

from __future__ import annotations

from .base import SignalEventsIntegration
from .slack import SlackForm, SlackIntegration
from .webhook import WebhookForm, WebhookIntegration

__all__ = [
    "SignalEventsIntegration",
    "SlackForm",
    "SlackIntegration",
    "WebhookForm",
    "WebhookIntegration",
]
