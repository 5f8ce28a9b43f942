"""Figure 1: ``integration.get_configs()`` with a warm cache.

One integration with 10 enabled configurations, beside two others whose
configurations are cached too, so the cache holds several keys. The
baseline is the least any cache can do: a function returning a prebuilt
list from a plain dict, ``plain[integration_id]``.
"""

from __future__ import annotations

import functools
import typing as t

from flask_integrations import Integration

from .apps import Databases, make_app, seed
from .measure import BenchmarkError, Goal, Row, Series, Settings, sampler, side_by_side

CONFIGS = 10


class Target(Integration):
    integration_id = "bench.target"
    name = "Target"


class Neighbour(Integration):
    integration_id = "bench.neighbour"
    name = "Neighbour"


class OtherNeighbour(Integration):
    integration_id = "bench.other-neighbour"
    name = "Other neighbour"


def run(databases: Databases, settings: Settings) -> list[Row]:
    bench = make_app(
        databases.sqlite("configs"),
        integrations=[Target, Neighbour, OtherNeighbour],
    )
    bench.reset_tables()
    for cls, count in ((Target, CONFIGS), (Neighbour, 5), (OtherNeighbour, 20)):
        seed(bench, cls.integration_id, count, lambda n: {"n": n})
    try:
        with bench.app.app_context():
            return _measure(bench.integration, settings)
    finally:
        bench.close()


def _measure(
    get_integration: t.Callable[[str], Integration], settings: Settings
) -> list[Row]:
    integration = get_integration(Target.integration_id)
    # Warm the cache: these queries, and the neighbours' own.
    for other in (Neighbour, OtherNeighbour):
        get_integration(other.integration_id).get_configs()
    configs = integration.get_configs()
    filtered = integration.get_configs(name="config 3")
    if len(configs) != CONFIGS or len(filtered) != 1:
        raise BenchmarkError(
            f"get_configs() gave {len(configs)} and {len(filtered)} configurations."
        )
    plain = {
        cls.integration_id: [{"name": f"config {n}"} for n in range(10)]
        for cls in (Target, Neighbour, OtherNeighbour)
    }
    integration_id = t.cast(str, integration.integration_id)

    def lookup() -> list[dict[str, str]]:
        return plain[integration_id]

    seconds = settings.sample_seconds
    baseline = sampler(lookup, seconds)
    rows = []
    for name, subject, note in (
        ("get_configs(), no filter", integration.get_configs, ""),
        (
            "get_configs(name=…), one filter",
            functools.partial(integration.get_configs, name="config 3"),
            "Called through functools.partial.",
        ),
    ):
        subjects, baselines = side_by_side(
            sampler(subject, seconds), baseline, settings.runs
        )
        rows.append(
            Row(
                "1",
                f"{name} vs plain dict lookup",
                Series(name, "time", subjects),
                Series("plain[integration_id]", "time", baselines),
                Goal("≤ 8×", "ratio_max", 8, reference="26×")
                if name.endswith("no filter")
                else None,
                database="SQLite",
                notes=f"{CONFIGS} configurations; warm cache. {note}".strip(),
            )
        )
    return rows
