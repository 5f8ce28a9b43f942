"""Dispatchers: where deliveries run.

``INTEGRATIONS_DISPATCHER`` chooses one per app:

``"thread"`` (default)
    :class:`ThreadPoolDispatcher`, a bounded pool of threads in this
    process. It never blocks the request: when its queue is full, the
    delivery is recorded as failed ("queue full"). Retries wait in memory, so
    a short retry schedule suits it. Jobs still queued at exit are run first.
``"sync"``
    :class:`SyncDispatcher` runs deliveries at once, in the caller's thread;
    for tests and scripts.
``"rq"``
    :class:`RQDispatcher` puts jobs on a Redis queue for RQ workers on any
    host; retries are scheduled in Redis, so a long schedule is fine.
``"capture"``
    :class:`~flask_integrations.capture.CaptureDispatcher` records
    deliveries in the app's outbox instead of sending them; for tests and
    development (see :mod:`flask_integrations.capture`).

Or pass a :class:`Dispatcher` instance, or a ``"module:attr"`` string naming
one (or a callable building one from the app).
"""

from __future__ import annotations

import atexit
import dataclasses
import heapq
import itertools
import logging
import queue
import threading
import time
import typing as t
import uuid
import weakref
from datetime import timedelta

from flask import Flask
from werkzeug.utils import ImportStringError, import_string

from .capture import CaptureDispatcher
from .delivery import DeliveryJob, record_undelivered, run_job
from .errors import IntegrationError

__all__ = [
    "Dispatcher",
    "RQDispatcher",
    "SyncDispatcher",
    "ThreadPoolDispatcher",
    "get_dispatcher",
    "rq_perform",
]

logger = logging.getLogger("flask_integrations")


class Dispatcher(t.Protocol):
    """Runs delivery jobs somewhere else than the request."""

    def dispatch(self, job: DeliveryJob, delay: float = 0.0) -> None:
        """Run ``job`` after ``delay`` seconds; never block for long."""

    def shutdown(self, wait: bool = True) -> None:
        """Stop; with ``wait``, first run what is queued."""


class SyncDispatcher:
    """Runs each delivery at once in the caller's thread.

    :param app: The app the deliveries belong to.
    :param sleep: Wait out retry delays; by default retries run at once and
        the delays asked for are kept in :attr:`delays`.
    """

    def __init__(self, app: Flask, sleep: bool = False) -> None:
        self._app = weakref.ref(app)
        self.sleep = sleep
        #: The delays retries and pauses asked for, in order.
        self.delays: list[float] = []
        #: Jobs put off until their configuration's pause ends; without
        #: ``sleep`` they are kept here, not run.
        self.postponed: list[DeliveryJob] = []
        self._running: set[tuple[str, int]] = set()

    def dispatch(self, job: DeliveryJob, delay: float = 0.0) -> None:
        key = (job.delivery_id, job.attempt)
        if delay:
            self.delays.append(delay)
            if self.sleep:
                time.sleep(delay)
            elif key in self._running:
                # The job itself asks to wait (its configuration is paused):
                # running it again at once would only ask again.
                self.postponed.append(job)
                return
        app = self._app()
        if app is None:
            return
        self._running.add(key)
        try:
            run_job(app, job)
        finally:
            self._running.discard(key)

    def shutdown(self, wait: bool = True) -> None:
        pass


@dataclasses.dataclass(frozen=True)
class _Batch:
    """Jobs handed over together, spread over the pool by a worker."""

    jobs: tuple[DeliveryJob, ...]


class ThreadPoolDispatcher:
    """A bounded pool of worker threads in this process.

    :param app: The app the deliveries belong to.
    :param workers: Number of threads.
    :param queue_size: Jobs waiting at most; beyond, deliveries fail with
        "queue full" instead of blocking the caller.
    """

    def __init__(self, app: Flask, workers: int = 4, queue_size: int = 100) -> None:
        self._app = weakref.ref(app)
        self._queue: queue.Queue[DeliveryJob | _Batch | None] = queue.Queue(queue_size)
        self._delayed: list[tuple[float, int, DeliveryJob]] = []
        self._counter = itertools.count()
        self._lock = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._workers = workers
        self._closed = False
        #: Jobs inside queued batches beyond the one slot each takes.
        self._extra = 0

    def _start(self) -> None:
        if self._threads:
            return
        for number in range(self._workers):
            thread = threading.Thread(
                target=self._work, name=f"integrations-delivery-{number}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        timer = threading.Thread(
            target=self._release_delayed, name="integrations-retries", daemon=True
        )
        timer.start()
        self._threads.append(timer)

    def dispatch(self, job: DeliveryJob, delay: float = 0.0) -> None:
        with self._lock:
            if self._closed:
                logger.warning(
                    "Delivery %s dropped: the dispatcher is shut down.",
                    job.delivery_id,
                )
                return
            self._start()
            if delay > 0:
                heapq.heappush(
                    self._delayed, (time.monotonic() + delay, next(self._counter), job)
                )
                self._lock.notify_all()
                return
        self._put(job)

    def dispatch_all(self, jobs: t.Sequence[DeliveryJob]) -> None:
        """Run ``jobs`` now, handing them over in one queue slot: a worker
        spreads them over the pool, so the caller (a request fanning an
        event out) does not pay one hand-over per job."""
        if len(jobs) == 1:
            self.dispatch(jobs[0])
            return
        with self._lock:
            if self._closed:
                logger.warning(
                    "%d deliveries dropped: the dispatcher is shut down.", len(jobs)
                )
                return
            self._start()
        with self._lock:
            self._extra += len(jobs) - 1
        try:
            self._queue.put_nowait(_Batch(tuple(jobs)))
        except queue.Full:
            with self._lock:
                self._extra -= len(jobs) - 1
            for job in jobs:
                self._record_queue_full(job)

    def _spread(self, batch: _Batch) -> None:
        """Put a batch's jobs on the queue, for every worker to take; once
        shut down, run them here instead (behind the stop markers they would
        never run)."""
        with self._lock:
            self._extra -= len(batch.jobs) - 1
            closed = self._closed
        app = self._app()
        for job in batch.jobs:
            if not closed:
                self._put(job)
            elif app is not None:
                try:
                    run_job(app, job)
                except Exception:
                    logger.exception("A delivery job crashed.")

    def _put(self, job: DeliveryJob) -> None:
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            self._record_queue_full(job)

    def _record_queue_full(self, job: DeliveryJob) -> None:
        app = self._app()
        if app is None:
            return
        logger.warning("Delivery queue full; delivery %s failed.", job.delivery_id)
        record_undelivered(app, job, "queue full")

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            try:
                if job is None:
                    return
                if isinstance(job, _Batch):
                    self._spread(job)
                    continue
                app = self._app()
                if app is not None:
                    run_job(app, job)
            except Exception:
                logger.exception("A delivery job crashed.")
            finally:
                self._queue.task_done()

    def _release_delayed(self) -> None:
        while True:
            with self._lock:
                if self._closed:
                    return
                now = time.monotonic()
                due = []
                while self._delayed and self._delayed[0][0] <= now:
                    due.append(heapq.heappop(self._delayed)[2])
                if not due:
                    timeout = self._delayed[0][0] - now if self._delayed else None
                    self._lock.wait(timeout)
                    continue
            # Outside the lock: a full queue means writing to the database.
            for job in due:
                self._put(job)

    def pending(self) -> int:
        """Jobs queued or waiting for a retry."""
        return self._queue.qsize() + self._extra + len(self._delayed)

    def join(self) -> None:
        """Wait until every queued (not delayed) job has run."""
        self._queue.join()

    def shutdown(self, wait: bool = True) -> None:
        """Stop the threads. With ``wait``, the queued jobs run first and
        this returns once every thread has ended; without, queued jobs are
        dropped. Retries waiting for their time are dropped either way."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            dropped = len(self._delayed)
            self._delayed.clear()
            self._lock.notify_all()
        if not wait:
            dropped += self._drain()
        if dropped:
            logger.warning("Dropping %d deliveries at shutdown.", dropped)
        # Behind the queued jobs: each worker ends when it takes one.
        for _ in range(self._workers if self._threads else 0):
            self._queue.put(None)
        if wait:
            for thread in self._threads:
                if thread is not threading.current_thread():
                    thread.join()

    def _drain(self) -> int:
        drained = 0
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return drained
            self._queue.task_done()
            if isinstance(item, _Batch):
                with self._lock:
                    self._extra -= len(item.jobs) - 1
                drained += len(item.jobs)
            elif item is not None:
                drained += 1


def rq_perform(job_values: dict[str, t.Any], app_import: str) -> str | None:
    """The function RQ workers run: rebuild the app and run one attempt.

    :param app_import: ``"module:attr"`` naming the Flask app or a factory
        returning it.
    """
    outcome = run_job(_worker_app(app_import), DeliveryJob.from_dict(job_values))
    return outcome.kind if outcome is not None else None


_worker_apps: dict[str, Flask] = {}


def _worker_app(app_import: str) -> Flask:
    app = _worker_apps.get(app_import)
    if app is None:
        found = import_string(app_import.replace(":", "."))
        app = found if isinstance(found, Flask) else found()
        _worker_apps[app_import] = app
    return app


class RQDispatcher:
    """Puts deliveries on an RQ queue in Redis.

    Workers run ``rq worker --with-scheduler <queue>`` with the app's
    package importable, and build the app from ``app_import`` (see
    :func:`rq_perform`): once per worker with ``-w rq.worker.SimpleWorker``,
    once per job with RQ's default worker, which forks for every job.

    :param redis_url: The Redis server.
    :param app_import: ``"module:attr"`` naming the app or its factory.
    :param queue_name: The RQ queue.
    """

    def __init__(
        self, redis_url: str, app_import: str, queue_name: str = "integrations"
    ) -> None:
        try:
            from redis import Redis
            from rq import Queue
        except ImportError as exc:
            raise IntegrationError(
                "The 'rq' dispatcher needs the 'rq' package: install"
                " 'flask-integrations[rq]'."
            ) from exc

        self.app_import = app_import
        self.queue = Queue(queue_name, connection=Redis.from_url(redis_url))

    def dispatch(self, job: DeliveryJob, delay: float = 0.0) -> None:
        arguments = (job.as_dict(), self.app_import)
        # Unique: a job put off during a pause is queued again by its own
        # run, under the same delivery id and attempt.
        job_id = f"{job.delivery_id}-{job.attempt}-{uuid.uuid4().hex[:8]}"
        options = {"job_id": job_id, "result_ttl": 3600}
        if delay > 0:
            self.queue.enqueue_in(
                timedelta(seconds=delay), rq_perform, *arguments, **options
            )
        else:
            self.queue.enqueue(rq_perform, *arguments, **options)

    def shutdown(self, wait: bool = True) -> None:
        self.queue.connection.close()


def build_dispatcher(app: Flask) -> Dispatcher:
    """Build the dispatcher ``INTEGRATIONS_DISPATCHER`` names for ``app``."""
    choice = app.config["INTEGRATIONS_DISPATCHER"]
    if isinstance(choice, str) and ":" in choice:
        try:
            choice = import_string(choice.replace(":", "."))
        except ImportStringError as exc:
            raise IntegrationError(
                f"'INTEGRATIONS_DISPATCHER' names {choice!r}, which cannot be"
                f" imported: {exc.exception}"
            ) from exc
    if choice == "thread":
        dispatcher: Dispatcher = ThreadPoolDispatcher(
            app,
            workers=int(app.config["INTEGRATIONS_THREADS"]),
            queue_size=int(app.config["INTEGRATIONS_QUEUE_SIZE"]),
        )
        atexit.register(dispatcher.shutdown)
        return dispatcher
    if choice == "sync":
        return SyncDispatcher(app)
    if choice == "capture":
        return CaptureDispatcher(app)
    if choice == "rq":
        url = app.config.get("INTEGRATIONS_RQ_URL")
        target = app.config.get("INTEGRATIONS_RQ_APP")
        if not url or not target:
            raise IntegrationError(
                "The 'rq' dispatcher needs 'INTEGRATIONS_RQ_URL' (the Redis URL)"
                " and 'INTEGRATIONS_RQ_APP' (the app or its factory, as"
                " 'module:attr') in the app's config."
            )
        return RQDispatcher(url, target, app.config["INTEGRATIONS_RQ_QUEUE"])
    if isinstance(choice, type):
        return t.cast(Dispatcher, choice(app))
    if hasattr(choice, "dispatch"):
        return t.cast(Dispatcher, choice)
    if callable(choice):
        return t.cast(Dispatcher, choice(app))
    raise IntegrationError(
        f"Unknown 'INTEGRATIONS_DISPATCHER' {choice!r}: use 'thread', 'sync', 'rq',"
        " 'capture', a dispatcher, or a 'module:attr' string naming one."
    )


def get_dispatcher(app: Flask) -> Dispatcher:
    """The dispatcher of ``app``, built on first use."""
    state = app.extensions["integrations"]
    if state.dispatcher is None:
        with state.manager.lock:
            if state.dispatcher is None:
                state.dispatcher = build_dispatcher(app)
    return t.cast(Dispatcher, state.dispatcher)
