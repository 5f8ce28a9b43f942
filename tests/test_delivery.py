"""Deliveries: events sent to configurations, after the commit, with retries,
a log, pauses, auto-disable and signals; the Send test and Redeliver buttons;
secrets that follow the URL.

Every request goes to the local receiver of :mod:`tests.delivery_support`
on 127.0.0.1; a guard fails any other connection. Most tests use the 'sync'
dispatcher, which records the delays it was asked to wait in ``.delays``.
"""

from __future__ import annotations

import contextlib
import html
import logging
import threading
import time
import typing as t
from datetime import timedelta
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_integrations import FlaskIntegrations, IntegrationError
from flask_integrations.dispatch import SyncDispatcher, get_dispatcher
from flask_integrations.signals import (
    config_auto_disabled,
    delivery_failed,
    delivery_succeeded,
)

from . import delivery_support
from .delivery_support import (
    BASE_CONFIG,
    SECRET,
    HookForm,
    HookIntegration,
    closed_port_url,
)

# The shared fixtures: a module-wide receiver, and the connections guard.
receiver = delivery_support.receiver
connections = delivery_support.connections

#: For behaviour the database plays no part in: one backend is enough.
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])

PREFIX = "/integrations"
HOOK = HookIntegration.integration_id
CREATED = "ticket.created"
CLOSED = "ticket.closed"


@pytest.fixture
def app_config() -> dict[str, t.Any]:
    return dict(BASE_CONFIG)


@pytest.fixture
def hook(manager: t.Any, integrations: FlaskIntegrations) -> t.Any:
    """The registered test integration, inside the app's context."""
    integrations.register(HookIntegration)
    return manager.get_integration(HOOK)


@pytest.fixture
def dispatcher(app: Flask) -> SyncDispatcher:
    found = get_dispatcher(app)
    assert isinstance(found, SyncDispatcher)
    return found


def add_config(hook: t.Any, url: str, name: str = "ops", **settings: t.Any) -> int:
    config = hook.create_config(
        name=name, enabled=True, settings={"url": url, **settings}, save=True
    )
    return int(config.id)


def log_table(db: SQLAlchemy) -> sa.Table:
    return db.metadata.tables["flask_integrations_delivery"]


def log_rows(db: SQLAlchemy, config_id: int | None = None) -> list[t.Any]:
    """The delivery log, oldest first, read straight from the table."""
    table = log_table(db)
    query = sa.select(table).order_by(table.c.id)
    if config_id is not None:
        query = query.where(table.c.config_id == config_id)
    with db.engine.connect() as connection:
        return list(connection.execute(query).mappings())


def state_row(db: SQLAlchemy, config_id: int) -> t.Any:
    table = db.metadata.tables["flask_integrations_delivery_state"]
    with db.engine.connect() as connection:
        return (
            connection.execute(sa.select(table).where(table.c.config_id == config_id))
            .mappings()
            .first()
        )


def config_row(db: SQLAlchemy, config_id: int) -> t.Any:
    table = db.metadata.tables["flask_integrations_config"]
    with db.engine.connect() as connection:
        return (
            connection.execute(sa.select(table).where(table.c.id == config_id))
            .mappings()
            .one()
        )


def generation_rows(db: SQLAlchemy) -> list[t.Any]:
    table = db.metadata.tables["flask_integrations_sync"]
    with db.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.select(table))]


@contextlib.contextmanager
def received(signal: t.Any) -> t.Iterator[list[dict[str, t.Any]]]:
    calls: list[dict[str, t.Any]] = []

    def record(sender: t.Any, **kwargs: t.Any) -> None:
        calls.append({"sender": sender, **kwargs})

    with signal.connected_to(record):
        yield calls


def page_text(response: t.Any) -> str:
    return html.unescape(response.get_data(as_text=True))


class _Checkboxes(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, bool] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "input" and values.get("name") == "events":
            self.found[f"{values['name']}={values['value']}"] = "checked" in values


def checkboxes(response: t.Any) -> dict[str, bool]:
    """``{"events=value": checked}`` of the events checkboxes of a page."""
    parser = _Checkboxes()
    parser.feed(response.get_data(as_text=True))
    return parser.found


def end_session(db: SQLAlchemy) -> None:
    """Let the next page request start from a fresh session, as it would in
    a real app (the test's app context is shared with the test client)."""
    db.session.remove()


# -- sending ----------------------------------------------------------------------


def test_an_event_is_posted_with_the_decrypted_secret_and_logged(
    hook, db, receiver, connections
):
    config_id = add_config(hook, receiver.url("/ok"), token=SECRET)

    [job] = hook.send_event(CREATED, {"ticket": 7})

    [request] = receiver.requests
    assert receiver.bodies() == [{"event": CREATED, "payload": {"ticket": 7}}]
    assert request["headers"]["x-token"] == SECRET
    assert request["headers"]["x-delivery"] == job.delivery_id
    assert SECRET not in str(config_row(db, config_id)["settings"])
    [entry] = log_rows(db, config_id)
    assert entry["delivery_id"] == job.delivery_id
    assert (entry["event"], entry["attempt"], entry["outcome"]) == (
        CREATED,
        1,
        "success",
    )
    assert entry["status_code"] == 200
    assert entry["payload"] == {"ticket": 7}
    assert entry["duration_ms"] >= 0
    assert {address for address, _ in connections} == {"127.0.0.1"}


def test_only_enabled_configurations_that_chose_the_event_receive_it(
    hook, db, client, receiver
):
    page = client.get(f"{PREFIX}/{HOOK}/configs/add/")
    assert checkboxes(page) == {f"events={CREATED}": True, f"events={CLOSED}": True}
    added = client.post(
        f"{PREFIX}/{HOOK}/configs/add/",
        data={
            "name": "created only",
            "enabled": "y",
            "url": receiver.url("/ok"),
            "events": [CREATED],
        },
    )
    assert added.status_code == 302
    [chosen] = hook.get_configs(name="created only")
    assert chosen.get("events") == [CREATED]
    edit_page = client.get(f"{PREFIX}/{HOOK}/configs/{chosen.id}/")
    assert checkboxes(edit_page) == {
        f"events={CREATED}": True,
        f"events={CLOSED}": False,
    }
    end_session(db)
    disabled = hook.integration_mgr.get_config(
        add_config(hook, receiver.url("/ok"), name="disabled")
    )
    disabled.enabled = False
    db.session.commit()
    everything = add_config(hook, receiver.url("/ok"), name="everything")

    closed_jobs = hook.send_event(CLOSED, {"n": 1})
    created_jobs = hook.send_event(CREATED, {"n": 2})

    assert [j.config_id for j in closed_jobs] == [everything]
    assert len(created_jobs) == 2
    assert everything in {j.config_id for j in created_jobs}
    assert sorted(b["event"] for b in receiver.bodies()) == [CLOSED, CREATED, CREATED]


def test_a_job_for_an_event_the_configuration_no_longer_wants_is_dropped(
    hook, db, receiver
):
    config_id = add_config(hook, receiver.url("/flaky/unticked?fails=1"))
    db.session.commit()

    def untick(sender: t.Any, **kwargs: t.Any) -> None:
        live = hook.integration_mgr.get_config(config_id)
        live.set("events", [CLOSED])
        hook.integration_mgr.session.commit()

    with delivery_failed.connected_to(untick):
        hook.send_event(CREATED, {})

    # The first attempt failed; the retry found the event unticked.
    assert len(receiver.requests) == 1
    assert [r["attempt"] for r in log_rows(db, config_id)] == [1]


@sqlite_only
def test_the_payload_must_be_json(hook, receiver):
    add_config(hook, receiver.url("/ok"))

    with pytest.raises(IntegrationError, match="not JSON"):
        hook.send_event(CREATED, {"when": object()})
    assert receiver.requests == []


# -- after the commit ----------------------------------------------------------


def rename(hook: t.Any, config_id: int, name: str) -> None:
    """Write something in the session's transaction, without committing."""
    hook.integration_mgr.get_config(config_id).name = name


def test_inside_a_transaction_the_job_waits_for_the_commit(hook, db, receiver):
    config_id = add_config(hook, receiver.url("/ok"))
    rename(hook, config_id, "flushed")
    db.session.flush()

    hook.send_event(CREATED, {"n": 1})
    assert receiver.requests == []

    db.session.commit()
    assert receiver.bodies() == [{"event": CREATED, "payload": {"n": 1}}]


def test_changes_not_yet_flushed_hold_the_job_too(hook, db, receiver):
    config_id = add_config(hook, receiver.url("/ok"))
    rename(hook, config_id, "pending")

    hook.send_event(CREATED, {"n": 1})
    assert receiver.requests == []

    db.session.commit()
    assert len(receiver.requests) == 1


def test_a_rollback_drops_the_job(hook, db, receiver):
    config_id = add_config(hook, receiver.url("/ok"))
    rename(hook, config_id, "rolled back")
    db.session.flush()

    hook.send_event(CREATED, {"n": 1})
    db.session.rollback()
    rename(hook, config_id, "committed")
    db.session.commit()

    assert receiver.requests == []


def test_a_savepoint_rollback_drops_only_its_own_jobs(hook, db, receiver):
    config_id = add_config(hook, receiver.url("/ok"))
    rename(hook, config_id, "outer")
    db.session.flush()

    hook.send_event(CREATED, {"n": "outer"})
    savepoint = db.session.begin_nested()
    hook.send_event(CREATED, {"n": "rolled back"})
    inner = db.session.begin_nested()
    hook.send_event(CREATED, {"n": "inside the rolled back one"})
    inner.commit()
    savepoint.rollback()
    kept = db.session.begin_nested()
    hook.send_event(CREATED, {"n": "released"})
    kept.commit()
    assert receiver.requests == []
    db.session.commit()

    assert [b["payload"]["n"] for b in receiver.bodies()] == ["outer", "released"]


def test_a_transaction_closed_without_commit_drops_its_jobs(hook, db, receiver):
    config_id = add_config(hook, receiver.url("/ok"))
    rename(hook, config_id, "never committed")
    db.session.flush()

    hook.send_event(CREATED, {"n": 1})
    db.session.close()
    rename(hook, config_id, "committed later")
    db.session.commit()

    assert receiver.requests == []


def test_outside_a_transaction_the_job_goes_at_once(hook, db, receiver):
    add_config(hook, receiver.url("/ok"))
    db.session.close()
    assert db.session().get_transaction() is None

    hook.send_event(CREATED, {"n": 1})

    assert len(receiver.requests) == 1


def test_a_transaction_that_only_read_does_not_hold_the_job(hook, db, receiver):
    """The common pattern: commit, read the new row's id (which begins a
    transaction), send the event; the request then ends without a commit."""
    config = hook.create_config(
        name="new", enabled=True, settings={"url": receiver.url("/ok")}, save=True
    )

    hook.send_event(CREATED, {"id": config.id})
    assert db.session().get_transaction() is not None

    assert receiver.bodies() == [{"event": CREATED, "payload": {"id": config.id}}]


# -- retries -------------------------------------------------------------------


def test_retries_keep_the_delivery_id_and_wait_with_jitter(
    hook, db, receiver, dispatcher
):
    config_id = add_config(hook, receiver.url("/flaky/jitter?fails=3"))

    [job] = hook.send_event(CREATED, {"n": 1})

    rows = log_rows(db, config_id)
    assert [r["attempt"] for r in rows] == [1, 2, 3, 4]
    assert {r["delivery_id"] for r in rows} == {job.delivery_id}
    assert [r["outcome"] for r in rows] == ["retrying"] * 3 + ["success"]
    assert [r["status_code"] for r in rows] == [500, 500, 500, 200]
    assert {r["headers"]["x-delivery"] for r in receiver.requests} == {job.delivery_id}
    schedule = BASE_CONFIG["INTEGRATIONS_RETRY_SCHEDULE"]
    assert len(dispatcher.delays) == 3
    for delay, base in zip(dispatcher.delays, schedule, strict=True):
        assert base * 0.8 <= delay <= base * 1.2


@sqlite_only
def test_jitter_spreads_the_waits(hook, app, receiver, dispatcher):
    app.config["INTEGRATIONS_RETRY_SCHEDULE"] = [1.0] * 12
    add_config(hook, receiver.url("/flaky/spread?fails=12"))

    hook.send_event(CREATED, {})

    assert len(dispatcher.delays) == 12
    assert all(0.8 <= d <= 1.2 for d in dispatcher.delays)
    assert len(set(dispatcher.delays)) > 1


@sqlite_only
def test_retry_after_is_respected(hook, db, receiver, dispatcher):
    config_id = add_config(hook, receiver.url("/limited/a?after=7"))

    hook.send_event(CREATED, {})

    assert dispatcher.delays == [7.0]
    rows = log_rows(db, config_id)
    assert [(r["outcome"], r["status_code"]) for r in rows] == [
        ("retrying", 429),
        ("success", 200),
    ]


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/slow", "did not answer"),
        ("/status/408", "HTTP 408"),
        ("/status/429", "HTTP 429"),
        ("/status/500", "HTTP 500"),
        ("/status/503", "HTTP 503"),
        (None, "Could not connect"),
    ],
    ids=["timeout", "408", "429", "500", "503", "refused"],
)
@sqlite_only
def test_passing_failures_are_retried_then_given_up(
    hook, app, db, receiver, dispatcher, path, error
):
    app.config["INTEGRATIONS_RETRY_SCHEDULE"] = (0.01,)
    url = receiver.url(path) if path else closed_port_url()
    config_id = add_config(hook, url)

    with received(delivery_failed) as failures:
        hook.send_event(CREATED, {})

    rows = log_rows(db, config_id)
    assert [(r["attempt"], r["outcome"]) for r in rows] == [
        (1, "retrying"),
        (2, "failed"),
    ]
    assert all(error in r["error"] for r in rows)
    assert "gave up after 2 attempts" in rows[1]["error"]
    assert [f["final"] for f in failures] == [False, True]
    assert len(dispatcher.delays) == 1


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/status/400", "HTTP 400"),
        ("/status/404", "HTTP 404"),
        ("/status/410", "HTTP 410"),
        ("/status/301", "HTTP 301"),
        ("/status/304", "HTTP 304"),
        ("/to-private", "Refused"),
        ("/big", "larger than"),
    ],
    ids=["400", "404", "410", "301", "304", "redirect-to-private", "too-large"],
)
@sqlite_only
def test_lasting_failures_are_not_retried(
    hook, db, receiver, dispatcher, connections, path, error
):
    config_id = add_config(hook, receiver.url(path))

    with received(delivery_failed) as failures:
        hook.send_event(CREATED, {})

    [row] = log_rows(db, config_id)
    assert row["outcome"] == "failed"
    assert error in row["error"]
    assert dispatcher.delays == []
    assert [f["final"] for f in failures] == [True]
    assert len(receiver.requests) == 1
    assert {address for address, _ in connections} == {"127.0.0.1"}


@sqlite_only
def test_a_refused_url_is_a_failure_without_connecting(hook, db, connections):
    config_id = add_config(hook, "http://10.1.2.3/hook")

    hook.send_event(CREATED, {})

    [row] = log_rows(db, config_id)
    assert row["outcome"] == "failed"
    assert row["error"].startswith("Refused")
    assert "private address" in row["error"]
    assert connections == []


@sqlite_only
def test_an_integration_that_raises_fails_without_retry(hook, db, receiver, caplog):
    config_id = add_config(hook, receiver.url("/ok"))

    def broken(*args: t.Any) -> t.Any:
        raise KeyError("oops")

    hook.deliver = broken
    hook.send_event(CREATED, {})

    [row] = log_rows(db, config_id)
    assert row["outcome"] == "failed"
    assert "KeyError" in row["error"]
    assert "raised while delivering" in caplog.text


# -- the log --------------------------------------------------------------------


def test_the_log_keeps_the_newest_entries_per_configuration(hook, app, db, receiver):
    app.config["INTEGRATIONS_DELIVERY_LOG_LIMIT"] = 3
    first = add_config(hook, receiver.url("/ok"), name="first")
    second = add_config(hook, receiver.url("/ok"), name="second")
    hook.send_event(CREATED, {"n": 0}, name="second")

    for n in range(1, 6):
        hook.send_event(CREATED, {"n": n}, name="first")

    assert [r["payload"]["n"] for r in log_rows(db, first)] == [3, 4, 5]
    assert [r["payload"]["n"] for r in log_rows(db, second)] == [0]


def test_the_configuration_page_shows_the_log(hook, db, client, receiver):
    config_id = add_config(hook, receiver.url("/status/404"))
    hook.send_event(CREATED, {})
    end_session(db)

    page = page_text(client.get(f"{PREFIX}/{HOOK}/configs/{config_id}/"))

    assert "Deliveries" in page
    assert CREATED in page
    assert "HTTP 404" in page
    assert "Redeliver" in page


# -- pauses, auto-disable, signals ---------------------------------------------


def test_consecutive_failures_pause_the_configuration_with_doubling(
    hook, app, db, receiver, dispatcher
):
    app.config.update(
        INTEGRATIONS_RETRY_SCHEDULE=(),
        INTEGRATIONS_PAUSE_AFTER=2,
        INTEGRATIONS_PAUSE_FIRST=0.05,
        INTEGRATIONS_PAUSE_MAX=0.15,
    )
    config_id = add_config(hook, receiver.url("/status/500"))

    hook.send_event(CREATED, {"n": 1})
    assert state_row(db, config_id)["paused_until"] is None
    hook.send_event(CREATED, {"n": 2})
    state = state_row(db, config_id)
    assert state["consecutive_failures"] == 2
    assert state["paused_until"] - state["last_failure"] == timedelta(seconds=0.05)

    # While paused, a new job is put off until the pause ends.
    hook.send_event(CREATED, {"n": 3})
    assert len(receiver.requests) == 2
    assert 0 < dispatcher.delays[-1] <= 0.05
    assert [j.payload for j in dispatcher.postponed] == [{"n": 3}]

    time.sleep(0.06)
    hook.send_event(CREATED, {"n": 4})
    state = state_row(db, config_id)
    assert state["consecutive_failures"] == 3
    assert state["paused_until"] - state["last_failure"] == timedelta(seconds=0.1)

    # Doubling stops at INTEGRATIONS_PAUSE_MAX.
    time.sleep(0.11)
    hook.send_event(CREATED, {"n": 5})
    state = state_row(db, config_id)
    assert state["paused_until"] - state["last_failure"] == timedelta(seconds=0.15)
    assert len(receiver.requests) == 4


def test_a_retry_during_a_pause_waits_for_its_end(hook, app, db, receiver, dispatcher):
    app.config.update(INTEGRATIONS_PAUSE_AFTER=1, INTEGRATIONS_PAUSE_FIRST=60)
    config_id = add_config(hook, receiver.url("/status/500"))

    [job] = hook.send_event(CREATED, {})

    assert len(receiver.requests) == 1
    assert [r["attempt"] for r in log_rows(db, config_id)] == [1]
    [postponed] = dispatcher.postponed
    assert (postponed.delivery_id, postponed.attempt) == (job.delivery_id, 2)
    # Waits for the pause (up to 60 s), not for the short retry schedule.
    assert 1 < dispatcher.delays[-1] <= 60


def test_the_pages_show_a_pause_while_it_lasts(hook, app, db, client, receiver):
    app.config.update(
        INTEGRATIONS_RETRY_SCHEDULE=(),
        INTEGRATIONS_PAUSE_AFTER=1,
        INTEGRATIONS_PAUSE_FIRST=60,
    )
    config_id = add_config(hook, receiver.url("/status/500"))
    hook.send_event(CREATED, {})
    end_session(db)
    edit = f"{PREFIX}/{HOOK}/configs/{config_id}/"

    assert "Paused after 1 failed deliveries" in page_text(client.get(f"{PREFIX}/"))
    assert "Deliveries are paused until" in page_text(client.get(edit))

    table = db.metadata.tables["flask_integrations_delivery_state"]
    with db.engine.begin() as connection:
        connection.execute(
            sa.update(table).values(paused_until=sa.func.current_timestamp())
        )
    assert "Paused after" not in page_text(client.get(f"{PREFIX}/"))
    assert "Deliveries are paused" not in page_text(client.get(edit))


def test_a_success_resets_the_count(hook, app, db, receiver):
    app.config.update(INTEGRATIONS_RETRY_SCHEDULE=(), INTEGRATIONS_PAUSE_AFTER=2)
    config_id = add_config(hook, receiver.url("/flaky/reset?fails=1"))
    other = add_config(hook, receiver.url("/status/500"), name="other")

    hook.send_event(CREATED, {}, id=config_id)
    hook.send_event(CREATED, {}, id=other)
    assert state_row(db, config_id)["consecutive_failures"] == 1

    hook.send_event(CREATED, {}, id=config_id)

    state = state_row(db, config_id)
    assert state["consecutive_failures"] == 0
    assert state["paused_until"] is None
    assert state["last_success"] is not None
    assert state_row(db, other)["consecutive_failures"] == 1


def test_a_configuration_that_keeps_failing_is_disabled_and_re_enabled_in_one_click(
    hook, app, db, client, receiver
):
    app.config.update(
        INTEGRATIONS_RETRY_SCHEDULE=(0.01,), INTEGRATIONS_AUTO_DISABLE_AFTER=3
    )
    config_id = add_config(hook, receiver.url("/status/503"))
    version = config_row(db, config_id)["version"]

    with (
        received(config_auto_disabled) as disabled,
        received(delivery_failed) as failures,
    ):
        hook.send_event(CREATED, {"n": 1})
        hook.send_event(CREATED, {"n": 2})

    # The third failure disabled it: no fourth attempt.
    assert len(receiver.requests) == 3
    assert [f["final"] for f in failures] == [False, True, True]
    last = log_rows(db, config_id)[-1]
    assert (last["attempt"], last["outcome"]) == (1, "failed")
    assert last["error"] == "HTTP 503 (configuration disabled)"
    row = config_row(db, config_id)
    assert row["enabled"] is False
    assert row["version"] == version + 1
    [signal] = disabled
    assert signal["sender"] is hook
    assert signal["config"].id == config_id
    assert "3 consecutive failed deliveries" in signal["reason"]
    assert "HTTP 503" in signal["reason"]
    assert state_row(db, config_id)["disabled_reason"] == signal["reason"]

    end_session(db)
    list_page = page_text(client.get(f"{PREFIX}/"))
    assert signal["reason"] in list_page
    config_page = page_text(client.get(f"{PREFIX}/{HOOK}/configs/{config_id}/"))
    assert signal["reason"] in config_page

    # Nothing reaches a disabled configuration.
    hook.send_event(CREATED, {"n": 3})
    assert len(receiver.requests) == 3

    toggled = client.post(f"{PREFIX}/{HOOK}/configs/{config_id}/toggle/")
    assert toggled.status_code == 302
    assert config_row(db, config_id)["enabled"] is True
    state = state_row(db, config_id)
    assert state["disabled_reason"] is None
    assert state["consecutive_failures"] == 0
    assert signal["reason"] not in page_text(client.get(f"{PREFIX}/"))


def test_delivery_signals(hook, app, receiver):
    app.config["INTEGRATIONS_RETRY_SCHEDULE"] = (0.01,)
    config_id = add_config(hook, receiver.url("/flaky/signals?fails=1"))

    with (
        received(delivery_failed) as failures,
        received(delivery_succeeded) as successes,
    ):
        [job] = hook.send_event(CREATED, {})

    [failure] = failures
    assert failure["sender"] is hook
    assert failure["config"].id == config_id
    assert failure["delivery"].delivery_id == job.delivery_id
    assert failure["error"] == "HTTP 500"
    assert failure["final"] is False
    [success] = successes
    assert success["delivery"].delivery_id == job.delivery_id
    assert success["delivery"].attempt == 2


def test_delivery_state_never_touches_the_configuration_row(hook, app, db, receiver):
    app.config.update(INTEGRATIONS_PAUSE_AFTER=2, INTEGRATIONS_AUTO_DISABLE_AFTER=10)
    config_id = add_config(hook, receiver.url("/status/500"))
    before = dict(config_row(db, config_id))
    generation = generation_rows(db)
    hook.integration_mgr.check_expired()

    hook.send_event(CREATED, {})

    # The retries after the second failure wait for the end of the pause.
    assert state_row(db, config_id)["consecutive_failures"] == 2
    assert state_row(db, config_id)["paused_until"] is not None
    assert dict(config_row(db, config_id)) == before
    assert generation_rows(db) == generation
    assert not hook.integration_mgr.is_expired()


# -- pages: Send test, Redeliver ----------------------------------------------


def test_send_test_shows_the_result_inline(hook, db, client, receiver):
    good = add_config(hook, receiver.url("/ok"), token=SECRET)
    bad = add_config(hook, receiver.url("/status/500"), name="bad")
    end_session(db)
    edit_page = client.get(f"{PREFIX}/{HOOK}/configs/{good}/").get_data(as_text=True)
    assert "Send test" in edit_page

    passed = client.post(f"{PREFIX}/{HOOK}/configs/{good}/test/")
    failed = client.post(f"{PREFIX}/{HOOK}/configs/{bad}/test/")

    assert passed.status_code == 200
    assert "The test was delivered." in page_text(passed)
    assert failed.status_code == 200
    assert "The test failed." in page_text(failed)
    assert "HTTP status 500" in page_text(failed)
    assert [b["event"] for b in receiver.bodies()] == ["test", "test"]
    assert receiver.requests[0]["headers"]["x-token"] == SECRET
    assert [r["event"] for r in log_rows(db, good)] == ["test"]
    assert SECRET not in page_text(passed)


def test_a_passing_test_resets_the_failures(hook, app, db, client, receiver):
    app.config.update(INTEGRATIONS_RETRY_SCHEDULE=(), INTEGRATIONS_PAUSE_AFTER=1)
    config_id = add_config(hook, receiver.url("/flaky/test-reset?fails=1"))
    hook.send_event(CREATED, {})
    assert state_row(db, config_id)["paused_until"] is not None
    end_session(db)

    client.post(f"{PREFIX}/{HOOK}/configs/{config_id}/test/")

    state = state_row(db, config_id)
    assert state["consecutive_failures"] == 0
    assert state["paused_until"] is None


def test_redeliver_queues_the_same_event_under_a_new_id(hook, db, client, receiver):
    config_id = add_config(hook, receiver.url("/status/404"))
    [job] = hook.send_event(CREATED, {"ticket": 9})
    end_session(db)

    response = client.post(
        f"{PREFIX}/{HOOK}/configs/{config_id}/deliveries/{job.delivery_id}/redeliver/"
    )

    assert response.status_code == 302
    first, again = receiver.requests
    assert again["body"] == first["body"]
    assert again["headers"]["x-delivery"] != job.delivery_id
    rows = log_rows(db, config_id)
    assert [r["delivery_id"] for r in rows] == [
        job.delivery_id,
        again["headers"]["x-delivery"],
    ]
    assert rows[1]["event"] == CREATED
    assert rows[1]["payload"] == {"ticket": 9}
    unknown = client.post(
        f"{PREFIX}/{HOOK}/configs/{config_id}/deliveries/nope/redeliver/"
    )
    assert unknown.status_code == 404


# -- secrets follow the URL; secrets are never logged --------------------------


def test_a_new_url_needs_the_secret_again(hook, db, client, receiver):
    config_id = add_config(hook, receiver.url("/ok"), token=SECRET)
    edit = f"{PREFIX}/{HOOK}/configs/{config_id}/"
    end_session(db)

    same_url = client.post(edit, data={"name": "ops", "url": receiver.url("/ok")})
    blank = client.post(
        edit, data={"name": "ops", "url": receiver.url("/ok?moved=1"), "token": ""}
    )

    assert same_url.status_code == 302
    assert blank.status_code == 200
    assert "Re-enter 'Token' for the new URL." in page_text(blank)
    live = hook.integration_mgr.get_config(config_id)
    assert (live.get("url"), live.get("token")) == (receiver.url("/ok"), SECRET)
    end_session(db)

    retyped = client.post(
        edit,
        data={"name": "ops", "url": receiver.url("/ok?moved=1"), "token": "new-one"},
    )

    assert retyped.status_code == 302
    end_session(db)
    live = hook.integration_mgr.get_config(config_id)
    assert (live.get("url"), live.get("token")) == (
        receiver.url("/ok?moved=1"),
        "new-one",
    )


class SecretURLForm(HookForm):
    secret_fields = ("url",)


class SecretURLHook(HookIntegration):
    """Its URL is a credential itself, as with Slack's incoming webhooks."""

    integration_id = "tests.secret-url-hook"
    config_form_cls = SecretURLForm


def test_a_secret_url_left_blank_keeps_its_value(
    manager, integrations, db, client, receiver
):
    integrations.register(SecretURLHook)
    hook = manager.get_integration(SecretURLHook.integration_id)
    config_id = add_config(hook, receiver.url("/ok"), token=SECRET)
    edit = f"{PREFIX}/{SecretURLHook.integration_id}/configs/{config_id}/"
    end_session(db)

    kept = client.post(edit, data={"name": "kept", "url": "", "token": ""})
    moved = client.post(
        edit, data={"name": "moved", "url": receiver.url("/ok?new"), "token": ""}
    )

    assert kept.status_code == 302
    assert moved.status_code == 200
    assert "Re-enter 'Token' for the new URL." in page_text(moved)
    assert "Re-enter 'Target URL'" not in page_text(moved)
    live = manager.get_config(config_id)
    assert (live.name, live.get("url"), live.get("token")) == (
        "kept",
        receiver.url("/ok"),
        SECRET,
    )


def test_secrets_are_never_logged(hook, app, db, client, receiver, caplog):
    caplog.set_level(logging.DEBUG)
    app.config["INTEGRATIONS_RETRY_SCHEDULE"] = (0.01,)
    for path in ("/ok", "/status/500", "/to-private"):
        add_config(hook, receiver.url(path), name=path, token=SECRET)
    add_config(hook, closed_port_url(), name="closed", token=SECRET)

    hook.send_event(CREATED, {"n": 1})
    end_session(db)
    for config in hook.get_configs():
        client.post(f"{PREFIX}/{HOOK}/configs/{config.id}/test/")

    assert sum(r["headers"]["x-token"] == SECRET for r in receiver.requests) == 7
    rows = log_rows(db)
    assert len(rows) == 10
    assert SECRET not in repr(rows)
    assert SECRET not in caplog.text


# -- the dispatcher runs jobs in their own context -------------------------------


def test_an_auto_disable_inside_the_committing_request_works(hook, app, db, receiver):
    """A sync delivery runs from the commit of the session that sent it; it
    must not reuse that session (its commit is still running)."""
    app.config.update(INTEGRATIONS_RETRY_SCHEDULE=(), INTEGRATIONS_AUTO_DISABLE_AFTER=1)
    config_id = add_config(hook, receiver.url("/status/500"))
    live = hook.integration_mgr.get_config(config_id)
    live.name = "renamed"

    hook.send_event(CREATED, {})
    db.session.commit()

    row = config_row(db, config_id)
    assert (row["name"], row["enabled"]) == ("renamed", False)


@pytest.mark.parametrize("backend", ["postgresql"])
def test_concurrent_failures_are_all_counted(hook, app, db, receiver):
    """Several workers failing at once for a configuration with no state row
    yet: one row, and no failure lost."""
    app.config["INTEGRATIONS_RETRY_SCHEDULE"] = ()
    config_id = add_config(hook, receiver.url("/status/500"))
    start = threading.Barrier(6)
    errors: list[BaseException] = []

    def send() -> None:
        try:
            with app.app_context():
                start.wait()
                hook.send_event(CREATED, {})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(log_rows(db, config_id)) == 6
    assert state_row(db, config_id)["consecutive_failures"] == 6


def test_group_commit_writes_every_waiting_write_and_reports_failures(
    tmp_path: t.Any,
) -> None:
    from flask_integrations.delivery import GroupCommit

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'group.sqlite3'}")
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE written (n INTEGER UNIQUE)"))
    group = GroupCommit()
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            group.write(
                engine,
                lambda c: c.execute(
                    sa.text("INSERT INTO written VALUES (:n)"), {"n": n}
                ),
            )
        except sa.exc.SQLAlchemyError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with engine.connect() as connection:
        written = connection.execute(sa.text("SELECT n FROM written")).scalars()
        assert sorted(written) == list(range(40))

    write(3)  # violates the unique constraint: its owner hears of it
    assert len(errors) == 1
    assert isinstance(errors[0], sa.exc.IntegrityError)
    engine.dispose()


def test_a_pause_set_by_another_process_applies_once_the_clean_state_expires(
    hook, app, db, receiver, dispatcher, monkeypatch
):
    from datetime import datetime, timezone

    from flask_integrations import delivery

    config_id = add_config(hook, receiver.url("/ok"))
    hook.send_event(CREATED, {})
    assert len(receiver.requests) == 1
    # Another process paused it: this one does not read the state again
    # within CLEAN_STATE_TTL, and does after.
    table = db.metadata.tables["flask_integrations_delivery_state"]
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(
            sa.update(table).values(
                paused_until=datetime.now(timezone.utc) + timedelta(minutes=5)
            )
        )
    monkeypatch.setattr(delivery, "CLEAN_STATE_TTL", 0.0)

    [job] = hook.send_event(CREATED, {})

    assert len(receiver.requests) == 1
    assert [(j.delivery_id, j.attempt) for j in dispatcher.postponed] == [
        (job.delivery_id, 1)
    ]
    assert [r["outcome"] for r in log_rows(db, config_id)] == ["success"]


@pytest.mark.parametrize("how", ["code", "cli"])
def test_enabling_an_auto_disabled_configuration_anywhere_starts_afresh(
    how, hook, app, db, receiver
):
    app.config.update(INTEGRATIONS_RETRY_SCHEDULE=(), INTEGRATIONS_AUTO_DISABLE_AFTER=2)
    config_id = add_config(hook, receiver.url("/status/503"))
    hook.send_event(CREATED, {"n": 1})
    hook.send_event(CREATED, {"n": 2})
    assert config_row(db, config_id)["enabled"] is False
    assert state_row(db, config_id)["disabled_reason"]
    end_session(db)

    if how == "code":
        config = hook.integration_mgr.get_config(config_id)
        config.enabled = True
        db.session.commit()
    else:
        result = app.test_cli_runner().invoke(
            args=["integrations", "enable", str(config_id)]
        )
        assert result.exit_code == 0, result.output

    state = state_row(db, config_id)
    assert (state["disabled_reason"], state["consecutive_failures"]) == (None, 0)
    assert state["paused_until"] is None


def test_group_commit_a_bad_write_fails_alone(tmp_path: t.Any) -> None:
    from flask_integrations.delivery import GroupCommit

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'group.sqlite3'}")
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE written (n INTEGER UNIQUE)"))
        connection.execute(sa.text("INSERT INTO written VALUES (0)"))
    lock = threading.RLock()
    group = GroupCommit(lock)
    insert = sa.text("INSERT INTO written VALUES (:n)")
    errors: dict[int, BaseException] = {}

    def write(n: int) -> None:
        try:
            group.write(engine, lambda c: c.execute(insert, {"n": n}), key=n)
        except sa.exc.SQLAlchemyError as exc:
            errors[n] = exc

    with lock:  # the writes queue up and share one transaction
        threads = [threading.Thread(target=write, args=(n,)) for n in range(5)]
        for thread in threads:
            thread.start()
        time.sleep(0.2)
    for thread in threads:
        thread.join()

    assert list(errors) == [0]  # 0 was there already
    assert isinstance(errors[0], sa.exc.IntegrityError)
    with engine.connect() as connection:
        written = connection.execute(sa.text("SELECT n FROM written")).scalars()
        assert sorted(written) == [0, 1, 2, 3, 4]
    engine.dispose()


def test_enabling_an_expired_configuration_also_starts_afresh(hook, app, db, receiver):
    app.config.update(INTEGRATIONS_RETRY_SCHEDULE=(), INTEGRATIONS_AUTO_DISABLE_AFTER=2)
    config_id = add_config(hook, receiver.url("/status/503"))
    hook.send_event(CREATED, {"n": 1})
    hook.send_event(CREATED, {"n": 2})
    end_session(db)

    config = hook.integration_mgr.get_config(config_id)
    db.session.commit()  # expires the instance: 'enabled' is not loaded
    config.enabled = True
    db.session.commit()

    state = state_row(db, config_id)
    assert (state["disabled_reason"], state["consecutive_failures"]) == (None, 0)
