"""Timing helpers and the shape of a result row.

Every figure is a list of :class:`Row` objects. A row holds the samples of
its subject and, usually, of a baseline measured side by side: in the same
run, alternating per round (subject first in even rounds, baseline first in
odd ones) so that machine noise hits both.
"""

from __future__ import annotations

import cProfile
import dataclasses
import gc
import itertools
import statistics
import time
import typing as t


class BenchmarkError(Exception):
    """A figure could not be measured, or its sanity check failed."""


@dataclasses.dataclass
class Settings:
    """How hard to measure.

    :param runs: Samples per measurement (rounds of subject and baseline).
    :param slow_runs: Samples of the measurements that take seconds each.
    :param sample_seconds: Rough length of one sample of a fast operation.
    :param quick: A smoke run: fewer runs and smaller workloads.
    """

    runs: int = 9
    slow_runs: int = 7
    sample_seconds: float = 0.15
    quick: bool = False

    @classmethod
    def for_run(cls, quick: bool, runs: int | None = None) -> Settings:
        """The settings of a normal or quick run; ``runs`` overrides both
        numbers of runs."""
        if quick:
            runs = runs or 3
            return cls(runs=runs, slow_runs=runs, sample_seconds=0.01, quick=True)
        return cls(runs=runs or 9, slow_runs=runs or 7)


def summary(samples: t.Sequence[float]) -> dict[str, float]:
    """Median, min, max and quartiles of ``samples``."""
    ordered = sorted(samples)
    if len(ordered) >= 2:
        q1, _, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
    else:
        q1 = q3 = ordered[0]
    return {
        "median": statistics.median(ordered),
        "min": ordered[0],
        "max": ordered[-1],
        "q1": q1,
        "q3": q3,
    }


@dataclasses.dataclass
class Series:
    """The samples of one side of a row.

    :param label: What was measured.
    :param kind: ``"time"`` (seconds per operation), ``"rate"`` (per
        second), ``"count"`` or ``"fraction"`` (a value from 0 to 1, shown
        with :attr:`total`).
    """

    label: str
    kind: str
    samples: list[float]
    total: int | None = None

    def as_dict(self) -> dict[str, t.Any]:
        values: dict[str, t.Any] = {
            "label": self.label,
            "kind": self.kind,
            "samples": self.samples,
            **summary(self.samples),
        }
        if self.total is not None:
            values["total"] = self.total
        return values


@dataclasses.dataclass
class Goal:
    """What a row should reach.

    :param text: As the issue states it, e.g. ``"≤ 8×"``.
    :param check: ``"ratio_max"``, ``"subject_max"``, ``"subject_min"``,
        ``"difference_max"`` (subject minus baseline, per round) or
        ``"all"`` (a fraction that must be 1).
    :param value: The bound (seconds for times).
    :param reference: The reference framework's figure, when known.
    """

    text: str
    check: str
    value: float = 0.0
    reference: str | None = None

    def met(self, row: Row) -> bool:
        subject = statistics.median(row.subject.samples)
        if self.check == "ratio_max":
            return statistics.median(row.ratios()) <= self.value
        if self.check == "subject_max":
            return subject <= self.value
        if self.check == "subject_min":
            return subject >= self.value
        if self.check == "difference_max":
            return statistics.median(row.differences()) <= self.value
        if self.check == "all":
            return min(row.subject.samples) >= 1.0
        raise ValueError(f"Unknown goal check {self.check!r}.")


@dataclasses.dataclass
class Row:
    """One line of the table.

    :param figure: The figure number of the issue, e.g. ``"3"``.
    :param name: What the line measures.
    :param show_difference: Show subject minus baseline beside the ratio.
    """

    figure: str
    name: str
    subject: Series
    baseline: Series | None = None
    goal: Goal | None = None
    database: str | None = None
    show_difference: bool = False
    notes: str = ""
    extra: dict[str, t.Any] = dataclasses.field(default_factory=dict)

    def ratios(self) -> list[float]:
        """Subject over baseline, per round."""
        if self.baseline is None:
            return []
        return [
            s / b
            for s, b in zip(self.subject.samples, self.baseline.samples, strict=True)
        ]

    def differences(self) -> list[float]:
        """Subject minus baseline, per round."""
        if self.baseline is None:
            return []
        return [
            s - b
            for s, b in zip(self.subject.samples, self.baseline.samples, strict=True)
        ]

    def as_dict(self) -> dict[str, t.Any]:
        values: dict[str, t.Any] = {
            "figure": self.figure,
            "name": self.name,
            "database": self.database,
            "subject": self.subject.as_dict(),
            "baseline": self.baseline.as_dict() if self.baseline else None,
            "ratio": None,
            "difference": None,
            "show_difference": self.show_difference,
            "goal": dataclasses.asdict(self.goal) if self.goal else None,
            "met": self.goal.met(self) if self.goal else None,
            "notes": self.notes,
            "extra": self.extra,
        }
        if self.baseline is not None:
            ratios = self.ratios()
            values["ratio"] = {"samples": ratios, **summary(ratios)}
            differences = self.differences()
            values["difference"] = {"samples": differences, **summary(differences)}
        return values


Sample = t.Callable[[], float]

#: Set by ``--profile``: profiles the subject's samples (this thread only).
profiler: cProfile.Profile | None = None


def _profiled(subject: Sample) -> float:
    if profiler is None:
        return subject()
    profiler.enable()
    try:
        return subject()
    finally:
        profiler.disable()


def side_by_side(
    subject: Sample, baseline: Sample, runs: int, warmup: bool = True
) -> tuple[list[float], list[float]]:
    """Take ``runs`` samples of each, alternating which goes first.

    Each callable takes one sample and returns its value. One untimed round
    comes first unless ``warmup`` is false.
    """
    if warmup:
        subject()
        baseline()
    subjects: list[float] = []
    baselines: list[float] = []
    for number in range(runs):
        if number % 2 == 0:
            subjects.append(_profiled(subject))
            baselines.append(baseline())
        else:
            baselines.append(baseline())
            subjects.append(_profiled(subject))
    return subjects, baselines


def per_call(func: t.Callable[[], object], number: int, gc_off: bool = True) -> float:
    """Seconds per call of ``func`` over ``number`` calls.

    :param gc_off: Turn garbage collection off during the loop, as
        :mod:`timeit` does (for micro-benchmarks); leave it on to count its
        cost, as a server would pay it.
    """
    gc.collect()
    enabled = gc.isenabled()
    if gc_off:
        gc.disable()
    try:
        started = time.perf_counter()
        for _ in itertools.repeat(None, number):
            func()
        elapsed = time.perf_counter() - started
    finally:
        if enabled:
            gc.enable()
    return elapsed / number


def calibrate(func: t.Callable[[], object], seconds: float, at_least: int = 1) -> int:
    """How many calls of ``func`` take about ``seconds``."""
    number = at_least
    while True:
        started = time.perf_counter()
        for _ in itertools.repeat(None, number):
            func()
        elapsed = time.perf_counter() - started
        if elapsed >= seconds / 4 or number >= 10_000_000:
            return max(at_least, int(number * seconds / max(elapsed, 1e-9)))
        number *= 4


def sampler(
    func: t.Callable[[], object],
    seconds: float,
    at_least: int = 1,
    gc_off: bool = True,
) -> Sample:
    """A sample function: seconds per call of ``func`` over a number of
    calls calibrated to take about ``seconds``."""
    number = calibrate(func, seconds, at_least)
    return lambda: per_call(func, number, gc_off)
