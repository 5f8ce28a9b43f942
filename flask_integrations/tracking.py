"""Follow configuration changes through SQLAlchemy sessions.

Listeners on every :class:`~sqlalchemy.orm.Session` notice configurations
created, changed or deleted by the unit of work, and bulk ``update()`` /
``delete()`` statements on a configuration table. In the same transaction
they bump the generation row of the sync table; after the commit they tell
the managers, which clear their caches, re-evaluate which integrations are
enabled and send :data:`config_saved` / :data:`config_deleted`. A rollback
discards what was collected.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction
from sqlalchemy.orm.attributes import flag_modified

from .crypto import app_for_model, encrypt, is_encrypted
from .errors import IntegrationError
from .history import current_actor, describe_change, secret_names
from .history import record as record_history
from .models import (
    CONFIG_GENERATION_KEY,
    HELD_KEY,
    IntegrationConfigMixin,
    get_sync_table,
    is_config_table,
    json_changed_in_place,
    remember_loaded_json,
)

_INFO_KEY = "flask_integrations.changes"


@dataclass
class ConfigEvent:
    """One configuration change to announce after the commit."""

    table: sa.Table
    values: dict[str, t.Any]
    created: bool = False
    deleted: bool = False
    #: The savepoint the change was flushed in, if any.
    savepoint: SessionTransaction | None = None
    #: ``values`` were read before a bulk update: read them again after
    #: the commit.
    stale: bool = False


@dataclass
class FlushedConfig:
    """A configuration in the flush in progress, with its history entry."""

    config: IntegrationConfigMixin
    created: bool
    deleted: bool
    history: tuple[str, dict[str, t.Any]] | None
    actor: str | None
    #: Enabled by this flush after being disabled.
    reenabled: bool = False


@dataclass
class PendingChanges:
    """What a session changed in configuration tables, not yet committed."""

    tables: set[sa.Table] = field(default_factory=set)
    events: list[ConfigEvent] = field(default_factory=list)
    #: Configurations of the flush in progress.
    in_flush: list[FlushedConfig] = field(default_factory=list)


def pending_changes(session: Session) -> PendingChanges | None:
    """Return the uncommitted configuration changes written by ``session``."""
    return session.info.get(_INFO_KEY)


def has_uncommitted_changes(session: Session) -> bool:
    """Whether ``session`` has written configuration changes not yet committed."""
    changes = pending_changes(session)
    return changes is not None and bool(changes.tables)


def bump_generation(connection: sa.Connection, metadata: sa.MetaData) -> None:
    """Increment the configuration generation on ``connection``'s transaction."""
    table = get_sync_table(metadata)
    result = connection.execute(
        sa.update(table)
        .where(table.c.name == CONFIG_GENERATION_KEY)
        .values(generation=table.c.generation + 1)
    )
    if result.rowcount == 0:
        # The first change ever: create the row. Two first changes may race;
        # where the database can, the loser waits for the winner's row and
        # then increments it.
        if connection.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            connection.execute(
                pg_insert(table)
                .values(name=CONFIG_GENERATION_KEY, generation=0)
                .on_conflict_do_nothing()
            )
            connection.execute(
                sa.update(table)
                .where(table.c.name == CONFIG_GENERATION_KEY)
                .values(generation=table.c.generation + 1)
            )
        else:
            connection.execute(
                sa.insert(table).values(name=CONFIG_GENERATION_KEY, generation=1)
            )


def _column_values(config: IntegrationConfigMixin) -> dict[str, t.Any]:
    state = sa.inspect(config)
    loaded = state.dict
    return {
        attr.key: loaded[attr.key]
        for attr in state.mapper.column_attrs
        if attr.key in loaded
    }


def _flag_json_changed_in_place(session: Session) -> None:
    for obj in list(session.identity_map.values()):
        if isinstance(obj, IntegrationConfigMixin):
            for name in json_changed_in_place(obj):
                flag_modified(obj, name)


def _table_of(obj: IntegrationConfigMixin) -> sa.Table:
    return t.cast(sa.Table, sa.inspect(obj).mapper.local_table)


def _encrypt_secrets(config: IntegrationConfigMixin) -> None:
    """Store the secret settings of ``config`` encrypted."""
    settings = config.settings
    if not isinstance(settings, dict):
        return
    names = secret_names(config) or set()
    clear = [
        n
        for n in names
        if settings.get(n) not in (None, "") and not is_encrypted(settings[n])
    ]
    if not clear:
        return
    app = app_for_model(type(config))
    config.settings = {
        **settings,
        **{name: encrypt(app, settings[name]) for name in clear},
    }


def _stamp_settings_version(config: IntegrationConfigMixin) -> None:
    """New configurations are written for their integration's current
    settings version."""
    if config.settings_version is not None:
        return
    try:
        config.settings_version = config.integration.settings_version
    except IntegrationError:
        pass


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, flush_context: t.Any, instances: t.Any) -> None:
    _flag_json_changed_in_place(session)
    for obj in [*session.new, *session.dirty]:
        if isinstance(obj, IntegrationConfigMixin):
            _encrypt_secrets(obj)
    touched: list[tuple[IntegrationConfigMixin, bool, bool]] = []
    for obj in session.new:
        if isinstance(obj, IntegrationConfigMixin):
            _stamp_settings_version(obj)
            touched.append((obj, True, False))
    for obj in session.dirty:
        if isinstance(obj, IntegrationConfigMixin) and session.is_modified(obj):
            touched.append((obj, False, False))
    for obj in session.deleted:
        if isinstance(obj, IntegrationConfigMixin):
            touched.append((obj, False, True))
    if not touched:
        return
    changes = session.info.setdefault(_INFO_KEY, PendingChanges())
    actor = current_actor()
    for obj, created, deleted in touched:
        changes.in_flush.append(
            FlushedConfig(
                obj,
                created,
                deleted,
                describe_change(obj, created, deleted),
                actor,
                reenabled=not created and not deleted and _reenabled(obj),
            )
        )


def _reenabled(config: IntegrationConfigMixin) -> bool:
    """Whether ``config`` goes from disabled to enabled in this flush."""
    history = sa.inspect(config).attrs.enabled.history
    return (
        bool(history.added)
        and history.added[0] is True
        and not any(history.deleted)
        and bool(history.deleted)
    )


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, flush_context: t.Any) -> None:
    changes = pending_changes(session)
    if changes is None or not changes.in_flush:
        return
    bumped: set[int] = set()
    savepoint = session.get_nested_transaction()
    for flushed in changes.in_flush:
        obj = flushed.config
        table = _table_of(obj)
        values = _column_values(obj)
        changes.tables.add(table)
        changes.events.append(
            ConfigEvent(
                table,
                values,
                created=flushed.created,
                deleted=flushed.deleted,
                savepoint=savepoint,
            )
        )
        connection = session.connection(
            bind_arguments={"mapper": sa.inspect(obj).mapper}
        )
        if id(table.metadata) not in bumped:
            bumped.add(id(table.metadata))
            bump_generation(connection, table.metadata)
        if flushed.history is not None:
            action, details = flushed.history
            record_history(
                connection, table.metadata, obj, values, action, details, flushed.actor
            )
        if flushed.reenabled:
            _reset_delivery_state(connection, table.metadata, values["id"])
        if not flushed.deleted:
            remember_loaded_json(obj)
    changes.in_flush.clear()


def _reset_delivery_state(
    connection: sa.Connection, metadata: sa.MetaData, config_id: t.Any
) -> None:
    """A configuration enabled again starts afresh: no failure count, pause
    or disabled reason left from before (in the same transaction, whoever
    enabled it: the admin pages, the CLI or code)."""
    from .delivery import get_state_table

    table = get_state_table(metadata)
    connection.execute(
        sa.update(table)
        .where(table.c.config_id == config_id)
        .values(disabled_reason=None, consecutive_failures=0, paused_until=None)
    )


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete):
        return
    table = _bulk_target(state)
    if table is None:
        return
    changes = state.session.info.setdefault(_INFO_KEY, PendingChanges())
    changes.tables.add(table)
    connection = state.session.connection(bind_arguments=state.bind_arguments)
    # Read the rows the statement is about to touch, so that the signals can
    # name them after the commit.
    where = getattr(state.statement, "whereclause", None)
    query = sa.select(table) if where is None else sa.select(table).where(where)
    savepoint = state.session.get_nested_transaction()
    for row in connection.execute(query).mappings():
        changes.events.append(
            ConfigEvent(
                table,
                dict(row),
                deleted=state.is_delete,
                savepoint=savepoint,
                stale=state.is_update,
            )
        )
    bump_generation(connection, table.metadata)


def _bulk_target(state: ORMExecuteState) -> sa.Table | None:
    for mapper in state.all_mappers:
        if issubclass(mapper.class_, IntegrationConfigMixin):
            return t.cast(sa.Table, mapper.local_table)
    table = getattr(state.statement, "table", None)
    return table if is_config_table(table) else None


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    # Nested-only JSON edits mark nothing dirty, and a clean session skips
    # before_flush entirely: flag them here so the commit's flush saves them.
    _flag_json_changed_in_place(session)


@event.listens_for(Session, "after_transaction_end")
def _release_held(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(HELD_KEY, None)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    root = session.get_transaction()
    if root is not None and root.is_active:
        # A savepoint was released; the outer transaction may still roll back.
        return
    changes = session.info.pop(_INFO_KEY, None)
    if changes is None or not changes.tables:
        return
    from .manager import notify_committed

    notify_committed(changes)


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous: SessionTransaction) -> None:
    changes = pending_changes(session)
    if changes is None:
        return
    if previous.nested:
        # What the savepoint held is gone; keep the tables so the commit of
        # the outer transaction still re-evaluates.
        changes.events = [
            e for e in changes.events if not _within(e.savepoint, previous)
        ]
        changes.in_flush.clear()
        return
    session.info.pop(_INFO_KEY, None)


def _within(
    transaction: SessionTransaction | None, ancestor: SessionTransaction
) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False
