"""A small ticket tracker that uses flask-integrations.

Run it with ``make run``; it serves http://127.0.0.1:5000 on SQLite in its
instance folder (``DATABASE_URL`` selects PostgreSQL instead, and
``EXAMPLE_INSTANCE_PATH`` moves the instance folder).
"""

from __future__ import annotations

import os
import typing as t

from flask import Flask

from .extensions import csrf, db, integrations, login_manager


def database_url(instance_path: str) -> str:
    """``DATABASE_URL``, or a SQLite file in the instance folder.

    ``postgres://`` and ``postgresql://`` URLs use the psycopg 3 driver.
    """
    url = os.environ.get("DATABASE_URL")
    if not url:
        return "sqlite:///" + os.path.join(instance_path, "example.sqlite3")
    for scheme in ("postgres://", "postgresql://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    return url


def create_app(config: t.Mapping[str, t.Any] | None = None) -> Flask:
    """Build the example app.

    Settings come from, in order: the defaults below, ``FLASK_*``
    environment variables (``FLASK_INTEGRATIONS_DISPATCHER=sync``), then
    ``config``.

    :param config: Config values that win over the defaults and the
        environment (tests pass their own database URL here).
    """
    app = Flask(
        __name__,
        instance_path=os.environ.get("EXAMPLE_INSTANCE_PATH") or None,
        instance_relative_config=True,
    )
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(
        SECRET_KEY=os.environ.get("SECRET_KEY", "example-app-development-key"),
        SQLALCHEMY_DATABASE_URI=database_url(app.instance_path),
        INTEGRATIONS_BASE_TEMPLATE="base.html",
        # Deliveries run in a pool of threads beside the web server.
        INTEGRATIONS_DISPATCHER="thread",
        # The webhook inbox of this app is on 127.0.0.1; the library refuses
        # loopback and private addresses unless listed here. Real apps keep
        # the default (nothing listed).
        INTEGRATIONS_OUTBOUND_ALLOWLIST=["127.0.0.1"],
    )
    app.config.from_prefixed_env()
    if config:
        app.config.update(config)

    db.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    integrations.init_app(app)

    from . import commands, inbox, views

    app.register_blueprint(views.bp)
    app.register_blueprint(inbox.bp)
    commands.register(app)
    return app
