"""The :class:`FlaskIntegrations` extension: wiring into one or many apps."""

from __future__ import annotations

import logging
import typing as t

import pytest
import sqlalchemy as sa
from blinker import Signal
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import Mapped, mapped_column

from flask_integrations import (
    FlaskIntegrations,
    Integration,
    IntegrationAlreadyRegisteredError,
    IntegrationConfigMixin,
    IntegrationError,
    IntegrationManager,
    IntegrationRegistrationError,
    SignalHook,
    get_default_config_model,
)
from tests.conftest import make_app

#: For tests that do no database work of their own: one backend is enough.
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])


def manager_of(app: Flask) -> IntegrationManager:
    """The manager kept in the app's extension state."""
    return t.cast(IntegrationManager, app.extensions["integrations"].manager)


@pytest.fixture
def cleanup(db: SQLAlchemy) -> t.Iterator[t.Callable[[Flask], Flask]]:
    """``cleanup(app)`` drops the app's tables and disposes of its engines
    after the test."""
    apps: list[Flask] = []

    def track(app: Flask) -> Flask:
        apps.append(app)
        return app

    yield track
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.drop_all()
            for engine in db.engines.values():
                engine.dispose()


def bare_app(database_url: str, name: str = "bare_app", **config: t.Any) -> Flask:
    """An app configured for the tests, with no extension yet."""
    app = Flask(name)
    app.config.update(
        TESTING=True,
        SECRET_KEY="test secret key",
        SQLALCHEMY_DATABASE_URI=database_url,
        WTF_CSRF_ENABLED=False,
        **config,
    )
    return app


def listener(
    integration_id: str, signal: Signal, received: list[tuple[str, object]]
) -> type[Integration]:
    """An integration class that records ``signal`` while enabled, with the
    name of its manager's app."""

    class Listener(Integration):
        def initialize(self) -> None:
            SignalHook(self, signal, self.on_signal)

        def on_signal(self, sender: t.Any, **kwargs: t.Any) -> None:
            app = self.integration_mgr.app
            received.append((app.name if app else "", sender))

    Listener.integration_id = integration_id
    return Listener


# -- finding the database ------------------------------------------------------


def test_finds_the_apps_flask_sqlalchemy_instance(
    database_url: str, db: SQLAlchemy, cleanup: t.Callable[[Flask], Flask]
) -> None:
    app = cleanup(bare_app(database_url))
    db.init_app(app)

    integrations = FlaskIntegrations(app)

    class Found(Integration):
        integration_id = "test_extension.found"

    with app.app_context():
        assert integrations.manager is manager_of(app)
        assert integrations.manager.config_model is get_default_config_model(db)
        db.create_all()
        integrations.register(Found)
        integration = integrations.manager.get_integration("test_extension.found")
        config = integration.create_config(name="c", enabled=True, save=True)
        assert db.session.get(integrations.manager.config_model, config.id) is config
        assert integration.enabled


def test_factory_form(
    database_url: str, db: SQLAlchemy, cleanup: t.Callable[[Flask], Flask]
) -> None:
    integrations = FlaskIntegrations(db=db)
    app = bare_app(database_url)
    db.init_app(app)
    assert "integrations" not in app.extensions

    integrations.init_app(app)
    cleanup(app)

    with app.app_context():
        manager = integrations.manager
        assert isinstance(manager, IntegrationManager)
        assert manager is manager_of(app)
        assert manager.app is app
        assert manager.config_model is get_default_config_model(db)


@sqlite_only
def test_default_model_is_built_once_per_db(
    database_url: str, db: SQLAlchemy, cleanup: t.Callable[[Flask], Flask]
) -> None:
    managers = []
    for name in ("model_one", "model_two"):
        extension = FlaskIntegrations(db=db)
        managers.append(
            manager_of(cleanup(make_app(database_url, db, extension, name=name)))
        )

    assert managers[0] is not managers[1]
    assert managers[0].config_model is managers[1].config_model
    assert managers[0].config_model is get_default_config_model(db)


def test_one_extension_serves_two_apps_with_their_own_managers(
    database_url: str,
    db: SQLAlchemy,
    integrations: FlaskIntegrations,
    cleanup: t.Callable[[Flask], Flask],
) -> None:
    class Served(Integration):
        integration_id = "test_extension.served"

    integrations.register(Served)
    app_one = cleanup(make_app(database_url, db, integrations, name="served_one"))
    app_two = cleanup(make_app(database_url, db, integrations, name="served_two"))

    assert manager_of(app_one) is not manager_of(app_two)
    with app_one.app_context():
        one = integrations.manager
        instance_one = one.get_integration("test_extension.served")
    with app_two.app_context():
        two = integrations.manager
        instance_two = two.get_integration("test_extension.served")
    assert one is manager_of(app_one)
    assert two is manager_of(app_two)
    assert one.app is app_one
    assert two.app is app_two
    assert instance_one is not instance_two
    assert instance_one.integration_mgr is one
    assert instance_two.integration_mgr is two


# -- register --------------------------------------------------------------------


def test_register_is_a_decorator_returning_the_class(
    integrations: FlaskIntegrations,
) -> None:
    class Decorated(Integration):
        integration_id = "test_extension.decorated"

    assert integrations.register(Decorated) is Decorated


def test_register_before_init_app(
    database_url: str,
    db: SQLAlchemy,
    integrations: FlaskIntegrations,
    cleanup: t.Callable[[Flask], Flask],
) -> None:
    @integrations.register
    class Early(Integration):
        integration_id = "test_extension.early"

    app = cleanup(make_app(database_url, db, integrations))

    with app.app_context():
        assert (
            type(integrations.manager.get_integration("test_extension.early")) is Early
        )
        assert integrations.manager.get_integration_classes() == [Early]


@sqlite_only
def test_register_after_init_app_inside_an_app_context(
    app: Flask, integrations: FlaskIntegrations
) -> None:
    with app.app_context():

        @integrations.register
        class InContext(Integration):
            integration_id = "test_extension.in-context"

        instance = integrations.manager.get_integration("test_extension.in-context")
        assert type(instance) is InContext


@sqlite_only
def test_register_inside_an_app_context_reports_errors_at_once(
    app: Flask, integrations: FlaskIntegrations
) -> None:
    class Taken(Integration):
        integration_id = "test_extension.taken"

    class AlsoTaken(Integration):
        integration_id = "test_extension.taken"

    with app.app_context():
        integrations.register(Taken)
        with pytest.raises(IntegrationAlreadyRegisteredError):
            integrations.register(AlsoTaken)
        with pytest.raises(IntegrationAlreadyRegisteredError):
            integrations.register(Taken)
        with pytest.raises(IntegrationRegistrationError):
            integrations.register(object)  # type: ignore[arg-type]
        assert integrations.manager.get_integration_classes() == [Taken]


def test_register_after_init_app_outside_a_context_applies_at_next_request(
    app: Flask, db: SQLAlchemy, integrations: FlaskIntegrations, client: t.Any
) -> None:
    signal = Signal()
    received: list[tuple[str, object]] = []

    def view() -> str:
        signal.send("view")
        return "ok"

    app.add_url_rule("/send", "send", view)
    with app.app_context():
        model = integrations.manager.config_model
        db.session.add(
            model(integration_id="test_extension.late", name="c", enabled=True)
        )
        db.session.commit()

    integrations.register(listener("test_extension.late", signal, received))

    response = client.get("/send")

    assert response.status_code == 200
    assert received == [("test_app", "view")]
    with app.app_context():
        assert integrations.manager.get_integration("test_extension.late").enabled


def test_register_reaches_every_app_of_the_extension(
    database_url: str,
    db: SQLAlchemy,
    integrations: FlaskIntegrations,
    cleanup: t.Callable[[Flask], Flask],
) -> None:
    signal = Signal()
    received: list[tuple[str, object]] = []
    apps = [
        cleanup(make_app(database_url, db, integrations, name=name))
        for name in ("reach_one", "reach_two")
    ]
    for app in apps:
        app.add_url_rule("/send", "send", lambda: str(signal.send("view")))
        with app.app_context():
            db.create_all()
            model = integrations.manager.config_model
            if not db.session.scalar(sa.select(sa.func.count()).select_from(model)):
                db.session.add(
                    model(integration_id="test_extension.reach", name="c", enabled=True)
                )
                db.session.commit()

    # Registered inside the first app's context: the second app learns of it
    # at its next request.
    with apps[0].app_context():
        integrations.register(listener("test_extension.reach", signal, received))

    assert apps[1].test_client().get("/send").status_code == 200
    assert apps[0].test_client().get("/send").status_code == 200
    assert received == [("reach_two", "view"), ("reach_one", "view")]


@sqlite_only
def test_a_broken_class_does_not_block_later_registrations(
    app: Flask,
    integrations: FlaskIntegrations,
    client: t.Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    class BrokenConstructor(Integration):
        integration_id = "test_extension.broken-constructor"

        def __init__(self, integration_mgr: IntegrationManager) -> None:
            raise RuntimeError("cannot construct")

    class RegisteredAfter(Integration):
        integration_id = "test_extension.registered-after"

    app.add_url_rule("/ping", "ping", lambda: "pong")
    integrations.register(BrokenConstructor)
    integrations.register(RegisteredAfter)

    with caplog.at_level(logging.ERROR, logger="flask_integrations"):
        response = client.get("/ping")

    assert response.status_code == 200
    with app.app_context():
        manager = integrations.manager
        assert type(manager.get_integration("test_extension.registered-after")) is (
            RegisteredAfter
        )


@sqlite_only
def test_a_broken_class_does_not_break_init_app(
    database_url: str,
    db: SQLAlchemy,
    integrations: FlaskIntegrations,
    cleanup: t.Callable[[Flask], Flask],
    caplog: pytest.LogCaptureFixture,
) -> None:
    class BrokenAtStart(Integration):
        integration_id = "test_extension.broken-at-start"

        def __init__(self, integration_mgr: IntegrationManager) -> None:
            raise RuntimeError("cannot construct")

    class FineAtStart(Integration):
        integration_id = "test_extension.fine-at-start"

    integrations.register(BrokenAtStart)
    integrations.register(FineAtStart)
    app = bare_app(database_url)
    db.init_app(app)
    cleanup(app)

    with caplog.at_level(logging.ERROR, logger="flask_integrations"):
        integrations.init_app(app)

    assert "cannot construct" in caplog.text
    with app.app_context():
        manager = integrations.manager
        assert type(manager.get_integration("test_extension.fine-at-start")) is (
            FineAtStart
        )


# -- configuration -----------------------------------------------------------------


@sqlite_only
def test_config_defaults(app: Flask) -> None:
    assert app.config["INTEGRATIONS_URL_PREFIX"] == "/integrations"
    assert app.config["INTEGRATIONS_DISCOVER"] is False
    assert app.config["INTEGRATIONS_SYNC_INTERVAL"] == 0
    assert app.config["INTEGRATIONS_CONFIG_CACHE_SIZE"] > 0
    assert "INTEGRATIONS_ADMIN_CHECK" in app.config
    assert "INTEGRATIONS_ACTOR" in app.config


@sqlite_only
def test_an_apps_own_config_wins(
    database_url: str,
    db: SQLAlchemy,
    integrations: FlaskIntegrations,
    cleanup: t.Callable[[Flask], Flask],
) -> None:
    app = cleanup(
        make_app(
            database_url,
            db,
            integrations,
            INTEGRATIONS_URL_PREFIX="/admin/hooks",
            INTEGRATIONS_SYNC_INTERVAL=30,
            INTEGRATIONS_CONFIG_CACHE_SIZE=7,
        )
    )

    assert app.config["INTEGRATIONS_URL_PREFIX"] == "/admin/hooks"
    assert app.config["INTEGRATIONS_SYNC_INTERVAL"] == 30
    assert app.config["INTEGRATIONS_CONFIG_CACHE_SIZE"] == 7
    assert app.config["INTEGRATIONS_DISCOVER"] is False


@pytest.mark.parametrize(
    ("cache_size", "second_read_queries"), [(0, True), (512, False)]
)
def test_an_apps_cache_size_is_used(
    database_url: str,
    db: SQLAlchemy,
    integrations: FlaskIntegrations,
    cleanup: t.Callable[[Flask], Flask],
    count_queries: t.Callable[[], t.Any],
    cache_size: int,
    second_read_queries: bool,
) -> None:
    class Cached(Integration):
        integration_id = "test_extension.cached"

    integrations.register(Cached)
    app = cleanup(
        make_app(
            database_url, db, integrations, INTEGRATIONS_CONFIG_CACHE_SIZE=cache_size
        )
    )
    with app.app_context():
        db.create_all()
        integration = integrations.manager.get_integration("test_extension.cached")
        integration.create_config(name="c", enabled=True, save=True)
        integration.get_configs()

        with count_queries() as queries:
            assert [c.name for c in integration.get_configs()] == ["c"]

    assert (len(queries) > 0) is second_read_queries


# -- errors --------------------------------------------------------------------------


def test_error_without_flask_sqlalchemy(
    database_url: str, db: SQLAlchemy, cleanup: t.Callable[[Flask], Flask]
) -> None:
    app = bare_app(database_url)

    with pytest.raises(IntegrationError, match="Flask-SQLAlchemy") as exc_info:
        FlaskIntegrations(app)

    assert "db.init_app(app)" in str(exc_info.value)
    assert "integrations" not in app.extensions
    # Nothing was left half done: the app can still be set up.
    db.init_app(app)
    integrations = FlaskIntegrations(app)
    cleanup(app)
    with app.app_context():
        assert integrations.manager is manager_of(app)


@sqlite_only
def test_error_when_init_app_is_called_twice(
    app: Flask, integrations: FlaskIntegrations
) -> None:
    manager = manager_of(app)

    with pytest.raises(IntegrationError, match="already initialized"):
        integrations.init_app(app)
    with pytest.raises(IntegrationError, match="already initialized"):
        FlaskIntegrations(app)

    assert manager_of(app) is manager


@sqlite_only
def test_manager_outside_an_app_context_is_a_clear_error(
    app: Flask, integrations: FlaskIntegrations
) -> None:
    with pytest.raises(RuntimeError, match="application context"):
        _ = integrations.manager


@sqlite_only
def test_manager_of_an_app_without_the_extension_is_a_clear_error(
    database_url: str, db: SQLAlchemy, integrations: FlaskIntegrations
) -> None:
    app = bare_app(database_url, name="not_initialized")

    with (
        app.app_context(),
        pytest.raises(IntegrationError, match="init_app") as exc_info,
    ):
        _ = integrations.manager

    assert "'not_initialized'" in str(exc_info.value)


# -- custom configuration model ---------------------------------------------------


def test_custom_config_model(
    database_url: str, db: SQLAlchemy, cleanup: t.Callable[[Flask], Flask]
) -> None:
    class OrgIntegrationConfig(IntegrationConfigMixin, db.Model):  # type: ignore[name-defined, misc]
        organization_id: Mapped[int | None] = mapped_column(nullable=True)

    class PerOrg(Integration):
        integration_id = "test_extension.per-org"

    integrations = FlaskIntegrations(db=db, config_model=OrgIntegrationConfig)
    integrations.register(PerOrg)
    app = cleanup(make_app(database_url, db, integrations))

    with app.app_context():
        db.create_all()
        manager = integrations.manager
        assert manager.config_model is OrgIntegrationConfig
        integration = manager.get_integration("test_extension.per-org")
        first = integration.create_config(
            name="first", enabled=True, organization_id=7, save=True
        )
        integration.create_config(
            name="second", enabled=True, organization_id=8, save=True
        )

        assert isinstance(first, OrgIntegrationConfig)
        assert integration.enabled
        assert [c.name for c in integration.get_configs(organization_id=7)] == ["first"]
        assert [c.organization_id for c in integration.get_configs()] == [7, 8]
        stored = manager.get_config(first.id)
        assert isinstance(stored, OrgIntegrationConfig)
        assert stored.organization_id == 7
