"""A pytest plugin for testing integrations and the apps that use them.

Enable it in a ``conftest.py``::

    pytest_plugins = ["flask_integrations.testing"]

or on the command line with ``pytest -p flask_integrations.testing``. It is
never enabled on its own. Its fixtures:

``integrations_app``
    A Flask app with Flask-SQLAlchemy (SQLite in memory, tables created) and
    the extension, ``TESTING`` on and the ``"sync"`` dispatcher, inside an
    app context. It registers the classes of ``integrations_classes`` and
    of the ``integrations`` marker. A host app overrides this fixture with
    its own factory; the other fixtures then use that app.
``integrations_classes``, ``integrations_config``
    The integration classes to register and extra config for the app;
    override them (they default to ``[]`` and ``{}``).
``integrations_manager``
    The app's :class:`~flask_integrations.IntegrationManager`.
``integrations_admin_client``
    A test client whose requests pass the admin check, with
    :meth:`~flask_integrations.testing.client.AdminClientMixin.submit_form`.
``integrations_receiver``
    An :class:`~flask_integrations.testing.receiver.IntegrationsReceiver`
    that the app's outbound requests may reach.
``integrations_outbox``
    Capture mode for the test: the list of deliveries queued, none sent.

One test can add classes and config with the marker::

    @pytest.mark.integrations(ChatIntegration, INTEGRATIONS_ENABLED=False)
    def test_switched_off(integrations_app): ...
"""

from __future__ import annotations

import secrets
import typing as t

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy

from ..capture import CapturedDelivery, record_deliveries
from ..extension import FlaskIntegrations
from ..integration import Integration
from ..manager import IntegrationManager
from .client import AdminClientMixin, HTMLForm, find_form, make_admin_client
from .receiver import IntegrationsReceiver, ReceivedRequest

__all__ = [
    "AdminClientMixin",
    "HTMLForm",
    "IntegrationsReceiver",
    "ReceivedRequest",
    "create_test_app",
    "dispose_test_app",
    "find_form",
    "make_admin_client",
]

#: The receiver's address, added to the app's outbound allowlist.
RECEIVER_HOST = "127.0.0.1"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "integrations(*classes, **config): integration classes to register and"
        " config for the 'integrations_app' fixture.",
    )


def create_test_app(
    classes: t.Iterable[type[Integration]] = (),
    config: t.Mapping[str, t.Any] | None = None,
) -> Flask:
    """Build the app of the ``integrations_app`` fixture.

    SQLite in memory with the tables created, ``TESTING`` on, CSRF on (as
    in production; the admin client fills the token in), the ``"sync"``
    dispatcher, and a random ``SECRET_KEY``. Nobody passes the admin check
    but the admin client.

    :param classes: Integration classes to register.
    :param config: Config to set over the defaults.
    """
    db = SQLAlchemy()
    integrations = FlaskIntegrations(db=db)
    app = Flask("integrations_test_app")
    app.config.update(
        TESTING=True,
        SECRET_KEY=secrets.token_hex(16),
        SQLALCHEMY_DATABASE_URI="sqlite://",
        INTEGRATIONS_DISPATCHER="sync",
    )
    app.config.update(config or {})
    db.init_app(app)
    integrations.init_app(app)
    with app.app_context():
        for cls in classes:
            integrations.register(cls)
        db.create_all()
    return app


def dispose_test_app(app: Flask) -> None:
    """Tear down an app of :func:`create_test_app`: shut its integrations
    down (disconnecting their hooks), drop its tables, close its database."""
    state = app.extensions["integrations"]
    db = app.extensions["sqlalchemy"]
    with app.app_context():
        if state.dispatcher is not None:
            state.dispatcher.shutdown()
        # Disconnects the hooks from signals that outlive the app.
        state.manager.shutdown()
        db.session.remove()
        db.drop_all()
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture
def integrations_classes() -> list[type[Integration]]:
    """The integration classes ``integrations_app`` registers; override it."""
    return []


@pytest.fixture
def integrations_config() -> dict[str, t.Any]:
    """Config ``integrations_app`` sets; override it."""
    return {}


@pytest.fixture
def integrations_app(
    request: pytest.FixtureRequest,
    integrations_classes: list[type[Integration]],
    integrations_config: dict[str, t.Any],
) -> t.Iterator[Flask]:
    """A fresh app with the extension, inside its app context."""
    classes = list(integrations_classes)
    config = dict(integrations_config)
    # Markers closer to the test win: apply them last.
    for marker in reversed(list(request.node.iter_markers("integrations"))):
        classes.extend(c for c in marker.args if c not in classes)
        config.update(marker.kwargs)
    app = create_test_app(classes, config)
    with app.app_context():
        yield app
    dispose_test_app(app)


@pytest.fixture
def integrations_manager(integrations_app: Flask) -> IntegrationManager:
    """The app's integration manager."""
    return t.cast(
        IntegrationManager, integrations_app.extensions["integrations"].manager
    )


@pytest.fixture
def integrations_admin_client(integrations_app: Flask) -> t.Iterator[FlaskClient]:
    """A test client of the app that passes the admin check."""
    state = integrations_app.extensions["integrations"]
    token = state.test_admin_token
    yield make_admin_client(integrations_app)
    state.test_admin_token = token


@pytest.fixture
def integrations_receiver(integrations_app: Flask) -> t.Iterator[IntegrationsReceiver]:
    """A local HTTP server recording requests; the app may send to it."""
    config = integrations_app.config
    allowlist = config.get("INTEGRATIONS_OUTBOUND_ALLOWLIST") or ()
    config["INTEGRATIONS_OUTBOUND_ALLOWLIST"] = [*allowlist, RECEIVER_HOST]
    with IntegrationsReceiver() as receiver:
        yield receiver
    config["INTEGRATIONS_OUTBOUND_ALLOWLIST"] = allowlist


@pytest.fixture
def integrations_outbox(integrations_app: Flask) -> t.Iterator[list[CapturedDelivery]]:
    """Capture mode for the test: deliveries are recorded here, never sent."""
    with record_deliveries(integrations_app) as outbox:
        yield outbox
