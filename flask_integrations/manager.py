"""The :class:`IntegrationManager`: registry, enabled state, cache and sync.

A manager owns one instance of every registered integration class. It keeps
each integration enabled exactly while at least one enabled configuration of
it is stored, caches configuration queries as read-only snapshots, and
notices changes made by other processes through the generation row of the
sync table (:meth:`IntegrationManager.check_expired`).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import typing as t
import weakref
from collections import OrderedDict

import sqlalchemy as sa
from flask import Flask, current_app, has_app_context
from sqlalchemy.orm import Session, scoped_session

from .crypto import is_encrypted, rotate
from .errors import (
    IntegrationAlreadyRegisteredError,
    IntegrationError,
    IntegrationNotRegisteredError,
    IntegrationRegistrationError,
    InvalidConfigFilterError,
    SettingsMigrationError,
)
from .integration import Integration, resolve_integration_id, switched_off
from .models import CONFIG_GENERATION_KEY, as_settings_dict, get_sync_table
from .signals import config_deleted, config_saved
from .snapshot import ConfigSnapshot, frozen_defaults, snapshot_class
from .tracking import PendingChanges, bump_generation, has_uncommitted_changes
from .upgrades import migrate, needs_upgrade, save_upgrade
from .watch import ChangeWatcher, make_watcher

if t.TYPE_CHECKING:  # pragma: no cover
    from .hooks import TemplateHook

logger = logging.getLogger("flask_integrations")

SessionSource = Session | scoped_session[Session] | t.Callable[[], Session]
CacheKey = tuple[str | None, tuple[tuple[str, t.Any], ...]]
IntegrationRef = type[Integration] | Integration | str | None

#: The cache key filter of ``integration.get_configs()`` with no arguments.
_ENABLED_ONLY = (("enabled", ("bool", True)),)

_managers: weakref.WeakSet[IntegrationManager] = weakref.WeakSet()


class _LRUCache:
    """A small thread-unsafe LRU map; the manager's lock guards it."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[CacheKey, tuple[ConfigSnapshot, ...]] = OrderedDict()

    def get(self, key: CacheKey) -> tuple[ConfigSnapshot, ...] | None:
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def put(self, key: CacheKey, value: tuple[ConfigSnapshot, ...]) -> None:
        if self.size <= 0:
            return
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.size:
            self._data.popitem(last=False)

    def pop(self, key: CacheKey) -> None:
        self._data.pop(key, None)

    def clear(self) -> None:
        self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


def _freeze(value: t.Any) -> t.Any:
    if isinstance(value, dict):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple, set, frozenset)):
        return tuple(_freeze(v) for v in value)
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return (type(value).__name__, value)


class IntegrationManager:
    """Owns the registered integrations of one app and their configurations.

    :param config_model: The configuration model (a mapped subclass of
        :class:`IntegrationConfigMixin`).
    :param session: Where to read and write configurations: a session, a
        ``scoped_session`` or a callable returning a session. Defaults to the
        Flask-SQLAlchemy session of ``config_model``.
    :param app: The Flask app this manager serves, if any. Reads made outside
        an app context push one, and hooks act only in this app's context.
    :param cache_size: How many distinct configuration queries to cache.
    :param sync_interval: Seconds between two database checks of
        :meth:`check_expired`; ``0`` checks every time.
    :param watch_changes: Let :meth:`check_expired` learn the latest
        committed generation from a
        :class:`~flask_integrations.watch.ChangeWatcher` (no query on an
        unchanged SQLite file, one round trip elsewhere) instead of reading
        it through the session.
    """

    def __init__(
        self,
        config_model: type[t.Any],
        *,
        session: SessionSource | None = None,
        app: Flask | None = None,
        cache_size: int = 512,
        sync_interval: float = 0.0,
        watch_changes: bool = True,
    ) -> None:
        self.config_model = config_model
        self.enabled = True
        self.sync_interval = sync_interval
        #: Guards the registry, the cache and enabling/disabling.
        self.lock = threading.RLock()
        self._session_source = session
        self._app_ref = weakref.ref(app) if app is not None else None
        self._classes: dict[str, type[Integration]] = {}
        self._instances: dict[str, Integration] = {}
        self._cache = _LRUCache(cache_size)
        self._template_hooks: dict[str, list[TemplateHook]] = {}
        self._needs_recalc = True
        self._generation: int | None = None
        self._last_sync = 0.0
        self._sync_failing = False
        self.watch_changes = watch_changes
        self._watcher: ChangeWatcher | None = None
        self._columns = tuple(a.key for a in sa.inspect(config_model).column_attrs)
        #: The :class:`ConfigSnapshot` subclass for ``config_model``'s columns.
        self.snapshot_class = snapshot_class(self._columns)
        self.sync_table = get_sync_table(config_model.__table__.metadata)
        _managers.add(self)

    # -- the app and the session ------------------------------------------

    @property
    def app(self) -> Flask | None:
        """The Flask app this manager serves, or ``None``."""
        return self._app_ref() if self._app_ref is not None else None

    @property
    def app_gone(self) -> bool:
        """Whether the app this manager served has been garbage-collected
        (its hooks must then stay silent)."""
        return self._app_ref is not None and self._app_ref() is None

    @property
    def session(self) -> Session:
        """The session used to write configurations (for the current context)."""
        source = self._session_source
        if source is None:
            fsa = getattr(self.config_model, "__fsa__", None)
            if fsa is None:
                raise IntegrationError(
                    f"The model '{self.config_model.__name__}' is not a"
                    " Flask-SQLAlchemy model. Pass 'session=' to IntegrationManager."
                )
            return t.cast(Session, fsa.session())
        if isinstance(source, Session):
            return source
        return source()

    def engine(self) -> sa.Engine:
        """The engine the configurations live on (inside the app context)."""
        bind = self.session.get_bind(mapper=sa.inspect(self.config_model))
        return bind.engine if isinstance(bind, sa.Connection) else bind

    @contextlib.contextmanager
    def _app_context(self) -> t.Iterator[None]:
        app = self.app
        if app is None or (
            has_app_context() and current_app._get_current_object() is app  # type: ignore[attr-defined]
        ):
            yield
            return
        with app.app_context():
            yield

    @contextlib.contextmanager
    def _reading(self) -> t.Iterator[tuple[sa.Connection, bool, bool]]:
        """Yield a connection to read configurations, whether what it reads
        may be cached, and whether it is a connection of its own (outside
        any transaction of the caller).

        Inside an active transaction of the current session, read through it
        (never disturbing it). Otherwise use a connection of its own: outside
        a transaction that avoids opening one on the caller's session, and
        during a commit the session cannot run SQL at all.
        """
        with self._app_context():
            session = self.session
            mapper = sa.inspect(self.config_model)
            transaction = session.get_transaction()
            if transaction is not None and transaction.is_active:
                connection = session.connection(bind_arguments={"mapper": mapper})
                yield connection, not has_uncommitted_changes(session), False
            else:
                bind = session.get_bind(mapper=mapper)
                if isinstance(bind, sa.Connection):
                    yield bind, True, False
                    return
                with bind.connect() as connection:
                    yield connection, True, True

    # -- registry -----------------------------------------------------------

    def register_integration_class(self, cls: type[Integration]) -> Integration:
        """Register an integration class and return its instance.

        The integration is enabled at the next :meth:`check_expired` if an
        enabled configuration of it exists.

        :raises IntegrationRegistrationError: ``cls`` is not an
            :class:`Integration` subclass, its id is invalid, or it failed to
            construct.
        :raises IntegrationAlreadyRegisteredError: ``cls``, or another class
            with its id, is already registered.
        """
        if not (isinstance(cls, type) and issubclass(cls, Integration)) or (
            cls is Integration
        ):
            raise IntegrationRegistrationError(
                f"{cls!r} is not a subclass of 'Integration' and cannot be"
                " registered as an integration."
            )
        with self.lock:
            integration_id = resolve_integration_id(cls)
            existing = self._classes.get(integration_id)
            if existing is cls:
                raise IntegrationAlreadyRegisteredError(
                    integration_id,
                    f"The integration class '{cls.__name__}' is already registered"
                    f" (id '{integration_id}').",
                )
            if existing is not None:
                raise IntegrationAlreadyRegisteredError(integration_id)
            try:
                instance = cls(self)
            except Exception as exc:
                raise IntegrationRegistrationError(
                    f"The integration '{cls.__name__}' could not be constructed: {exc}"
                ) from exc
            self._classes[integration_id] = cls
            self._instances[integration_id] = instance
            self._needs_recalc = True
            # Cached snapshots of its (until now orphaned) configurations
            # lack its default settings.
            self._forget_cached()
        return instance

    def unregister_integration_class(self, cls: type[Integration]) -> None:
        """Unregister an integration class, disabling it first if enabled.

        Its stored configurations stay; they become orphans.

        :raises IntegrationNotRegisteredError: ``cls`` is not registered.
        """
        with self.lock:
            integration_id = next(
                (i for i, c in self._classes.items() if c is cls), None
            )
            if integration_id is None:
                raise IntegrationNotRegisteredError(
                    getattr(cls, "integration_id", None)
                )
            self._forget_cached()
            instance = self._instances.pop(integration_id)
            del self._classes[integration_id]
            instance.disable_integration()

    def get_integration_classes(self) -> list[type[Integration]]:
        """Return the registered integration classes, in registration order."""
        with self.lock:
            return list(self._classes.values())

    def get_integration(self, integration_id: str) -> Integration:
        """Return the instance registered under ``integration_id``.

        :raises IntegrationNotRegisteredError: No such integration.
        """
        try:
            return self._instances[integration_id]
        except KeyError:
            raise IntegrationNotRegisteredError(integration_id) from None

    def get_integrations(self) -> list[Integration]:
        """Return the registered integration instances, in registration order."""
        with self.lock:
            return list(self._instances.values())

    def get_failed_integrations(self) -> list[Integration]:
        """Return the integrations whose last :meth:`~Integration.initialize`
        raised."""
        return [i for i in self.get_integrations() if i.failure is not None]

    # -- configurations -------------------------------------------------------

    def get_integration_configs(
        self, integration_cls: IntegrationRef = None, **filter_kwargs: t.Any
    ) -> list[ConfigSnapshot]:
        """Return stored configurations (enabled or not) matching the filters.

        Each distinct filter is cached (in any argument order) until a
        configuration changes.

        :param integration_cls: Only configurations of this integration.
        :param filter_kwargs: Column values to match, e.g. ``enabled=True``.
        :return: Read-only snapshots, ordered by id.
        :raises InvalidConfigFilterError: A filter names an unknown column.
        """
        key = self._cache_key(integration_cls, filter_kwargs)
        with self.lock:
            cached = self._cache.get(key)
            if cached is not None:
                return list(cached)
            with self._reading() as (connection, cacheable, separate):
                if cacheable and not separate:
                    # The caller's transaction may see an older snapshot
                    # (REPEATABLE READ): cache only what matches what this
                    # process knows.
                    generation = self._read_generation(connection)
                    cacheable = generation == self._generation
                rows = connection.execute(self._select(key[0], filter_kwargs))
                values = [dict(row) for row in rows.mappings()]
            # Saving in a transaction of its own is only safe when the caller
            # has none open (an in-memory SQLite connection is shared).
            values = self._upgrade_settings(values, save=separate)
            defaults: dict[str, dict[str, t.Any]] = {}
            snapshots = tuple(
                self.snapshot_class(self, v, self._defaults_for(v, defaults))
                for v in values
            )
            if cacheable:
                self._cache.put(key, snapshots)
                instance = self._instances.get(key[0] or "")
                if (
                    instance is not None
                    and key[1] == _ENABLED_ONLY
                    and self._cache.size > 0
                ):
                    # Integration.get_configs() reads this without the lock.
                    instance._enabled_configs = snapshots
            return list(snapshots)

    def _defaults_for(
        self, values: dict[str, t.Any], known: dict[str, dict[str, t.Any]]
    ) -> dict[str, t.Any]:
        """The read-only default settings of a row's integration, computed
        once per integration in ``known``."""
        integration_id = values.get("integration_id") or ""
        if integration_id not in known:
            known[integration_id] = frozen_defaults(self, integration_id)
        return known[integration_id]

    def _upgrade_settings(
        self, rows: list[dict[str, t.Any]], save: bool
    ) -> list[dict[str, t.Any]]:
        """Upgrade rows written by an older ``settings_version``; leave out
        (and log) those that cannot be upgraded."""
        result = []
        for row in rows:
            integration = self._instances.get(row.get("integration_id", ""))
            if integration is None or not needs_upgrade(integration, row):
                result.append(row)
                continue
            try:
                upgraded = migrate(integration, row)
            except SettingsMigrationError:
                logger.exception("Leaving out a configuration with old settings.")
                continue
            if save:
                self._save_upgrade(row, upgraded)
            result.append(upgraded)
        return result

    def _save_upgrade(self, before: dict[str, t.Any], after: dict[str, t.Any]) -> None:
        with self._app_context():
            try:
                save_upgrade(self.engine(), self.config_model, before, after)
            except sa.exc.SQLAlchemyError:
                logger.warning(
                    "Could not save the upgraded settings of configuration %s;"
                    " will retry.",
                    before.get("id"),
                    exc_info=True,
                )

    def get_config(self, config_id: t.Any) -> t.Any:
        """Return the configuration ``config_id`` as a live model instance to
        edit, or ``None`` if it does not exist.

        Settings written by an older ``settings_version`` are upgraded on the
        instance (saved with it at the next commit).

        :raises SettingsMigrationError: They cannot be upgraded.
        """
        config = self.session.get(self.config_model, config_id)
        if config is not None:
            self.upgrade_instance(config)
        return config

    def upgrade_instance(self, config: t.Any) -> None:
        """Upgrade a live configuration's settings to its integration's
        ``settings_version``, in memory.

        :raises SettingsMigrationError: They cannot be upgraded.
        """
        integration = self._instances.get(config.integration_id)
        values = {
            "id": config.id,
            "settings": config.settings,
            "settings_version": config.settings_version,
        }
        if integration is None or not needs_upgrade(integration, values):
            return
        upgraded = migrate(integration, values)
        config.settings = upgraded["settings"]
        config.settings_version = upgraded["settings_version"]

    def clear_configs_cache(
        self, integration_cls: IntegrationRef = None, **filter_kwargs: t.Any
    ) -> None:
        """Forget the cached result of exactly this query."""
        key = self._cache_key(integration_cls, filter_kwargs)
        with self.lock:
            self._cache.pop(key)
            instance = self._instances.get(key[0] or "")
            if instance is not None and key[1] == _ENABLED_ONLY:
                instance._enabled_configs = None

    def clear_all_configs_cache(self) -> None:
        """Forget every cached configuration query."""
        with self.lock:
            self._forget_cached()

    def _forget_cached(self) -> None:
        """Empty the cache, including each integration's copy of its enabled
        configurations (the manager's lock is held)."""
        self._cache.clear()
        for instance in self._instances.values():
            instance._enabled_configs = None

    def _cache_key(
        self, integration_cls: IntegrationRef, filter_kwargs: dict[str, t.Any]
    ) -> CacheKey:
        for name in filter_kwargs:
            if name not in self._columns:
                raise InvalidConfigFilterError(name, self.config_model)
        if integration_cls is None or isinstance(integration_cls, str):
            integration_id = integration_cls
        else:
            integration_id = integration_cls.integration_id
        frozen = tuple(sorted((k, _freeze(v)) for k, v in filter_kwargs.items()))
        return integration_id, frozen

    def _select(
        self, integration_id: str | None, filter_kwargs: dict[str, t.Any]
    ) -> sa.Select[t.Any]:
        model = self.config_model
        stmt = sa.select(*(getattr(model, k).label(k) for k in self._columns))
        if integration_id is not None:
            stmt = stmt.where(model.integration_id == integration_id)
        for name, value in filter_kwargs.items():
            stmt = stmt.where(getattr(model, name) == value)
        return stmt.order_by(model.id)

    # -- enabled state and sync -------------------------------------------

    def is_expired(self) -> bool:
        """Whether this manager's view of the configurations is out of date:
        a local change is pending, or another process changed the generation.
        An unreachable database counts as expired."""
        if self._needs_recalc:
            return True
        try:
            with self._reading() as (connection, _, _):
                return self._read_generation(connection) != self._generation
        except sa.exc.SQLAlchemyError:
            return True

    def check_expired(self) -> None:
        """Catch up with configuration changes made anywhere.

        Runs before each request, and at the start of dispatches, jobs and
        CLI commands. When expired, clears the cache and enables or disables
        integrations to match the stored configurations. A database error is
        logged and retried at the next call.

        The manager's :class:`~flask_integrations.watch.ChangeWatcher` reads
        the latest committed generation cheaply; only while it differs from
        the one applied last (or the watcher cannot tell) is the counter read
        through the session and the state reloaded, so a check usually costs
        no query.
        """
        if not self.enabled:
            return
        watcher = self._watcher
        if watcher is not None and not self._needs_recalc and not self.sync_interval:
            latest = watcher.generation()
            if latest is not None and latest == self._generation:
                return  # the common case: nothing committed since the reload
        now = time.monotonic()
        if (
            not self._needs_recalc
            and self.sync_interval > 0
            and now - self._last_sync < self.sync_interval
        ):
            return
        if watcher is None:
            # Connects it now, so the next check can take the short way.
            self._get_watcher().generation()
        try:
            if self.is_expired():
                self.reload()
            self._last_sync = now
            if self._sync_failing:
                logger.info("Integration configurations are reachable again.")
                self._sync_failing = False
        except sa.exc.SQLAlchemyError:
            self._needs_recalc = True
            if not self._sync_failing:
                logger.warning(
                    "Could not read integration configurations; will retry.",
                    exc_info=True,
                )
            self._sync_failing = True

    def _get_watcher(self) -> ChangeWatcher:
        watcher = self._watcher
        if watcher is None:
            with self.lock:
                if self._watcher is None:
                    self._watcher = ChangeWatcher()
                    if self.watch_changes:
                        with self._app_context():
                            self._watcher = make_watcher(
                                self.engine(), self._generation_query()
                            )
                        weakref.finalize(self, self._watcher.close)
                watcher = self._watcher
        return watcher

    def reload(self) -> None:
        """Clear the cache and re-evaluate which integrations are enabled.

        Inside a transaction holding uncommitted configuration changes, only
        the cache is cleared: the evaluation waits for the commit.
        """
        model = self.config_model
        with self.lock:
            with self._reading() as (connection, committed_view, _):
                if not committed_view:
                    self._forget_cached()
                    self._needs_recalc = True
                    return
                generation = self._read_generation(connection)
                enabled_ids = set(
                    connection.execute(
                        sa.select(model.integration_id)
                        .where(model.enabled.is_(True))
                        .distinct()
                    ).scalars()
                )
            self._forget_cached()
            self._generation = generation
            self._needs_recalc = False
            for integration_id, instance in list(self._instances.items()):
                if integration_id in enabled_ids and not switched_off(self):
                    instance.enable_integration()
                else:
                    instance.disable_integration()

    def _read_generation(self, connection: sa.Connection) -> int:
        return int(connection.execute(self._generation_query()).scalar() or 0)

    def _generation_query(self) -> sa.Select[t.Any]:
        table = self.sync_table
        return sa.select(table.c.generation).where(
            table.c.name == CONFIG_GENERATION_KEY
        )

    def mark_changed(self) -> None:
        """Announce configuration changes made with raw SQL.

        Inside an active transaction of the current session, the generation
        is bumped in that transaction (and acted on after its commit);
        otherwise at once, in a transaction of its own.
        """
        with self._app_context():
            session = self.session
            transaction = session.get_transaction()
            mapper = sa.inspect(self.config_model)
            table = self.config_model.__table__
            if transaction is not None and transaction.is_active:
                connection = session.connection(bind_arguments={"mapper": mapper})
                bump_generation(connection, table.metadata)
                session.info.setdefault(
                    "flask_integrations.changes", PendingChanges()
                ).tables.add(table)
                return
            with self.engine().begin() as own_connection:
                bump_generation(own_connection, table.metadata)
        with self.lock:
            self._forget_cached()
            self._needs_recalc = True

    def handle_commit(self, changes: PendingChanges) -> None:
        """Act on configuration changes this process just committed: clear
        the cache, re-evaluate enabled integrations, send the signals."""
        with self.lock:
            self._forget_cached()
            self._needs_recalc = True
            try:
                self.reload()
            except sa.exc.SQLAlchemyError:
                logger.warning(
                    "Could not re-evaluate integrations after a commit;"
                    " will retry at the next request.",
                    exc_info=True,
                )
        table = self.config_model.__table__
        fresh = self._fresh_values(
            [c.values["id"] for c in changes.events if c.stale and c.table is table]
        )
        for change in changes.events:
            if change.table is not table:
                continue
            values = change.values
            if change.stale:
                if values["id"] not in fresh:
                    continue
                values = fresh[values["id"]]
            snapshot = self.snapshot_class(self, values)
            if change.deleted:
                config_deleted.send(self, config=snapshot)
            else:
                config_saved.send(self, config=snapshot, created=change.created)

    def _fresh_values(self, ids: list[t.Any]) -> dict[t.Any, dict[str, t.Any]]:
        """Read rows by id, after a commit (for bulk-update signals)."""
        if not ids:
            return {}
        model = self.config_model
        try:
            with self._reading() as (connection, _, _):
                rows = connection.execute(
                    sa.select(
                        *(getattr(model, k).label(k) for k in self._columns)
                    ).where(model.id.in_(ids))
                ).mappings()
                return {row["id"]: dict(row) for row in rows}
        except sa.exc.SQLAlchemyError:
            logger.warning("Could not read updated configurations.", exc_info=True)
            return {}

    def reencrypt_secrets(self) -> int:
        """Re-encrypt every stored secret with the current key (after a key
        rotation), in one transaction.

        :return: How many configurations were rewritten.
        :raises SecretDecryptionError: A secret cannot be decrypted with any
            configured key; nothing is changed.
        """
        with self._app_context():
            app = current_app._get_current_object()  # type: ignore[attr-defined]
            session = self.session
            changed = 0
            try:
                for config in session.scalars(sa.select(self.config_model)):
                    settings = as_settings_dict(config.settings)
                    encrypted = [k for k, v in settings.items() if is_encrypted(v)]
                    if encrypted:
                        config.settings = {
                            **settings,
                            **{k: rotate(app, settings[k]) for k in encrypted},
                        }
                        changed += 1
                session.commit()
            except Exception:
                session.rollback()
                raise
            return changed

    # -- template hooks -----------------------------------------------------

    def add_template_hook(self, hook: TemplateHook) -> None:
        """Make ``hook`` render at its point (called by :class:`TemplateHook`)."""
        with self.lock:
            self._template_hooks.setdefault(hook.point, []).append(hook)

    def remove_template_hook(self, hook: TemplateHook) -> None:
        """Stop rendering ``hook`` (called by :class:`TemplateHook`)."""
        with self.lock:
            hooks = self._template_hooks.get(hook.point, [])
            if hook in hooks:
                hooks.remove(hook)

    def get_template_hooks(self, point: str) -> list[TemplateHook]:
        """Return the live template hooks of ``point``."""
        with self.lock:
            return list(self._template_hooks.get(point, ()))

    # -- shutdown -------------------------------------------------------------

    def shutdown(self) -> None:
        """Disable every integration and empty the registry."""
        with self.lock:
            for instance in list(self._instances.values()):
                instance.disable_integration()
            self._forget_cached()
            self._instances.clear()
            self._classes.clear()
            self._needs_recalc = False
            self.enabled = False
            if self._watcher is not None:
                self._watcher.close()
        _managers.discard(self)


def get_managers() -> list[IntegrationManager]:
    """Return every live manager of this process."""
    return [m for m in _managers if m.enabled]


def get_manager_for_model(model: type[t.Any]) -> IntegrationManager:
    """Return the manager handling configurations of ``model``.

    The current app's manager wins; outside an app, the only live manager of
    that model.

    :raises IntegrationError: No manager, or several, handle it.
    """
    if has_app_context():
        state = current_app.extensions.get("integrations")
        if state is not None and issubclass(model, state.manager.config_model):
            return t.cast(IntegrationManager, state.manager)
    candidates = [m for m in get_managers() if issubclass(model, m.config_model)]
    if len(candidates) == 1:
        return candidates[0]
    raise IntegrationError(
        f"Cannot tell which integration manager handles '{model.__name__}'"
        f" ({len(candidates)} candidates). Use it inside the app's context."
    )


def notify_committed(changes: PendingChanges) -> None:
    """Hand committed changes to the managers of the changed tables.

    Inside an app context only that app's manager is told directly; the
    others notice through the generation row at their next check.
    """
    managers = [m for m in get_managers() if m.config_model.__table__ in changes.tables]
    if has_app_context():
        state = current_app.extensions.get("integrations")
        if state is not None and state.manager in managers:
            managers = [state.manager]
    for manager in managers:
        manager.handle_commit(changes)
