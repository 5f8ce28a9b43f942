"""The history of every configuration: who changed what, and when.

Each create, edit, enable, disable and delete of a configuration — from the
admin pages, the CLI or code — adds a row to ``flask_integrations_history``
in the same transaction. Secret settings are redacted.
"""

from __future__ import annotations

import contextlib
import contextvars
import typing as t

import sqlalchemy as sa
from flask import current_app, has_app_context, has_request_context
from werkzeug.utils import import_string

from .models import UTCDateTime, as_settings_dict, loaded_settings, utcnow

HISTORY_TABLE_NAME = "flask_integrations_history"

#: Shown instead of a secret's value.
REDACTED = "[redacted]"

#: Setting names treated as secret when the integration is not registered.
_SECRET_WORDS = ("secret", "password", "token", "key", "credential")

#: Columns whose changes are not worth a history entry of their own.
_IGNORED_COLUMNS = frozenset(
    {
        "id",
        "last_updated",
        "time_added",
        "settings",
        "extra_data",
        "version",
        "settings_version",
    }
)

_actor_override: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "flask_integrations_actor", default=None
)


def get_history_table(metadata: sa.MetaData) -> sa.Table:
    """Return the history table of ``metadata``, defining it the first time."""
    table = metadata.tables.get(HISTORY_TABLE_NAME)
    if table is not None:
        return table
    return sa.Table(
        HISTORY_TABLE_NAME,
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("config_id", sa.Integer, nullable=False, index=True),
        sa.Column("integration_id", sa.String(255), nullable=False),
        sa.Column("config_name", sa.String(255), nullable=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(255), nullable=True),
        sa.Column("time", UTCDateTime, nullable=False, default=utcnow),
        sa.Column("changes", sa.JSON, nullable=False, default=dict),
    )


@contextlib.contextmanager
def acting_as(actor: str) -> t.Iterator[None]:
    """Record changes made inside the block as made by ``actor``
    (e.g. ``"cli"``)."""
    token = _actor_override.set(actor)
    try:
        yield
    finally:
        _actor_override.reset(token)


def current_actor() -> str | None:
    """Who is making the change: :func:`acting_as`, else
    ``INTEGRATIONS_ACTOR``, else Flask-Login's ``current_user``."""
    override = _actor_override.get()
    if override is not None:
        return override
    if not has_app_context():
        return None
    actor = current_app.config.get("INTEGRATIONS_ACTOR")
    if isinstance(actor, str):
        actor = import_string(actor.replace(":", "."))
    if callable(actor):
        value = actor()
        return None if value is None else str(value)[:255]
    return _flask_login_actor()


def _flask_login_actor() -> str | None:
    if not has_request_context():
        return None
    try:
        from flask_login import current_user
    except ImportError:  # pragma: no cover - Flask-Login not installed
        return None
    if current_app.extensions.get("login_manager") is None and not hasattr(
        current_app, "login_manager"
    ):
        return None
    user = current_user
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    name = getattr(user, "username", None) or getattr(user, "email", None)
    return str(name or user.get_id())[:255]


def secret_names(config: t.Any) -> set[str] | None:
    """Names of the secret settings of ``config``'s integration, or ``None``
    when the integration is not registered."""
    from .errors import IntegrationError

    try:
        form_cls = config.integration.config_form_cls
    except IntegrationError:
        return None
    return set(form_cls.secret_names_for_class())


def is_secret_setting(name: str, secrets: set[str] | None) -> bool:
    """Whether the setting ``name`` is secret: one of ``secrets`` (the form's
    secret fields), or, when those are unknown, a name that looks secret."""
    if secrets is not None:
        return name in secrets
    return any(word in name.lower() for word in _SECRET_WORDS)


def describe_change(
    config: t.Any, created: bool, deleted: bool
) -> tuple[str, dict[str, t.Any]] | None:
    """Return ``(action, changes)`` for a configuration about to be flushed,
    or ``None`` when nothing worth recording changed."""
    if deleted:
        return "deleted", {}
    state = sa.inspect(config)
    secrets = secret_names(config)
    changes: dict[str, t.Any] = {}
    for attr in state.mapper.column_attrs:
        if attr.key in _IGNORED_COLUMNS:
            continue
        history = state.attrs[attr.key].history
        if created:
            value = state.dict.get(attr.key)
            if value is not None and attr.key != "integration_id":
                changes[attr.key] = {"old": None, "new": _jsonable(value)}
        elif history.has_changes():
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            if old != new:
                changes[attr.key] = {"old": _jsonable(old), "new": _jsonable(new)}
    old_settings = {} if created else (loaded_settings(config) or {})
    new_settings = as_settings_dict(config.settings)
    for name in sorted(set(old_settings) | set(new_settings)):
        old, new = old_settings.get(name), new_settings.get(name)
        if old == new:
            continue
        if is_secret_setting(name, secrets):
            old = REDACTED if old not in (None, "") else None
            new = REDACTED if new not in (None, "") else None
        changes[f"settings.{name}"] = {"old": old, "new": new}
    if created:
        return "created", changes
    if not changes:
        return None
    if set(changes) == {"enabled"}:
        return ("enabled" if changes["enabled"]["new"] else "disabled"), changes
    return "updated", changes


def _jsonable(value: t.Any) -> t.Any:
    if value is None or isinstance(value, (bool, int, float, str, list, dict)):
        return value
    return str(value)


def record(
    connection: sa.Connection,
    metadata: sa.MetaData,
    config: t.Any,
    values: dict[str, t.Any],
    action: str,
    changes: dict[str, t.Any],
    actor: str | None,
) -> None:
    """Insert one history row on ``connection`` (the change's transaction)."""
    connection.execute(
        sa.insert(get_history_table(metadata)).values(
            config_id=values.get("id"),
            integration_id=values.get("integration_id") or config.integration_id,
            config_name=values.get("name"),
            action=action,
            actor=actor,
            time=utcnow(),
            changes=changes,
        )
    )


def get_history(config: t.Any, limit: int = 50) -> list[sa.RowMapping]:
    """Return the newest history entries of ``config``."""
    from .admin import get_state

    manager = get_state().manager
    table = get_history_table(manager.config_model.__table__.metadata)
    return list(
        manager.session.execute(
            sa.select(table)
            .where(table.c.config_id == config.id)
            .order_by(table.c.time.desc(), table.c.id.desc())
            .limit(limit)
        ).mappings()
    )
