"""``flask init-example``: create the database, the admin user and seed data."""

from __future__ import annotations

import os
import secrets

import click
from flask import Flask, current_app

from .extensions import db, integrations
from .integrations.announcements import AnnouncementIntegration
from .models import User

ADMIN_USERNAME = "admin"


def _admin_password() -> str:
    """Return the admin password, making one on first start.

    It is kept in the instance folder so that every ``make run`` can print it.
    """
    path = os.path.join(current_app.instance_path, "admin-password.txt")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            return f.read().strip()
    password = (
        current_app.config.get("EXAMPLE_ADMIN_PASSWORD")
        or os.environ.get("EXAMPLE_ADMIN_PASSWORD")
        or secrets.token_urlsafe(9)
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(password + "\n")
    return password


def init_example() -> str:
    """Create tables, the admin user and a first configuration; return the
    admin password."""
    db.create_all()
    password = _admin_password()
    admin = db.session.execute(
        db.select(User).filter_by(username=ADMIN_USERNAME)
    ).scalar_one_or_none()
    if admin is None:
        admin = User(username=ADMIN_USERNAME, is_admin=True)
        admin.set_password(password)
        db.session.add(admin)
    manager = integrations.manager
    announcements = manager.get_integration(AnnouncementIntegration.integration_id)
    if not manager.get_integration_configs(announcements):
        db.session.add(
            announcements.create_config(
                name="Welcome banner",
                enabled=True,
                settings={
                    "message": "Welcome! Integrations are managed under /integrations/."
                },
            )
        )
    db.session.commit()
    return password


def register(app: Flask) -> None:
    @app.cli.command("init-example")
    def init_example_command() -> None:
        """Create the database and the admin user, seed example data."""
        password = init_example()
        click.echo(f"Database: {current_app.config['SQLALCHEMY_DATABASE_URI']}")
        click.echo(f"Admin login: {ADMIN_USERNAME} / {password}")
        click.echo("Open http://127.0.0.1:5000/ and the admin pages at /integrations/")
