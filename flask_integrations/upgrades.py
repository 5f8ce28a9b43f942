"""Upgrading stored settings written by an older version of an integration.

An integration that changes the shape of its settings raises its
``settings_version`` and implements :meth:`Integration.migrate_settings`.
Configurations are upgraded lazily, when the manager reads them: the
snapshot gets the new settings at once, and the upgrade is saved in a short
transaction of its own (never inside the caller's).
"""

from __future__ import annotations

import copy
import logging
import typing as t

import sqlalchemy as sa

from .errors import SettingsMigrationError
from .tracking import bump_generation

if t.TYPE_CHECKING:  # pragma: no cover
    from .integration import Integration

logger = logging.getLogger("flask_integrations")


def stored_version(values: t.Mapping[str, t.Any]) -> int:
    """The settings version a row was written with (1 when unknown)."""
    return int(values.get("settings_version") or 1)


def needs_upgrade(integration: Integration, values: t.Mapping[str, t.Any]) -> bool:
    """Whether a row's settings are older than the integration's version."""
    return stored_version(values) < integration.settings_version


def migrate(
    integration: Integration, values: t.Mapping[str, t.Any]
) -> dict[str, t.Any]:
    """Return the row's values with settings upgraded to the current version.

    :raises SettingsMigrationError: The integration's hook raised or did not
        return a dict.
    """
    settings = values.get("settings")
    settings = copy.deepcopy(settings) if isinstance(settings, dict) else {}
    from_version = stored_version(values)
    try:
        upgraded = integration.migrate_settings(settings, from_version)
    except Exception as exc:
        raise SettingsMigrationError(
            f"Configuration {values.get('id')} of '{integration.integration_id}'"
            f" could not be upgraded from settings version {from_version} to"
            f" {integration.settings_version}: {exc}"
        ) from exc
    if not isinstance(upgraded, dict):
        raise SettingsMigrationError(
            f"'{type(integration).__name__}.migrate_settings' returned"
            f" {type(upgraded).__name__}, not a dict."
        )
    return {
        **values,
        "settings": upgraded,
        "settings_version": integration.settings_version,
    }


def save_upgrade(
    engine: sa.Engine,
    model: type[t.Any],
    before: t.Mapping[str, t.Any],
    after: t.Mapping[str, t.Any],
) -> bool:
    """Store an upgraded row in a transaction of its own.

    Nothing is written if the row changed since it was read.

    :return: Whether the row was updated.
    """
    table = model.__table__
    with engine.begin() as connection:
        result = connection.execute(
            sa.update(table)
            .where(table.c.id == before["id"])
            .where(table.c.version == before["version"])
            .values(
                settings=after["settings"],
                settings_version=after["settings_version"],
                version=table.c.version + 1,
            )
        )
        if result.rowcount:
            bump_generation(connection, table.metadata)
    return bool(result.rowcount)
