"""Access control and scoping of the admin pages."""

from __future__ import annotations

import hmac
import typing as t
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, render_template, request
from werkzeug.utils import import_string
from werkzeug.wrappers import Response

from .errors import IntegrationError, SettingsMigrationError

if t.TYPE_CHECKING:  # pragma: no cover
    from .extension import IntegrationsState


#: The WSGI environ key of the test kit's admin client. It is not an
#: ``HTTP_*`` key, so no request coming over the network can carry it, and it
#: counts only when it holds the token the kit set on that very app.
TEST_ADMIN_ENVIRON_KEY = "flask_integrations.test_admin"


def get_state(app: Flask | None = None) -> IntegrationsState:
    """Return the flask-integrations state of ``app`` (default: the current
    app).

    :raises IntegrationError: The extension is not set up on the app.
    """
    if app is None:
        app = t.cast(Flask, current_app._get_current_object())  # type: ignore[attr-defined]
    state = app.extensions.get("integrations")
    if state is None:
        raise IntegrationError(
            f"flask-integrations is not initialized on the app '{app.name}'."
            " Call 'integrations.init_app(app)' first."
        )
    return t.cast("IntegrationsState", state)


def resolve_admin_check(state: IntegrationsState) -> t.Callable[[], t.Any] | None:
    """The callable deciding who may use the admin pages, or ``None``.

    The ``admin_required`` keyword wins over ``INTEGRATIONS_ADMIN_CHECK``
    (a callable or a ``"module:attr"`` string).
    """
    check = state.extension.admin_required
    if check is None:
        check = current_app.config.get("INTEGRATIONS_ADMIN_CHECK")
    if isinstance(check, str):
        check = import_string(check.replace(":", "."))
    return check


def enforce_admin_check() -> Response | None:
    """Run the admin check: ``None`` lets the request through, a response
    (e.g. a redirect to a login page) replaces it, anything else is a 403.

    Requests of the test kit's admin client pass without the check."""
    state = get_state()
    if is_test_admin(state):
        return None
    check = resolve_admin_check(state)
    if check is None:
        return Response(
            render_template("flask_integrations/access_denied.html", configured=False),
            status=403,
        )
    result = check()
    if isinstance(result, Response):
        return result
    if not result:
        return Response(
            render_template("flask_integrations/access_denied.html", configured=True),
            status=403,
        )
    return None


def is_test_admin(state: IntegrationsState) -> bool:
    """Whether the request comes from the test kit's admin client of this app
    (see :mod:`flask_integrations.testing`)."""
    token = state.test_admin_token
    if not token:
        return False
    sent = request.environ.get(TEST_ADMIN_ENVIRON_KEY)
    return isinstance(sent, str) and hmac.compare_digest(sent.encode(), token.encode())


def current_scope() -> dict[str, t.Any]:
    """The column values limiting what the current user sees (``config_scope``)."""
    scope = get_state().extension.config_scope
    return dict(scope()) if scope is not None else {}


def in_scope(config: t.Any, scope: t.Mapping[str, t.Any]) -> bool:
    """Whether ``config`` matches every column value of ``scope``."""
    return all(getattr(config, k, None) == v for k, v in scope.items())


def get_config_or_404(integration_id: str, config_id: int) -> t.Any:
    """Load a configuration of ``integration_id`` the current user may see."""
    manager = get_state().manager
    try:
        config = manager.get_config(config_id)
    except SettingsMigrationError:
        # Still editable (e.g. to fix or delete it): show it as stored.
        config = manager.session.get(manager.config_model, config_id)
    if (
        config is None
        or config.integration_id != integration_id
        or not in_scope(config, current_scope())
    ):
        abort(
            Response(
                render_template("flask_integrations/gone.html"),
                status=404,
            )
        )
    return config


def is_safe_url(target: str | None) -> bool:
    """Whether ``target`` is a local path that is safe to redirect to."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or any(ord(c) < 32 for c in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc
