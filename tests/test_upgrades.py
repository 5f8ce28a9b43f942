"""Settings written by an older version of an integration are upgraded."""

from __future__ import annotations

import typing as t

import pytest
import sqlalchemy as sa

from flask_integrations import Integration
from flask_integrations.models import get_sync_table


class RenamedField(Integration):
    integration_id = "tests.upgrades.renamed"
    name = "Renamed field"
    settings_version = 2

    def migrate_settings(
        self, settings: dict[str, t.Any], from_version: int
    ) -> dict[str, t.Any]:
        if from_version < 2:
            settings["url"] = settings.pop("webhook", None)
        return settings


class Broken(Integration):
    integration_id = "tests.upgrades.broken"
    name = "Broken upgrade"
    settings_version = 3

    def migrate_settings(
        self, settings: dict[str, t.Any], from_version: int
    ) -> dict[str, t.Any]:
        raise ValueError("cannot read version 1")


def _insert_old(
    db: t.Any, manager: t.Any, integration_id: str, **settings: t.Any
) -> int:
    table = manager.config_model.__table__
    with db.engine.begin() as connection:
        result = connection.execute(
            sa.insert(table).values(
                integration_id=integration_id,
                name="old",
                enabled=True,
                settings=settings,
                extra_data={},
                version=1,
                settings_version=1,
            )
        )
    manager.mark_changed()
    return int(result.inserted_primary_key[0])


def _row(db: t.Any, manager: t.Any, config_id: int) -> t.Any:
    table = manager.config_model.__table__
    with db.engine.connect() as connection:
        return (
            connection.execute(sa.select(table).where(table.c.id == config_id))
            .mappings()
            .one()
        )


def test_old_settings_are_upgraded_lazily_and_saved(manager: t.Any, db: t.Any) -> None:
    integration = manager.register_integration_class(RenamedField)
    config_id = _insert_old(
        db, manager, RenamedField.integration_id, webhook="http://x"
    )
    assert _row(db, manager, config_id)["settings"] == {"webhook": "http://x"}
    manager.check_expired()
    db.session.rollback()

    (config,) = integration.get_configs()
    assert config.get("url") == "http://x"
    assert config.settings_version == 2

    row = _row(db, manager, config_id)
    assert row["settings"] == {"url": "http://x"}
    assert row["settings_version"] == 2
    assert row["version"] == 2


def test_new_configs_are_written_for_the_current_version(manager: t.Any) -> None:
    integration = manager.register_integration_class(RenamedField)
    config = integration.create_config(name="new", enabled=True, save=True)
    assert config.settings_version == 2


def test_an_upgrade_inside_a_caller_transaction_is_not_saved_there(
    manager: t.Any, db: t.Any
) -> None:
    integration = manager.register_integration_class(RenamedField)
    config_id = _insert_old(db, manager, RenamedField.integration_id, webhook="w")
    manager.check_expired()
    db.session.execute(sa.select(get_sync_table(db.metadata)))  # opens a transaction
    assert integration.get_configs()[0].get("url") == "w"
    db.session.rollback()
    assert _row(db, manager, config_id)["settings_version"] == 1


def test_a_configuration_that_cannot_be_upgraded_is_left_out_and_logged(
    manager: t.Any, db: t.Any, caplog: pytest.LogCaptureFixture
) -> None:
    integration = manager.register_integration_class(Broken)
    good = integration.create_config(name="fresh", enabled=True, save=True)
    _insert_old(db, manager, Broken.integration_id, anything=1)
    manager.check_expired()
    db.session.rollback()
    assert [c.id for c in integration.get_configs()] == [good.id]
    assert "cannot read version 1" in caplog.text


def test_editing_a_configuration_with_old_settings_upgrades_it_first(
    app: t.Any, manager: t.Any, db: t.Any
) -> None:
    manager.register_integration_class(RenamedField)
    config_id = _insert_old(db, manager, RenamedField.integration_id, webhook="old")
    config = manager.get_config(config_id)
    assert config.get("url") == "old" and "webhook" not in config.settings
    config.set("url", "new")
    manager.session.commit()
    row = _row(db, manager, config_id)
    assert row["settings"] == {"url": "new"}
    assert row["settings_version"] == 2
    manager.check_expired()
    assert manager.get_integration_configs(RenamedField)[0].get("url") == "new"
