"""Figure 3: what the extension adds to a request that uses no integration.

Two apps from the same factory, each with Flask-SQLAlchemy and one view
``/plain`` returning a short text; one also has the extension (with a few
integrations and configurations stored and the admin check set). Each is
driven through its WSGI callable with a prebuilt environ, without the test
client, whose own cost would hide the difference. What remains is the
staleness check that runs before each request.

Before timing, the harness checks that the check really runs: a
configuration committed through a second app (its own engine) must be seen
by the measured app after one request to ``/plain``.
"""

from __future__ import annotations

import statistics
import typing as t

from werkzeug.test import EnvironBuilder

from flask_integrations import Integration

from .apps import (
    BenchApp,
    Databases,
    count_statements,
    delete_configs,
    make_app,
    seed,
)
from .measure import BenchmarkError, Goal, Row, Series, Settings, sampler, side_by_side


class Chat(Integration):
    integration_id = "bench.chat"
    name = "Chat"


class Tracker(Integration):
    integration_id = "bench.tracker"
    name = "Tracker"


class Probe(Integration):
    """No configuration at first; the sanity check adds one elsewhere."""

    integration_id = "bench.probe"
    name = "Probe"


INTEGRATIONS = [Chat, Tracker, Probe]


def _build(url: str, extension: bool) -> BenchApp:
    bench = make_app(url, integrations=INTEGRATIONS, extension=extension)

    @bench.app.get("/plain")
    def plain() -> str:
        return "Hello"

    return bench


def _request(bench: BenchApp) -> t.Callable[[], bytes]:
    """Call the app's WSGI callable the way a server does."""
    environ = EnvironBuilder(path="/plain", method="GET").get_environ()
    app = bench.app

    def start_response(
        status: str, headers: t.Any, exc_info: t.Any = None
    ) -> t.Callable[[bytes], object]:
        if status != "200 OK":
            raise BenchmarkError(f"/plain answered {status}.")
        return lambda data: None

    def call() -> bytes:
        result = app(environ.copy(), start_response)
        try:
            return b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()

    return call


def _check_runs(
    measured: BenchApp, other: BenchApp, request: t.Callable[[], bytes]
) -> None:
    """A change committed through another engine is seen by the next request."""
    probe_id = Probe.integration_id
    for enabled in (True, False):
        if enabled:
            seed(other, probe_id, 1)
        else:
            delete_configs(other, probe_id)
        request()
        with measured.app.app_context():
            if measured.integration(probe_id).enabled is not enabled:
                raise BenchmarkError(
                    "The extension's app did not see a change committed by"
                    " another engine at its next request: the before-request"
                    " check did not run."
                )


def _round_trip(bench: BenchApp, seconds: float, runs: int) -> list[float]:
    """Samples of one ``SELECT 1`` on an open connection: the floor of any
    check that asks the database."""
    with bench.engine.connect() as connection:

        def select() -> object:
            return connection.exec_driver_sql("SELECT 1").scalar()

        sample = sampler(select, seconds)
        return [sample() for _ in range(runs)]


def run(databases: Databases, settings: Settings) -> list[Row]:
    rows = []
    for label, url in databases.each("overhead"):
        measured = _build(url, extension=True)
        measured.reset_tables()
        plain = _build(url, extension=False)
        other = _build(url, extension=True)
        try:
            seed(measured, Chat.integration_id, 3)
            seed(measured, Tracker.integration_id, 2)
            with_extension = _request(measured)
            without = _request(plain)
            with_extension()
            _check_runs(measured, other, with_extension)
            counted = count_statements(measured.engine)
            with_extension()
            statements = counted()
            seconds = settings.sample_seconds
            subjects, baselines = side_by_side(
                sampler(with_extension, seconds, gc_off=False),
                sampler(without, seconds, gc_off=False),
                settings.runs,
            )
            trips = _round_trip(measured, seconds / 4, settings.runs)
        finally:
            for bench in (other, plain):
                bench.close()
            measured.drop_tables()
            measured.close()
        if label == "SQLite":
            goal = Goal("≤ +10 %", "ratio_max", 1.10, reference="+15 %")
        else:
            goal = Goal("≤ +0.1 ms", "difference_max", 0.0001)
        rows.append(
            Row(
                "3",
                "request to a page using no integration",
                Series("app with the extension", "time", subjects),
                Series("same app without it", "time", baselines),
                goal,
                database=label,
                show_difference=True,
                notes=f"{statements} SQL statement(s) per request; one"
                f" SELECT 1 round trip: {statistics.median(trips) * 1e6:.0f} µs"
                " (median).",
                extra={
                    "statements_per_request": statements,
                    "select_1_seconds": trips,
                },
            )
        )
    return rows
