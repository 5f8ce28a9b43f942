"""Figure 6: a change made in one process, seen by another.

Process A (this one) and process B (:mod:`benchmarks.peer`, a subprocess)
have apps on the same database. A commits a change through its own app —
renaming a configuration, or disabling or enabling one — then at once asks
B for one request to a view returning the enabled configurations it sees
through ``get_configs()``. B's very first request after the commit must
reflect the change; the time from the end of A's commit to B's answer is
compared with the same request when nothing changed.
"""

from __future__ import annotations

import json
import time
import typing as t

import sqlalchemy as sa

from flask_integrations import Integration

from .apps import BenchApp, Databases, make_app, seed, start_module
from .measure import BenchmarkError, Goal, Row, Series, Settings, side_by_side

CONFIGS = 5
WATCHED_ID = "bench.watched"


class Watched(Integration):
    integration_id = WATCHED_ID
    name = "Watched"


class Peer:
    """Process B."""

    def __init__(self, database_url: str) -> None:
        self.process = start_module("benchmarks.peer", database_url)
        if self._line() != "ready":
            raise BenchmarkError("Process B did not start.")

    def _line(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise BenchmarkError("Process B ended early.")
        return line.strip()

    def request(self) -> list[str]:
        assert self.process.stdin is not None
        self.process.stdin.write("request\n")
        self.process.stdin.flush()
        return t.cast(list[str], json.loads(self._line()))

    def close(self) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.close()
        self.process.wait(30)
        self.process.stdout.close()


class Changes:
    """Commits one change per call through app A; says what B should see.

    Renames and enable/disable toggles alternate; every change alters what
    B's view shows, so a stale answer is never mistaken for a fresh one.
    """

    def __init__(self, bench: BenchApp) -> None:
        self.bench = bench
        self.made = 0
        self.shown: list[str] = []

    def commit(self) -> list[str]:
        """Commit the next change; return the names B should now see."""
        self.made += 1
        with self.bench.app.app_context():
            assert self.bench.integrations is not None
            model = self.bench.integrations.manager.config_model
            session = self.bench.db.session
            configs = session.scalars(
                sa.select(model)
                .where(model.integration_id == WATCHED_ID)
                .order_by(model.id)
            ).all()
            enabled = [c for c in configs if c.enabled]
            disabled = [c for c in configs if not c.enabled]
            if self.made % 2:
                config = enabled[self.made % len(enabled)]
                config.name = f"config {config.id} renamed {self.made}"
            elif disabled:
                disabled[0].enabled = True
            else:
                enabled[self.made % len(enabled)].enabled = False
            expected = sorted(c.name for c in configs if c.enabled)
            session.commit()
        if expected == self.shown:
            raise BenchmarkError("A change left B's view as it was.")
        self.shown = expected
        return expected


def _measure(
    bench: BenchApp, peer: Peer, settings: Settings
) -> tuple[list[float], list[float], int, int]:
    """Latencies after a change and without one; changes seen and made."""
    changes = Changes(bench)
    seen = [0]

    def after_change() -> float:
        expected = changes.commit()
        started = time.perf_counter()
        names = peer.request()
        elapsed = time.perf_counter() - started
        if names == expected:
            seen[0] += 1
        return elapsed

    def unchanged() -> float:
        started = time.perf_counter()
        peer.request()
        return time.perf_counter() - started

    runs = settings.runs if settings.quick else max(settings.runs, 15)
    after, before = side_by_side(after_change, unchanged, runs)
    return after, before, seen[0], changes.made


def run(databases: Databases, settings: Settings) -> list[Row]:
    rows = []
    for label, url in databases.each("sync"):
        bench = make_app(url, integrations=[Watched])
        bench.reset_tables()
        seed(bench, WATCHED_ID, CONFIGS)
        peer = Peer(url)
        try:
            peer.request()
            after, before, seen, made = _measure(bench, peer, settings)
        finally:
            peer.close()
            bench.drop_tables()
            bench.close()
        rows.append(
            Row(
                "6",
                "B's next request after A's commit sees it",
                Series("next request", "fraction", [seen / made], total=made),
                goal=Goal("next request", "all", 1),
                database=label,
                notes="Renames, disables and enables, alternately.",
            )
        )
        rows.append(
            Row(
                "6",
                "A's commit → B's answer, vs unchanged",
                Series("request after a change", "time", after),
                Series("request with nothing changed", "time", before),
                database=label,
                show_difference=True,
                notes="B is a separate process; one request through its test client.",
            )
        )
    return rows
