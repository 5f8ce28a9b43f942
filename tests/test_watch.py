"""The per-request staleness check: no query while nothing changed, and
every change seen by the next request, whatever path it took."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import typing as t

import pytest
import sqlalchemy as sa
from blinker import Namespace
from flask_sqlalchemy import SQLAlchemy

from flask_integrations import FlaskIntegrations, Integration, SignalHook, watch
from tests.conftest import QueryCounter, make_app

pinged = Namespace().signal("watch-pinged")


class Watched(Integration):
    integration_id = "tests.watch"
    name = "Watched"

    def initialize(self) -> None:
        SignalHook(self, pinged, self.on_ping)

    def on_ping(self, sender: list[str], **kwargs: t.Any) -> None:
        sender.append(self.integration_id)


class Worker:
    """One app (as one worker process would hold it) on the shared database."""

    def __init__(self, url: str, name: str, **config: t.Any) -> None:
        self.db = SQLAlchemy()
        self.extension = FlaskIntegrations(db=self.db, admin_required=lambda: True)
        self.extension.register(Watched)
        self.app = make_app(url, self.db, self.extension, name=name, **config)

        @self.app.get("/ping")
        def ping() -> dict[str, list[str]]:
            received: list[str] = []
            pinged.send(received)
            return {"hooks": received}

        self.client = self.app.test_client()

    @property
    def engine(self) -> sa.Engine:
        with self.app.app_context():
            return self.db.engine

    def hooks(self) -> list[str]:
        return t.cast(list[str], self.client.get("/ping").json["hooks"])

    @contextlib.contextmanager
    def counting(self) -> t.Iterator[QueryCounter]:
        counter = QueryCounter()
        engine = self.engine
        sa.event.listen(engine, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            sa.event.remove(engine, "before_cursor_execute", counter)

    def add_config(self, **values: t.Any) -> None:
        with self.app.app_context():
            integration = self.extension.manager.get_integration(Watched.integration_id)
            integration.create_config(save=True, **values)

    def close(self) -> None:
        with self.app.app_context():
            self.db.session.remove()
            for engine in self.db.engines.values():
                engine.dispose()


@pytest.fixture
def workers(shared_database_url: str) -> t.Iterator[tuple[Worker, Worker]]:
    first = Worker(shared_database_url, "watch_first")
    second = Worker(shared_database_url, "watch_second")
    with first.app.app_context():
        first.db.create_all()
    yield first, second
    first.close()
    second.close()


def test_a_request_runs_no_statement_through_the_engine_while_nothing_changed(
    workers: tuple[Worker, Worker],
) -> None:
    first, _ = workers
    assert first.hooks() == []

    with first.counting() as queries:
        assert first.hooks() == []
        assert first.hooks() == []

    assert len(queries) == 0


def test_a_commit_by_another_worker_is_seen_by_the_next_request(
    workers: tuple[Worker, Worker],
) -> None:
    first, second = workers
    assert first.hooks() == []

    second.add_config(name="on", enabled=True)

    with first.counting() as queries:
        assert first.hooks() == ["tests.watch"]
    assert len(queries) > 0
    with first.counting() as queries:
        assert first.hooks() == ["tests.watch"]
    assert len(queries) == 0


def test_commits_to_other_tables_cost_no_reload(
    workers: tuple[Worker, Worker],
) -> None:
    first, second = workers
    assert first.hooks() == []
    with second.engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE unrelated (x INTEGER)"))
        connection.execute(sa.text("INSERT INTO unrelated VALUES (1)"))

    with first.counting() as queries:
        assert first.hooks() == []

    assert len(queries) == 0


def test_sqlite_in_wal_mode_is_watched_too(tmp_path: t.Any) -> None:
    url = f"sqlite:///{tmp_path / 'wal.sqlite3'}"
    first, second = Worker(url, "wal_first"), Worker(url, "wal_second")
    try:
        with first.app.app_context():
            first.db.create_all()
            with first.db.engine.connect() as connection:
                mode = connection.exec_driver_sql("PRAGMA journal_mode=WAL").scalar()
        assert mode == "wal"
        assert first.hooks() == []
        with first.counting() as queries:
            assert first.hooks() == []
        assert len(queries) == 0

        second.add_config(name="on", enabled=True)

        assert first.hooks() == ["tests.watch"]
    finally:
        first.close()
        second.close()


def test_an_in_memory_database_reads_the_counter_every_time(
    db: SQLAlchemy, integrations: FlaskIntegrations
) -> None:
    app = make_app("sqlite://", db, integrations)
    with app.app_context():
        db.create_all()
    client = app.test_client()
    client.get("/integrations/")
    counter = QueryCounter()
    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", counter)
    client.get("/nowhere")
    assert len(counter) == 1


def test_watching_can_be_switched_off(shared_database_url: str) -> None:
    worker = Worker(shared_database_url, "unwatched", INTEGRATIONS_WATCH_CHANGES=False)
    try:
        with worker.app.app_context():
            worker.db.create_all()
        worker.hooks()
        with worker.counting() as queries:
            worker.hooks()
        assert len(queries) == 1
    finally:
        worker.close()


def test_mark_changed_reaches_the_other_workers(
    workers: tuple[Worker, Worker],
) -> None:
    first, second = workers
    assert first.hooks() == []

    with second.app.app_context():
        model = second.extension.manager.config_model
        second.db.session.execute(
            sa.insert(model.__table__).values(
                integration_id=Watched.integration_id,
                name="raw",
                enabled=True,
                settings={},
                extra_data={},
                version=1,
                settings_version=0,
            )
        )
        second.extension.manager.mark_changed()
        second.db.session.commit()

    assert first.hooks() == ["tests.watch"]


def watching_backends(engine: sa.Engine) -> list[int]:
    """The PostgreSQL backends of watchers: idle, last query the counter."""
    with engine.connect() as connection:
        return list(
            connection.execute(
                sa.text(
                    "SELECT pid FROM pg_stat_activity WHERE datname ="
                    " current_database() AND pid <> pg_backend_pid()"
                    " AND query LIKE 'SELECT flask_integrations_sync.generation%'"
                    " AND state = 'idle'"
                )
            ).scalars()
        )


def eventually(condition: t.Callable[[], bool], timeout: float = 5.0) -> bool:
    """Whether ``condition`` holds within ``timeout`` seconds: a backend
    whose client went away leaves pg_stat_activity a moment later."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_a_raw_counter_bump_is_seen_by_the_next_request(
    workers: tuple[Worker, Worker],
) -> None:
    first, second = workers
    second.add_config(name="off", enabled=False)
    assert first.hooks() == []
    with second.engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE flask_integrations_config SET enabled = true")
        )
        connection.execute(
            sa.text("UPDATE flask_integrations_sync SET generation = generation + 1")
        )

    assert first.hooks() == ["tests.watch"]


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_each_check_is_one_round_trip_on_a_connection_of_its_own(
    workers: tuple[Worker, Worker],
) -> None:
    first, second = workers
    first.hooks()
    assert eventually(lambda: len(watching_backends(second.engine)) == 1)
    backends = watching_backends(second.engine)

    first.hooks()
    first.hooks()

    assert watching_backends(second.engine) == backends


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_lost_watching_connection_falls_back_to_the_counter_then_reconnects(
    workers: tuple[Worker, Worker],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    first, second = workers
    assert first.hooks() == []
    assert eventually(lambda: len(watching_backends(second.engine)) == 1)
    backends = watching_backends(second.engine)

    with second.engine.connect() as connection:
        connection.execute(
            sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": backends[0]}
        )
    second.add_config(name="on", enabled=True)

    monkeypatch.setattr(watch, "RECONNECT_DELAY", 0.0)
    with caplog.at_level(logging.WARNING, logger="flask_integrations"):
        assert first.hooks() == ["tests.watch"]
    assert "Lost the connection that watches" in caplog.text

    first.hooks()  # reconnects
    assert eventually(lambda: len(watching_backends(second.engine)) == 1)
    with first.counting() as queries:
        assert first.hooks() == ["tests.watch"]
    assert len(queries) == 0


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_disposing_the_engine_closes_the_watching_connection(
    workers: tuple[Worker, Worker],
) -> None:
    first, second = workers
    first.hooks()
    assert eventually(lambda: len(watching_backends(second.engine)) == 1)

    first.engine.dispose()

    assert eventually(lambda: watching_backends(second.engine) == [])
    second.add_config(name="on", enabled=True)
    assert first.hooks() == ["tests.watch"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="Needs os.fork().")
def test_a_forked_child_leaves_the_parents_watcher_alone(
    workers: tuple[Worker, Worker], caplog: pytest.LogCaptureFixture
) -> None:
    first, second = workers
    assert first.hooks() == []

    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's coverage is not collected
        status = 1
        try:
            with first.app.app_context():
                first.extension.manager.check_expired()
                first.extension.manager.shutdown()
            status = 0
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0

    second.add_config(name="on", enabled=True)
    with caplog.at_level(logging.WARNING, logger="flask_integrations"):
        assert first.hooks() == ["tests.watch"]
    assert "Lost the connection" not in caplog.text
    with first.counting() as queries:
        assert first.hooks() == ["tests.watch"]
    assert len(queries) == 0


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_change_read_through_an_older_snapshot_is_applied_at_the_next_request(
    shared_database_url: str,
) -> None:
    """Under REPEATABLE READ, a request whose transaction began before
    another worker's commit reads the old counter; the next request must
    still apply the change (the watcher does not use it up)."""
    first = Worker(
        shared_database_url,
        "snapshot_first",
        SQLALCHEMY_ENGINE_OPTIONS={"isolation_level": "REPEATABLE READ"},
    )
    second = Worker(shared_database_url, "snapshot_second")
    try:
        with first.app.app_context():
            first.db.create_all()
        assert first.hooks() == []
        commit_now = {"once": True}

        def read_first() -> None:
            # The app's own code reads first: its snapshot is taken here.
            first.db.session.execute(sa.text("SELECT 1"))
            if commit_now.pop("once", False):
                second.add_config(name="on", enabled=True)

        first.app.before_request_funcs[None].insert(0, read_first)

        first.hooks()  # may still see the old snapshot
        assert first.hooks() == ["tests.watch"]
        assert first.hooks() == ["tests.watch"]
    finally:
        first.close()
        second.close()


def test_a_check_during_another_threads_reload_waits_for_it(
    workers: tuple[Worker, Worker], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = workers
    assert first.hooks() == []
    manager = first.app.extensions["integrations"].manager
    reloading, release = threading.Event(), threading.Event()
    reload = manager.reload

    def slow_reload() -> None:
        if threading.current_thread().name == "reloader":
            reloading.set()
            release.wait(5)
        reload()

    monkeypatch.setattr(manager, "reload", slow_reload)
    second.add_config(name="on", enabled=True)
    results: list[list[str]] = []
    reloader = threading.Thread(
        target=lambda: results.append(first.hooks()), name="reloader"
    )
    reloader.start()
    assert reloading.wait(5)
    threading.Timer(0.2, release.set).start()

    # Committed before this request began: it must see the change.
    assert first.hooks() == ["tests.watch"]
    reloader.join(5)
    assert results == [["tests.watch"]]


def test_a_replaced_sqlite_file_is_noticed(
    tmp_path: t.Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "live.sqlite3"
    url = f"sqlite:///{path}"
    first = Worker(url, "replaced_first")
    try:
        with first.app.app_context():
            first.db.create_all()
        assert first.hooks() == []
        # A restored copy, with an enabled configuration, replaces the file.
        restored = Worker(f"sqlite:///{tmp_path / 'backup.sqlite3'}", "backup")
        with restored.app.app_context():
            restored.db.create_all()
        restored.add_config(name="on", enabled=True)
        restored.close()
        os.replace(tmp_path / "backup.sqlite3", path)
        monkeypatch.setattr(watch, "FILE_CHECK_INTERVAL", 0.0)
        with first.app.app_context():
            first.db.engine.dispose()  # the pool still holds the old file

        assert first.hooks() == ["tests.watch"]
    finally:
        first.close()
