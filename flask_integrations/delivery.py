"""Deliveries: sending events to other services, outside the request.

An integration calls :meth:`Integration.send_event`; each enabled
configuration that chose the event gets a *delivery*: a job carrying only
ids and JSON (:class:`DeliveryJob`), handed to the app's dispatcher after the
current transaction commits (dropped if it rolls back). The dispatcher runs
:func:`run_job` in a worker thread or process, which calls the integration's
:meth:`~Integration.deliver` and records the attempt in the delivery log.

Failures that may pass (network errors, timeouts, 408, 425, 429, 5xx) are retried
with exponential back-off and ±20 % jitter, respecting ``Retry-After``;
others (other 3xx/4xx, refused URLs) are not. A configuration that keeps
failing is paused, with growing pauses, and disabled after
``INTEGRATIONS_AUTO_DISABLE_AFTER`` consecutive failures. Delivery state
lives in its own table and never touches the configuration row, except to
disable it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import os
import random
import threading
import time
import typing as t
import weakref
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.orm import Session

from .errors import IntegrationError, OutboundRequestError, UnsafeURLError
from .models import UTCDateTime, utcnow
from .outbound import OutboundResponse
from .signals import config_auto_disabled, delivery_failed, delivery_succeeded
from .watch import database_lock

if t.TYPE_CHECKING:  # pragma: no cover
    from .integration import Integration
    from .manager import IntegrationManager
    from .snapshot import ConfigSnapshot

__all__ = ["DeliveryJob", "Outcome", "RetryPolicy", "run_job"]

logger = logging.getLogger("flask_integrations")

LOG_TABLE_NAME = "flask_integrations_delivery"
STATE_TABLE_NAME = "flask_integrations_delivery_state"

#: Status codes worth retrying; other 4xx/3xx mean the configuration is wrong.
RETRY_STATUSES = frozenset({408, 425, 429})

_PENDING_KEY = "flask_integrations.pending_deliveries"
_WROTE_KEY = "flask_integrations.transaction_wrote"


def get_log_table(metadata: sa.MetaData) -> sa.Table:
    """The delivery log table of ``metadata``, defined the first time."""
    table = metadata.tables.get(LOG_TABLE_NAME)
    if table is not None:
        return table
    return sa.Table(
        LOG_TABLE_NAME,
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("delivery_id", sa.String(64), nullable=False, index=True),
        sa.Column("config_id", sa.Integer, nullable=False, index=True),
        sa.Column("integration_id", sa.String(255), nullable=False),
        sa.Column("event", sa.String(255), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("time", UTCDateTime, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=True),
        sa.Column("duration_ms", sa.Integer, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("payload", sa.JSON, nullable=False),
    )


def get_state_table(metadata: sa.MetaData) -> sa.Table:
    """The delivery state table of ``metadata``, defined the first time."""
    table = metadata.tables.get(STATE_TABLE_NAME)
    if table is not None:
        return table
    return sa.Table(
        STATE_TABLE_NAME,
        metadata,
        sa.Column("config_id", sa.Integer, primary_key=True),
        sa.Column("consecutive_failures", sa.Integer, nullable=False, default=0),
        sa.Column("paused_until", UTCDateTime, nullable=True),
        sa.Column("disabled_reason", sa.Text, nullable=True),
        sa.Column("last_success", UTCDateTime, nullable=True),
        sa.Column("last_failure", UTCDateTime, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
    )


@dataclasses.dataclass(frozen=True)
class DeliveryJob:
    """What a dispatcher carries: ids and JSON only.

    :param delivery_id: Stays the same across the retries of a delivery.
    :param attempt: 1 for the first try.
    """

    delivery_id: str
    config_id: int
    integration_id: str
    event: str
    payload: t.Any
    attempt: int = 1

    def as_dict(self) -> dict[str, t.Any]:
        """The job as JSON-ready values."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: t.Mapping[str, t.Any]) -> DeliveryJob:
        """Rebuild a job from :meth:`as_dict`'s values."""
        return cls(**{f.name: values[f.name] for f in dataclasses.fields(cls)})

    def next_attempt(self) -> DeliveryJob:
        """The same delivery, one attempt later."""
        return dataclasses.replace(self, attempt=self.attempt + 1)


@dataclasses.dataclass(frozen=True)
class Outcome:
    """The result of one attempt.

    :param kind: ``"success"``, ``"retry"`` (will be tried again),
        ``"failed"`` (given up), or ``"captured"`` (a *Send test* recorded by
        capture mode, not sent).
    """

    kind: str
    status_code: int | None = None
    error: str | None = None
    duration: float = 0.0
    retry_after: float | None = None


class RetryPolicy:
    """How many attempts, and how long to wait between them.

    :param schedule: Seconds before each retry (the first retry waits
        ``schedule[0]``); its length plus one is the number of attempts.
    :param jitter: Relative random spread of each wait (0.2 is ±20 %).
    :param max_wait: Upper bound of any wait, ``Retry-After`` included.
    """

    def __init__(
        self,
        schedule: t.Sequence[float] = (5, 30, 120),
        jitter: float = 0.2,
        max_wait: float = 24 * 3600,
    ) -> None:
        self.schedule = tuple(float(s) for s in schedule)
        self.jitter = jitter
        self.max_wait = max_wait

    @property
    def attempts(self) -> int:
        """The total number of attempts."""
        return len(self.schedule) + 1

    def delay(self, attempt: int, retry_after: float | None = None) -> float | None:
        """Seconds to wait before the attempt after ``attempt``, or ``None``
        when there is none left."""
        if attempt >= self.attempts:
            return None
        base = self.schedule[attempt - 1]
        wait = base * random.uniform(1 - self.jitter, 1 + self.jitter)
        if retry_after is not None:
            wait = max(wait, retry_after)
        return min(wait, self.max_wait)


def classify(response: OutboundResponse) -> Outcome:
    """Turn an HTTP response into an attempt outcome."""
    code = response.status_code
    if 200 <= code < 300:
        return Outcome("success", code, duration=response.elapsed)
    error = f"HTTP {code}"
    if code in RETRY_STATUSES or code >= 500:
        return Outcome(
            "retry", code, error, response.elapsed, retry_after=response.retry_after
        )
    return Outcome("failed", code, error, response.elapsed)


def classify_error(exc: BaseException, duration: float) -> Outcome:
    """Turn an exception raised while delivering into an attempt outcome."""
    if isinstance(exc, UnsafeURLError):
        return Outcome("failed", error=f"Refused: {exc}", duration=duration)
    if isinstance(exc, OutboundRequestError) and not isinstance(exc, UnsafeURLError):
        kind = "failed" if _is_permanent(exc) else "retry"
        return Outcome(kind, error=str(exc), duration=duration)
    return Outcome("failed", error=f"{type(exc).__name__}: {exc}", duration=duration)


def _is_permanent(exc: OutboundRequestError) -> bool:
    from .errors import ResponseTooLargeError, TooManyRedirectsError

    return isinstance(exc, (ResponseTooLargeError, TooManyRedirectsError))


# -- queuing --------------------------------------------------------------------


def new_delivery_id() -> str:
    """A new delivery id: 128 random bits as 32 hex digits."""
    return os.urandom(16).hex()


def new_delivery_ids(count: int) -> list[str]:
    """``count`` new delivery ids, from one read of the random source (a
    fan-out needs one per configuration)."""
    digits = os.urandom(16 * count).hex()
    return [digits[i : i + 32] for i in range(0, 32 * count, 32)]


def queue(manager: IntegrationManager, job: DeliveryJob) -> None:
    """Hand ``job`` to the dispatcher: after the current transaction commits
    if it holds uncommitted writes (dropped if it rolls back, also to a
    savepoint taken before the job was queued), else at once."""
    queue_all(manager, [job])


def queue_all(manager: IntegrationManager, jobs: t.Sequence[DeliveryJob]) -> None:
    """:func:`queue` several jobs at once: the session is looked at once and
    the dispatcher gets them in one call (a fan-out costs the request one
    hand-over, not one per configuration)."""
    if not jobs:
        return
    session = manager.session
    root = session.get_transaction()
    if root is None or not _has_writes(session):
        dispatch_all_now(jobs)
        return
    # Keep the innermost transaction, so that rolling back a savepoint drops
    # the jobs queued inside it.
    owner = session.get_nested_transaction() or root
    session.info.setdefault(_PENDING_KEY, []).extend((owner, job) for job in jobs)


def _has_writes(session: Session) -> bool:
    # Autobegin opens a transaction for any read (even reading an attribute
    # after a commit): only writes make a delivery wait for the commit.
    if session.new or session.dirty or session.deleted:
        session.info[_WROTE_KEY] = True
    return bool(session.info.get(_WROTE_KEY))


def dispatch_now(job: DeliveryJob, delay: float = 0.0) -> None:
    """Hand ``job`` to the current app's dispatcher, or to its outboxes in
    capture mode."""
    from .dispatch import get_dispatcher

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if _uncaptured(app, [job]):
        get_dispatcher(app).dispatch(job, delay=delay)


def dispatch_all_now(jobs: t.Sequence[DeliveryJob]) -> None:
    """Hand ``jobs`` to the current app's dispatcher in one call when it
    takes several (``dispatch_all``), or to its outboxes in capture mode."""
    from .dispatch import get_dispatcher

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    jobs = _uncaptured(app, jobs)
    if not jobs:
        return
    dispatcher = get_dispatcher(app)
    dispatch_all = getattr(dispatcher, "dispatch_all", None)
    if dispatch_all is not None:
        dispatch_all(jobs)
        return
    for job in jobs:
        dispatcher.dispatch(job)


def _uncaptured(app: Flask, jobs: t.Sequence[DeliveryJob]) -> list[DeliveryJob]:
    """The jobs capture mode did not take (it records the others)."""
    from .capture import capture

    return [job for job in jobs if not capture(app, job)]


@sa.event.listens_for(Session, "after_flush")
def _note_flush(session: Session, context: t.Any) -> None:
    session.info[_WROTE_KEY] = True


@sa.event.listens_for(Session, "do_orm_execute")
def _note_statement(state: t.Any) -> None:
    # Text statements may write too; only a SELECT is surely a read.
    if not state.is_select:
        state.session.info[_WROTE_KEY] = True


@sa.event.listens_for(Session, "after_commit")
def _dispatch_pending(session: Session) -> None:
    root = session.get_transaction()
    if root is not None and root.is_active:
        return  # A savepoint was released.
    pending = session.info.pop(_PENDING_KEY, None)
    if not pending:
        return
    try:
        dispatch_all_now([job for _, job in pending])
    except Exception:
        logger.exception("Could not queue %d deliveries.", len(pending))


@sa.event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous: t.Any) -> None:
    if not previous.nested:
        return  # The end of the root transaction drops everything.
    pending = session.info.get(_PENDING_KEY)
    if pending:
        pending[:] = [
            (owner, job) for owner, job in pending if not _inside(owner, previous)
        ]


def _inside(transaction: t.Any, ancestor: t.Any) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


@sa.event.listens_for(Session, "after_transaction_end")
def _drop_uncommitted(session: Session, transaction: t.Any) -> None:
    if transaction.parent is not None:
        return
    session.info.pop(_WROTE_KEY, None)
    # After a commit nothing is left; after a rollback, or a session closed
    # without committing, the jobs go with the writes they announced.
    pending = session.info.pop(_PENDING_KEY, None)
    if pending:
        logger.info(
            "Dropped %d deliveries: the transaction they were sent in was not"
            " committed.",
            len(pending),
        )


# -- running ------------------------------------------------------------------------


def run_job(app: Flask, job: DeliveryJob) -> Outcome | None:
    """Run one attempt of a delivery, in any thread or process.

    Starts with the staleness check, records the attempt, updates the
    configuration's delivery state and schedules the retry.

    Always in an app context of its own, so with a session of its own: the
    caller's session may be in the middle of the commit that queued the job.

    :return: The outcome, or ``None`` when the delivery was dropped (the
        configuration is gone, disabled, or no longer wants the event) or
        put off until the configuration's pause ends.
    """
    with app.app_context():
        return _run(job)


def _run(job: DeliveryJob) -> Outcome | None:
    state = current_app.extensions["integrations"]
    state.sync_registrations()
    manager: IntegrationManager = state.manager
    if not current_app.config["INTEGRATIONS_ENABLED"]:
        logger.info(
            "Dropping delivery %s: 'INTEGRATIONS_ENABLED' is False.", job.delivery_id
        )
        return None
    manager.check_expired()
    try:
        integration = manager.get_integration(job.integration_id)
    except IntegrationError:
        logger.warning("Dropping delivery %s: integration gone.", job.delivery_id)
        return None
    configs = manager.get_integration_configs(integration, id=job.config_id)
    if not configs or not configs[0].enabled:
        logger.info(
            "Dropping delivery %s: configuration gone or disabled.", job.delivery_id
        )
        return None
    config = configs[0]
    if not integration.receives(config, job.event):
        logger.info(
            "Dropping delivery %s: the configuration no longer receives '%s'.",
            job.delivery_id,
            job.event,
        )
        return None
    has_state, pause = _read_state(manager, config.id)
    if pause > 0:
        dispatch_now(job, delay=pause)
        return None
    outcome = attempt(integration, config, job)
    _record(manager, integration, config, job, outcome, has_state=has_state)
    return outcome


def attempt(
    integration: Integration, config: ConfigSnapshot, job: DeliveryJob
) -> Outcome:
    """Call the integration's :meth:`~Integration.deliver` once."""
    started = time.monotonic()
    try:
        response = integration.deliver(config, job.event, job.payload, job)
    except Exception as exc:
        outcome = classify_error(exc, time.monotonic() - started)
        if outcome.kind == "failed" and not isinstance(exc, OutboundRequestError):
            logger.exception(
                "Integration '%s' raised while delivering %s.",
                integration.integration_id,
                job.delivery_id,
            )
        return outcome
    if response is None:
        return Outcome("success", duration=time.monotonic() - started)
    return classify(response)


def _policy(app: Flask) -> RetryPolicy:
    return RetryPolicy(app.config["INTEGRATIONS_RETRY_SCHEDULE"])


def _record(
    manager: IntegrationManager,
    integration: Integration,
    config: ConfigSnapshot,
    job: DeliveryJob,
    outcome: Outcome,
    has_state: bool = False,
) -> None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    delay = None
    if outcome.kind == "retry":
        delay = _policy(app).delay(job.attempt, outcome.retry_after)
        if delay is None:
            outcome = dataclasses.replace(
                outcome,
                kind="failed",
                error=f"{outcome.error} (gave up after {job.attempt} attempts)",
            )
    if outcome.kind == "success":
        record_success(
            manager, config.id, job=job, outcome=outcome, has_state=has_state
        )
        delivery_succeeded.send(integration, config=config, delivery=job)
        return
    disabled = record_failure(manager, config, outcome.error or "failed")
    if disabled and delay is not None:
        # This failure disabled the configuration: no retry follows.
        delay = None
        outcome = dataclasses.replace(
            outcome, kind="failed", error=f"{outcome.error} (configuration disabled)"
        )
    log_attempt(manager, job, outcome)
    delivery_failed.send(
        integration,
        config=config,
        delivery=job,
        error=outcome.error,
        final=outcome.kind == "failed",
    )
    if delay is not None:
        dispatch_now(job.next_attempt(), delay=delay)


def record_undelivered(app: Flask, job: DeliveryJob, error: str) -> None:
    """Record a delivery that could not even be tried (e.g. its dispatcher's
    queue was full) as failed for good: logged, counted and signalled like a
    failed attempt."""
    with app.app_context():
        manager: IntegrationManager = current_app.extensions["integrations"].manager
        try:
            integration = manager.get_integration(job.integration_id)
        except IntegrationError:
            return
        configs = manager.get_integration_configs(integration, id=job.config_id)
        if configs:
            outcome = Outcome("failed", error=error)
            _record(manager, integration, configs[0], job, outcome)


# -- the log and the state ------------------------------------------------------


def _metadata(manager: IntegrationManager) -> sa.MetaData:
    return t.cast(sa.MetaData, manager.config_model.__table__.metadata)


def log_attempt(
    manager: IntegrationManager,
    job: DeliveryJob,
    outcome: Outcome,
    *,
    now: datetime | None = None,
    connection: sa.Connection | None = None,
) -> None:
    """Add an attempt to the log, keeping at most
    ``INTEGRATIONS_DELIVERY_LOG_LIMIT`` entries per configuration.

    :param connection: Write in this connection's transaction; by default
        in a transaction of its own.
    """
    if connection is None:
        engine = manager.engine()
        with database_lock(engine), engine.begin() as connection:
            log_attempt(manager, job, outcome, now=now, connection=connection)
        return
    table = get_log_table(_metadata(manager))
    limit = max(int(current_app.config["INTEGRATIONS_DELIVERY_LOG_LIMIT"]), 1)
    outcome_name = {"retry": "retrying"}.get(outcome.kind, outcome.kind)
    connection.execute(
        table.insert(),
        {
            "delivery_id": job.delivery_id,
            "config_id": job.config_id,
            "integration_id": job.integration_id,
            "event": job.event,
            "attempt": job.attempt,
            "time": now or utcnow(),
            "outcome": outcome_name,
            "status_code": outcome.status_code,
            "duration_ms": int(outcome.duration * 1000),
            "error": (outcome.error or None) and outcome.error[:2000],
            "payload": job.payload,
        },
    )
    connection.execute(
        _trim_log_statement(table), {"b_config_id": job.config_id, "keep": limit - 1}
    )


@functools.lru_cache(maxsize=16)
def _trim_log_statement(table: sa.Table) -> sa.Delete:
    """Delete a configuration's entries older than the newest ``keep + 1``
    in one statement: the oldest entry to keep is found by a subquery."""
    config_id = sa.bindparam("b_config_id", type_=sa.Integer)
    oldest_kept = (
        sa.select(table.c.id)
        .where(table.c.config_id == config_id)
        .order_by(table.c.id.desc())
        .limit(1)
        .offset(sa.bindparam("keep", type_=sa.Integer))
        .scalar_subquery()
    )
    return sa.delete(table).where(
        table.c.config_id == config_id, table.c.id < oldest_kept
    )


def get_log(
    manager: IntegrationManager, config_id: int, limit: int = 50
) -> list[sa.RowMapping]:
    """The newest log entries of a configuration."""
    table = get_log_table(_metadata(manager))
    return list(
        manager.session.execute(
            sa.select(table)
            .where(table.c.config_id == config_id)
            .order_by(table.c.id.desc())
            .limit(limit)
        ).mappings()
    )


def get_state(manager: IntegrationManager, config_id: int) -> sa.RowMapping | None:
    """The delivery state of a configuration, or ``None`` before any delivery."""
    table = get_state_table(_metadata(manager))
    return (
        manager.session.execute(sa.select(table).where(table.c.config_id == config_id))
        .mappings()
        .first()
    )


#: Seconds a configuration this process saw unpaused is trusted to stay so
#: without reading its delivery state again. A pause set by another process
#: applies here within this time; pauses last a minute or more.
CLEAN_STATE_TTL = 1.0

_clean_states: weakref.WeakKeyDictionary[IntegrationManager, dict[int, float]] = (
    weakref.WeakKeyDictionary()
)


def _known_clean(manager: IntegrationManager) -> dict[int, float]:
    """When each configuration was last seen with a state row and no pause."""
    known = _clean_states.get(manager)
    if known is None:
        known = _clean_states.setdefault(manager, {})
    return known


def _read_state(manager: IntegrationManager, config_id: int) -> tuple[bool, float]:
    """Whether a configuration has a delivery state row yet, and the seconds
    left of its pause."""
    known = _known_clean(manager)
    seen = known.get(config_id)
    if seen is not None and time.monotonic() - seen < CLEAN_STATE_TTL:
        return True, 0.0
    table = get_state_table(_metadata(manager))
    engine = manager.engine()
    with database_lock(engine), engine.connect() as connection:
        row = connection.execute(
            sa.select(table.c.paused_until).where(table.c.config_id == config_id)
        ).first()
    pause = 0.0
    if row is not None and row.paused_until is not None:
        pause = max(0.0, float((row.paused_until - utcnow()).total_seconds()))
    if row is not None and not pause:
        known[config_id] = time.monotonic()
    return row is not None, pause


def _ensure_state_row(engine: sa.Engine, table: sa.Table, config_id: int) -> None:
    with database_lock(engine), engine.connect() as connection:
        found = connection.execute(
            sa.select(table.c.config_id).where(table.c.config_id == config_id)
        ).first()
    if found is not None:
        return
    try:
        with database_lock(engine), engine.begin() as connection:
            connection.execute(
                sa.insert(table).values(config_id=config_id, consecutive_failures=0)
            )
    except sa.exc.IntegrityError:
        pass  # Another worker inserted it meanwhile.


def record_success(
    manager: IntegrationManager,
    config_id: int,
    *,
    job: DeliveryJob | None = None,
    outcome: Outcome | None = None,
    has_state: bool = False,
) -> None:
    """A delivery (or a test) succeeded: reset the failure count and pause,
    and log the attempt when given, in one transaction.

    :param has_state: The configuration's state row is known to exist.
    """
    table = get_state_table(_metadata(manager))
    engine = manager.engine()
    if not has_state:
        _ensure_state_row(engine, table, config_id)
    now = utcnow()

    def write(connection: sa.Connection) -> None:
        if job is not None and outcome is not None:
            log_attempt(manager, job, outcome, now=now, connection=connection)
        connection.execute(
            _success_statement(table), {"b_config_id": config_id, "b_last_success": now}
        )

    _group_commit(manager).write(engine, write, key=config_id)
    _known_clean(manager)[config_id] = time.monotonic()


class GroupCommit:
    """Writes that may share a transaction, committed together.

    Each delivery thread hands its write over and waits for the lock; the
    thread that gets it commits every write waiting by then in one
    transaction. Under load, many deliveries cost one commit (one ``fsync``
    on SQLite), and threads queue on a lock instead of on the database's
    own busy-waiting.

    :param lock: Held while committing (see
        :func:`~flask_integrations.watch.database_lock`).
    """

    def __init__(self, lock: t.ContextManager[t.Any] | None = None) -> None:
        self._lock = lock if lock is not None else threading.Lock()
        self._pending: list[_PendingWrite] = []
        self._pending_lock = threading.Lock()

    def write(
        self,
        engine: sa.Engine,
        write: t.Callable[[sa.Connection], None],
        key: int = 0,
    ) -> None:
        """Run ``write`` in a transaction, with whatever else is waiting;
        return once it is committed.

        :param key: Writes run in the order of their keys (e.g. the
            configuration id), so that concurrent batches lock rows in the
            same order and cannot deadlock each other.
        :raises sqlalchemy.exc.SQLAlchemyError: ``write`` failed. When a
            shared transaction fails, each of its writes is tried again in a
            transaction of its own, so one bad write fails alone.
        """
        entry = _PendingWrite(write, key)
        with self._pending_lock:
            self._pending.append(entry)
        with self._lock:
            with self._pending_lock:
                batch, self._pending = self._pending, []
            if batch:  # else another thread committed this one meanwhile
                self._commit(engine, sorted(batch, key=lambda each: each.key))
        if entry.error is not None:
            raise entry.error

    @staticmethod
    def _commit(engine: sa.Engine, batch: list[_PendingWrite]) -> None:
        try:
            with engine.begin() as connection:
                for each in batch:
                    each.write(connection)
            return
        except sa.exc.SQLAlchemyError as exc:
            if len(batch) == 1:
                batch[0].error = exc
                return
        except BaseException as exc:
            for each in batch:
                each.error = sa.exc.InternalError(
                    "Recording a delivery outcome was interrupted.", None, exc
                )
            raise
        for each in batch:
            try:
                with engine.begin() as connection:
                    each.write(connection)
            except sa.exc.SQLAlchemyError as exc:
                each.error = exc


@dataclasses.dataclass
class _PendingWrite:
    write: t.Callable[[sa.Connection], None]
    key: int = 0
    error: sa.exc.SQLAlchemyError | None = None


_group_commits: weakref.WeakKeyDictionary[IntegrationManager, GroupCommit] = (
    weakref.WeakKeyDictionary()
)
_group_commits_lock = threading.Lock()


def _group_commit(manager: IntegrationManager) -> GroupCommit:
    with _group_commits_lock:
        group = _group_commits.get(manager)
        if group is None:
            lock = database_lock(manager.engine())
            shared = None if isinstance(lock, contextlib.nullcontext) else lock
            group = _group_commits[manager] = GroupCommit(shared)
        return group


@functools.lru_cache(maxsize=16)
def _success_statement(table: sa.Table) -> sa.Update:
    return (
        sa.update(table)
        .where(table.c.config_id == sa.bindparam("b_config_id"))
        .values(
            consecutive_failures=0,
            paused_until=None,
            last_success=sa.bindparam("b_last_success"),
        )
    )


def pause_after(app: Flask, failures: int) -> timedelta | None:
    """How long to pause after ``failures`` consecutive failures."""
    start = int(app.config["INTEGRATIONS_PAUSE_AFTER"])
    if failures < start:
        return None
    first = float(app.config["INTEGRATIONS_PAUSE_FIRST"])
    longest = float(app.config["INTEGRATIONS_PAUSE_MAX"])
    return timedelta(seconds=min(first * 2 ** (failures - start), longest))


def record_failure(
    manager: IntegrationManager, config: ConfigSnapshot, error: str
) -> bool:
    """A delivery failed: count it, pause or disable the configuration.

    :return: Whether the configuration was disabled.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    table = get_state_table(_metadata(manager))
    engine = manager.engine()
    now = utcnow()
    _known_clean(manager).pop(config.id, None)
    _ensure_state_row(engine, table, config.id)
    with database_lock(engine), engine.begin() as connection:
        # Counting in the UPDATE keeps concurrent failures from being lost.
        where = table.c.config_id == config.id
        connection.execute(
            sa.update(table)
            .where(where)
            .values(
                consecutive_failures=table.c.consecutive_failures + 1,
                last_failure=now,
                last_error=error[:2000],
            )
        )
        failures = int(
            connection.execute(
                sa.select(table.c.consecutive_failures).where(where)
            ).scalar_one()
        )
        pause = pause_after(app, failures)
        disable = failures >= int(app.config["INTEGRATIONS_AUTO_DISABLE_AFTER"])
        reason = (
            f"Disabled after {failures} consecutive failed deliveries; last"
            f" error: {error}"
            if disable
            else None
        )
        connection.execute(
            sa.update(table)
            .where(where)
            .values(
                paused_until=now + pause if pause else None,
                **({"disabled_reason": reason} if disable else {}),
            )
        )
    # Again after the commit: a success recorded meanwhile must not leave
    # the configuration marked unpaused.
    _known_clean(manager).pop(config.id, None)
    if disable:
        _auto_disable(manager, config, t.cast(str, reason))
    return disable


def _auto_disable(
    manager: IntegrationManager, config: ConfigSnapshot, reason: str
) -> None:
    from .history import acting_as

    session = manager.session
    live = session.get(manager.config_model, config.id)
    if live is None or not live.enabled:
        return
    live.enabled = False
    with acting_as("auto-disable"):
        session.commit()
    logger.warning(
        "Configuration %s of '%s' disabled: %s",
        config.id,
        config.integration_id,
        reason,
    )
    config_auto_disabled.send(
        manager.get_integration(config.integration_id), config=config, reason=reason
    )
