"""A base for integrations that turn an app's own blinker signals into events.

The ready-made integrations (:mod:`flask_integrations.contrib.webhook`,
:mod:`flask_integrations.contrib.slack`) derive from
:class:`SignalEventsIntegration`; an app subclasses one of them, maps its
signals to event names and, usually, says what each event carries::

    class TicketWebhooks(WebhookIntegration):
        integration_id = "myapp.webhooks"
        events = {"ticket.created": "Ticket created"}
        event_signals = {"ticket.created": ticket_created}

        def build_payload(self, event, sender, ticket, **kwargs):
            return {"id": ticket.id, "title": ticket.title}
"""

from __future__ import annotations

import datetime
import decimal
import functools
import math
import typing as t
import uuid

from blinker import Signal
from flask import url_for

from ..hooks import SignalHook
from ..integration import Integration
from ..outbound import OutboundClient

if t.TYPE_CHECKING:  # pragma: no cover
    from ..snapshot import ConfigSnapshot

#: The ``User-Agent`` of the requests the ready-made integrations send.
USER_AGENT = "flask-integrations"

_SKIP = object()


def _simple_value(value: t.Any) -> t.Any:
    """``value`` as a JSON scalar, or ``_SKIP`` when it is not a simple one."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else _SKIP
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    return _SKIP


def package_icon_urls(filename: str) -> dict[str, str]:
    """Icon URLs of a file in the package's own static folder (served by the
    ``integrations.static`` endpoint), whatever module a subclass lives in."""
    return {"1x": url_for("integrations.static", filename=filename)}


class SignalEventsIntegration(Integration):
    """An integration that delivers the app's own blinker signals as events.

    Map event names to signals in :attr:`event_signals`; while the
    integration is enabled, each signal sent queues the event, with the
    payload :meth:`build_payload` returns, to every enabled configuration
    that chose it (see :meth:`~flask_integrations.Integration.send_event`).

    Each event of :attr:`event_signals` becomes one of the integration's
    :attr:`~flask_integrations.Integration.events`, so configurations choose
    which they receive. Labels come from ``events`` when the class declares
    them; an event it does not declare is labelled with its name.
    """

    #: The app's signals, by the name of the event each one is delivered as.
    #: One signal may serve several events.
    event_signals: t.ClassVar[t.Mapping[str, Signal]] = {}

    #: The ``events`` the class, or its nearest base, declared itself.
    _declared_events: t.ClassVar[t.Mapping[str, str]] = {}

    def __init_subclass__(cls, **kwargs: t.Any) -> None:
        super().__init_subclass__(**kwargs)
        declared = cls.__dict__.get("events", cls._declared_events)
        cls._declared_events = dict(declared)
        cls.events = {
            **declared,
            **{name: name for name in cls.event_signals if name not in declared},
        }

    def initialize(self) -> None:
        """Connect a :class:`~flask_integrations.SignalHook` per entry of
        :attr:`event_signals`.

        Subclasses that override it call ``super().initialize()``.
        """
        super().initialize()
        for event, signal in self.event_signals.items():
            SignalHook(self, signal, functools.partial(self.handle_signal, event))

    def handle_signal(self, event: str, sender: t.Any, **kwargs: t.Any) -> None:
        """Queue ``event`` when its signal is sent, unless
        :meth:`build_payload` returns ``None``.

        :param event: The event the signal is mapped to.
        :param sender: The signal's sender.
        :param kwargs: The signal's keyword arguments.
        """
        payload = self.build_payload(event, sender, **kwargs)
        if payload is not None:
            self.send_event(event, payload)

    # '*args' is never used: with it, type checkers accept overrides that
    # name the signal's keyword arguments, such as '(event, sender, ticket)'.
    def build_payload(
        self, event: str, sender: t.Any, *args: t.Any, **kwargs: t.Any
    ) -> t.Any:
        """Return the JSON data of an event; subclasses override it.

        Called with the arguments of the signal, in the thread that sent it,
        before any transaction in progress commits: read from the objects
        here, since the delivery only carries JSON. Return ``None`` to send
        nothing for this signal.

        The default keeps the keyword arguments whose values are simple:
        strings, numbers, booleans and ``None`` as they are; dates, times,
        decimals and UUIDs as strings. Anything else is left out.

        :param event: The event the signal is mapped to.
        :param sender: The signal's sender.
        :param kwargs: The signal's keyword arguments.
        """
        payload = {}
        for key, value in kwargs.items():
            simple = _simple_value(value)
            if simple is not _SKIP:
                payload[key] = simple
        return payload

    def get_client(self, config: ConfigSnapshot) -> OutboundClient:
        """Return the client that sends ``config``'s requests; override it
        to change timeouts or headers.

        :param config: The configuration being delivered to.
        """
        return OutboundClient(headers={"User-Agent": USER_AGENT})
