"""Capture mode: deliveries recorded in an outbox instead of being sent.

Inside :func:`record_deliveries`, or for the whole app with
``INTEGRATIONS_DISPATCHER = "capture"``, each delivery an integration queues
is appended to an *outbox* (a list) as a :class:`CapturedDelivery` and goes
no further: :meth:`~flask_integrations.Integration.deliver` is not called
and nothing is sent over the network. A delivery is captured at the moment
it would have been handed to the dispatcher, so the usual rules hold: only
after the transaction that sent it commits (none if it rolls back), and only
for the enabled configurations that receive the event::

    with record_deliveries() as outbox:
        create_ticket("Printer on fire")

    assert [d.event for d in outbox] == ["ticket.created"]
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import typing as t
import weakref

import sqlalchemy as sa
from flask import Flask, current_app

from .admin import get_state
from .delivery import DeliveryJob

__all__ = [
    "CaptureDispatcher",
    "CapturedDelivery",
    "capture",
    "captures_everything",
    "record_deliveries",
]

# Outboxes are appended to from any thread that commits.
_lock = threading.Lock()


@dataclasses.dataclass(frozen=True)
class CapturedDelivery:
    """A delivery that capture mode recorded instead of sending.

    :param delivery_id: The delivery's id (what ``deliver()`` would have
        received as ``delivery.delivery_id``).
    :param config_id: The configuration it was for.
    :param config_name: That configuration's name when it was captured
        (``None`` if it could not be read).
    :param integration_id: The integration that sent it.
    :param event: The event name.
    :param payload: The JSON payload, as ``deliver()`` would have got it.
    :param attempt: 1, unless a retry was captured.
    """

    delivery_id: str
    config_id: int
    config_name: str | None
    integration_id: str
    event: str
    payload: t.Any
    attempt: int = 1

    @property
    def job(self) -> DeliveryJob:
        """The delivery as a :class:`~flask_integrations.delivery.DeliveryJob`,
        e.g. to call an integration's ``deliver()`` yourself."""
        return DeliveryJob(
            delivery_id=self.delivery_id,
            config_id=self.config_id,
            integration_id=self.integration_id,
            event=self.event,
            payload=self.payload,
            attempt=self.attempt,
        )


def _config_name(app: Flask, job: DeliveryJob) -> str | None:
    manager = get_state(app).manager
    try:
        configs = manager.get_integration_configs(job.integration_id, id=job.config_id)
    except sa.exc.SQLAlchemyError:
        return None
    return t.cast("str | None", configs[0].name) if configs else None


def captures_everything(app: Flask) -> bool:
    """Whether ``app`` captures all its deliveries (the ``"capture"``
    dispatcher)."""
    return app.config.get("INTEGRATIONS_DISPATCHER") == "capture" or isinstance(
        get_state(app).dispatcher, CaptureDispatcher
    )


def capture(app: Flask, job: DeliveryJob) -> bool:
    """Record ``job`` in ``app``'s outboxes if capture mode is on.

    :return: Whether it was captured (and so must not be sent).
    """
    state = get_state(app)
    with _lock:
        outboxes = list(state.recorders)
    if captures_everything(app):
        outboxes.append(state.outbox)
    if not outboxes:
        return False
    captured = CapturedDelivery(
        delivery_id=job.delivery_id,
        config_id=job.config_id,
        config_name=_config_name(app, job),
        integration_id=job.integration_id,
        event=job.event,
        payload=job.payload,
        attempt=job.attempt,
    )
    with _lock:
        for outbox in outboxes:
            outbox.append(captured)
    return True


@contextlib.contextmanager
def record_deliveries(app: Flask | None = None) -> t.Iterator[list[CapturedDelivery]]:
    """Capture the deliveries of ``app`` (default: the current app) queued
    inside the block, instead of sending them.

    Yields the outbox, a list that fills as deliveries are queued. Blocks may
    be nested; each sees what was queued while it was open.

    :param app: The app; by default the current one.
    """
    if app is None:
        app = t.cast(Flask, current_app._get_current_object())  # type: ignore[attr-defined]
    state = get_state(app)
    outbox: list[CapturedDelivery] = []
    with _lock:
        state.recorders.append(outbox)
    try:
        yield outbox
    finally:
        with _lock:
            state.recorders[:] = [o for o in state.recorders if o is not outbox]


class CaptureDispatcher:
    """The ``"capture"`` dispatcher: records every delivery of the app in
    its outbox (see :attr:`FlaskIntegrations.outbox
    <flask_integrations.FlaskIntegrations.outbox>`) and runs none.

    :param app: The app the deliveries belong to.
    """

    def __init__(self, app: Flask) -> None:
        self._app = weakref.ref(app)

    def dispatch(self, job: DeliveryJob, delay: float = 0.0) -> None:
        app = self._app()
        if app is not None:
            capture(app, job)

    def shutdown(self, wait: bool = True) -> None:
        pass
