"""Rough speed of the hot paths, run by hand: ``python benchmarks/bench_configs.py``.

Set ``BENCH_DATABASE_URL`` to measure PostgreSQL instead of a SQLite file.
Numbers go into issue notes, never into test assertions.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import typing as t

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_integrations import FlaskIntegrations, Integration


class Bench(Integration):
    integration_id = "bench.integration"
    name = "Bench"


def timed(label: str, func: t.Callable[[], object], repeat: int) -> None:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        func()
        samples.append(time.perf_counter() - started)
    median = statistics.median(samples)
    unit, scale = ("µs", 1e6) if median < 1e-3 else ("ms", 1e3)
    print(f"{label:<48} median {median * scale:8.1f} {unit}  ({repeat} runs)")


def main() -> None:
    folder = tempfile.mkdtemp()
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{folder}/bench.sqlite3"
    db = SQLAlchemy()
    integrations = FlaskIntegrations(db=db, admin_required=lambda: True)
    integrations.register(Bench)
    app = Flask(__name__)
    app.config.update(SQLALCHEMY_DATABASE_URI=url, SECRET_KEY="bench", WTF_CSRF_ENABLED=False)
    db.init_app(app)
    integrations.init_app(app)
    print(f"database: {url.split('@')[-1]}")
    with app.app_context():
        db.drop_all()
        db.create_all()
        manager = integrations.manager
        integration = manager.get_integration(Bench.integration_id)
        for number in range(500):
            db.session.add(
                integration.create_config(
                    name=f"config {number}", enabled=True, settings={"n": number}
                )
            )
        db.session.commit()
        manager.check_expired()

        integration.get_configs()
        timed("get_configs(), cached (500 configs)", integration.get_configs, 2000)

        def miss() -> None:
            manager.clear_all_configs_cache()
            integration.get_configs()

        timed("get_configs(), cache miss (500 configs)", miss, 50)
        timed("check_expired(), nothing changed", manager.check_expired, 500)

    client = app.test_client()
    timed("GET /integrations/ (500 configs, page of 25)", lambda: client.get("/integrations/"), 50)
    timed("GET / of a route with no integration work", lambda: client.get("/nothing"), 200)
    with app.app_context():
        db.drop_all()


if __name__ == "__main__":
    main()
