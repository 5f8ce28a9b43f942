"""The configuration model: the default one built per ``db``, its table and
columns, JSON columns, timestamps, ``get()``/``set()``/``str()``, and a
custom model passed as ``config_model``."""

from __future__ import annotations

import typing as t
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import Mapped, Session, mapped_column

from flask_integrations import (
    ConfigSnapshot,
    FlaskIntegrations,
    IntegrationConfigMixin,
    IntegrationNotRegisteredError,
    InvalidConfigFilterError,
    config_saved,
    get_default_config_model,
)
from tests.conftest import SimpleIntegration, make_app

CONFIG_TABLE = "flask_integrations_config"
COLUMNS = {
    "id",
    "integration_id",
    "name",
    "enabled",
    "settings",
    "extra_data",
    "time_added",
    "last_updated",
}


class ModelIntegration(SimpleIntegration):
    integration_id = "test_models.model"
    name = "Model Test"
    default_settings = {"color": "blue", "size": 3}


@pytest.fixture
def integration(manager: t.Any) -> ModelIntegration:
    return t.cast(
        ModelIntegration, manager.register_integration_class(ModelIntegration)
    )


def add(integration: t.Any, name: str = "ops", **kwargs: t.Any) -> t.Any:
    kwargs.setdefault("enabled", True)
    return integration.create_config(save=True, name=name, **kwargs)


def stored(db: SQLAlchemy, model: type[t.Any], config_id: int) -> t.Any:
    """Load a configuration in a session of its own, as another request would."""
    with Session(db.engine) as session:
        config = session.get(model, config_id)
        assert config is not None
        session.expunge(config)
        return config


# -- the default model ---------------------------------------------------------


def test_default_model_is_built_once_per_db(db: SQLAlchemy):
    first = get_default_config_model(db)

    assert get_default_config_model(db) is first
    FlaskIntegrations(db=db)
    FlaskIntegrations(db=db)
    assert get_default_config_model(db) is first
    assert issubclass(first, IntegrationConfigMixin)
    assert issubclass(first, db.Model)
    assert first.__table__.name == CONFIG_TABLE
    assert db.metadata.tables[CONFIG_TABLE] is first.__table__


def test_two_extensions_on_one_db_share_the_model(database_url, db: SQLAlchemy):
    one = FlaskIntegrations(db=db)
    two = FlaskIntegrations(db=db)
    app_one = make_app(database_url, db, one, name="one")
    app_two = make_app(database_url, db, two, name="two")
    try:
        model = get_default_config_model(db)
        assert one.config_model_for(app_one) is model
        assert two.config_model_for(app_two) is model
        with app_one.app_context():
            assert one.manager.config_model is model
        with app_two.app_context():
            assert two.manager.config_model is model
    finally:
        for app in (app_one, app_two):
            with app.app_context():
                for engine in db.engines.values():
                    engine.dispose()


def test_each_db_gets_its_own_model():
    first, second = SQLAlchemy(), SQLAlchemy()

    model_one = get_default_config_model(first)
    model_two = get_default_config_model(second)

    assert model_one is not model_two
    assert first.metadata.tables[CONFIG_TABLE] is model_one.__table__
    assert second.metadata.tables[CONFIG_TABLE] is model_two.__table__


def test_manager_uses_the_default_model(manager, db):
    assert manager.config_model is get_default_config_model(db)


def test_extension_creates_no_tables_by_itself(database_url, db, integrations):
    app = make_app(database_url, db, integrations, name="no_tables")
    try:
        with app.app_context():
            assert sa.inspect(db.engine).get_table_names() == []
            db.create_all()
            tables = set(sa.inspect(db.engine).get_table_names())
            assert CONFIG_TABLE in tables
            assert "flask_integrations_sync" in tables
            assert all(name.startswith("flask_integrations_") for name in tables)
            db.drop_all()
    finally:
        with app.app_context():
            for engine in db.engines.values():
                engine.dispose()


def test_table_columns_and_indexes(manager, db):
    inspector = sa.inspect(db.engine)

    columns = {c["name"]: c for c in inspector.get_columns(CONFIG_TABLE)}
    assert set(columns) >= COLUMNS
    assert inspector.get_pk_constraint(CONFIG_TABLE)["constrained_columns"] == ["id"]
    indexed = {
        tuple(index["column_names"]) for index in inspector.get_indexes(CONFIG_TABLE)
    }
    assert ("integration_id",) in indexed
    assert ("enabled",) in indexed
    assert {c.key for c in sa.inspect(manager.config_model).column_attrs} >= COLUMNS


def test_new_config_defaults(integration, manager, db):
    config_id = add(integration, enabled=False).id

    config = stored(db, manager.config_model, config_id)
    assert config.integration_id == integration.integration_id
    assert config.name == "ops"
    assert config.enabled is False
    assert config.settings == {}
    assert config.extra_data == {}
    assert config.time_added is not None
    assert config.last_updated is not None


# -- JSON columns --------------------------------------------------------------


def test_in_place_settings_change_is_saved(integration, manager, db):
    config = add(integration, settings={"color": "red"})

    config.settings["color"] = "green"
    config.settings["added"] = [1, 2]
    db.session.commit()

    assert stored(db, manager.config_model, config.id).settings == {
        "color": "green",
        "added": [1, 2],
    }


def test_nested_in_place_settings_change_is_saved(integration, manager, db):
    config = add(
        integration, settings={"a": {"b": 1, "keep": True}, "list": [{"x": 1}]}
    )

    config.settings["a"]["b"] = 2
    config.settings["list"][0]["x"] = 5
    db.session.commit()

    assert stored(db, manager.config_model, config.id).settings == {
        "a": {"b": 2, "keep": True},
        "list": [{"x": 5}],
    }
    db.session.expire_all()
    assert manager.get_config(config.id).settings["a"]["b"] == 2


def test_nested_in_place_extra_data_change_is_saved(integration, manager, db):
    config = add(integration, extra_data={"state": {"count": 1}})

    config.extra_data["state"]["count"] = 2
    config.extra_data["new"] = "yes"
    db.session.commit()

    assert stored(db, manager.config_model, config.id).extra_data == {
        "state": {"count": 2},
        "new": "yes",
    }


def test_successive_in_place_changes_are_all_saved(integration, manager, db):
    config = add(integration, settings={"a": {"b": 1}})
    config_id = config.id

    config.settings["a"]["b"] = 2
    db.session.commit()
    config.settings["a"]["b"] = 3
    db.session.commit()
    db.session.remove()
    fresh = manager.get_config(config_id)
    fresh.settings["a"]["c"] = 4
    db.session.commit()

    assert stored(db, manager.config_model, config_id).settings == {
        "a": {"b": 3, "c": 4}
    }


def test_in_place_change_on_a_fresh_instance_is_saved(integration, manager, db):
    config_id = add(integration, settings={"a": {"b": 1}}).id
    db.session.remove()

    config = manager.get_config(config_id)
    config.settings["a"]["b"] = 2
    db.session.flush()
    db.session.commit()

    assert stored(db, manager.config_model, config_id).settings == {"a": {"b": 2}}


def test_in_place_change_rolled_back_is_not_saved(integration, manager, db):
    config = add(integration, settings={"a": {"b": 1}})

    config.settings["a"]["b"] = 2
    db.session.rollback()

    assert stored(db, manager.config_model, config.id).settings == {"a": {"b": 1}}
    assert config.settings == {"a": {"b": 1}}


def test_replacing_settings_is_saved(integration, manager, db):
    config = add(integration, settings={"a": 1})

    config.settings = {"b": 2}
    db.session.commit()

    assert stored(db, manager.config_model, config.id).settings == {"b": 2}


def test_in_place_change_is_saved_without_keeping_a_reference(integration, manager, db):
    config_id = add(integration, settings={"color": "red", "a": {"b": 1}}).id
    db.session.remove()

    def edit() -> None:
        config = manager.get_config(config_id)
        config.settings["color"] = "green"
        config.settings["a"]["b"] = 2

    edit()
    db.session.commit()

    assert stored(db, manager.config_model, config_id).settings == {
        "color": "green",
        "a": {"b": 2},
    }


def test_set_is_saved_without_keeping_a_reference(integration, manager, db):
    config_id = add(integration, settings={"color": "red"}).id
    db.session.remove()

    manager.get_config(config_id).set("color", "green")
    db.session.commit()

    assert stored(db, manager.config_model, config_id).get("color") == "green"


# -- timestamps ----------------------------------------------------------------


def _is_aware_utc(value: datetime) -> bool:
    return value.tzinfo is not None and value.utcoffset() == timedelta(0)


def test_timestamps_are_aware_utc(integration, manager, db):
    before = datetime.now(timezone.utc)
    config = add(integration)
    after = datetime.now(timezone.utc)

    loaded = stored(db, manager.config_model, config.id)
    snapshot = integration.get_configs()[0]
    for value in (
        config.time_added,
        config.last_updated,
        loaded.time_added,
        loaded.last_updated,
        snapshot.time_added,
        snapshot.last_updated,
    ):
        assert _is_aware_utc(value), value
        assert before - timedelta(seconds=1) <= value <= after + timedelta(seconds=1)
    assert loaded.time_added <= loaded.last_updated


def test_naive_datetimes_are_stored_as_utc(integration, manager, db):
    config = add(integration, time_added=datetime(2020, 1, 2, 3, 4, 5))
    other = add(
        integration,
        "other",
        time_added=datetime(2020, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2))),
    )

    for config_id in (config.id, other.id):
        loaded = stored(db, manager.config_model, config_id)
        assert loaded.time_added == datetime(2020, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
        assert _is_aware_utc(loaded.time_added)


def _edit_name(config: t.Any) -> None:
    config.name = config.name + "!"


def _toggle(config: t.Any) -> None:
    config.enabled = not config.enabled


def _edit_settings_in_place(config: t.Any) -> None:
    config.settings["a"]["b"] += 1


def _edit_extra_data_in_place(config: t.Any) -> None:
    config.extra_data["count"] = config.extra_data.get("count", 0) + 1


def _set(config: t.Any) -> None:
    config.set("color", config.get("color") + "!")


@pytest.mark.parametrize(
    "change",
    [_edit_name, _toggle, _edit_settings_in_place, _edit_extra_data_in_place, _set],
    ids=lambda f: f.__name__.strip("_"),
)
def test_last_updated_changes_on_every_update(integration, manager, db, change):
    config = add(integration, settings={"a": {"b": 1}})
    model = manager.config_model
    first = stored(db, model, config.id)
    seen = [first.last_updated]

    for _ in range(2):
        change(config)
        db.session.commit()
        loaded = stored(db, model, config.id)
        assert loaded.last_updated > seen[-1]
        assert _is_aware_utc(loaded.last_updated)
        assert loaded.time_added == first.time_added
        seen.append(loaded.last_updated)


def test_last_updated_unchanged_without_changes(integration, manager, db):
    config = add(integration, settings={"a": 1})
    model = manager.config_model
    before = stored(db, model, config.id).last_updated

    config.settings["a"] = 1  # same value
    config.name = config.name
    db.session.commit()

    assert stored(db, model, config.id).last_updated == before


@pytest.fixture
def tokyo_app(
    backend: str, database_url: str, db: SQLAlchemy, integrations: FlaskIntegrations
) -> t.Iterator[Flask]:
    """An app whose PostgreSQL sessions run in a non-UTC time zone."""
    if backend != "postgresql":
        pytest.skip("Session time zones are a PostgreSQL setting.")
    app = make_app(
        database_url,
        db,
        integrations,
        name="tokyo",
        SQLALCHEMY_ENGINE_OPTIONS={
            "connect_args": {"options": "-c timezone=Asia/Tokyo"}
        },
    )
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        for engine in db.engines.values():
            engine.dispose()


def test_timestamps_are_utc_whatever_the_session_time_zone(tokyo_app, integrations, db):
    with tokyo_app.app_context():
        integration = integrations.manager.register_integration_class(ModelIntegration)
        config = add(integration)
        loaded = stored(db, integrations.manager.config_model, config.id)
        snapshot = integration.get_configs()[0]

        for value in (
            loaded.time_added,
            loaded.last_updated,
            snapshot.time_added,
            snapshot.last_updated,
        ):
            assert value.utcoffset() == timedelta(0), value


# -- str(), integration, get() and set() ---------------------------------------


def test_str_names_the_config_and_its_integration(integration):
    config = add(integration, "ops")

    assert str(config) == "ops (Model Test)"


def test_str_of_an_orphan_falls_back_to_the_integration_id(manager, db):
    config = manager.config_model(integration_id="test_models.gone", name="ghost")
    db.session.add(config)
    db.session.commit()

    assert str(config) == "ghost (test_models.gone)"
    with pytest.raises(IntegrationNotRegisteredError):
        config.integration  # noqa: B018


def test_integration_property(integration, manager):
    config = add(integration)

    assert config.integration is integration
    assert manager.get_config(config.id).integration is integration


def test_get_precedence(integration):
    config = add(
        integration,
        settings={"color": "", "size": 0, "flag": False, "nothing": None, "own": "x"},
    )

    assert config.get("color") == ""
    assert config.get("size", 99) == 0
    assert config.get("flag") is False
    assert config.get("nothing", "fallback") is None
    assert config.get("own") == "x"
    config.settings.pop("color")
    assert config.get("color") == "blue"
    assert config.get("color", "other") == "blue"
    assert config.get("missing") is None
    assert config.get("missing", "fallback") == "fallback"


def test_set_stores_a_setting(integration, manager, db):
    config = add(integration, settings={"keep": 1})

    config.set("color", "red")
    config.set("nested", {"a": [1]})
    assert config.get("color") == "red"
    db.session.commit()

    assert stored(db, manager.config_model, config.id).settings == {
        "keep": 1,
        "color": "red",
        "nested": {"a": [1]},
    }


def test_set_on_a_new_config(integration, manager, db):
    config = manager.config_model(integration_id=integration.integration_id, name="new")

    config.set("color", "red")
    db.session.add(config)
    db.session.commit()

    assert stored(db, manager.config_model, config.id).settings == {"color": "red"}


def test_set_replaces_settings_that_are_not_an_object(integration, manager, db):
    config = add(integration, settings=["not", "an", "object"])
    assert config.get("color") == "blue"

    config.set("color", "red")
    db.session.commit()

    assert stored(db, manager.config_model, config.id).settings == {"color": "red"}


# -- a custom model ------------------------------------------------------------


class OrgIntegration(SimpleIntegration):
    integration_id = "test_models.org"
    name = "Org"
    default_settings = {"color": "blue"}


@pytest.fixture
def org(database_url: str, db: SQLAlchemy) -> t.Iterator[tuple[Flask, t.Any, t.Any]]:
    """An app whose configuration model has an ``organization_id`` column."""

    class OrgConfig(IntegrationConfigMixin, db.Model):
        organization_id: Mapped[int | None] = mapped_column(
            sa.Integer, nullable=True, index=True
        )

    extension = FlaskIntegrations(
        db=db, config_model=OrgConfig, admin_required=lambda: True
    )
    extension.register(OrgIntegration)
    app = make_app(database_url, db, extension, name="org_app")
    with app.app_context():
        db.create_all()
        yield app, extension.manager, OrgConfig
        extension.manager.shutdown()
        db.session.remove()
        db.drop_all()
        for engine in db.engines.values():
            engine.dispose()


def test_custom_model_is_used(org, db):
    _, manager, model = org

    assert manager.config_model is model
    assert CONFIG_TABLE in sa.inspect(db.engine).get_table_names()
    columns = {c["name"] for c in sa.inspect(db.engine).get_columns(CONFIG_TABLE)}
    assert columns >= COLUMNS | {"organization_id"}


def test_custom_model_end_to_end(org, db, count_queries):
    _, manager, model = org
    manager.check_expired()
    integration = manager.get_integration(OrgIntegration.integration_id)

    saved: list[dict[str, t.Any]] = []

    def on_saved(sender: t.Any, **kwargs: t.Any) -> None:
        saved.append(kwargs)

    with config_saved.connected_to(on_saved):
        first = integration.create_config(
            save=True,
            name="one",
            enabled=True,
            organization_id=1,
            settings={"a": {"b": 1}},
        )
        integration.create_config(
            save=True, name="two", enabled=True, organization_id=2
        )
        integration.create_config(
            save=True, name="off", enabled=False, organization_id=1
        )

    assert isinstance(first, model)
    assert integration.enabled
    assert integration.initialize_calls == 1
    assert [k["config"].organization_id for k in saved] == [1, 2, 1]

    org_one = integration.get_configs(organization_id=1)
    assert [(c.name, c.organization_id) for c in org_one] == [("one", 1)]
    assert isinstance(org_one[0], ConfigSnapshot)
    assert str(org_one[0]) == "one (Org)"
    assert org_one[0].get("color") == "blue"
    with count_queries() as queries:
        assert [c.name for c in integration.get_configs(organization_id=1)] == ["one"]
    assert len(queries) == 0
    assert [c.name for c in manager.get_integration_configs(organization_id=1)] == [
        "one",
        "off",
    ]
    with pytest.raises(InvalidConfigFilterError, match="'tenant_id'"):
        integration.get_configs(tenant_id=1)

    live = manager.get_config(first.id)
    live.organization_id = 2
    live.settings["a"]["b"] = 2
    db.session.commit()
    assert integration.get_configs(organization_id=1) == []
    assert [
        (c.name, c.get("a")) for c in integration.get_configs(organization_id=2)
    ] == [
        ("one", {"b": 2}),
        ("two", None),
    ]

    db.session.execute(sa.update(model).values(enabled=False))
    db.session.commit()
    assert not integration.enabled
    assert integration.get_configs(organization_id=2) == []
