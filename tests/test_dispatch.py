"""Dispatchers: the in-process thread pool, choosing a dispatcher, and RQ
workers on the real Redis service (``INTEGRATIONS_TEST_REDIS_URL``).

Threads and RQ workers use the database from other connections than the
test's, so these tests run on a shared database (a SQLite file or
PostgreSQL), never on SQLite in memory.
"""

from __future__ import annotations

import json
import signal
import threading
import time
import typing as t
import uuid

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_integrations import FlaskIntegrations, IntegrationError
from flask_integrations.dispatch import (
    RQDispatcher,
    SyncDispatcher,
    ThreadPoolDispatcher,
    build_dispatcher,
    get_dispatcher,
)
from flask_integrations.signals import delivery_failed

from . import delivery_support
from .conftest import REDIS_URL, skip_unless_available
from .delivery_support import (
    BASE_CONFIG,
    SECRET,
    HookIntegration,
)

# The shared fixtures: a module-wide receiver, and the connections guard.
receiver = delivery_support.receiver
connections = delivery_support.connections

HOOK = HookIntegration.integration_id
CREATED = "ticket.created"

sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])

NO_REDIS = (
    "INTEGRATIONS_TEST_REDIS_URL is not set, so the RQ tests are skipped"
    " (e.g. redis://127.0.0.1:6379/5)."
)


@pytest.fixture
def database_url(shared_database_url: str) -> str:
    """Worker threads and RQ workers connect on their own: share a database."""
    return shared_database_url


@pytest.fixture
def app_config() -> dict[str, t.Any]:
    return {**BASE_CONFIG, "INTEGRATIONS_DISPATCHER": "thread"}


@pytest.fixture
def hook(manager: t.Any, integrations: FlaskIntegrations) -> t.Any:
    integrations.register(HookIntegration)
    return manager.get_integration(HOOK)


@pytest.fixture
def pool(app: Flask) -> t.Iterator[t.Callable[..., ThreadPoolDispatcher]]:
    """``pool(workers=…, queue_size=…)`` builds the app's thread pool; it is
    shut down after the test."""
    built: list[ThreadPoolDispatcher] = []

    def build(workers: int = 2, queue_size: int = 10) -> ThreadPoolDispatcher:
        app.config.update(
            INTEGRATIONS_THREADS=workers, INTEGRATIONS_QUEUE_SIZE=queue_size
        )
        dispatcher = get_dispatcher(app)
        assert isinstance(dispatcher, ThreadPoolDispatcher)
        built.append(dispatcher)
        return dispatcher

    yield build
    for dispatcher in built:
        dispatcher.shutdown(wait=True)


def add_config(hook: t.Any, url: str, name: str = "ops", **settings: t.Any) -> int:
    config = hook.create_config(
        name=name, enabled=True, settings={"url": url, **settings}, save=True
    )
    return int(config.id)


def log_rows(db: SQLAlchemy, config_id: int | None = None) -> list[t.Any]:
    table = db.metadata.tables["flask_integrations_delivery"]
    query = sa.select(table).order_by(table.c.id)
    if config_id is not None:
        query = query.where(table.c.config_id == config_id)
    with db.engine.connect() as connection:
        return list(connection.execute(query).mappings())


def wait_for(condition: t.Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def delivery_threads(
    besides: t.Collection[threading.Thread] = (),
) -> list[threading.Thread]:
    """Live delivery threads, except those in ``besides`` (other tests' apps
    may have pools of their own)."""
    return [
        thread
        for thread in threading.enumerate()
        if thread.name.startswith(("integrations-delivery", "integrations-retries"))
        and thread not in besides
    ]


# -- the thread pool -------------------------------------------------------------


def test_a_request_returns_before_the_receiver_answers(app, db, hook, pool, receiver):
    config_id = add_config(hook, receiver.url("/block"))
    dispatcher = pool()

    @app.post("/fire")
    def fire() -> str:
        hook.send_event(CREATED, {"n": 1})
        return "sent"

    response = app.test_client().post("/fire")

    assert response.get_data(as_text=True) == "sent"
    assert receiver.blocked.wait(5)
    assert not receiver.release.is_set()
    assert log_rows(db, config_id) == []
    receiver.release.set()
    dispatcher.join()
    [row] = log_rows(db, config_id)
    assert row["outcome"] == "success"


def test_shutdown_runs_the_queued_jobs_first(db, hook, pool, receiver):
    blocked = add_config(hook, receiver.url("/block"), name="blocked")
    queued = add_config(hook, receiver.url("/ok"), name="queued")
    others = delivery_threads()
    dispatcher = pool(workers=1)
    hook.send_event(CREATED, {}, id=blocked)
    assert receiver.blocked.wait(5)
    for n in range(3):
        hook.send_event(CREATED, {"n": n}, id=queued)
    assert dispatcher.pending() == 3

    threading.Timer(0.05, receiver.release.set).start()
    dispatcher.shutdown(wait=True)

    assert [r["outcome"] for r in log_rows(db, queued)] == ["success"] * 3
    assert [r["outcome"] for r in log_rows(db, blocked)] == ["success"]
    assert delivery_threads(besides=others) == []
    hook.send_event(CREATED, {}, id=queued)
    assert len(log_rows(db, queued)) == 3


def test_a_fan_out_queued_at_shutdown_still_runs_and_is_counted(
    db, hook, pool, receiver
):
    blocked = add_config(hook, receiver.url("/block"), name="blocked")
    fanned = [add_config(hook, receiver.url("/ok"), name=f"fan {n}") for n in range(3)]
    dispatcher = pool(workers=1)
    hook.send_event(CREATED, {}, id=blocked)
    assert receiver.blocked.wait(5)

    # One event to all four configurations: handed over as one batch.
    assert len(hook.send_event(CREATED, {"fan": True})) == 4
    assert dispatcher.pending() == 4

    threading.Timer(0.05, receiver.release.set).start()
    dispatcher.shutdown(wait=True)

    for config_id in fanned:
        assert [r["outcome"] for r in log_rows(db, config_id)] == ["success"]
    assert [r["outcome"] for r in log_rows(db, blocked)] == ["success"] * 2


def test_a_full_queue_fails_the_delivery_without_waiting(db, hook, pool, receiver):
    blocked = add_config(hook, receiver.url("/block"), name="blocked")
    queued = add_config(hook, receiver.url("/ok"), name="queued")
    overflow = add_config(hook, receiver.url("/ok"), name="overflow")
    dispatcher = pool(workers=1, queue_size=1)
    hook.send_event(CREATED, {}, id=blocked)
    assert receiver.blocked.wait(5)
    hook.send_event(CREATED, {}, id=queued)

    calls: list[dict[str, t.Any]] = []

    def record(sender: t.Any, **kwargs: t.Any) -> None:
        calls.append(kwargs)

    started = time.monotonic()
    with delivery_failed.connected_to(record):
        [job] = hook.send_event(CREATED, {}, id=overflow)
    assert time.monotonic() - started < 1

    [row] = log_rows(db, overflow)
    assert (row["delivery_id"], row["outcome"], row["error"]) == (
        job.delivery_id,
        "failed",
        "queue full",
    )
    assert [(c["error"], c["final"]) for c in calls] == [("queue full", True)]
    receiver.release.set()
    dispatcher.shutdown(wait=True)
    assert [r["outcome"] for r in log_rows(db, queued)] == ["success"]
    assert len(receiver.requests) == 2


def test_retries_wait_in_the_pool(app, db, hook, pool, receiver):
    app.config["INTEGRATIONS_RETRY_SCHEDULE"] = (0.05,)
    config_id = add_config(hook, receiver.url("/flaky/pool?fails=1"))
    pool()

    [job] = hook.send_event(CREATED, {})

    wait_for(lambda: len(log_rows(db, config_id)) == 2)
    rows = log_rows(db, config_id)
    assert [(r["attempt"], r["outcome"]) for r in rows] == [
        (1, "retrying"),
        (2, "success"),
    ]
    assert {r["delivery_id"] for r in rows} == {job.delivery_id}


def test_a_job_queued_in_a_transaction_goes_after_the_commit(db, hook, pool, receiver):
    config_id = add_config(hook, receiver.url("/ok"))
    dispatcher = pool()
    hook.integration_mgr.get_config(config_id).name = "renamed"
    db.session.flush()

    hook.send_event(CREATED, {})
    time.sleep(0.05)
    assert receiver.requests == []
    db.session.commit()

    wait_for(lambda: len(log_rows(db, config_id)) == 1)
    dispatcher.join()


# -- choosing a dispatcher ------------------------------------------------------


class CustomDispatcher:
    def __init__(self, app: Flask | None = None) -> None:
        self.app = app
        self.jobs: list[t.Any] = []

    def dispatch(self, job: t.Any, delay: float = 0.0) -> None:
        self.jobs.append((job, delay))

    def shutdown(self, wait: bool = True) -> None:
        pass


def make_custom_dispatcher(app: Flask) -> CustomDispatcher:
    return CustomDispatcher(app)


CUSTOM_INSTANCE = CustomDispatcher()


@sqlite_only
def test_build_dispatcher_choices(app):
    def build(choice: t.Any) -> t.Any:
        app.config["INTEGRATIONS_DISPATCHER"] = choice
        return build_dispatcher(app)

    thread_pool = build("thread")
    try:
        assert isinstance(thread_pool, ThreadPoolDispatcher)
    finally:
        thread_pool.shutdown()
    assert isinstance(build("sync"), SyncDispatcher)
    instance = CustomDispatcher()
    assert build(instance) is instance
    assert isinstance(build(CustomDispatcher), CustomDispatcher)
    assert build(CustomDispatcher).app is app
    assert build(f"{__name__}:make_custom_dispatcher").app is app
    assert build(f"{__name__}:CustomDispatcher").app is app
    assert build(f"{__name__}:CUSTOM_INSTANCE") is CUSTOM_INSTANCE
    assert isinstance(
        build("flask_integrations.dispatch:SyncDispatcher"), SyncDispatcher
    )


@sqlite_only
@pytest.mark.parametrize(
    ("choice", "message"),
    [
        ("celery", "Unknown 'INTEGRATIONS_DISPATCHER' 'celery': use 'thread'"),
        (42, "Unknown 'INTEGRATIONS_DISPATCHER' 42"),
        ("no_such_module:thing", "names 'no_such_module:thing', which cannot be"),
        (f"{__name__}:no_such_attr", "which cannot be imported"),
    ],
)
def test_an_unknown_dispatcher_is_a_clear_error(app, choice, message):
    app.config["INTEGRATIONS_DISPATCHER"] = choice

    with pytest.raises(IntegrationError, match=message):
        build_dispatcher(app)


@sqlite_only
def test_rq_needs_its_settings(app):
    app.config["INTEGRATIONS_DISPATCHER"] = "rq"

    with pytest.raises(
        IntegrationError, match=r"'INTEGRATIONS_RQ_URL'.*'INTEGRATIONS_RQ_APP'"
    ):
        build_dispatcher(app)
    app.config["INTEGRATIONS_RQ_URL"] = "redis://127.0.0.1:1/0"
    with pytest.raises(IntegrationError, match="'INTEGRATIONS_RQ_APP'"):
        build_dispatcher(app)
    app.config["INTEGRATIONS_RQ_APP"] = "myapp:create_app"
    # Building connects to nothing yet.
    dispatcher = build_dispatcher(app)
    assert isinstance(dispatcher, RQDispatcher)
    assert dispatcher.queue.name == "integrations"
    dispatcher.shutdown()


@sqlite_only
def test_the_app_keeps_one_dispatcher(app, hook, receiver):
    app.config["INTEGRATIONS_DISPATCHER"] = CustomDispatcher
    add_config(hook, receiver.url("/ok"))

    hook.send_event(CREATED, {"n": 1})
    hook.send_event(CREATED, {"n": 2})

    dispatcher = get_dispatcher(app)
    assert isinstance(dispatcher, CustomDispatcher)
    assert [(job.payload, delay) for job, delay in dispatcher.jobs] == [
        ({"n": 1}, 0.0),
        ({"n": 2}, 0.0),
    ]


# -- RQ on Redis --------------------------------------------------------------------


@pytest.fixture
def rq_queue(app: Flask) -> t.Iterator[t.Any]:
    """The app set up for the 'rq' dispatcher, on a queue of its own; the
    queue's keys are deleted afterwards."""
    if not REDIS_URL:
        skip_unless_available(NO_REDIS)
    queue_name = f"test-integrations-{uuid.uuid4().hex[:12]}"
    app.config.update(
        INTEGRATIONS_DISPATCHER="rq",
        INTEGRATIONS_RQ_URL=REDIS_URL,
        INTEGRATIONS_RQ_APP="tests.delivery_support:create_rq_worker_app",
        INTEGRATIONS_RQ_QUEUE=queue_name,
    )
    dispatcher = get_dispatcher(app)
    assert isinstance(dispatcher, RQDispatcher)
    queue = dispatcher.queue
    yield queue
    connection = queue.connection
    for key in connection.scan_iter("rq:job:*"):
        if connection.hget(key, "origin") == queue_name.encode():
            job_id = key.decode().removeprefix("rq:job:")
            connection.delete(key, f"rq:results:{job_id}")
    for key in connection.scan_iter(f"*{queue_name}*"):
        connection.delete(key)
    connection.srem("rq:queues", queue.key)
    dispatcher.shutdown()


@sqlite_only
def test_rq_jobs_carry_json_and_run_in_a_worker(app, db, hook, rq_queue, receiver):
    from rq import SimpleWorker
    from rq.registry import ScheduledJobRegistry

    app.config["INTEGRATIONS_RETRY_SCHEDULE"] = (0.01,)
    delivery_support.RQ_WORKER_SETTINGS.clear()
    delivery_support.RQ_WORKER_SETTINGS.update(
        {
            key: app.config[key]
            for key in (
                "SECRET_KEY",
                "SQLALCHEMY_DATABASE_URI",
                "INTEGRATIONS_DISPATCHER",
                "INTEGRATIONS_RQ_URL",
                "INTEGRATIONS_RQ_APP",
                "INTEGRATIONS_RQ_QUEUE",
                "INTEGRATIONS_RETRY_SCHEDULE",
            )
        }
    )
    ok = add_config(hook, receiver.url("/ok"), name="ok", token=SECRET)
    flaky = add_config(hook, receiver.url("/flaky/rq?fails=1"), name="flaky")
    worker = SimpleWorker(
        [rq_queue], connection=rq_queue.connection, name=f"{rq_queue.name}-worker"
    )
    # The worker takes over these signals and leaves them so.
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    try:
        [job] = hook.send_event(CREATED, {"ticket": 1}, id=ok)
        [queued] = rq_queue.jobs
        assert json.loads(json.dumps(queued.args[0])) == job.as_dict()
        assert receiver.requests == []

        worker.work(burst=True)

        [request] = receiver.requests
        assert json.loads(request["body"]) == {
            "event": CREATED,
            "payload": {"ticket": 1},
        }
        assert request["headers"]["x-token"] == SECRET
        [row] = log_rows(db, ok)
        assert (row["delivery_id"], row["outcome"]) == (job.delivery_id, "success")

        [retried] = hook.send_event(CREATED, {"ticket": 2}, id=flaky)
        worker.work(burst=True)

        scheduled = ScheduledJobRegistry(queue=rq_queue).get_job_ids()
        assert [i.startswith(f"{retried.delivery_id}-2-") for i in scheduled] == [True]
        assert [r["outcome"] for r in log_rows(db, flaky)] == ["retrying"]

        time.sleep(0.02)
        worker.work(burst=True, with_scheduler=True)

        rows = log_rows(db, flaky)
        assert [(r["attempt"], r["outcome"]) for r in rows] == [
            (1, "retrying"),
            (2, "success"),
        ]
        assert {r["delivery_id"] for r in rows} == {retried.delivery_id}
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        for worker_app in delivery_support.RQ_WORKER_APPS:
            get_dispatcher(worker_app).shutdown()
            with worker_app.app_context():
                worker_app.extensions["sqlalchemy"].engine.dispose()
        delivery_support.RQ_WORKER_APPS.clear()
