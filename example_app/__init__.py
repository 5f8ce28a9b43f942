"""A small Flask app that uses flask-integrations.

Run it with ``make run``; it serves http://127.0.0.1:5000 on SQLite.
"""

from __future__ import annotations

import os
import typing as t

from flask import Flask

from .extensions import csrf, db, integrations, login_manager


def create_app(config: t.Mapping[str, t.Any] | None = None) -> Flask:
    """Build the example app.

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
        INTEGRATIONS_BASE_TEMPLATE="base.html",
        SQLALCHEMY_DATABASE_URI=os.environ.get(
            "DATABASE_URL",
            "sqlite:///" + os.path.join(app.instance_path, "example.sqlite3"),
        ),
    )
    if config:
        app.config.update(config)

    db.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    integrations.init_app(app)

    from . import commands, views

    app.register_blueprint(views.bp)
    commands.register(app)
    return app
