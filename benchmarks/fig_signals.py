"""Figure 2: sending a blinker signal to an integration.

The integration has 100 enabled configurations, each with a ``channel``
setting; its :class:`~flask_integrations.SignalHook` callback reads that
setting of each configuration. The baseline sends another blinker signal to
a plain receiver that reads the same setting from 100 prefetched dicts.
Both are sent inside the app context (hooks act only in their app's).
"""

from __future__ import annotations

import typing as t

from blinker import Signal

from flask_integrations import Integration, SignalHook

from .apps import Databases, make_app, seed
from .measure import BenchmarkError, Goal, Row, Series, Settings, sampler, side_by_side

CONFIGS = 100

ticket_created = Signal("bench-ticket-created")
plain_signal = Signal("bench-plain")


class Channels(Integration):
    integration_id = "bench.channels"
    name = "Channels"

    def initialize(self) -> None:
        self.seen = 0
        SignalHook(self, ticket_created, self.on_ticket_created)

    def on_ticket_created(self, sender: t.Any, **kwargs: t.Any) -> None:
        for config in self.get_configs():
            config.get("channel")
        self.seen += 1


def run(databases: Databases, settings: Settings) -> list[Row]:
    bench = make_app(databases.sqlite("signals"), integrations=[Channels])
    bench.reset_tables()
    seed(
        bench,
        Channels.integration_id,
        CONFIGS,
        lambda number: {"channel": f"#c{number}"},
    )
    prefetched = [{"channel": f"#c{number}"} for number in range(CONFIGS)]

    def plain_receiver(sender: t.Any, **kwargs: t.Any) -> None:
        for values in prefetched:
            values.get("channel")

    plain_signal.connect(plain_receiver)
    try:
        with bench.app.app_context():
            integration = t.cast(Channels, bench.integration(Channels.integration_id))
            ticket_created.send(bench.app)
            if not integration.enabled or integration.seen != 1:
                raise BenchmarkError("The integration's signal hook did not run.")
            subjects, baselines = side_by_side(
                sampler(
                    lambda: ticket_created.send(bench.app), settings.sample_seconds
                ),
                sampler(lambda: plain_signal.send(bench.app), settings.sample_seconds),
                settings.runs,
            )
    finally:
        plain_signal.disconnect(plain_receiver)
        bench.close()
    return [
        Row(
            "2",
            f"signal to an integration with {CONFIGS} configs vs plain receiver",
            Series("SignalHook reading 1 setting of each config", "time", subjects),
            Series(f"receiver looping over {CONFIGS} dicts", "time", baselines),
            Goal("≤ 1.5×", "ratio_max", 1.5, reference="4.2×"),
            database="SQLite",
            notes="Time per signal.send(); warm cache.",
        )
    ]
