"""What the figures share: the databases, one app factory, integrations.

Every app of the benchmarks is built by :func:`make_app`, with or without the
extension, so that "the same app without the extension" means exactly that.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import subprocess
import sys
import typing as t

import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_integrations import FlaskIntegrations, Integration

#: The repository; subprocesses run from here so they import this checkout.
ROOT = pathlib.Path(__file__).resolve().parents[1]


@dataclasses.dataclass
class Databases:
    """Where the figures store their data.

    :param folder: A temporary folder for SQLite files (never ``:memory:``).
    :param postgresql: A PostgreSQL URL, or ``None`` to skip those figures.
        Its ``flask_integrations_*`` tables are dropped and recreated.
    """

    folder: pathlib.Path
    postgresql: str | None = None

    def sqlite(self, name: str) -> str:
        """The URL of a fresh SQLite file called ``name``."""
        path = self.folder / f"{name}.sqlite3"
        if path.exists():
            path.unlink()
        return f"sqlite:///{path}"

    def each(self, name: str) -> list[tuple[str, str]]:
        """``(label, url)`` of SQLite and, when given, PostgreSQL."""
        found = [("SQLite", self.sqlite(name))]
        if self.postgresql:
            found.append(("PostgreSQL", self.postgresql))
        return found


@dataclasses.dataclass
class BenchApp:
    """An app built by :func:`make_app`, with its Flask-SQLAlchemy instance
    and, when it has one, its extension object."""

    app: Flask
    db: SQLAlchemy
    integrations: FlaskIntegrations | None

    @property
    def engine(self) -> sa.Engine:
        with self.app.app_context():
            return self.db.engine

    def integration(self, integration_id: str) -> Integration:
        """The app's instance of an integration (inside an app context)."""
        assert self.integrations is not None
        return self.integrations.manager.get_integration(integration_id)

    def reset_tables(self) -> None:
        """Drop and create the tables of this app's models."""
        with self.app.app_context():
            self.db.drop_all()
            self.db.create_all()

    def drop_tables(self) -> None:
        with self.app.app_context():
            self.db.session.remove()
            self.db.drop_all()

    def close(self) -> None:
        """Disable the integrations (disconnecting their hooks), stop the
        dispatcher's threads and release the app's connections."""
        with self.app.app_context():
            if self.integrations is not None:
                state = self.app.extensions["integrations"]
                dispatcher = getattr(state, "dispatcher", None)
                if dispatcher is not None:
                    dispatcher.shutdown(wait=True)
                self.integrations.manager.shutdown()
            self.db.session.remove()
            for engine in self.db.engines.values():
                engine.dispose()


def make_app(
    database_url: str,
    *,
    integrations: t.Iterable[type[Integration]] = (),
    extension: bool = True,
    name: str = "bench",
    **config: t.Any,
) -> BenchApp:
    """Build an app on ``database_url``: Flask-SQLAlchemy and, unless
    ``extension`` is false, the extension with ``integrations`` registered
    and the admin pages open to everyone."""
    app = Flask(name)
    app.config.update(
        SECRET_KEY="benchmarks",
        SQLALCHEMY_DATABASE_URI=database_url,
        **config,
    )
    db = SQLAlchemy()
    db.init_app(app)
    extension_object = None
    if extension:
        extension_object = FlaskIntegrations(db=db, admin_required=lambda: True)
        for cls in integrations:
            extension_object.register(cls)
        extension_object.init_app(app)
    return BenchApp(app, db, extension_object)


def seed(
    bench: BenchApp,
    integration_id: str,
    count: int,
    settings: t.Callable[[int], dict[str, t.Any]] = lambda number: {},
    name: t.Callable[[int], str] = lambda number: f"config {number}",
) -> None:
    """Store ``count`` enabled configurations of an integration."""
    with bench.app.app_context():
        integration = bench.integration(integration_id)
        bench.db.session.add_all(
            integration.create_config(
                name=name(number), enabled=True, settings=settings(number)
            )
            for number in range(count)
        )
        bench.db.session.commit()


def delete_configs(bench: BenchApp, integration_id: str) -> None:
    """Delete every configuration of an integration, through the ORM."""
    with bench.app.app_context():
        assert bench.integrations is not None
        model = bench.integrations.manager.config_model
        session = bench.db.session
        for config in session.scalars(
            sa.select(model).where(model.integration_id == integration_id)
        ):
            session.delete(config)
        session.commit()


def generated_integrations(count: int, prefix: str) -> list[type[Integration]]:
    """``count`` distinct integration classes, ids ``<prefix>-000``…"""
    return [
        type(
            f"Generated{number:03}",
            (Integration,),
            {
                "__module__": __name__,
                "integration_id": f"{prefix}-{number:03}",
                "name": f"Generated {number:03}",
                "description": "One of the integrations the list page shows.",
            },
        )
        for number in range(count)
    ]


def count_statements(engine: sa.Engine) -> t.Callable[[], int]:
    """Start counting the SQL statements ``engine`` runs; the returned
    function gives the count so far (every statement sent to a cursor)."""
    counted = [0]

    def listener(*args: t.Any) -> None:
        counted[0] += 1

    sa.event.listen(engine, "before_cursor_execute", listener)
    return lambda: counted[0]


def start_module(module: str, *args: str) -> subprocess.Popen[str]:
    """Start ``python -m <module>`` of this checkout, talking through pipes."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        bufsize=1,
    )
