"""Figure 5: webhook deliveries through the thread-pool dispatcher.

(a) Throughput: events fanned out to configurations of a
:class:`~flask_integrations.contrib.WebhookIntegration` whose payload URL is
a receiver in another process, from the first ``send_event`` until the
receiver has counted every request and every delivery has been recorded;
against the same number of POSTs sent with a plain ``httpx.Client`` from as
many threads as the dispatcher has.

(b) Latency: a request whose view calls ``send_event`` on an integration with
50 enabled configurations, against the same view on one with a single
configuration. Every sample waits until the deliveries of the previous one
are done.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import typing as t

import httpx

from flask_integrations import delivery_failed, delivery_succeeded
from flask_integrations.contrib import WebhookIntegration

from .apps import BenchApp, Databases, make_app, seed, start_module
from .measure import BenchmarkError, Goal, Row, Series, Settings, side_by_side

THREADS = 4
FAN_OUT = 50


class FanOutWebhook(WebhookIntegration):
    integration_id = "bench.fan-out"
    name = "Fan-out webhook"


class SingleWebhook(WebhookIntegration):
    integration_id = "bench.single"
    name = "Single webhook"


class Receiver:
    """The receiver process and its control requests."""

    def __init__(self) -> None:
        self.process = start_module("benchmarks.receiver")
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self._control = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)

    def _get(self, path: str) -> int:
        self._control.request("GET", path)
        response = self._control.getresponse()
        body = response.read()
        if response.status != 200:
            raise BenchmarkError(
                f"The receiver answered {response.status} to {path}"
                f" (count {body.decode()})."
            )
        return int(body)

    def reset(self) -> None:
        self._get("/reset")

    def wait(self, count: int, timeout: float = 60) -> None:
        self._get(f"/wait?n={count}&timeout={timeout}")

    def close(self) -> None:
        self._control.close()
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(10)
        assert self.process.stdout is not None
        self.process.stdout.close()


class Outcomes:
    """Counts the deliveries recorded as done (by the public signals)."""

    def __init__(self) -> None:
        self.succeeded = 0
        self.failed = 0
        self.changed = threading.Condition()
        delivery_succeeded.connect(self._success, weak=False)
        delivery_failed.connect(self._failure, weak=False)

    def _success(self, sender: t.Any, **kwargs: t.Any) -> None:
        with self.changed:
            self.succeeded += 1
            self.changed.notify_all()

    def _failure(self, sender: t.Any, **kwargs: t.Any) -> None:
        with self.changed:
            self.failed += 1
            self.changed.notify_all()

    def wait(self, count: int, timeout: float = 60) -> None:
        with self.changed:
            done = self.changed.wait_for(
                lambda: self.succeeded + self.failed >= count, timeout
            )
            if not done or self.failed:
                raise BenchmarkError(
                    f"Expected {count} successful deliveries, got"
                    f" {self.succeeded} and {self.failed} failures."
                )
            self.succeeded = 0

    def close(self) -> None:
        delivery_succeeded.disconnect(self._success)
        delivery_failed.disconnect(self._failure)


def _build(url: str, receiver: Receiver, deliveries: int) -> BenchApp:
    bench = make_app(
        url,
        integrations=[FanOutWebhook, SingleWebhook],
        INTEGRATIONS_DISPATCHER="thread",
        INTEGRATIONS_THREADS=THREADS,
        INTEGRATIONS_QUEUE_SIZE=deliveries + FAN_OUT,
        INTEGRATIONS_OUTBOUND_ALLOWLIST=["127.0.0.1"],
    )
    bench.reset_tables()

    def settings(number: int) -> dict[str, t.Any]:
        return {"payload_url": receiver.url}

    seed(bench, FanOutWebhook.integration_id, FAN_OUT, settings)
    seed(bench, SingleWebhook.integration_id, 1, settings)

    @bench.app.get("/send/<integration_id>")
    def send(integration_id: str) -> str:
        integration = bench.integration(integration_id)
        integration.send_event("bench.event", {"ticket": 1, "title": "Hi"})
        return "sent"

    return bench


def _throughput(
    bench: BenchApp, receiver: Receiver, outcomes: Outcomes, events: int
) -> float:
    deliveries = events * FAN_OUT
    receiver.reset()
    with bench.app.app_context():
        integration = bench.integration(FanOutWebhook.integration_id)
        started = time.perf_counter()
        for number in range(events):
            integration.send_event("bench.event", {"ticket": number, "title": "Hi"})
        receiver.wait(deliveries)
        outcomes.wait(deliveries)
        return deliveries / (time.perf_counter() - started)


def _plain_throughput(receiver: Receiver, deliveries: int) -> float:
    body = json.dumps(
        {
            "type": "bench.event",
            "timestamp": "2024-05-01T12:00:00.000Z",
            "data": {"ticket": 1, "title": "Hi"},
        }
    ).encode()
    headers = {"Content-Type": "application/json"}
    receiver.reset()
    with httpx.Client(limits=httpx.Limits(max_connections=THREADS)) as client:

        def post(count: int) -> None:
            for _ in range(count):
                client.post(receiver.url, content=body, headers=headers)

        shares = [deliveries // THREADS] * THREADS
        shares[0] += deliveries - sum(shares)
        threads = [threading.Thread(target=post, args=(n,)) for n in shares]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        receiver.wait(deliveries)
        return deliveries / (time.perf_counter() - started)


def _latency(
    bench: BenchApp,
    receiver: Receiver,
    outcomes: Outcomes,
    fan_out: int,
    requests: int,
) -> float:
    """Mean time of a request sending one event to ``fan_out``
    configurations; each waits for the previous deliveries."""
    integration_id = (
        FanOutWebhook.integration_id if fan_out > 1 else SingleWebhook.integration_id
    )
    client = bench.app.test_client()
    total = 0.0
    for _ in range(requests):
        receiver.reset()
        started = time.perf_counter()
        response = client.get(f"/send/{integration_id}")
        total += time.perf_counter() - started
        if response.status_code != 200:
            raise BenchmarkError(f"The sending view answered {response.status}.")
        receiver.wait(fan_out)
        outcomes.wait(fan_out)
    return total / requests


def _measure(
    url: str,
    receiver: Receiver,
    outcomes: Outcomes,
    settings: Settings,
    events: int,
    requests: int,
) -> tuple[list[float], list[float], list[float], list[float]]:
    """Throughput against plain httpx; latency with 50 against 1."""
    bench = _build(url, receiver, events * FAN_OUT)
    try:
        ours, plain = side_by_side(
            lambda: _throughput(bench, receiver, outcomes, events),
            lambda: _plain_throughput(receiver, events * FAN_OUT),
            settings.slow_runs,
        )
        fifty, one = side_by_side(
            lambda: _latency(bench, receiver, outcomes, FAN_OUT, requests),
            lambda: _latency(bench, receiver, outcomes, 1, requests),
            settings.slow_runs,
        )
    finally:
        bench.drop_tables()
        bench.close()
    return ours, plain, fifty, one


def run(databases: Databases, settings: Settings) -> list[Row]:
    events = 4 if settings.quick else 20
    requests = 2 if settings.quick else 5
    rows = []
    receiver = Receiver()
    outcomes = Outcomes()
    try:
        for label, url in databases.each("deliveries"):
            measured = _measure(url, receiver, outcomes, settings, events, requests)
            rows += _rows(label, *measured, events * FAN_OUT, requests)
    finally:
        outcomes.close()
        receiver.close()
    return rows


def _rows(
    label: str,
    ours: list[float],
    plain: list[float],
    fifty: list[float],
    one: list[float],
    deliveries: int,
    requests: int,
) -> list[Row]:
    common = {"threads": THREADS, "dispatcher": "thread"}
    return [
        Row(
            "5a",
            f"webhook deliveries/s, {THREADS} threads, vs plain httpx",
            Series("thread-pool dispatcher", "rate", ours),
            Series(f"httpx.Client from {THREADS} threads", "rate", plain),
            Goal("≥ 500/s", "subject_min", 500),
            database=label,
            notes=f"{deliveries} deliveries per sample ({deliveries // FAN_OUT}"
            f" events × {FAN_OUT} configurations), until received and recorded.",
            extra={**common, "deliveries_per_sample": deliveries},
        ),
        Row(
            "5b",
            f"request sending an event to {FAN_OUT} configs vs to 1",
            Series(f"send_event to {FAN_OUT} configurations", "time", fifty),
            Series("send_event to 1 configuration", "time", one),
            Goal("not measurably more (≤ 1.1×)", "ratio_max", 1.1),
            database=label,
            show_difference=True,
            notes=f"Mean of {requests} requests per sample; each waits for the"
            " previous deliveries to finish.",
            extra={**common, "requests_per_sample": requests},
        ),
    ]
