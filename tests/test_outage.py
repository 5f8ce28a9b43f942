"""The database goes away for a while, then comes back."""

from __future__ import annotations

import logging
import typing as t

import pytest
import sqlalchemy as sa
from blinker import Namespace
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_integrations import FlaskIntegrations, Integration, SignalHook
from tests.conftest import make_app

pinged = Namespace().signal("outage-pinged")


class Watched(Integration):
    integration_id = "tests.outage"
    name = "Watched"

    def initialize(self) -> None:
        SignalHook(self, pinged, self.on_ping)

    def on_ping(self, sender: t.Any, **kwargs: t.Any) -> None:
        sender.append(self.integration_id)


class Outage:
    """Makes every new connection of an engine fail while ``down``."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.down = False
        sa.event.listen(engine, "do_connect", self._connect)

    def _connect(self, *args: t.Any, **kwargs: t.Any) -> None:
        if self.down:
            raise sa.exc.OperationalError("connect", {}, Exception("database is down"))

    def start(self) -> None:
        self.down = True
        self.engine.dispose()

    def end(self) -> None:
        self.down = False


@pytest.fixture
def apps(shared_database_url: str) -> t.Iterator[tuple[Flask, Flask, SQLAlchemy]]:
    db_a, db_b = SQLAlchemy(), SQLAlchemy()
    ext_a = FlaskIntegrations(db=db_a, admin_required=lambda: True)
    ext_b = FlaskIntegrations(db=db_b, admin_required=lambda: True)
    ext_a.register(Watched)
    ext_b.register(Watched)
    app_a = make_app(shared_database_url, db_a, ext_a, name="outage_a")
    app_b = make_app(shared_database_url, db_b, ext_b, name="outage_b")

    @app_a.get("/ping")
    def ping() -> dict[str, t.Any]:
        received: list[str] = []
        pinged.send(received)
        return {"hooks": received}

    @app_a.get("/plain")
    def plain() -> str:
        return "no database needed"

    with app_a.app_context():
        db_a.create_all()
    yield app_a, app_b, db_a
    for app, db in ((app_a, db_a), (app_b, db_b)):
        with app.app_context():
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()


def test_pages_keep_working_and_the_manager_catches_up(
    apps: tuple[Flask, Flask, SQLAlchemy], caplog: pytest.LogCaptureFixture
) -> None:
    app_a, app_b, db_a = apps
    client = app_a.test_client()
    assert client.get("/ping").json == {"hooks": []}
    with app_a.app_context():
        outage = Outage(db_a.engine)

    outage.start()
    # Nothing changed, so the staleness check needs no connection.
    assert client.get("/plain").text == "no database needed"
    assert client.get("/ping").json == {"hooks": []}

    # Meanwhile another worker, whose database works, enables the integration.
    with app_b.app_context():
        manager = app_b.extensions["integrations"].manager
        watched = manager.get_integration(Watched.integration_id)
        watched.create_config(name="while down", enabled=True, save=True)

    with caplog.at_level(logging.WARNING, logger="flask_integrations"):
        assert client.get("/plain").text == "no database needed"
        assert client.get("/ping").json == {"hooks": []}
    assert "Could not read integration configurations" in caplog.text
    outage.end()
    assert client.get("/ping").json == {"hooks": ["tests.outage"]}
    assert client.get("/integrations/").status_code == 200
