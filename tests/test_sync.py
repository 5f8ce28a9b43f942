"""Enabled state, signals and cache follow committed configuration changes:
in this process, in other processes sharing the database, across threads,
and through broken databases and bad stored data."""

from __future__ import annotations

import contextlib
import logging
import threading
import typing as t

import pytest
import sqlalchemy as sa
from blinker import Namespace
from flask import Flask, current_app, jsonify
from flask_sqlalchemy import SQLAlchemy

from flask_integrations import (
    ConfigSnapshot,
    FlaskIntegrations,
    Integration,
    SignalHook,
    config_deleted,
    config_saved,
)
from tests.conftest import SimpleIntegration, make_app

_signals = Namespace()
#: A signal of the "host app" that integrations hook into.
ticket_created = _signals.signal("test_sync.ticket-created")


class SyncIntegration(SimpleIntegration):
    integration_id = "test_sync.sync"
    name = "Sync"


class OtherSyncIntegration(SimpleIntegration):
    integration_id = "test_sync.other"
    name = "Other Sync"


class HookedIntegration(Integration):
    """Answers ``ticket_created`` with the name of the app it runs in."""

    integration_id = "test_sync.hooked"
    name = "Hooked"

    def __init__(self, integration_mgr: t.Any) -> None:
        super().__init__(integration_mgr)
        self.initialize_calls = 0

    def initialize(self) -> None:
        self.initialize_calls += 1
        SignalHook(self, ticket_created, self.on_ticket_created)

    def on_ticket_created(self, sender: t.Any, **kwargs: t.Any) -> str:
        return f"{current_app.name}:{[c.name for c in self.get_configs()]}"


CONFIG_TABLE = "flask_integrations_config"
SYNC_TABLE = "flask_integrations_sync"


@pytest.fixture
def sync(manager: t.Any) -> SyncIntegration:
    integration = manager.register_integration_class(SyncIntegration)
    manager.check_expired()
    return t.cast(SyncIntegration, integration)


@pytest.fixture
def other(manager: t.Any) -> OtherSyncIntegration:
    integration = manager.register_integration_class(OtherSyncIntegration)
    manager.check_expired()
    return t.cast(OtherSyncIntegration, integration)


@contextlib.contextmanager
def receiving(*signals: t.Any) -> t.Iterator[list[tuple[str, t.Any, dict[str, t.Any]]]]:
    """Record ``(signal name, sender, kwargs)`` of every send of ``signals``."""
    received: list[tuple[str, t.Any, dict[str, t.Any]]] = []
    with contextlib.ExitStack() as stack:
        for signal in signals:

            def receiver(
                sender: t.Any, _name: str = signal.name, **kwargs: t.Any
            ) -> None:
                received.append((_name, sender, kwargs))

            stack.enter_context(signal.connected_to(receiver))
        yield received


def generation(engine: sa.Engine) -> int:
    """The generation stored in the sync table (read with plain SQL)."""
    with engine.connect() as connection:
        value = connection.execute(
            sa.text(f"SELECT COALESCE(SUM(generation), 0) FROM {SYNC_TABLE}")
        ).scalar()
    return int(value or 0)


def insert_config_sql(
    model: type[t.Any], integration_id: str, name: str, enabled: bool = True
) -> tuple[sa.TextClause, dict[str, t.Any]]:
    """A raw INSERT of a configuration row into ``model``'s table."""
    values = {
        "integration_id": ":integration_id",
        "name": ":name",
        "enabled": ":enabled",
        "settings": "'{}'",
        "extra_data": "'{}'",
        "time_added": "'2024-01-02 03:04:05'",
        "last_updated": "'2024-01-02 03:04:05'",
    }
    params: dict[str, t.Any] = {
        "integration_id": integration_id,
        "name": name,
        "enabled": enabled,
    }
    # Required columns added by later work (e.g. a version counter) get
    # their default, as a hand-written INSERT would give them.
    for column in model.__table__.columns:
        if column.name in values or column.primary_key or column.nullable:
            continue
        if column.default is not None and column.default.is_scalar:
            values[column.name] = f":{column.name}"
            params[column.name] = column.default.arg
    statement = sa.text(
        f"INSERT INTO {CONFIG_TABLE} ({', '.join(values)})"
        f" VALUES ({', '.join(values.values())})"
    )
    return statement, params


def add(integration: t.Any, name: str, enabled: bool = True, **kwargs: t.Any) -> t.Any:
    return integration.create_config(save=True, name=name, enabled=enabled, **kwargs)


# -- enabled state follows commits in this process -----------------------------


def test_orm_add_enables_at_commit(sync, manager, db):
    config = manager.config_model(
        integration_id=sync.integration_id, name="a", enabled=True
    )
    db.session.add(config)
    db.session.flush()
    assert not sync.enabled

    db.session.commit()

    assert sync.enabled
    assert sync.initialize_calls == 1


def test_disabled_config_does_not_enable(sync, manager, db):
    add(sync, "off", enabled=False)

    assert not sync.enabled
    assert sync.initialize_calls == 0


def test_more_configs_do_not_initialize_again(sync):
    add(sync, "a")
    add(sync, "b")

    assert sync.enabled
    assert sync.initialize_calls == 1


def test_create_config_with_save_enables(sync, manager, db):
    config = sync.create_config(save=True, name="saved", enabled=True)

    assert sync.enabled
    assert config.id is not None
    assert config.integration_id == sync.integration_id
    assert isinstance(config, manager.config_model)


def test_create_config_without_save_changes_nothing(sync, manager, db):
    config = sync.create_config(name="unsaved", enabled=True)
    db.session.commit()

    assert isinstance(config, manager.config_model)
    assert config.integration_id == sync.integration_id
    assert config not in db.session
    assert not sync.enabled
    assert manager.get_integration_configs() == []


def test_toggling_enabled_follows_commits(sync, manager, db):
    config_id = add(sync, "a").id
    config = manager.get_config(config_id)

    config.enabled = False
    db.session.commit()
    assert not sync.enabled
    assert sync.shutdown_calls == 1

    config.enabled = True
    db.session.commit()
    assert sync.enabled
    assert sync.initialize_calls == 2


def test_disabling_one_of_two_configs_keeps_it_enabled(sync, manager, db):
    first = add(sync, "a").id
    add(sync, "b")

    manager.get_config(first).enabled = False
    db.session.commit()

    assert sync.enabled
    assert sync.shutdown_calls == 0


def test_deleting_the_last_enabled_config_disables(sync, manager, db):
    config_id = add(sync, "a").id
    add(sync, "off", enabled=False)

    db.session.delete(manager.get_config(config_id))
    db.session.commit()

    assert not sync.enabled
    assert sync.shutdown_calls == 1


def test_changes_of_one_integration_leave_others_alone(sync, other, manager, db):
    add(other, "other")
    config_id = add(sync, "a").id

    db.session.delete(manager.get_config(config_id))
    db.session.commit()

    assert other.enabled
    assert other.initialize_calls == 1
    assert other.shutdown_calls == 0


def test_bulk_update_applies_at_commit(sync, manager, db):
    add(sync, "a")
    model = manager.config_model

    db.session.execute(
        sa.update(model)
        .where(model.integration_id == sync.integration_id)
        .values(enabled=False)
    )
    assert sync.enabled
    db.session.commit()
    assert not sync.enabled

    db.session.execute(sa.update(model).values(enabled=True))
    db.session.commit()
    assert sync.enabled
    assert sync.initialize_calls == 2


def test_bulk_delete_applies_at_commit(sync, manager, db):
    add(sync, "a")
    model = manager.config_model

    db.session.execute(sa.delete(model).where(model.name == "a"))
    assert sync.enabled
    db.session.commit()

    assert not sync.enabled
    assert manager.get_integration_configs() == []


def test_bulk_update_rolled_back_changes_nothing(sync, manager, db):
    add(sync, "a")
    model = manager.config_model

    db.session.execute(sa.update(model).values(enabled=False))
    db.session.rollback()

    assert sync.enabled
    assert sync.shutdown_calls == 0
    manager.check_expired()
    assert sync.enabled


def test_bulk_update_of_the_table_enables_at_commit(sync, manager, db):
    add(sync, "a", enabled=False)
    table = manager.config_model.__table__

    db.session.execute(sa.update(table).values(enabled=True))
    db.session.commit()

    assert sync.enabled


def test_config_added_then_rolled_back_stays_disabled(sync, manager, db):
    db.session.add(
        manager.config_model(integration_id=sync.integration_id, name="a", enabled=True)
    )
    db.session.flush()
    # Read inside the transaction: whatever it sees must not outlive it.
    sync.get_configs()
    manager.get_integration_configs()

    db.session.rollback()

    assert not sync.enabled
    assert sync.initialize_calls == 0
    assert sync.get_configs() == []
    assert manager.get_integration_configs() == []
    manager.check_expired()
    assert not sync.enabled
    assert sync.initialize_calls == 0


def test_check_expired_inside_a_transaction_ignores_uncommitted_configs(
    sync, manager, db
):
    db.session.add(
        manager.config_model(integration_id=sync.integration_id, name="a", enabled=True)
    )
    db.session.flush()

    manager.check_expired()  # e.g. a dispatch or job started inside the transaction
    enabled_before_commit = sync.enabled
    db.session.rollback()

    assert not enabled_before_commit
    assert sync.initialize_calls == 0
    assert not sync.enabled


def test_disable_rolled_back_keeps_it_enabled(sync, manager, db):
    config_id = add(sync, "a").id

    manager.get_config(config_id).enabled = False
    db.session.flush()
    db.session.rollback()

    assert sync.enabled
    assert sync.shutdown_calls == 0
    assert [c.name for c in sync.get_configs()] == ["a"]


def test_delete_rolled_back_keeps_it_enabled(sync, manager, db):
    config_id = add(sync, "a").id

    db.session.delete(manager.get_config(config_id))
    db.session.flush()
    db.session.rollback()

    assert sync.enabled
    assert [c.name for c in sync.get_configs()] == ["a"]


# -- savepoints ----------------------------------------------------------------


def test_savepoint_rolled_back_inside_a_committed_transaction(sync, manager, db):
    with receiving(config_saved) as received:
        savepoint = db.session.begin_nested()
        db.session.add(
            manager.config_model(
                integration_id=sync.integration_id, name="a", enabled=True
            )
        )
        db.session.flush()
        savepoint.rollback()
        db.session.commit()

    assert not sync.enabled
    assert sync.initialize_calls == 0
    assert received == []
    assert manager.get_integration_configs() == []


def test_savepoint_rolled_back_keeps_a_disable_from_happening(sync, manager, db):
    config_id = add(sync, "a").id

    with db.session.begin_nested() as savepoint:
        manager.get_config(config_id).enabled = False
        db.session.flush()
        savepoint.rollback()
    db.session.commit()

    assert sync.enabled
    assert sync.shutdown_calls == 0


def test_savepoint_released_applies_at_the_outer_commit(sync, manager, db):
    with receiving(config_saved) as received:
        with db.session.begin_nested():
            db.session.add(
                manager.config_model(
                    integration_id=sync.integration_id, name="a", enabled=True
                )
            )
        assert not sync.enabled
        assert received == []
        db.session.commit()

    assert sync.enabled
    assert [kwargs["config"].name for _, _, kwargs in received] == ["a"]


def test_savepoint_released_then_outer_rollback(sync, manager, db, backend):
    with receiving(config_saved) as received:
        savepoint = db.session.begin_nested()
        db.session.add(
            manager.config_model(
                integration_id=sync.integration_id, name="a", enabled=True
            )
        )
        savepoint.commit()
        db.session.rollback()
        manager.check_expired()

    assert received == []
    if backend != "sqlite":
        # pysqlite (without its SAVEPOINT workaround) commits at RELEASE, so
        # only a real database can roll the outer transaction back.
        assert not sync.enabled
        assert sync.initialize_calls == 0
        assert manager.get_integration_configs() == []


def test_savepoint_rollback_keeps_signals_of_the_outer_transaction(sync, manager, db):
    with receiving(config_saved) as received:
        db.session.add(
            manager.config_model(
                integration_id=sync.integration_id, name="outer", enabled=True
            )
        )
        savepoint = db.session.begin_nested()
        db.session.add(
            manager.config_model(
                integration_id=sync.integration_id, name="inner", enabled=True
            )
        )
        db.session.flush()
        savepoint.rollback()
        db.session.commit()

    assert [c.name for c in manager.get_integration_configs()] == ["outer"]
    assert sync.enabled
    assert [
        (kwargs["config"].name, kwargs["created"]) for _, _, kwargs in received
    ] == [("outer", True)]


# -- signals -------------------------------------------------------------------


def test_config_saved_is_sent_after_the_commit_of_a_new_config(sync, manager, db):
    with receiving(config_saved, config_deleted) as received:
        db.session.add(
            manager.config_model(
                integration_id=sync.integration_id,
                name="a",
                enabled=True,
                settings={"k": 1},
            )
        )
        db.session.flush()
        assert received == []
        db.session.commit()

    assert len(received) == 1
    name, sender, kwargs = received[0]
    assert name == config_saved.name
    assert sender is manager
    assert set(kwargs) == {"config", "created"}
    assert kwargs["created"] is True
    snapshot = kwargs["config"]
    assert isinstance(snapshot, ConfigSnapshot)
    assert snapshot.id == manager.get_integration_configs()[0].id
    assert (snapshot.name, snapshot.enabled, snapshot.integration_id) == (
        "a",
        True,
        sync.integration_id,
    )
    assert snapshot.get("k") == 1
    assert snapshot.get("color") == "blue"
    with pytest.raises(AttributeError):
        snapshot.set("k", 2)


def test_config_saved_on_update_is_not_created(sync, manager, db):
    config_id = add(sync, "a").id

    with receiving(config_saved, config_deleted) as received:
        config = manager.get_config(config_id)
        config.name = "renamed"
        config.enabled = False
        db.session.commit()

    assert len(received) == 1
    name, _, kwargs = received[0]
    assert name == config_saved.name
    assert kwargs["created"] is False
    assert kwargs["config"].id == config_id
    assert kwargs["config"].name == "renamed"
    assert kwargs["config"].enabled is False


def test_config_saved_on_in_place_settings_edit(sync, manager, db):
    config_id = add(sync, "a", settings={"url": "http://old"}).id

    with receiving(config_saved) as received:
        config = manager.get_config(config_id)
        config.settings["url"] = "http://new"
        db.session.commit()

    assert [(k["config"].get("url"), k["created"]) for _, _, k in received] == [
        ("http://new", False)
    ]


def test_receivers_of_config_saved_see_the_new_state(sync, manager, db):
    seen: list[tuple[bool, list[str]]] = []

    def receiver(sender: t.Any, **kwargs: t.Any) -> None:
        seen.append((sync.enabled, [c.name for c in sync.get_configs()]))

    sync.get_configs()
    with config_saved.connected_to(receiver):
        add(sync, "a")

    assert seen == [(True, ["a"])]


def test_config_deleted_is_sent_after_commit(sync, manager, db):
    config_id = add(sync, "a", settings={"k": 1}).id

    with receiving(config_saved, config_deleted) as received:
        db.session.delete(manager.get_config(config_id))
        db.session.flush()
        assert received == []
        db.session.commit()

    assert len(received) == 1
    name, sender, kwargs = received[0]
    assert name == config_deleted.name
    assert sender is manager
    snapshot = kwargs["config"]
    assert isinstance(snapshot, ConfigSnapshot)
    assert (snapshot.id, snapshot.name, snapshot.get("k")) == (config_id, "a", 1)


def test_no_signals_after_rollback(sync, manager, db):
    keep_id = add(sync, "keep").id
    drop_id = add(sync, "drop").id

    with receiving(config_saved, config_deleted) as received:
        db.session.add(
            manager.config_model(integration_id=sync.integration_id, name="new")
        )
        manager.get_config(keep_id).name = "renamed"
        db.session.delete(manager.get_config(drop_id))
        db.session.flush()
        db.session.rollback()
        # A later commit without configuration changes announces nothing either.
        db.session.commit()

    assert received == []


def test_one_signal_per_config_of_a_commit(sync, manager, db):
    keep_id = add(sync, "keep").id
    drop_id = add(sync, "drop").id

    with receiving(config_saved, config_deleted) as received:
        db.session.add(
            manager.config_model(integration_id=sync.integration_id, name="new")
        )
        manager.get_config(keep_id).name = "renamed"
        db.session.delete(manager.get_config(drop_id))
        db.session.commit()

    summary = sorted(
        (name, kwargs["config"].name, kwargs.get("created"))
        for name, _, kwargs in received
    )
    assert summary == sorted(
        [
            (config_saved.name, "new", True),
            (config_saved.name, "renamed", False),
            (config_deleted.name, "drop", None),
        ]
    )


def test_bulk_changes_send_signals_after_commit(sync, manager, db):
    keep_id = add(sync, "keep").id
    drop_id = add(sync, "drop").id
    model = manager.config_model

    with receiving(config_saved, config_deleted) as received:
        db.session.execute(
            sa.update(model).where(model.id == keep_id).values(name="renamed")
        )
        db.session.execute(sa.delete(model).where(model.id == drop_id))
        assert received == []
        db.session.commit()

    summary = sorted(
        (name, kwargs["config"].id, kwargs.get("created"))
        for name, _, kwargs in received
    )
    assert summary == sorted(
        [(config_saved.name, keep_id, False), (config_deleted.name, drop_id, None)]
    )


# -- the generation row --------------------------------------------------------


def test_generation_is_bumped_by_every_committed_change(sync, manager, db):
    engine = db.engine
    start = generation(engine)

    config_id = add(sync, "a").id
    after_add = generation(engine)
    manager.get_config(config_id).name = "b"
    db.session.commit()
    after_update = generation(engine)
    db.session.execute(sa.update(manager.config_model).values(enabled=False))
    db.session.commit()
    after_bulk = generation(engine)
    db.session.delete(manager.get_config(config_id))
    db.session.commit()
    after_delete = generation(engine)

    assert start < after_add < after_update < after_bulk < after_delete


def test_generation_is_not_bumped_by_rollback_or_reads(sync, manager, db):
    config_id = add(sync, "a").id
    engine = db.engine
    start = generation(engine)

    db.session.add(manager.config_model(integration_id=sync.integration_id, name="b"))
    manager.get_config(config_id).enabled = False
    db.session.flush()
    db.session.rollback()
    db.session.execute(sa.update(manager.config_model).values(name="c"))
    db.session.rollback()
    sync.get_configs()
    manager.get_integration_configs()
    manager.check_expired()
    manager.reload()
    db.session.commit()

    assert generation(engine) == start


# -- raw SQL and mark_changed() ------------------------------------------------


def test_raw_insert_in_a_transaction_then_mark_changed(sync, manager, db):
    engine = db.engine
    start = generation(engine)
    statement, params = insert_config_sql(
        sync.integration_mgr.config_model, sync.integration_id, "raw"
    )
    assert sync.get_configs() == []

    db.session.execute(statement, params)
    manager.mark_changed()
    assert not sync.enabled
    db.session.commit()

    assert sync.enabled
    assert [c.name for c in sync.get_configs()] == ["raw"]
    assert generation(engine) > start


def test_raw_insert_in_a_transaction_rolled_back(sync, manager, db):
    engine = db.engine
    start = generation(engine)
    statement, params = insert_config_sql(
        sync.integration_mgr.config_model, sync.integration_id, "raw"
    )

    db.session.execute(statement, params)
    manager.mark_changed()
    db.session.rollback()
    manager.check_expired()

    assert not sync.enabled
    assert sync.get_configs() == []
    assert generation(engine) == start


def test_raw_insert_outside_a_transaction_then_mark_changed(sync, manager, db):
    engine = db.engine
    start = generation(engine)
    assert sync.get_configs() == []
    statement, params = insert_config_sql(
        sync.integration_mgr.config_model, sync.integration_id, "raw"
    )
    with engine.begin() as connection:
        connection.execute(statement, params)

    manager.mark_changed()

    assert generation(engine) > start
    assert [c.name for c in sync.get_configs()] == ["raw"]
    manager.check_expired()
    assert sync.enabled
    assert sync.initialize_calls == 1


def test_raw_insert_then_mark_changed_enables_at_the_next_request(
    app, client, integrations, db
):
    app.add_url_rule("/ping", "ping", lambda: "ok")
    with app.app_context():
        sync = integrations.manager.register_integration_class(SyncIntegration)
    assert client.get("/ping").status_code == 200
    assert not sync.enabled

    with app.app_context():
        statement, params = insert_config_sql(
            sync.integration_mgr.config_model, sync.integration_id, "raw"
        )
        with db.engine.begin() as connection:
            connection.execute(statement, params)
        integrations.manager.mark_changed()

    assert client.get("/ping").status_code == 200
    assert sync.enabled


def test_raw_change_without_mark_changed_is_not_seen_by_this_process(sync, manager, db):
    statement, params = insert_config_sql(
        sync.integration_mgr.config_model, sync.integration_id, "raw"
    )
    db.session.execute(statement, params)
    db.session.commit()

    manager.check_expired()

    assert not sync.enabled
    manager.mark_changed()
    manager.check_expired()
    assert sync.enabled


# -- several apps (processes) sharing one database -----------------------------


class TwoApps(t.NamedTuple):
    a: Flask
    b: Flask
    ext_a: FlaskIntegrations
    ext_b: FlaskIntegrations
    db_a: SQLAlchemy
    db_b: SQLAlchemy

    def manager(self, app: Flask) -> t.Any:
        return app.extensions["integrations"].manager

    def integration(self, app: Flask, cls: type[Integration]) -> t.Any:
        return self.manager(app).get_integration(cls.integration_id)


@pytest.fixture
def app_b_config() -> dict[str, t.Any]:
    """Extra config of app B (parametrize to change)."""
    return {}


def _add_routes(app: Flask) -> None:
    app.add_url_rule("/ping", "ping", lambda: "ok")

    def fire() -> t.Any:
        results = ticket_created.send("ticket")
        return jsonify(sorted(value for _, value in results if value is not None))

    app.add_url_rule("/fire", "fire", fire)

    def configs() -> t.Any:
        manager = current_app.extensions["integrations"].manager
        integration = manager.get_integration(SyncIntegration.integration_id)
        return jsonify([c.name for c in integration.get_configs()])

    app.add_url_rule("/configs", "configs", configs)


@pytest.fixture(params=["two-extensions", "one-extension"])
def two_apps(
    request: pytest.FixtureRequest,
    shared_database_url: str,
    app_b_config: dict[str, t.Any],
) -> t.Iterator[TwoApps]:
    """Two apps (as if in two processes) on one database, with the same
    integration classes registered."""
    if request.param == "two-extensions":
        db_a, db_b = SQLAlchemy(), SQLAlchemy()
        ext_a = FlaskIntegrations(db=db_a, admin_required=lambda: True)
        ext_b = FlaskIntegrations(db=db_b, admin_required=lambda: True)
        for cls in (SyncIntegration, HookedIntegration):
            ext_a.register(cls)
            ext_b.register(cls)
    else:
        db_a = db_b = SQLAlchemy()
        ext_a = ext_b = FlaskIntegrations(db=db_a, admin_required=lambda: True)
        for cls in (SyncIntegration, HookedIntegration):
            ext_a.register(cls)
    app_a = make_app(shared_database_url, db_a, ext_a, name="app_a")
    app_b = make_app(shared_database_url, db_b, ext_b, name="app_b", **app_b_config)
    for app in (app_a, app_b):
        _add_routes(app)
    with app_a.app_context():
        db_a.create_all()
    try:
        yield TwoApps(app_a, app_b, ext_a, ext_b, db_a, db_b)
    finally:
        for app, db in ((app_a, db_a), (app_b, db_b)):
            with app.app_context():
                # Disconnect the hooks: the signal is global.
                app.extensions["integrations"].manager.shutdown()
                db.session.remove()
                for engine in db.engines.values():
                    engine.dispose()


def test_config_committed_in_app_a_is_seen_by_app_b_at_its_next_request(two_apps):
    client_b = two_apps.b.test_client()
    assert client_b.get("/configs").json == []
    sync_b = two_apps.integration(two_apps.b, SyncIntegration)
    hooked_b = two_apps.integration(two_apps.b, HookedIntegration)
    assert not sync_b.enabled
    assert client_b.get("/fire").json == []

    with two_apps.a.app_context():
        manager_a = two_apps.manager(two_apps.a)
        manager_a.get_integration(SyncIntegration.integration_id).create_config(
            save=True, name="from-a", enabled=True
        )
        manager_a.get_integration(HookedIntegration.integration_id).create_config(
            save=True, name="hook-a", enabled=True
        )
        assert manager_a.get_integration(SyncIntegration.integration_id).enabled

    # Nothing happens in B until its next request.
    assert not sync_b.enabled
    assert not hooked_b.enabled

    assert client_b.get("/fire").json == ["app_b:['hook-a']"]
    assert sync_b.enabled
    assert sync_b.initialize_calls == 1
    assert hooked_b.initialize_calls == 1
    assert client_b.get("/configs").json == ["from-a"]


@pytest.mark.parametrize("how", ["disable", "delete"])
def test_disabling_in_app_a_disables_in_app_b_at_its_next_request(two_apps, how):
    with two_apps.a.app_context():
        hooked_a = two_apps.integration(two_apps.a, HookedIntegration)
        config_id = hooked_a.create_config(save=True, name="hook", enabled=True).id
    client_b = two_apps.b.test_client()
    assert client_b.get("/fire").json == ["app_b:['hook']"]
    hooked_b = two_apps.integration(two_apps.b, HookedIntegration)
    assert hooked_b.enabled

    with two_apps.a.app_context():
        config = two_apps.manager(two_apps.a).get_config(config_id)
        if how == "disable":
            config.enabled = False
        else:
            two_apps.db_a.session.delete(config)
        two_apps.db_a.session.commit()
        assert not two_apps.integration(two_apps.a, HookedIntegration).enabled
    assert hooked_b.enabled

    assert client_b.get("/fire").json == []
    assert not hooked_b.enabled
    assert hooked_b.hooks == set()


def test_renaming_in_app_a_refreshes_the_cache_of_app_b(two_apps):
    with two_apps.a.app_context():
        sync_a = two_apps.integration(two_apps.a, SyncIntegration)
        config_id = sync_a.create_config(save=True, name="old", enabled=True).id
    client_b = two_apps.b.test_client()
    assert client_b.get("/configs").json == ["old"]

    with two_apps.a.app_context():
        two_apps.manager(two_apps.a).get_config(config_id).name = "new"
        two_apps.db_a.session.commit()

    assert client_b.get("/configs").json == ["new"]


def test_hooks_fire_only_in_their_own_app(two_apps):
    with two_apps.a.app_context():
        two_apps.integration(two_apps.a, HookedIntegration).create_config(
            save=True, name="hook", enabled=True
        )
    client_a = two_apps.a.test_client()
    client_b = two_apps.b.test_client()
    client_b.get("/ping")

    assert client_a.get("/fire").json == ["app_a:['hook']"]
    assert client_b.get("/fire").json == ["app_b:['hook']"]


THROTTLED = pytest.mark.parametrize(
    "app_b_config", [{"INTEGRATIONS_SYNC_INTERVAL": 3600}], ids=["interval_3600"]
)


@THROTTLED
def test_sync_interval_throttles_the_check(two_apps):
    client_b = two_apps.b.test_client()
    assert client_b.get("/configs").json == []
    sync_b = two_apps.integration(two_apps.b, SyncIntegration)

    with two_apps.a.app_context():
        two_apps.integration(two_apps.a, SyncIntegration).create_config(
            save=True, name="from-a", enabled=True
        )

    assert client_b.get("/configs").json == []
    assert not sync_b.enabled

    manager_b = two_apps.manager(two_apps.b)
    with two_apps.b.app_context():
        manager_b.check_expired()
        assert not sync_b.enabled
        manager_b.sync_interval = 0
        manager_b.check_expired()
    assert sync_b.enabled
    assert client_b.get("/configs").json == ["from-a"]


@THROTTLED
def test_reload_catches_up_despite_the_interval(two_apps):
    client_b = two_apps.b.test_client()
    client_b.get("/ping")
    sync_b = two_apps.integration(two_apps.b, SyncIntegration)

    with two_apps.a.app_context():
        two_apps.integration(two_apps.a, SyncIntegration).create_config(
            save=True, name="from-a", enabled=True
        )
    client_b.get("/ping")
    assert not sync_b.enabled

    with two_apps.b.app_context():
        two_apps.manager(two_apps.b).reload()
    assert sync_b.enabled
    assert client_b.get("/configs").json == ["from-a"]


@THROTTLED
def test_own_commits_are_seen_at_once_despite_the_interval(two_apps):
    client_b = two_apps.b.test_client()
    client_b.get("/ping")
    sync_b = two_apps.integration(two_apps.b, SyncIntegration)

    with two_apps.b.app_context():
        sync_b.create_config(save=True, name="from-b", enabled=True)
        assert sync_b.enabled
        assert [c.name for c in sync_b.get_configs()] == ["from-b"]
    assert client_b.get("/configs").json == ["from-b"]


@THROTTLED
def test_mark_changed_is_seen_at_the_next_check_despite_the_interval(two_apps):
    client_b = two_apps.b.test_client()
    client_b.get("/ping")
    sync_b = two_apps.integration(two_apps.b, SyncIntegration)

    with two_apps.b.app_context():
        statement, params = insert_config_sql(
            two_apps.manager(two_apps.b).config_model,
            SyncIntegration.integration_id,
            "raw",
        )
        with two_apps.db_b.engine.begin() as connection:
            connection.execute(statement, params)
        two_apps.manager(two_apps.b).mark_changed()

    assert client_b.get("/configs").json == ["raw"]
    assert sync_b.enabled


# -- threads -------------------------------------------------------------------


@pytest.fixture
def shared_app(
    shared_database_url: str, db: SQLAlchemy, integrations: FlaskIntegrations
) -> t.Iterator[Flask]:
    """The app under test, on a database other engines can share."""
    app = make_app(shared_database_url, db, integrations, name="shared_app")
    app.add_url_rule("/ping", "ping", lambda: "ok")
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        app.extensions["integrations"].manager.shutdown()
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture
def writer(shared_database_url: str, shared_app: Flask) -> t.Iterator[Flask]:
    """Another app on the same database, changing configurations as another
    process would."""
    db = SQLAlchemy()
    extension = FlaskIntegrations(db=db)
    extension.register(SyncIntegration)
    app = make_app(shared_database_url, db, extension, name="writer")
    yield app
    with app.app_context():
        app.extensions["integrations"].manager.shutdown()
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


def _write(app: Flask, change: t.Callable[[t.Any, t.Any], t.Any]) -> t.Any:
    """Run ``change(manager, session)`` in ``app`` and commit."""
    with app.app_context():
        state = app.extensions["integrations"]
        result = change(state.manager, state.db.session)
        state.db.session.commit()
        return result


def _run_threads(
    app: Flask, target: t.Callable[[int], t.Any], count: int, app_context: bool = True
) -> list[t.Any]:
    """Run ``target(index)`` in ``count`` threads started together (each in
    an app context, or none); return the results."""
    barrier = threading.Barrier(count)
    results: list[t.Any] = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            with app.app_context() if app_context else contextlib.nullcontext():
                barrier.wait()
                results[index] = target(index)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


@pytest.mark.parametrize(
    "app_context", [True, False], ids=["app-context", "bare-threads"]
)
def test_concurrent_checks_never_initialize_twice(shared_app, writer, app_context):
    manager = shared_app.extensions["integrations"].manager
    sync = manager.register_integration_class(SyncIntegration)

    def check_and_read(index: int) -> list[str]:
        manager.check_expired()
        return [c.name for c in sync.get_configs()]

    def mixed(index: int) -> list[str]:
        if index % 2:
            manager.check_expired()
        return [c.name for c in sync.get_configs()]

    config_id = _write(
        writer,
        lambda m, s: (
            m.get_integration(SyncIntegration.integration_id)
            .create_config(save=True, name="a", enabled=True)
            .id
        ),
    )
    assert not sync.enabled
    results = _run_threads(shared_app, check_and_read, 10, app_context)
    assert results == [["a"]] * 10
    assert sync.enabled
    assert sync.initialize_calls == 1

    _write(writer, lambda m, s: setattr(m.get_config(config_id), "enabled", False))
    _run_threads(shared_app, mixed, 10, app_context)
    _run_threads(shared_app, check_and_read, 10, app_context)
    assert not sync.enabled
    assert sync.shutdown_calls == 1
    assert sync.initialize_calls == 1

    _write(
        writer,
        lambda m, s: m.get_integration(SyncIntegration.integration_id).create_config(
            save=True, name="b", enabled=True
        ),
    )
    _run_threads(shared_app, mixed, 12, app_context)
    results = _run_threads(shared_app, check_and_read, 12, app_context)
    assert results == [["b"]] * 12
    assert sync.enabled
    assert sync.initialize_calls == 2
    assert sync.shutdown_calls == 1


def test_concurrent_reads_share_one_cached_result(
    shared_app, integrations, count_queries
):
    with shared_app.app_context():
        sync = integrations.manager.register_integration_class(SyncIntegration)
        sync.create_config(save=True, name="a", enabled=True)

    def read(index: int) -> list[str]:
        return [c.name for c in sync.get_configs()]

    results = _run_threads(shared_app, read, 8)
    with shared_app.app_context(), count_queries() as queries:
        again = _run_threads(shared_app, read, 8)

    assert results == again == [["a"]] * 8
    assert len(queries) == 0


def test_reads_in_an_old_snapshot_do_not_poison_the_cache(backend, shared_app, writer):
    if backend != "postgresql":
        pytest.skip("pysqlite starts no transaction for reads: no old snapshot.")
    db = SQLAlchemy()
    extension = FlaskIntegrations(db=db)
    app = make_app(
        shared_app.config["SQLALCHEMY_DATABASE_URI"],
        db,
        extension,
        name="repeatable_read",
        SQLALCHEMY_ENGINE_OPTIONS={"isolation_level": "REPEATABLE READ"},
    )
    manager = app.extensions["integrations"].manager
    sync = manager.register_integration_class(SyncIntegration)

    def next_request(index: int) -> list[str]:
        manager.check_expired()
        return [c.name for c in sync.get_configs()]

    try:
        with app.app_context():
            manager.check_expired()
            # A long request whose transaction started before the change.
            db.session.execute(sa.text(f"SELECT count(*) FROM {CONFIG_TABLE}")).scalar()
            _write(
                writer,
                lambda m, s: m.get_integration(
                    SyncIntegration.integration_id
                ).create_config(save=True, name="a", enabled=True),
            )
            # Meanwhile another request of this process catches up.
            _run_threads(app, lambda index: manager.check_expired(), 1)
            assert sync.enabled
            sync.get_configs()  # the long request reads within its old snapshot
            db.session.commit()

        assert _run_threads(app, next_request, 1) == [["a"]]
    finally:
        with app.app_context():
            manager.shutdown()
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()


# -- a broken database ---------------------------------------------------------


def _warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name == "flask_integrations" and r.levelno == logging.WARNING
    ]


def test_missing_sync_table_logs_and_recovers(app, client, integrations, db, caplog):
    app.add_url_rule("/ping", "ping", lambda: "ok")
    with app.app_context():
        manager = integrations.manager
        sync = manager.register_integration_class(SyncIntegration)
        config_id = sync.create_config(save=True, name="a", enabled=True).id
        assert sync.enabled
        db.session.execute(sa.text(f"DROP TABLE {SYNC_TABLE}"))
        db.session.commit()

    with caplog.at_level(logging.WARNING, logger="flask_integrations"):
        with app.app_context():
            manager.check_expired()
        assert client.get("/ping").status_code == 200
        assert client.get("/ping").status_code == 200
    assert _warnings(caplog)
    assert "Traceback" not in client.get("/ping").get_data(as_text=True)

    with app.app_context():
        # Meanwhile the configuration was disabled behind the manager's back.
        db.session.execute(
            sa.text(f"UPDATE {CONFIG_TABLE} SET enabled = :off WHERE id = :id"),
            {"off": False, "id": config_id},
        )
        db.session.commit()
        db.create_all()  # the table is back

    assert client.get("/ping").status_code == 200
    assert not sync.enabled
    with app.app_context():
        sync.create_config(save=True, name="b", enabled=True)
    assert sync.enabled
    assert sync.initialize_calls == 2


def test_requests_work_before_the_tables_exist(
    shared_database_url, db, integrations, caplog
):
    integrations.register(SyncIntegration)
    app = make_app(shared_database_url, db, integrations, name="no_tables_yet")
    app.add_url_rule("/ping", "ping", lambda: "ok")
    client = app.test_client()
    try:
        with caplog.at_level(logging.WARNING, logger="flask_integrations"):
            assert client.get("/ping").status_code == 200
        assert _warnings(caplog)
        sync = app.extensions["integrations"].manager.get_integration(
            SyncIntegration.integration_id
        )
        assert not sync.enabled

        with app.app_context():
            db.create_all()
            statement, params = insert_config_sql(
                sync.integration_mgr.config_model, sync.integration_id, "a"
            )
            with db.engine.begin() as connection:
                connection.execute(statement, params)

        assert client.get("/ping").status_code == 200
        assert sync.enabled
    finally:
        with app.app_context():
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()


# -- bad stored settings -------------------------------------------------------


@pytest.mark.parametrize(
    "stored", ["[1, 2]", '"just a string"', "42", "true", "null"], ids=str
)
def test_settings_that_are_not_an_object_break_nothing(
    app, client, integrations, db, stored
):
    app.add_url_rule("/ping", "ping", lambda: "ok")
    with app.app_context():
        manager = integrations.manager
        sync = manager.register_integration_class(SyncIntegration)
        bad_id = sync.create_config(save=True, name="bad", enabled=True).id
        sync.create_config(
            save=True, name="good", enabled=True, settings={"color": "red"}
        )
        db.session.execute(
            sa.text(f"UPDATE {CONFIG_TABLE} SET settings = '{stored}' WHERE id = :id"),
            {"id": bad_id},
        )
        db.session.commit()
        manager.mark_changed()

        configs = sync.get_configs()
        assert [c.name for c in configs] == ["bad", "good"]
        bad, good = configs
        assert bad.settings == {}
        assert bad.get("color") == "blue"
        assert bad.get("missing", "fallback") == "fallback"
        assert str(bad) == "bad (Sync)"
        assert good.get("color") == "red"
        assert [c.name for c in manager.get_integration_configs()] == ["bad", "good"]

        live = manager.get_config(bad_id)
        assert live.get("color") == "blue"
        assert str(live) == "bad (Sync)"

        manager.reload()
        assert sync.enabled

    assert client.get("/ping").status_code == 200
    assert sync.enabled

    with app.app_context():
        # The bad configuration alone keeps the integration enabled.
        db.session.execute(sa.text(f"DELETE FROM {CONFIG_TABLE} WHERE name = 'good'"))
        db.session.commit()
        manager.mark_changed()
        manager.check_expired()
        assert sync.enabled
        assert [c.get("color") for c in sync.get_configs()] == ["blue"]

        # An editor can repair it.
        live = manager.get_config(bad_id)
        live.set("color", "green")
        db.session.commit()
        assert sync.get_configs()[0].settings == {"color": "green"}


# -- orphans -------------------------------------------------------------------

ORPHAN_ID = "test_sync.gone"


def test_orphans_are_listed_and_deletable(sync, manager, db):
    add(sync, "kept")
    orphan = manager.config_model(
        integration_id=ORPHAN_ID, name="ghost", enabled=True, settings={"a": 1}
    )
    db.session.add(orphan)
    db.session.commit()
    orphan_id = orphan.id
    manager.check_expired()

    listed = manager.get_integration_configs()
    assert [c.name for c in listed] == ["kept", "ghost"]
    ghost = listed[1]
    assert ghost.integration_id == ORPHAN_ID
    assert str(ghost) == f"ghost ({ORPHAN_ID})"
    assert ghost.get("a") == 1
    assert ghost.get("b") is None
    assert ghost.get("b", "fallback") == "fallback"
    live = manager.get_config(orphan_id)
    assert str(live) == f"ghost ({ORPHAN_ID})"
    assert live.get("b", "fallback") == "fallback"
    assert sync.enabled

    with receiving(config_deleted) as received:
        db.session.delete(live)
        db.session.commit()

    assert [c.name for c in manager.get_integration_configs()] == ["kept"]
    assert [kwargs["config"].name for _, _, kwargs in received] == ["ghost"]
    assert sync.enabled


def test_unregistering_leaves_listable_orphans(sync, other, manager, db):
    add(sync, "mine", settings={"color": "red"})
    add(other, "theirs")

    manager.unregister_integration_class(SyncIntegration)
    manager.check_expired()

    assert not sync.enabled
    assert other.enabled
    listed = manager.get_integration_configs()
    assert [str(c) for c in listed] == [
        f"mine ({SyncIntegration.integration_id})",
        "theirs (Other Sync)",
    ]
    assert listed[0].get("color") == "red"
    assert listed[0].get("size") is None

    config = manager.get_config(listed[0].id)
    config.name = "renamed orphan"
    db.session.commit()
    assert not sync.enabled
    assert other.enabled
    db.session.delete(manager.get_config(listed[0].id))
    db.session.commit()
    assert [c.name for c in manager.get_integration_configs()] == ["theirs"]


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_two_first_changes_ever_both_commit(shared_database_url: str) -> None:
    """The generation row does not exist yet: two transactions bumping it at
    once must not fail on its primary key."""
    from flask_integrations.models import get_sync_table
    from flask_integrations.tracking import bump_generation

    metadata = sa.MetaData()
    table = get_sync_table(metadata)
    engine = sa.create_engine(shared_database_url)
    metadata.create_all(engine)
    errors: list[BaseException] = []
    try:
        first = engine.connect()
        first.begin()
        bump_generation(first, metadata)

        def second() -> None:
            try:
                with engine.begin() as connection:
                    bump_generation(connection, metadata)
            except BaseException as exc:  # reported below
                errors.append(exc)

        thread = threading.Thread(target=second)
        thread.start()
        thread.join(0.5)  # it waits for the first transaction's row
        first.commit()
        first.close()
        thread.join(10)
        assert errors == []
        with engine.connect() as connection:
            assert connection.execute(sa.select(table.c.generation)).scalar() == 2
    finally:
        metadata.drop_all(engine)
        engine.dispose()
