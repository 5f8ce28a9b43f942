"""Cheap detection of committed changes for the per-request staleness check.

The generation counter in the sync table is the authority on whether
configurations changed. Reading it through the session costs a pool
checkout, a query and a reset on every request; a watcher answers the same
question more cheaply: *could* anything have been committed since the last
time it was asked? Only when it says yes (or cannot tell) does the manager
read the counter through the session and reload.

- SQLite files: the header of the database file (:class:`SQLiteWatcher`),
  no query at all while nothing is committed.
- Other databases: the counter itself, read on an autocommit connection of
  the watcher's own (:class:`CounterWatcher`), one round trip.

A watcher that loses its connection, or runs in a forked child, answers
"changed" until it has a working connection again, so a change is never
missed; it only costs the query it was meant to save.
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

_inherited: list[t.Any] = []

_sqlite_locks: dict[str, threading.RLock] = {}
_sqlite_locks_guard = threading.Lock()


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


class ChangeWatcher:
    """Tells whether the database may have changed since the last call.

    This base class does not know, so it always answers ``True`` (the
    manager then reads the counter each time).
    """

    def changed(self) -> bool:
        """Whether anything may have been committed since the last call."""
        return True

    def close(self) -> None:
        """Release the watcher's connection, if any."""


class _ConnectionWatcher(ChangeWatcher):
    """A watcher holding one DBAPI connection of its own, detached from the
    engine's pool, recreated after errors and in forked children."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._connection: t.Any = None
        self._pid = 0
        self._retry_at = 0.0
        # engine.dispose() closes the watcher's connection too.
        sa.event.listen(engine, "engine_disposed", self._on_engine_disposed)

    def _on_engine_disposed(self, engine: sa.Engine) -> None:
        self.close()
        self._retry_at = 0.0

    def changed(self) -> bool:
        with self._lock:
            if self._connection is not None and self._pid != os.getpid():
                self._abandon()
            if self._connection is None:
                return self._start()
            try:
                return self._poll(self._connection)
            except Exception:
                logger.warning(
                    "Lost the connection that watches for configuration changes;"
                    " reading the generation counter on every check until it is"
                    " back.",
                    exc_info=True,
                )
                self._discard()
                return True

    def _start(self) -> bool:
        now = time.monotonic()
        if now < self._retry_at:
            return True
        connection = None
        try:
            fairy = self._engine.raw_connection()
            fairy.detach()
            connection = fairy.dbapi_connection
            self._prepare(connection)
            self._poll(connection)
        except Exception:
            if connection is not None:
                with contextlib.suppress(Exception):
                    connection.close()
            logger.warning(
                "Could not open a connection to watch for configuration changes;"
                " will retry.",
                exc_info=True,
            )
            self._retry_at = now + RECONNECT_DELAY
            return True
        self._connection = connection
        self._pid = os.getpid()
        # Whatever was committed before it started watching is unknown.
        return True

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

    def close(self) -> None:
        with self._lock:
            if self._connection is None:
                return
            if self._pid == os.getpid():
                self._discard()
            else:
                self._abandon()

    def _prepare(self, connection: t.Any) -> None:
        """Set the new connection up."""

    def _poll(self, connection: t.Any) -> bool:
        """Whether a change was committed since the last poll."""
        raise NotImplementedError


class SQLiteWatcher(ChangeWatcher):
    """Watches a SQLite database file.

    Every commit to the file changes something cheap to read: in
    rollback-journal mode SQLite increments the *file change counter* in the
    database header before the commit completes (one ``pread()``); in WAL
    mode ``PRAGMA data_version`` on the watcher's own connection changes.
    Only then does the watcher read the generation counter on that
    connection, so commits of other tables (a delivery log, the app's own
    data) cost one small query, not a reload.

    :param path: The database file.
    :param statement: The query returning the generation counter.
    """

    def __init__(self, path: str, sql: str) -> None:
        self.path = path
        self.sql = sql
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._connection: sqlite3.Connection | None = None
        self._token: object = None
        self._value: object = None
        self._header = bytearray(28)
        self._buffers = [self._header]

    def changed(self) -> bool:
        with self._lock:
            fd = self._fd
            if fd is not None and self._token is not None:
                # The common case, kept short: rollback-journal mode and an
                # unchanged file change counter.
                try:
                    read = os.preadv(fd, self._buffers, 0)
                except OSError:
                    read = 0
                if (
                    read == 28
                    and self._header[18] != 2
                    and self._header[24:28] == self._token
                ):
                    return False
            return self._check()

    def _check(self) -> bool:
        try:
            token = self._read_token()
            if token == self._token and token is not None:
                return False
            with _sqlite_lock(self.path):
                # fetchall() finishes the statement: no read lock is kept.
                value = self._connect().execute(self.sql).fetchall()
        except (OSError, sqlite3.Error):
            self._close()
            return True
        self._token = token
        changed = value != self._value
        self._value = value
        return changed

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


class CounterWatcher(_ConnectionWatcher):
    """Reads the generation counter on an autocommit connection of its own:
    one round trip, without the pool checkout and transaction reset a
    session read costs.

    :param engine: The engine of the configurations' database.
    :param statement: The query returning the counter.
    """

    def __init__(self, engine: sa.Engine, statement: sa.Select[t.Any]) -> None:
        super().__init__(engine)
        self.sql = _literal_sql(engine, statement)
        self._value: object = None
        self._cursor: t.Any = None

    def _prepare(self, connection: t.Any) -> None:
        self._engine.dialect.set_isolation_level(connection, "AUTOCOMMIT")
        self._value = None
        self._cursor = connection.cursor()

    def _poll(self, connection: t.Any) -> bool:
        self._cursor.execute(self.sql)
        value = self._cursor.fetchall()
        changed = bool(value != self._value)
        self._value = value
        return changed


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
        return SQLiteWatcher(path, _literal_sql(engine, statement))
    return CounterWatcher(engine, statement)


def _literal_sql(engine: sa.Engine, statement: sa.Select[t.Any]) -> str:
    """``statement`` as SQL text for ``engine``'s database, values inlined."""
    compiled = statement.compile(
        dialect=engine.dialect, compile_kwargs={"literal_binds": True}
    )
    return str(compiled)
