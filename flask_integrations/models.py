"""The configuration model and the table that keeps processes in sync.

:class:`IntegrationConfigMixin` holds the columns and behaviour of a stored
configuration. An app either maps its own subclass on its ``db.Model`` or lets
the extension build :func:`get_default_config_model` once per ``db``.

Every metadata that holds a configuration table also gets the
``flask_integrations_sync`` table (see :func:`get_sync_table`): one row whose
``generation`` is bumped in the same transaction as every configuration
change, so that every process sharing the database notices it.
"""

from __future__ import annotations

import copy
import typing as t
import weakref
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import (
    Mapped,
    Mapper,
    declared_attr,
    mapped_column,
    object_session,
)

from .conditions import ConfigConditionsMixin
from .crypto import reveal
from .errors import IntegrationError

if t.TYPE_CHECKING:  # pragma: no cover
    from flask_sqlalchemy import SQLAlchemy

    from .integration import Integration

#: Name of the table holding the generation counter.
SYNC_TABLE_NAME = "flask_integrations_sync"

#: Key of the generation row for configuration changes.
CONFIG_GENERATION_KEY = "configs"

#: Key in ``session.info`` of the configurations a session holds strongly.
HELD_KEY = "flask_integrations.held"

#: Key in a configuration instance's ``__dict__`` holding its JSON as loaded.
_LOADED_JSON = "_flask_integrations_loaded_json"


def utcnow() -> datetime:
    """Return the current time as a timezone-aware UTC datetime."""
    return datetime.now(timezone.utc)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timezone-aware datetime stored in UTC.

    SQLite hands back naive datetimes even for ``DateTime(timezone=True)``;
    this type makes every loaded value aware. Naive values being stored are
    taken as UTC.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(
        self, value: datetime | None, dialect: sa.Dialect
    ) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)

    def process_result_value(
        self, value: datetime | None, dialect: sa.Dialect
    ) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        # PostgreSQL answers in the session's time zone.
        return value.astimezone(timezone.utc)


def as_settings_dict(value: object) -> dict[str, t.Any]:
    """Return ``value`` if it is a dict, else an empty dict.

    Stored settings written by hand may be any JSON value; the framework
    treats anything but an object as "no settings" instead of failing.
    """
    return value if isinstance(value, dict) else {}


class IntegrationConfigMixin(ConfigConditionsMixin):
    """Columns and behaviour of a stored integration configuration.

    Map it on the app's own declarative base to add columns::

        class IntegrationConfig(IntegrationConfigMixin, db.Model):
            organization_id: Mapped[int | None]

    ``settings`` and ``extra_data`` are JSON objects. Changing them in place
    (``config.settings["url"] = ...``, even nested) is saved at the next
    commit; ``last_updated`` changes on every update.
    """

    __tablename__ = "flask_integrations_config"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    integration_id: Mapped[str] = mapped_column(sa.String(255), index=True)
    name: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
    # active_history: the value before a change is always known, so that
    # enabling a configuration again can reset its delivery state.
    enabled: Mapped[bool] = mapped_column(
        sa.Boolean, default=False, index=True, active_history=True
    )
    settings: Mapped[t.Any] = mapped_column(sa.JSON, default=dict)
    extra_data: Mapped[t.Any] = mapped_column(sa.JSON, default=dict)
    time_added: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_updated: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow
    )
    #: Incremented on every update; a stale update raises
    #: :class:`sqlalchemy.orm.exc.StaleDataError` (optimistic locking).
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1)
    #: The integration's ``settings_version`` the settings were written for.
    settings_version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, t.Any]:
        return {"version_id_col": t.cast(t.Any, cls).__table__.c.version}

    @property
    def integration(self) -> Integration:
        """The registered integration this configuration belongs to.

        :raises IntegrationNotRegisteredError: The integration is not
            registered (the configuration is an orphan).
        """
        from .manager import get_manager_for_model

        return get_manager_for_model(type(self)).get_integration(self.integration_id)

    def get(self, key: str, default: t.Any = None) -> t.Any:
        """Return a setting.

        The stored value wins, even when it is falsy; else the integration's
        ``default_settings``; else ``default``. Orphaned configurations fall
        back to ``default``.
        """
        settings = as_settings_dict(self.settings)
        if key in settings:
            return reveal(type(self), key, settings[key])
        return _integration_default(self, key, default)

    def set(self, key: str, value: t.Any) -> None:
        """Store a setting. The change is saved at the next commit."""
        settings = self.settings if isinstance(self.settings, dict) else {}
        self.settings = {**settings, key: value}

    def __str__(self) -> str:
        return f"{self.name} ({_integration_label(self)})"

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} id={self.id!r}"
            f" integration_id={self.integration_id!r} name={self.name!r}>"
        )


class _HasIntegration(t.Protocol):
    integration_id: str

    @property
    def integration(self) -> Integration: ...


def _integration_default(config: _HasIntegration, key: str, default: t.Any) -> t.Any:
    try:
        defaults = config.integration.default_settings
    except IntegrationError:
        return default
    return defaults.get(key, default)


def _integration_label(config: _HasIntegration) -> str:
    try:
        return str(config.integration.name or config.integration_id)
    except IntegrationError:
        return config.integration_id


#: JSON columns whose in-place changes are detected and saved.
JSON_ATTRIBUTES = ("settings", "extra_data")


def loaded_settings(config: IntegrationConfigMixin) -> dict[str, t.Any] | None:
    """Return a copy of ``config.settings`` as it was last loaded or saved.

    ``None`` when the instance has not been loaded from the database.
    """
    loaded = config.__dict__.get(_LOADED_JSON)
    if loaded is None or "settings" not in loaded:
        return None
    return copy.deepcopy(as_settings_dict(loaded["settings"]))


def remember_loaded_json(config: IntegrationConfigMixin) -> None:
    """Keep a copy of the JSON columns to detect in-place changes later."""
    config.__dict__[_LOADED_JSON] = {
        name: copy.deepcopy(config.__dict__[name])
        for name in JSON_ATTRIBUTES
        if name in config.__dict__
    }


def json_changed_in_place(config: IntegrationConfigMixin) -> list[str]:
    """Return the JSON columns that differ from the copy kept at load time."""
    loaded = config.__dict__.get(_LOADED_JSON)
    if loaded is None:
        return []
    return [
        name
        for name in JSON_ATTRIBUTES
        if name in loaded
        and name in config.__dict__
        and loaded[name] != config.__dict__[name]
    ]


_config_tables: set[sa.Table] = set()


def is_config_table(table: object) -> bool:
    """Whether ``table`` is the table of a configuration model."""
    return table in _config_tables


def get_sync_table(metadata: sa.MetaData) -> sa.Table:
    """Return the sync table of ``metadata``, defining it the first time."""
    table = metadata.tables.get(SYNC_TABLE_NAME)
    if table is not None:
        return table
    return sa.Table(
        SYNC_TABLE_NAME,
        metadata,
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("generation", sa.BigInteger, nullable=False, default=0),
    )


@event.listens_for(IntegrationConfigMixin, "instrument_class", propagate=True)
def _on_config_model_mapped(mapper: Mapper[t.Any], class_: type) -> None:
    from .delivery import get_log_table, get_state_table
    from .history import get_history_table

    table = mapper.local_table
    if isinstance(table, sa.Table):
        _config_tables.add(table)
        get_sync_table(table.metadata)
        get_history_table(table.metadata)
        get_log_table(table.metadata)
        get_state_table(table.metadata)


def _hold(target: IntegrationConfigMixin) -> None:
    # The session keeps unmodified instances weakly: an instance edited in
    # place (config.settings["a"]["b"] = 1) and then dropped would be
    # collected before the flush that notices the edit. Hold loaded
    # configurations until the session ends its transaction.
    session = object_session(target)
    if session is not None:
        session.info.setdefault(HELD_KEY, set()).add(target)


@event.listens_for(IntegrationConfigMixin, "load", propagate=True)
def _on_config_loaded(target: IntegrationConfigMixin, context: t.Any) -> None:
    remember_loaded_json(target)
    _hold(target)


@event.listens_for(IntegrationConfigMixin, "refresh", propagate=True)
def _on_config_refreshed(
    target: IntegrationConfigMixin, context: t.Any, attrs: t.Any
) -> None:
    remember_loaded_json(target)
    _hold(target)


_default_models: weakref.WeakKeyDictionary[SQLAlchemy, type[t.Any]] = (
    weakref.WeakKeyDictionary()
)


def get_default_config_model(db: SQLAlchemy) -> type[t.Any]:
    """Return the default configuration model of ``db``, built once per ``db``.

    It is mapped on ``db.Model``, so ``db.create_all()`` and Flask-Migrate
    see its table.
    """
    model = _default_models.get(db)
    if model is None:
        model = type(
            "IntegrationConfig",
            (IntegrationConfigMixin, db.Model),
            {
                "__module__": __name__,
                "__doc__": "The default stored integration configuration.",
            },
        )
        _default_models[db] = model
    return model
