"""Shared fixtures: a fresh app, database and extension for every test.

Database-backed tests run on SQLite and, when
``INTEGRATIONS_TEST_DATABASE_URL`` is set, on PostgreSQL too.
"""

from __future__ import annotations

import collections
import contextlib
import os
import typing as t

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_integrations import FlaskIntegrations, Integration

# The test kit is tested with its own fixtures, and run on small test files
# with pytester.
pytest_plugins = ["pytester", "flask_integrations.testing"]

POSTGRES_URL = os.environ.get("INTEGRATIONS_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("INTEGRATIONS_TEST_REDIS_URL")
BROWSER = os.environ.get("INTEGRATIONS_TEST_BROWSER") == "1"

IN_CI = os.environ.get("CI") == "true"


def skip_unless_available(reason: str) -> t.NoReturn:
    """Skip a test that needs a missing service; in CI, fail instead, since
    CI must run everything."""
    if IN_CI:
        pytest.fail(f"CI must run every test, but: {reason}")
    pytest.skip(reason)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Sum skipped tests up by reason, one line each: without PostgreSQL,
    Redis or a browser, hundreds of tests skip for a handful of reasons.
    (``-rfExX`` in setup.cfg keeps pytest's own line per skip out of the
    summary; failures and errors are reported in full as usual.)"""
    reports = terminalreporter.stats.get("skipped", [])
    reasons = collections.Counter(_skip_reason(report) for report in reports)
    if not reasons:
        return
    terminalreporter.section("skipped tests, by reason", sep="-")
    for reason, count in sorted(reasons.items(), key=lambda item: (-item[1], item[0])):
        terminalreporter.write_line(f"{count:5d}  {reason}")


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return reason.removeprefix("Skipped: ")


NO_POSTGRES = (
    "INTEGRATIONS_TEST_DATABASE_URL is not set, so the PostgreSQL run is skipped"
    " (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)."
)


def reset_database(url: str) -> None:
    """Empty a (PostgreSQL) test database: drop and recreate its schema."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("DROP SCHEMA public CASCADE"))
            connection.execute(sa.text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


@pytest.fixture(scope="session", autouse=True)
def _clean_postgres_at_start() -> None:
    """Start from an empty PostgreSQL database, whatever a crashed run left."""
    if POSTGRES_URL:
        reset_database(POSTGRES_URL)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """The database backend of the test (parametrized)."""
    if request.param == "postgresql" and not POSTGRES_URL:
        skip_unless_available(NO_POSTGRES)
    return t.cast(str, request.param)


@pytest.fixture
def database_url(backend: str) -> t.Iterator[str]:
    """An empty database: SQLite in memory, or the PostgreSQL test database."""
    if backend == "sqlite":
        yield "sqlite://"
        return
    if not POSTGRES_URL:  # a test may parametrize 'backend' directly
        skip_unless_available(NO_POSTGRES)
    yield POSTGRES_URL
    reset_database(POSTGRES_URL)


@pytest.fixture
def shared_database_url(backend: str, tmp_path: t.Any) -> t.Iterator[str]:
    """A database several engines (apps, threads) can share: a SQLite file or
    the PostgreSQL test database."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'shared.sqlite3'}"
        return
    if not POSTGRES_URL:  # a test may parametrize 'backend' directly
        skip_unless_available(NO_POSTGRES)
    yield POSTGRES_URL
    reset_database(POSTGRES_URL)


@pytest.fixture
def db() -> SQLAlchemy:
    """A fresh Flask-SQLAlchemy instance."""
    return SQLAlchemy()


@pytest.fixture
def integrations(db: SQLAlchemy) -> FlaskIntegrations:
    """The extension, with the admin pages open to everyone."""
    return FlaskIntegrations(db=db, admin_required=lambda: True)


def make_app(
    database_url: str,
    db: SQLAlchemy,
    integrations: FlaskIntegrations,
    name: str = "test_app",
    **config: t.Any,
) -> Flask:
    """Build an app on ``database_url`` with ``db`` and ``integrations``."""
    app = Flask(name)
    app.config.update(
        TESTING=True,
        SECRET_KEY="test secret key",
        SQLALCHEMY_DATABASE_URI=database_url,
        WTF_CSRF_ENABLED=False,
        **config,
    )
    db.init_app(app)
    integrations.init_app(app)
    return app


@pytest.fixture
def app_config() -> dict[str, t.Any]:
    """Extra config for the ``app`` fixture (override in a module)."""
    return {}


@pytest.fixture
def app(
    database_url: str,
    db: SQLAlchemy,
    integrations: FlaskIntegrations,
    app_config: dict[str, t.Any],
) -> t.Iterator[Flask]:
    """A fresh app with the extension's tables created."""
    app = make_app(database_url, db, integrations, **app_config)
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture
def app_ctx(app: Flask) -> t.Iterator[Flask]:
    """Run the test inside the app's context."""
    with app.app_context():
        yield app


@pytest.fixture
def client(app: Flask) -> t.Any:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> t.Any:
    return app.test_cli_runner()


@pytest.fixture
def manager(app_ctx: Flask, integrations: FlaskIntegrations) -> t.Any:
    """The app's manager, inside an app context."""
    return integrations.manager


class QueryCounter:
    """Records the SQL statements an engine runs."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __len__(self) -> int:
        return len(self.statements)

    def __call__(
        self, conn: t.Any, cursor: t.Any, statement: str, *args: t.Any
    ) -> None:
        self.statements.append(statement)


@pytest.fixture
def count_queries(db: SQLAlchemy) -> t.Callable[[], t.ContextManager[QueryCounter]]:
    """``with count_queries() as q: ...`` then ``len(q)`` statements ran."""

    @contextlib.contextmanager
    def counting() -> t.Iterator[QueryCounter]:
        counter = QueryCounter()
        engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            sa.event.remove(engine, "before_cursor_execute", counter)

    return counting


class SimpleIntegration(Integration):
    """An integration that records its lifecycle."""

    integration_id = "tests.simple"
    name = "Simple"
    description = "Records what happens to it."
    default_settings = {"color": "blue", "size": 3}

    def __init__(self, integration_mgr: t.Any) -> None:
        super().__init__(integration_mgr)
        self.initialize_calls = 0
        self.shutdown_calls = 0

    def initialize(self) -> None:
        self.initialize_calls += 1

    def shutdown(self) -> None:
        self.shutdown_calls += 1


class OtherIntegration(Integration):
    integration_id = "tests.other-one"
    name = "Other"
