"""Run the benchmarks, print one table and record the results.

``python -m benchmarks`` (or ``make bench``) runs every figure and writes
``benchmarks/results/<UTC date>-<git short sha>.json``. See
``docs/performance.rst`` for what each figure measures.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import json
import os
import pathlib
import pstats
import shutil
import sys
import tempfile
import time
import typing as t

if __package__ in (None, ""):
    # Run as a script: import this checkout, not an installed copy.
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
    __package__ = "benchmarks"

from . import (
    fig_configs,
    fig_deliveries,
    fig_list_page,
    fig_overhead,
    fig_signals,
    fig_sync,
    machine,
    measure,
    report,
)
from .apps import Databases
from .measure import Row, Settings

FIGURES: dict[str, t.Callable[[Databases, Settings], list[Row]]] = {
    "1": fig_configs.run,
    "2": fig_signals.run,
    "3": fig_overhead.run,
    "4": fig_list_page.run,
    "5": fig_deliveries.run,
    "6": fig_sync.run,
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: fewer runs, less work"
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=sorted(FIGURES),
        metavar="N",
        help="run only figure N (repeatable)",
    )
    parser.add_argument(
        "--runs", type=int, help="samples per measurement (default 9, quick 3)"
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", ""),
        help="PostgreSQL for figures 3 and 6 (default: $BENCH_DATABASE_URL;"
        " empty skips them); its flask_integrations_* tables are dropped",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile the subject of each figure (main thread only) and print"
        " its hottest functions instead of recording results",
    )
    parser.add_argument(
        "--results-dir",
        type=pathlib.Path,
        default=report.RESULTS,
        help="where to write the JSON (default: benchmarks/results)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> pathlib.Path | None:
    """Run the figures asked for; return the path of the results file
    (none when profiling)."""
    args = parse_args(argv)
    settings = Settings.for_run(args.quick, args.runs)
    postgresql = args.database_url or None
    details = machine.details(postgresql)
    folder = pathlib.Path(tempfile.mkdtemp(prefix="flask-integrations-bench-"))
    databases = Databases(folder, postgresql)
    started = time.monotonic()
    rows: list[Row] = []
    timings: dict[str, float] = {}
    try:
        for figure in args.only or sorted(FIGURES):
            print(f"figure {figure}…", file=sys.stderr, flush=True)
            figure_started = time.monotonic()
            if args.profile:
                measure.profiler = cProfile.Profile()
            rows.extend(FIGURES[figure](databases, settings))
            timings[figure] = round(time.monotonic() - figure_started, 1)
            if measure.profiler is not None:
                print(f"\nFigure {figure}, hottest functions of the subject:")
                stats = pstats.Stats(measure.profiler, stream=sys.stdout)
                stats.sort_stats("tottime").print_stats(25)
                measure.profiler = None
    finally:
        measure.profiler = None
        shutil.rmtree(folder, ignore_errors=True)
    if args.profile:
        return None
    now = datetime.datetime.now(datetime.timezone.utc)
    results = {
        "schema": 1,
        "date": now.isoformat(timespec="seconds"),
        "machine": details,
        "options": {
            "quick": settings.quick,
            "runs": settings.runs,
            "slow_runs": settings.slow_runs,
            "figures": args.only or sorted(FIGURES),
            "postgresql": bool(postgresql),
        },
        "seconds": {"total": round(time.monotonic() - started, 1), **timings},
        "rows": [row.as_dict() for row in rows],
    }
    print(report.text_table(results))
    args.results_dir.mkdir(parents=True, exist_ok=True)
    name = f"{now:%Y-%m-%d}-{details['git_short'] or 'unknown'}.json"
    path: pathlib.Path = args.results_dir / name
    path.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    print(f"\nwritten to {path}", file=sys.stderr)
    return path


if __name__ == "__main__":
    main()
