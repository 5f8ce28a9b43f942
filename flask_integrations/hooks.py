"""Hooks an integration owns while it is enabled.

A hook is created in :meth:`Integration.initialize`, adds itself to
``integration.hooks`` and stays live until the integration is disabled
(:meth:`Integration.shutdown_hooks`) or :meth:`IntegrationHook.shutdown` is
called.
"""

from __future__ import annotations

import logging
import typing as t

from blinker import ANY, Signal
from flask import current_app
from flask.globals import _cv_app
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

if t.TYPE_CHECKING:  # pragma: no cover
    from flask import Flask

    from .integration import Integration

logger = logging.getLogger("flask_integrations")


def current_app_or_none() -> Flask | None:
    """The app of the current app context, or ``None`` outside one.

    Signal receivers run this on every send, so it reads Flask's context
    variable directly instead of going through two proxies.
    """
    ctx = _cv_app.get(None)
    return ctx.app if ctx is not None else None


class IntegrationHook:
    """Base class of hooks: something an integration holds while enabled.

    Subclasses connect in :meth:`connect` and disconnect in
    :meth:`disconnect`.

    :param integration: The integration that owns the hook.
    """

    def __init__(self, integration: Integration) -> None:
        self.integration = integration
        self.initialized = False
        self.connect()
        self.initialized = True
        integration.hooks.add(self)

    def connect(self) -> None:
        """Start the hook. Called once, when it is created."""

    def disconnect(self) -> None:
        """Stop the hook. Called once, from :meth:`shutdown`."""

    def shutdown(self) -> None:
        """End the hook. Calling it again does nothing."""
        if not self.initialized:
            return
        self.initialized = False
        self.integration.hooks.discard(self)
        self.disconnect()

    def runs_in_current_app(self) -> bool:
        """Whether the current app context (if any) belongs to the hook's app.

        When several apps share integration classes, each app's hooks act
        only inside that app's context.
        """
        app_ref = self.integration.integration_mgr._app_ref
        if app_ref is None:
            return True
        app = app_ref()
        if app is None:
            return False
        current = current_app_or_none()
        return current is None or current is app


class SignalHook(IntegrationHook):
    """Connect a blinker signal for as long as the integration is enabled.

    The callback is called exactly as blinker calls receivers
    (``callback(sender, **kwargs)``) and is held strongly, so bound methods
    are not lost. An exception in the callback is logged with the
    integration's id; it neither stops the signal's other receivers nor fails
    the code that sent the signal.

    :param integration: The integration that owns the hook.
    :param signal: The blinker signal to connect to.
    :param callback: The receiver.
    :param sender: Only receive the signal from this sender.
    """

    def __init__(
        self,
        integration: Integration,
        signal: Signal,
        callback: t.Callable[..., t.Any],
        sender: t.Any = ANY,
    ) -> None:
        self.signal = signal
        self.callback = callback
        self.sender = sender
        super().__init__(integration)

    def connect(self) -> None:
        self.signal.connect(self._receive, sender=self.sender, weak=False)

    def disconnect(self) -> None:
        # Without a sender, blinker drops every connection of the receiver;
        # with one, it would keep a strong reference in 'receivers'.
        self.signal.disconnect(self._receive)

    def _receive(self, sender: t.Any, /, **kwargs: t.Any) -> t.Any:
        if not self.initialized or not self.runs_in_current_app():
            return None
        try:
            return self.callback(sender, **kwargs)
        except Exception:
            logger.exception(
                "Integration '%s': a receiver of signal '%s' raised.",
                self.integration.integration_id,
                getattr(self.signal, "name", self.signal),
            )
            return None


TemplateSource = str | t.Callable[[dict[str, t.Any]], str]


class TemplateHook(IntegrationHook):
    """Add markup at a named point of the host app's templates.

    The host renders the point with ``{{ integration_hooks("point") }}``. A
    template name is rendered with the calling template's context plus
    ``integration``; a callable receives that context as a dict and returns
    markup (it is not escaped).

    :param integration: The integration that owns the hook.
    :param point: The name of the point.
    :param template_name_or_callable: What to render there.
    """

    def __init__(
        self,
        integration: Integration,
        point: str,
        template_name_or_callable: TemplateSource,
    ) -> None:
        self.point = point
        self.source = template_name_or_callable
        super().__init__(integration)

    def connect(self) -> None:
        self.integration.integration_mgr.add_template_hook(self)

    def disconnect(self) -> None:
        self.integration.integration_mgr.remove_template_hook(self)

    def render(self, context: dict[str, t.Any]) -> Markup:
        """Render the hook with ``context`` (plus ``integration``)."""
        values = {**context, "integration": self.integration}
        if callable(self.source):
            return Markup(self.source(values))
        template = current_app.jinja_env.get_template(self.source)
        return Markup(template.render(values))


@pass_context
def render_template_hooks(context: Context, point: str) -> Markup:
    """Render every live template hook of ``point`` (the ``integration_hooks``
    template global). A hook that raises is logged and left out."""
    state = current_app.extensions.get("integrations")
    if state is None:
        return Markup("")
    parts = []
    values = context.get_all()
    for hook in state.manager.get_template_hooks(point):
        try:
            parts.append(hook.render(values))
        except Exception:
            logger.exception(
                "Integration '%s': template hook for '%s' raised.",
                hook.integration.integration_id,
                point,
            )
    return Markup("").join(parts)
