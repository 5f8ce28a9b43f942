"""Cheap reading of the committed generation for the per-request check.

The generation counter in the sync table is the authority on whether
configurations changed. Reading it through the session costs a pool
checkout, a query and a transaction reset on every request, and inside a
long ``REPEATABLE READ`` transaction it may read an old snapshot. A watcher
reads the latest *committed* generation more cheaply, outside any
transaction of the caller:

- SQLite files (:class:`SQLiteWatcher`): while the database file's header
  shows no commit since the last read, the generation read then is still
  the latest, and no query runs at all.
- Other databases (:class:`CounterWatcher`): the counter itself, read on an
  autocommit connection of the watcher's own, one round trip.

The manager compares that generation with the one it last applied, and
reloads while they differ: a watcher never "uses up" a change, so a reload
that fails, or reads an old snapshot, is simply tried again at the next
check. A watcher that cannot answer (a lost connection, a forked child
before it reconnects, missing tables) returns ``None`` and the manager
reads the counter through the session, as it would without a watcher.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
import typing as t

import sqlalchemy as sa

__all__ = [
    "FILE_CHECK_INTERVAL",
    "RECONNECT_DELAY",
    "ChangeWatcher",
    "CounterWatcher",
    "SQLiteWatcher",
    "database_lock",
    "make_watcher",
]

logger = logging.getLogger("flask_integrations")

#: Seconds between two attempts to reconnect a broken watcher.
RECONNECT_DELAY = 5.0

#: Seconds between two checks that a SQLite file was not replaced.
FILE_CHECK_INTERVAL = 1.0

_inherited: list[t.Any] = []

_sqlite_locks: dict[str, threading.RLock] = {}
_sqlite_locks_guard = threading.Lock()


def _reset_locks_in_child() -> None:
    # A lock held by another thread at fork() would never be released in
    # the child.
    global _sqlite_locks_guard
    _sqlite_locks_guard = threading.Lock()
    _sqlite_locks.clear()


if hasattr(os, "register_at_fork"):  # pragma: no branch
    os.register_at_fork(after_in_child=_reset_locks_in_child)


def database_lock(engine: sa.Engine) -> t.ContextManager[t.Any]:
    """A lock this process's own statements on ``engine``'s database take,
    when that database is a SQLite file (a no-op lock otherwise).

    SQLite lets no one read while a commit is being written, and a blocked
    connection sleeps for whole milliseconds before trying again. Delivery
    threads and watchers queue on this lock instead, so they never wait on
    each other through SQLite.
    """
    path = _sqlite_file(engine)
    if path is None:
        return contextlib.nullcontext()
    return _sqlite_lock(path)


def _sqlite_lock(path: str) -> threading.RLock:
    with _sqlite_locks_guard:
        lock = _sqlite_locks.get(path)
        if lock is None:
            lock = _sqlite_locks[path] = threading.RLock()
        return lock


def _sqlite_file(engine: sa.Engine) -> str | None:
    """The database file of a SQLite engine, or ``None``."""
    url = engine.url
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return os.path.abspath(database)


def _generation_of(rows: t.Sequence[t.Any]) -> int:
    return int(rows[0][0] or 0) if rows else 0


class ChangeWatcher:
    """Reads the latest committed generation cheaply.

    This base class cannot, so :meth:`generation` always returns ``None``
    (the manager then reads the counter through the session each time).
    """

    def generation(self) -> int | None:
        """The latest committed generation, or ``None`` when it cannot tell."""
        return None

    def close(self) -> None:
        """Release the watcher's connection, if any."""


class CounterWatcher(ChangeWatcher):
    """Reads the generation counter on an autocommit connection of its own:
    one round trip, without the pool checkout and transaction reset a
    session read costs. The connection is detached from the engine's pool,
    opened again after errors (at most every :data:`RECONNECT_DELAY`
    seconds) and in forked children, and closed by ``engine.dispose()``.

    :param engine: The engine of the configurations' database.
    :param statement: The query returning the counter.
    """

    def __init__(self, engine: sa.Engine, statement: sa.Select[t.Any]) -> None:
        self.sql = _literal_sql(engine, statement)
        self._cursor: t.Any = None
        self._engine = engine
        self._lock = threading.Lock()
        self._connection: t.Any = None
        self._pid = 0
        self._retry_at = 0.0
        self._failing = False
        sa.event.listen(engine, "engine_disposed", self._on_engine_disposed)

    def _on_engine_disposed(self, engine: sa.Engine) -> None:
        self._release()
        self._retry_at = 0.0

    def generation(self) -> int | None:
        with self._lock:
            if self._connection is not None and self._pid != os.getpid():
                self._abandon()
            if self._connection is None and not self._start():
                return None
            try:
                value = self._read(self._connection)
            except Exception:
                self._warn("Lost the connection that watches for configuration changes")
                self._discard()
                return None
            self._failing = False
            return value

    def _start(self) -> bool:
        if time.monotonic() < self._retry_at:
            return False
        connection = None
        try:
            fairy = self._engine.raw_connection()
            fairy.detach()
            connection = fairy.dbapi_connection
            self._prepare(connection)
            self._read(connection)
        except Exception:
            if connection is not None:
                with contextlib.suppress(Exception):
                    connection.close()
            self._warn("Could not open a connection to watch for configuration changes")
            self._retry_at = time.monotonic() + RECONNECT_DELAY
            return False
        self._connection = connection
        self._pid = os.getpid()
        return True

    def _warn(self, what: str) -> None:
        # Once per failure, not at every check (missing tables would repeat).
        if not self._failing:
            logger.warning(
                "%s; reading the generation counter through the session until it"
                " works again.",
                what,
                exc_info=True,
            )
            self._failing = True

    def _discard(self) -> None:
        connection, self._connection = self._connection, None
        self._retry_at = time.monotonic() + RECONNECT_DELAY
        with contextlib.suppress(Exception):
            connection.close()

    def _abandon(self) -> None:
        # A connection inherited through fork() belongs to the parent: closing
        # it (even by garbage collection) would end the parent's session.
        _inherited.append(self._connection)
        self._connection = None

    def _release(self) -> None:
        with self._lock:
            if self._connection is None:
                return
            if self._pid == os.getpid():
                self._discard()
            else:
                self._abandon()

    def close(self) -> None:
        self._release()
        with contextlib.suppress(sa.exc.InvalidRequestError):
            sa.event.remove(self._engine, "engine_disposed", self._on_engine_disposed)

    def _prepare(self, connection: t.Any) -> None:
        self._engine.dialect.set_isolation_level(connection, "AUTOCOMMIT")
        self._cursor = connection.cursor()

    def _read(self, connection: t.Any) -> int:
        self._cursor.execute(self.sql)
        return _generation_of(self._cursor.fetchall())


class SQLiteWatcher(ChangeWatcher):
    """Watches a SQLite database file.

    Every commit to the file changes something cheap to read: in
    rollback-journal mode SQLite increments the *file change counter* in the
    database header before the commit completes (one ``preadv()``); in WAL
    mode ``PRAGMA data_version`` on the watcher's own connection changes.
    Only then does the watcher read the generation on that connection, so
    commits of other tables (a delivery log, the app's own data) cost one
    small query, not a reload. A file replaced by another one (a restored
    backup) is noticed within :data:`FILE_CHECK_INTERVAL` seconds.

    :param path: The database file.
    :param sql: The query returning the generation counter.
    :param engine: Its ``dispose()`` closes the watcher's file too.
    """

    def __init__(self, path: str, sql: str, engine: sa.Engine | None = None) -> None:
        self.path = path
        self.sql = sql
        self._engine = engine
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._fd: int | None = None
        self._connection: sqlite3.Connection | None = None
        self._token: object = None
        self._value: int | None = None
        self._header = bytearray(28)
        self._buffers = [self._header]
        self._file_check_at = 0.0
        if engine is not None:
            sa.event.listen(engine, "engine_disposed", self._on_engine_disposed)

    def _on_engine_disposed(self, engine: sa.Engine) -> None:
        with self._lock:
            self._close()

    def generation(self) -> int | None:
        with self._lock:
            value = self._value
            if value is not None and time.monotonic() < self._file_check_at:
                # The common case, kept short: rollback-journal mode and an
                # unchanged file change counter.
                try:
                    read = os.preadv(t.cast(int, self._fd), self._buffers, 0)
                except OSError:
                    read = 0
                if (
                    read == 28
                    and self._header[18] != 2
                    and self._header[24:28] == self._token
                ):
                    return value
            return self._read()

    def _read(self) -> int | None:
        if self._pid != os.getpid():
            self._after_fork()
        try:
            self._check_file()
            # The token is read before the generation: a commit in between
            # changes the token again, so the next check reads again.
            token = self._read_token()
            if token is not None and token == self._token and self._value is not None:
                return self._value
            with _sqlite_lock(self.path):
                # fetchall() finishes the statement: no read lock is kept.
                rows = self._connect().execute(self.sql).fetchall()
        except (OSError, sqlite3.Error):
            self._close()
            return None
        self._token = token
        self._value = _generation_of(rows)
        return self._value

    def _check_file(self) -> None:
        """Reopen the file if another one replaced it at its path."""
        now = time.monotonic()
        if self._fd is not None and now >= self._file_check_at:
            if os.stat(self.path).st_ino != os.fstat(self._fd).st_ino:
                self._close()
        self._file_check_at = now + FILE_CHECK_INTERVAL

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            self._connection = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None
            )
        return self._connection

    def _read_token(self) -> object:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDONLY)
        header = os.pread(self._fd, 28, 0)
        if len(header) < 28:
            return None  # an empty file: nothing was ever committed
        if header[18] != 2:
            return header[24:28]  # the file change counter
        version = self._connect().execute("PRAGMA data_version").fetchall()
        return ("wal", version[0][0])

    def _after_fork(self) -> None:
        # SQLite connections must not be used across fork(): keep the
        # parent's out of reach of garbage collection and start afresh.
        _inherited.append(self._connection)
        self._connection = None
        self._pid = os.getpid()
        self._close()

    def _close(self) -> None:
        fd, self._fd = self._fd, None
        connection, self._connection = self._connection, None
        self._token = self._value = None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)
        if connection is not None:
            with contextlib.suppress(sqlite3.Error):
                connection.close()

    def close(self) -> None:
        with self._lock:
            self._close()
        if self._engine is not None:
            with contextlib.suppress(sa.exc.InvalidRequestError):
                sa.event.remove(
                    self._engine, "engine_disposed", self._on_engine_disposed
                )


def make_watcher(engine: sa.Engine, statement: sa.Select[t.Any]) -> ChangeWatcher:
    """Return the best watcher for ``engine``'s database.

    :param statement: The query returning the generation counter.
    """
    if engine.url.get_backend_name() == "sqlite":
        path = _sqlite_file(engine)
        if path is None:
            # In memory, or a URI whose file this cannot tell: read the
            # counter (cheap there) every time.
            return ChangeWatcher()
        return SQLiteWatcher(path, _literal_sql(engine, statement), engine)
    return CounterWatcher(engine, statement)


def _literal_sql(engine: sa.Engine, statement: sa.Select[t.Any]) -> str:
    """``statement`` as SQL text for ``engine``'s database, values inlined."""
    compiled = statement.compile(
        dialect=engine.dialect, compile_kwargs={"literal_binds": True}
    )
    return str(compiled)
