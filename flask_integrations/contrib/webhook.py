"""A generic JSON webhook, signed following the Standard Webhooks scheme.

Each delivery is a ``POST`` of a JSON body::

    {"type": "ticket.created", "timestamp": "2024-05-01T12:00:00.000Z",
     "data": {...}}

with the headers ``webhook-id`` (the same across the retries of one
delivery), ``webhook-timestamp`` and, when the configuration has a signing
secret, ``webhook-signature``. The receiver checks them with
:func:`flask_integrations.signing.verify`.
"""

from __future__ import annotations

import datetime
import json
import time
import typing as t

from wtforms import PasswordField
from wtforms.validators import InputRequired, Optional, ValidationError

from ..errors import IntegrationError, WebhookVerificationError
from ..fields import OutboundURLField
from ..forms import Fieldset, IntegrationConfigForm
from ..i18n import lazy_gettext
from ..signing import signature_headers
from .base import SignalEventsIntegration, package_icon_urls

if t.TYPE_CHECKING:  # pragma: no cover
    from ..delivery import DeliveryJob
    from ..outbound import OutboundResponse
    from ..snapshot import ConfigSnapshot

__all__ = ["WebhookForm", "WebhookIntegration"]


def _usable_secret(form: t.Any, field: t.Any) -> None:
    """A ``whsec_`` secret must be valid base64, or nothing could be signed."""
    if field.data:
        try:
            signature_headers(field.data, b"")
        except WebhookVerificationError as exc:
            raise ValidationError(str(exc)) from exc


class WebhookForm(IntegrationConfigForm):
    """The configuration form of :class:`WebhookIntegration`."""

    payload_url = OutboundURLField(
        lazy_gettext("Payload URL"),
        validators=[InputRequired()],
        description=lazy_gettext(
            "Each event is sent here as a POST request with a JSON body."
        ),
    )
    secret = PasswordField(
        lazy_gettext("Signing secret"),
        validators=[Optional(), _usable_secret],
        description=lazy_gettext(
            "Signs each request (the 'webhook-signature' header) so the"
            " receiver can check that it comes from here. Give the same value"
            " to the receiver's owner; it cannot be shown again. Without a"
            " secret, requests are sent unsigned."
        ),
    )

    fieldsets = (
        Fieldset(lazy_gettext("Where to send"), ("payload_url", "secret")),
        Fieldset(lazy_gettext("What to send"), ("events",)),
    )


class WebhookIntegration(SignalEventsIntegration):
    """Send events as signed JSON ``POST`` requests to a URL.

    Subclass it with an :attr:`~flask_integrations.Integration.integration_id`,
    :attr:`~SignalEventsIntegration.event_signals` and, usually,
    :meth:`~SignalEventsIntegration.build_payload`, then register the
    subclass. Each configuration has a payload URL, an optional signing
    secret and the events it receives.
    """

    name = "Webhook"
    description = (
        "Send a JSON request, signed following the Standard Webhooks scheme,"
        " to a URL when something happens."
    )
    config_form_cls = WebhookForm

    @property
    def icon_static_urls(self) -> t.Mapping[str, str]:  # type: ignore[override]
        """The package's webhook icon."""
        return package_icon_urls("webhook.svg")

    def build_body(self, event: str, payload: t.Any, sent_at: float) -> bytes:
        """Return the JSON body of one request.

        :param event: The event name (``"test"`` for *Send test*).
        :param payload: The event's data.
        :param sent_at: When the request is sent, in seconds since the epoch.
        """
        when = datetime.datetime.fromtimestamp(sent_at, datetime.timezone.utc)
        body = {
            "type": event,
            "timestamp": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "data": payload,
        }
        return json.dumps(body, separators=(",", ":"), allow_nan=False).encode()

    def deliver(
        self,
        config: ConfigSnapshot,
        event: str,
        payload: t.Any,
        delivery: DeliveryJob,
    ) -> OutboundResponse:
        """``POST`` the event to the configuration's payload URL, signed with
        its secret when it has one.

        :raises IntegrationError: The configuration has no payload URL.
        """
        url = config.get("payload_url")
        if not url:
            raise IntegrationError(
                f"The configuration '{config.name}' has no payload URL."
                " Edit it and enter one."
            )
        sent_at = time.time()
        body = self.build_body(event, payload, sent_at)
        headers = {"Content-Type": "application/json"}
        secret = config.get("secret")
        if secret:
            headers.update(
                signature_headers(
                    secret,
                    body,
                    message_id=delivery.delivery_id,
                    timestamp=int(sent_at),
                )
            )
        else:
            headers["webhook-id"] = delivery.delivery_id
            headers["webhook-timestamp"] = str(int(sent_at))
        return self.get_client(config).post(url, content=body, headers=headers)
