"""The :class:`FlaskIntegrations` extension: wiring into Flask apps."""

from __future__ import annotations

import importlib.metadata
import logging
import typing as t

import sqlalchemy as sa
from flask import Flask, current_app, has_app_context
from flask.globals import _cv_request
from jinja2 import BaseLoader, ChoiceLoader

from .capture import CapturedDelivery, captures_everything, record_deliveries
from .cli import integrations_cli
from .errors import (
    IntegrationAlreadyRegisteredError,
    IntegrationError,
    IntegrationNotRegisteredError,
    IntegrationRegistrationError,
)
from .hooks import render_template_hooks
from .i18n import gettext
from .integration import Integration, resolve_integration_id, switched_off
from .manager import IntegrationManager
from .models import get_default_config_model
from .routing import IntegrationTemplateLoader
from .views import INTEGRATION_ROUTE_VIEW, create_blueprint

if t.TYPE_CHECKING:  # pragma: no cover
    from flask_sqlalchemy import SQLAlchemy

logger = logging.getLogger("flask_integrations")

#: Entry-point group through which installed packages provide integrations.
ENTRY_POINT_GROUP = "flask_integrations.integrations"

#: Config keys and their defaults (documented in docs/configuration.rst).
DEFAULT_CONFIG: dict[str, t.Any] = {
    "INTEGRATIONS_ENABLED": True,
    "INTEGRATIONS_URL_PREFIX": "/integrations",
    "INTEGRATIONS_BASE_TEMPLATE": "flask_integrations/base.html",
    "INTEGRATIONS_ADMIN_CHECK": None,
    "INTEGRATIONS_ACTOR": None,
    "INTEGRATIONS_CONFIG_CACHE_SIZE": 512,
    "INTEGRATIONS_SYNC_INTERVAL": 0,
    "INTEGRATIONS_WATCH_CHANGES": True,
    "INTEGRATIONS_DISCOVER": False,
    "INTEGRATIONS_PAGE_SIZE": 25,
    "INTEGRATIONS_OUTBOUND_ALLOWLIST": (),
    "INTEGRATIONS_OUTBOUND_RESOLVER": None,
    "INTEGRATIONS_ENCRYPTION_KEY": None,
    "INTEGRATIONS_ENCRYPTION_OLD_KEYS": (),
    "INTEGRATIONS_DISPATCHER": "thread",
    "INTEGRATIONS_THREADS": 4,
    "INTEGRATIONS_QUEUE_SIZE": 100,
    "INTEGRATIONS_RETRY_SCHEDULE": (5, 30, 120),
    "INTEGRATIONS_DELIVERY_LOG_LIMIT": 100,
    "INTEGRATIONS_PAUSE_AFTER": 4,
    "INTEGRATIONS_PAUSE_FIRST": 60,
    "INTEGRATIONS_PAUSE_MAX": 24 * 3600,
    "INTEGRATIONS_AUTO_DISABLE_AFTER": 40,
    "INTEGRATIONS_RQ_URL": None,
    "INTEGRATIONS_RQ_APP": None,
    "INTEGRATIONS_RQ_QUEUE": "integrations",
}

AdminCheck = t.Callable[[], t.Any]
ConfigScope = t.Callable[[], t.Mapping[str, t.Any]]


class IntegrationsState:
    """Per-app state, kept in ``app.extensions["integrations"]``.

    :param extension: The extension object.
    :param manager: The app's manager.
    :param db: The Flask-SQLAlchemy instance in use.
    """

    def __init__(
        self,
        extension: FlaskIntegrations,
        manager: IntegrationManager,
        db: SQLAlchemy,
    ) -> None:
        self.extension = extension
        self.manager = manager
        self.db = db
        self._registered: set[type[Integration]] = set()
        self._failed: set[type[Integration]] = set()
        self._synced_version = -1
        self._csrf_exempted = False
        self._csrf_checked = False
        app = manager.app
        self._config: t.Mapping[str, t.Any] = app.config if app is not None else {}
        self._switched_off = switched_off(manager)
        #: The app's delivery dispatcher, built on first use.
        self.dispatcher: t.Any = None
        #: Deliveries captured for the whole app (``"capture"`` dispatcher).
        self.outbox: list[CapturedDelivery] = []
        #: The outboxes of the open :func:`record_deliveries` blocks.
        self.recorders: list[list[CapturedDelivery]] = []
        #: Set by the test kit's admin client: requests carrying it in their
        #: WSGI environ pass the admin check (see :mod:`.admin`).
        self.test_admin_token: str | None = None

    def sync_registrations(self, raise_errors: bool = False) -> None:
        """Register classes the extension gained since the last call, and
        unregister those it lost.

        A class that cannot be registered (e.g. its constructor raises) is
        logged and skipped, unless ``raise_errors`` is true.
        """
        extension = self.extension
        if self._synced_version == extension._version:
            return
        with self.manager.lock:
            wanted = list(extension._classes)
            for cls in list(self._registered):
                if cls not in wanted:
                    self._registered.discard(cls)
                    try:
                        self.manager.unregister_integration_class(cls)
                    except IntegrationNotRegisteredError:
                        pass
            for cls in wanted:
                if cls not in self._registered and cls not in self._failed:
                    try:
                        self.manager.register_integration_class(cls)
                    except IntegrationError:
                        if raise_errors:
                            raise
                        self._failed.add(cls)
                        logger.exception(
                            "Could not register the integration class '%s'.",
                            cls.__name__,
                        )
                        continue
                    self._registered.add(cls)
            self._synced_version = extension._version

    def register_discovered(self, cls: type[Integration], source: str) -> bool:
        """Register a class found through entry points with this app only.

        :param source: The entry point it came from, for the log.
        :return: Whether it was registered (errors are logged).
        """
        try:
            self.manager.register_integration_class(cls)
        except IntegrationError:
            logger.exception(
                "Skipping integration entry point %s: %r could not be registered.",
                source,
                cls,
            )
            return False
        return True

    def exempt_integration_routes_from_csrf(self, app: Flask) -> None:
        """Exempt the integrations' own routes from Flask-WTF's CSRFProtect,
        whether it was set up before or after this extension."""
        if self._csrf_exempted:
            return
        csrf = app.extensions.get("csrf")
        if csrf is not None:
            csrf.exempt(INTEGRATION_ROUTE_VIEW)
            self._csrf_exempted = True

    def follow_switch(self) -> None:
        """Enable or disable integrations at once when ``INTEGRATIONS_ENABLED``
        changed since the last call."""
        off = switched_off(self.manager)
        if off == self._switched_off:
            return
        try:
            self.manager.reload()
        except sa.exc.SQLAlchemyError:
            logger.warning(
                "Could not apply 'INTEGRATIONS_ENABLED'; will retry.", exc_info=True
            )
            return
        self._switched_off = off

    def before_request(self) -> None:
        """Catch up with registrations and configuration changes.

        It runs before every request, so each step first checks cheaply
        whether it has anything to do.
        """
        if not self._csrf_checked:
            # CSRFProtect is set up with the app, before its first request.
            self.exempt_integration_routes_from_csrf(current_app)
            self._csrf_checked = True
        # Flask's context variable, not the 'request' proxy: the proxy alone
        # cost a tenth of a bare request.
        rule = _cv_request.get().request.url_rule
        if rule is not None and rule.endpoint == "static":
            return
        if self._synced_version != self.extension._version:
            self.sync_registrations()
        if (not self._config.get("INTEGRATIONS_ENABLED", True)) != self._switched_off:
            self.follow_switch()
        self.manager.check_expired()


class FlaskIntegrations:
    """The flask-integrations extension.

    ::

        db = SQLAlchemy()
        integrations = FlaskIntegrations(db=db)

        def create_app():
            app = Flask(__name__)
            db.init_app(app)
            integrations.init_app(app)
            return app

    One extension object can serve several apps; each gets its own
    :class:`IntegrationManager` in ``app.extensions["integrations"]``.

    :param app: Initialise this app at once.
    :param db: The Flask-SQLAlchemy instance; defaults to the one registered
        on the app.
    :param config_model: The configuration model; defaults to one built once
        per ``db``.
    :param admin_required: Callable deciding who may use the admin pages.
    :param config_scope: Callable returning the column values that limit the
        configurations the current user sees and edits.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        db: SQLAlchemy | None = None,
        config_model: type[t.Any] | None = None,
        admin_required: AdminCheck | None = None,
        config_scope: ConfigScope | None = None,
    ) -> None:
        self.db = db
        self._config_model = config_model
        self.admin_required = admin_required
        self.config_scope = config_scope
        self._classes: list[type[Integration]] = []
        self._version = 0
        if db is not None and config_model is None:
            # Build the default model now, so db.create_all() sees its table
            # even before init_app.
            self._config_model = get_default_config_model(db)
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Set the extension up on ``app``.

        :raises IntegrationError: ``init_app`` was already called on this
            app, or no Flask-SQLAlchemy instance is available.
        """
        if "integrations" in app.extensions:
            raise IntegrationError(
                f"flask-integrations is already initialized on the app"
                f" '{app.name}'. Call 'init_app' once per app."
            )
        db = self.db or app.extensions.get("sqlalchemy")
        if db is None:
            raise IntegrationError(
                f"No Flask-SQLAlchemy instance is registered on the app"
                f" '{app.name}'. Call 'db.init_app(app)' before"
                " 'integrations.init_app(app)', or pass 'db=' to FlaskIntegrations."
            )
        for key, value in DEFAULT_CONFIG.items():
            app.config.setdefault(key, value)
        config_model = self._config_model or get_default_config_model(db)
        manager = IntegrationManager(
            config_model,
            app=app,
            cache_size=int(app.config["INTEGRATIONS_CONFIG_CACHE_SIZE"]),
            sync_interval=float(app.config["INTEGRATIONS_SYNC_INTERVAL"]),
            watch_changes=bool(app.config["INTEGRATIONS_WATCH_CHANGES"]),
        )
        state = IntegrationsState(self, manager, db)
        app.extensions["integrations"] = state
        app.jinja_env.globals["integration_hooks"] = render_template_hooks
        # Flask-Babel, when set up, installs its own '_'.
        app.jinja_env.globals.setdefault("_", gettext)
        app.before_request(state.before_request)
        app.register_blueprint(
            create_blueprint(), url_prefix=app.config["INTEGRATIONS_URL_PREFIX"]
        )
        self._install_template_loader(app)
        app.cli.add_command(integrations_cli)
        state.exempt_integration_routes_from_csrf(app)
        state.sync_registrations()
        if app.config["INTEGRATIONS_DISCOVER"]:
            self.discover(app)

    @property
    def manager(self) -> IntegrationManager:
        """The current app's :class:`IntegrationManager`."""
        return self._state(current_app).manager

    def record_deliveries(self) -> t.ContextManager[list[CapturedDelivery]]:
        """Capture the current app's deliveries queued inside a ``with``
        block instead of sending them; yields the outbox, a list of
        :class:`~flask_integrations.CapturedDelivery`::

            with integrations.record_deliveries() as outbox:
                create_ticket("Printer on fire")
            assert outbox[0].event == "ticket.created"

        See :func:`flask_integrations.record_deliveries`.
        """
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        self._state(app)
        return record_deliveries(app)

    @property
    def outbox(self) -> list[CapturedDelivery]:
        """The deliveries the current app captured with
        ``INTEGRATIONS_DISPATCHER = "capture"``, oldest first; ``clear()`` it
        between checks.

        :raises IntegrationError: The app does not capture its deliveries.
        """
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        state = self._state(app)
        if not captures_everything(app):
            raise IntegrationError(
                f"The app '{app.name}' sends its deliveries: set"
                " 'INTEGRATIONS_DISPATCHER' to 'capture' to record them in"
                " 'outbox', or use 'record_deliveries()'."
            )
        return state.outbox

    @staticmethod
    def _install_template_loader(app: Flask) -> None:
        """Let templates find the integrations' ``templates/`` folders, after
        the app's and its blueprints' own."""

        def current_manager() -> IntegrationManager | None:
            if not has_app_context():
                return None
            state = current_app.extensions.get("integrations")
            return state.manager if state is not None else None

        loaders: list[BaseLoader] = [IntegrationTemplateLoader(current_manager)]
        if app.jinja_env.loader is not None:
            loaders.insert(0, app.jinja_env.loader)
        app.jinja_env.loader = ChoiceLoader(loaders)

    def config_model_for(self, app: Flask) -> type[t.Any]:
        """Return the configuration model used by ``app``."""
        return self._state(app).manager.config_model

    @staticmethod
    def _state(app: Flask) -> IntegrationsState:
        state = app.extensions.get("integrations")
        if state is None:
            raise IntegrationError(
                f"flask-integrations is not initialized on the app '{app.name}'."
                " Call 'integrations.init_app(app)' first."
            )
        return t.cast(IntegrationsState, state)

    def register(self, cls: type[Integration]) -> type[Integration]:
        """Register an integration class with every app of this extension.

        Usable as a class decorator, before or after ``init_app``. Inside an
        app context the current app registers it at once (so errors show
        here); other apps pick it up at their next request.

        :raises IntegrationRegistrationError: Not an :class:`Integration`
            subclass, or an invalid id.
        :raises IntegrationAlreadyRegisteredError: Already registered here,
            or another class has its id.
        """
        if not (isinstance(cls, type) and issubclass(cls, Integration)) or (
            cls is Integration
        ):
            raise IntegrationRegistrationError(
                f"{cls!r} is not a subclass of 'Integration' and cannot be"
                " registered as an integration."
            )
        integration_id = resolve_integration_id(cls)
        for other in self._classes:
            if other is cls or other.integration_id == integration_id:
                raise IntegrationAlreadyRegisteredError(integration_id)
        self._classes.append(cls)
        self._version += 1
        try:
            self._sync_current_app()
        except IntegrationError:
            self._classes.remove(cls)
            self._version += 1
            raise
        return cls

    def unregister(self, cls: type[Integration]) -> None:
        """Unregister a class registered with :meth:`register`.

        :raises IntegrationNotRegisteredError: It was not registered here.
        """
        if cls not in self._classes:
            raise IntegrationNotRegisteredError(getattr(cls, "integration_id", None))
        self._classes.remove(cls)
        self._version += 1
        self._sync_current_app()

    def get_registered_classes(self) -> list[type[Integration]]:
        """Return the classes registered through this extension."""
        return list(self._classes)

    def _sync_current_app(self) -> None:
        if has_app_context():
            state = current_app.extensions.get("integrations")
            if state is not None and state.extension is self:
                state.sync_registrations(raise_errors=True)

    def discover(self, app: Flask) -> list[type[Integration]]:
        """Register with ``app`` the integrations installed packages provide
        through the ``flask_integrations.integrations`` entry-point group.

        Only ``app`` gets them. An entry point that fails to load or register
        is logged and skipped.

        :return: The classes registered.
        """
        state = self._state(app)
        found: list[type[Integration]] = []
        for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            try:
                loaded = entry_point.load()
            except Exception:
                logger.exception(
                    "Skipping integration entry point '%s' (%s): it failed to load.",
                    entry_point.name,
                    entry_point.value,
                )
                continue
            classes = loaded if isinstance(loaded, (list, tuple)) else [loaded]
            for cls in classes:
                source = f"'{entry_point.name}' ({entry_point.value})"
                if state.register_discovered(cls, source):
                    found.append(cls)
        return found
