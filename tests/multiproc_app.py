"""A small app served by several processes in tests/test_multiprocess.py.

``/ping`` sends a signal that an integration hooks while enabled, and answers
with the worker's pid and whether the hook fired.
"""

from __future__ import annotations

import os

from blinker import Namespace
from flask import Flask, g, jsonify
from flask_sqlalchemy import SQLAlchemy

from flask_integrations import FlaskIntegrations, Integration, SignalHook

pinged = Namespace().signal("pinged")
db = SQLAlchemy()
integrations = FlaskIntegrations(db=db, admin_required=lambda: True)


@integrations.register
class PingIntegration(Integration):
    integration_id = "tests.ping"
    name = "Ping"

    def initialize(self) -> None:
        SignalHook(self, pinged, self.on_ping)

    def on_ping(self, sender: object, **kwargs: object) -> None:
        g.hook_fired = [c.name for c in self.get_configs()]


def create_app() -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="multiprocess",
        SQLALCHEMY_DATABASE_URI=os.environ["MULTIPROC_DATABASE_URL"],
        WTF_CSRF_ENABLED=False,
    )
    db.init_app(app)
    integrations.init_app(app)

    @app.get("/ping")
    def ping() -> object:
        g.hook_fired = None
        pinged.send(app)
        return jsonify(pid=os.getpid(), configs=g.hook_fired)

    return app
