"""Reading configurations: ``get_configs()``, the cache and read-only snapshots."""

from __future__ import annotations

import copy
import json
import pickle
import threading
import typing as t

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from wtforms import PasswordField

from flask_integrations import (
    ConfigSnapshot,
    FlaskIntegrations,
    Integration,
    IntegrationConfigForm,
    IntegrationError,
    IntegrationNotRegisteredError,
    InvalidConfigFilterError,
)
from tests.conftest import SimpleIntegration, make_app


class ChatIntegration(SimpleIntegration):
    integration_id = "test_configs.chat"
    name = "Configs Chat"
    default_settings = {"color": "blue", "size": 3, "channel": "#general"}


class MailIntegration(SimpleIntegration):
    integration_id = "test_configs.mail"
    name = "Configs Mail"
    default_settings = {"sender": "noreply@example.com"}


@pytest.fixture
def chat(manager: t.Any) -> ChatIntegration:
    return t.cast(ChatIntegration, manager.register_integration_class(ChatIntegration))


@pytest.fixture
def mail(manager: t.Any) -> MailIntegration:
    return t.cast(MailIntegration, manager.register_integration_class(MailIntegration))


def add(integration: t.Any, name: str, enabled: bool = True, **kwargs: t.Any) -> t.Any:
    """Create and commit a configuration of ``integration``."""
    return integration.create_config(save=True, name=name, enabled=enabled, **kwargs)


def names(configs: t.Iterable[t.Any]) -> list[str]:
    return [c.name for c in configs]


def run_raw(db: SQLAlchemy, sql: str, **params: t.Any) -> None:
    """Change the table behind the manager's back (no mark_changed())."""
    db.session.execute(sa.text(sql), params)
    db.session.commit()


# -- what get_configs() returns ------------------------------------------------


def test_get_configs_returns_enabled_configs_of_its_integration_only(chat, mail):
    add(chat, "ops")
    add(chat, "dev")
    add(chat, "off", enabled=False)
    add(mail, "mail-ops")

    configs = chat.get_configs()

    assert isinstance(configs, list)
    assert names(configs) == ["ops", "dev"]
    assert all(isinstance(c, ConfigSnapshot) for c in configs)
    assert {c.integration_id for c in configs} == {ChatIntegration.integration_id}
    assert names(mail.get_configs()) == ["mail-ops"]


def test_get_configs_filters_on_columns(chat, mail):
    add(chat, "ops")
    add(chat, "dev")
    add(chat, "ops", enabled=False)
    add(mail, "ops")

    configs = chat.get_configs(name="ops")

    assert len(configs) == 1
    assert configs[0].name == "ops"
    assert configs[0].enabled is True
    assert configs[0].integration_id == ChatIntegration.integration_id
    assert chat.get_configs(name="nobody") == []


def test_get_configs_without_configs_is_an_empty_list(chat):
    assert chat.get_configs() == []


def test_first_call_runs_one_statement_and_a_repeated_call_none(chat, count_queries):
    add(chat, "ops")
    add(chat, "dev")

    with count_queries() as first:
        result = chat.get_configs()
    with count_queries() as second:
        again = chat.get_configs()

    assert len(first) == 1
    assert len(second) == 0
    assert names(again) == names(result) == ["ops", "dev"]


def test_an_empty_result_is_cached_too(chat, count_queries):
    add(chat, "ops")

    with count_queries() as first:
        assert chat.get_configs(name="nobody") == []
    with count_queries() as second:
        assert chat.get_configs(name="nobody") == []

    assert len(first) == 1
    assert len(second) == 0


def test_each_distinct_filter_is_cached_separately(chat, count_queries):
    add(chat, "ops")
    add(chat, "dev")
    chat.get_configs(name="ops")

    with count_queries() as other_filter:
        assert names(chat.get_configs(name="dev")) == ["dev"]
    with count_queries() as both_cached:
        assert names(chat.get_configs(name="ops")) == ["ops"]
        assert names(chat.get_configs(name="dev")) == ["dev"]

    assert len(other_filter) == 1
    assert len(both_cached) == 0


def test_cache_key_ignores_argument_order(chat, manager, count_queries):
    config_id = add(chat, "ops").id
    add(chat, "dev")

    with count_queries() as first:
        one = chat.get_configs(name="ops", id=config_id)
    with count_queries() as swapped:
        two = chat.get_configs(id=config_id, name="ops")
    with count_queries() as manager_first:
        three = manager.get_integration_configs(
            ChatIntegration, name="ops", enabled=True
        )
    with count_queries() as manager_swapped:
        four = manager.get_integration_configs(
            ChatIntegration, enabled=True, name="ops"
        )

    assert len(first) == 1
    assert len(swapped) == 0
    assert len(manager_first) == 1
    assert len(manager_swapped) == 0
    assert names(one) == names(two) == names(three) == names(four) == ["ops"]


def test_cache_key_tells_values_apart(chat, count_queries):
    add(chat, "ops")
    add(chat, "1")

    assert names(chat.get_configs(name="ops")) == ["ops"]
    with count_queries() as queries:
        assert names(chat.get_configs(name="1")) == ["1"]
    assert len(queries) == 1


def test_check_expired_without_changes_keeps_the_cache(chat, manager, count_queries):
    add(chat, "ops")
    chat.get_configs()
    manager.check_expired()

    with count_queries() as queries:
        assert names(chat.get_configs()) == ["ops"]
    assert len(queries) == 0


def test_a_request_without_changes_keeps_the_cache(app, client, db, count_queries):
    with app.app_context():
        integration = app.extensions["integrations"].manager.register_integration_class(
            ChatIntegration
        )
        add(integration, "ops")
        integration.get_configs()
    assert client.get("/no-such-page").status_code == 404

    with app.app_context(), count_queries() as queries:
        assert names(integration.get_configs()) == ["ops"]
    assert len(queries) == 0


# -- invalid filters -----------------------------------------------------------


def test_unknown_filter_column_raises_an_error_naming_it(chat, count_queries):
    add(chat, "ops")

    with count_queries() as queries, pytest.raises(InvalidConfigFilterError) as info:
        chat.get_configs(colour="red")

    assert "'colour'" in str(info.value)
    assert isinstance(info.value, IntegrationError)
    assert isinstance(info.value, ValueError)
    assert len(queries) == 0


def test_unknown_filter_column_raises_everywhere(chat, manager):
    with pytest.raises(InvalidConfigFilterError, match="'webhook'"):
        manager.get_integration_configs(ChatIntegration, webhook="x")
    with pytest.raises(InvalidConfigFilterError, match="'webhook'"):
        manager.get_integration_configs(webhook="x")
    with pytest.raises(InvalidConfigFilterError, match="'webhook'"):
        manager.clear_configs_cache(ChatIntegration, webhook="x")


def test_settings_keys_are_not_filter_columns(chat):
    add(chat, "ops", settings={"color": "red"})

    with pytest.raises(InvalidConfigFilterError, match="'color'"):
        chat.get_configs(color="red")


# -- get_integration_configs() -------------------------------------------------


def test_get_integration_configs_lists_all_including_disabled(chat, mail, manager):
    add(chat, "on")
    add(chat, "off", enabled=False)
    add(mail, "mail-off", enabled=False)

    everything = manager.get_integration_configs()
    chats = manager.get_integration_configs(ChatIntegration)

    assert names(everything) == ["on", "off", "mail-off"]
    assert [c.enabled for c in everything] == [True, False, False]
    assert names(chats) == ["on", "off"]
    assert names(manager.get_integration_configs(MailIntegration)) == ["mail-off"]
    assert all(isinstance(c, ConfigSnapshot) for c in everything)


def test_get_integration_configs_filters(chat, mail, manager):
    add(chat, "on")
    add(chat, "off", enabled=False)
    add(mail, "off", enabled=False)

    assert names(manager.get_integration_configs(ChatIntegration, enabled=False)) == [
        "off"
    ]
    off = manager.get_integration_configs(name="off")
    assert [c.integration_id for c in off] == [
        ChatIntegration.integration_id,
        MailIntegration.integration_id,
    ]


def test_get_integration_configs_is_cached(chat, manager, count_queries):
    add(chat, "on")

    with count_queries() as first:
        manager.get_integration_configs()
    with count_queries() as second:
        assert names(manager.get_integration_configs()) == ["on"]

    assert len(first) == 1
    assert len(second) == 0


# -- snapshots -----------------------------------------------------------------


def test_snapshot_has_an_attribute_for_every_column(chat, manager):
    config = add(chat, "ops", settings={"color": "red"}, extra_data={"k": [1, 2]})
    live = manager.get_config(config.id)
    snapshot = chat.get_configs()[0]

    columns = [c.key for c in sa.inspect(manager.config_model).column_attrs]
    assert set(columns) >= {
        "id",
        "integration_id",
        "name",
        "enabled",
        "settings",
        "extra_data",
        "time_added",
        "last_updated",
    }
    for column in columns:
        assert getattr(snapshot, column) == getattr(live, column), column
    assert snapshot.settings == {"color": "red"}
    assert snapshot.extra_data == {"k": [1, 2]}
    assert snapshot.time_added.tzinfo is not None
    assert snapshot.integration is chat
    with pytest.raises(AttributeError):
        snapshot.no_such_column  # noqa: B018


def test_snapshot_get_precedence(chat):
    add(
        chat,
        "ops",
        settings={"color": "", "size": 0, "flag": False, "nothing": None, "own": "x"},
    )
    snapshot = chat.get_configs()[0]

    # Stored values win, even falsy ones.
    assert snapshot.get("color") == ""
    assert snapshot.get("size", 99) == 0
    assert snapshot.get("flag") is False
    assert snapshot.get("nothing", "fallback") is None
    assert snapshot.get("own") == "x"
    # Then the integration's default_settings.
    assert snapshot.get("channel") == "#general"
    assert snapshot.get("channel", "other") == "#general"
    # Then the given default.
    assert snapshot.get("missing") is None
    assert snapshot.get("missing", "fallback") == "fallback"


def test_snapshot_str(chat):
    add(chat, "ops")

    assert str(chat.get_configs()[0]) == "ops (Configs Chat)"


def test_snapshot_is_read_only(chat, manager, count_queries):
    add(chat, "ops", settings={"color": "red"})
    snapshot = chat.get_configs()[0]

    with pytest.raises(AttributeError):
        snapshot.set("color", "green")
    with pytest.raises(AttributeError):
        snapshot.name = "renamed"
    with pytest.raises(AttributeError):
        snapshot.settings = {}
    with pytest.raises(AttributeError):
        del snapshot.name

    with count_queries() as queries:
        again = chat.get_configs()[0]
    assert len(queries) == 0
    assert again.name == snapshot.name == "ops"
    assert again.get("color") == "red"
    assert manager.get_integration_configs()[0].get("color") == "red"


def test_values_read_from_snapshots_are_read_only(chat, count_queries):
    add(
        chat,
        "ops",
        settings={"color": "red", "nested": {"a": 1}, "tags": ["x"]},
        extra_data={"info": {"b": 2}},
    )
    configs = chat.get_configs()
    snapshot = configs[0]

    attempts = [
        lambda: snapshot.settings.__setitem__("color", "green"),
        lambda: snapshot.settings["nested"].__setitem__("a", 100),
        lambda: snapshot.get("nested").update(a=200),
        lambda: snapshot.get("tags").append("y"),
        lambda: snapshot.get("tags").__iadd__(["y"]),
        lambda: snapshot.extra_data["info"].pop("b"),
        lambda: snapshot.settings.setdefault("new", 1),
    ]
    for attempt in attempts:
        with pytest.raises(TypeError, match="read-only"):
            attempt()
    configs.clear()

    with count_queries() as queries:
        fresh = chat.get_configs()
    assert len(queries) == 0
    assert len(fresh) == 1
    assert fresh[0].settings == {"color": "red", "nested": {"a": 1}, "tags": ["x"]}
    assert fresh[0].get("nested") == {"a": 1}
    assert fresh[0].get("tags") == ["x"]
    assert fresh[0].extra_data == {"info": {"b": 2}}


def test_copies_of_snapshot_values_are_plain_and_mutable(chat):
    add(chat, "ops", settings={"nested": {"a": [1]}, "tags": ["x"]})
    snapshot = chat.get_configs()[0]

    settings = copy.deepcopy(snapshot.settings)
    settings["nested"]["a"].append(2)
    tags = copy.copy(snapshot.get("tags"))
    tags.append("y")
    as_dict = snapshot.as_dict()
    as_dict["settings"]["tags"].append("z")

    assert type(settings) is dict and type(settings["nested"]["a"]) is list
    assert settings == {"nested": {"a": [1, 2]}, "tags": ["x"]}
    assert tags == ["x", "y"]
    assert json.loads(json.dumps(snapshot.settings)) == {
        "nested": {"a": [1]},
        "tags": ["x"],
    }
    assert isinstance(snapshot.get("tags"), list)
    assert pickle.loads(pickle.dumps(snapshot.settings)) == snapshot.settings
    assert chat.get_configs()[0].settings == {"nested": {"a": [1]}, "tags": ["x"]}


def test_snapshots_outlive_the_app_context_and_session(
    app: Flask, db: SQLAlchemy, integrations: FlaskIntegrations
):
    with app.app_context():
        integration = integrations.manager.register_integration_class(ChatIntegration)
        add(integration, "ops", settings={"color": "red"})
        snapshots = integration.get_configs()
        everything = integrations.manager.get_integration_configs()
        db.session.remove()

    snapshot = snapshots[0]
    assert snapshot.name == "ops"
    assert snapshot.enabled is True
    assert snapshot.settings == {"color": "red"}
    assert snapshot.get("color") == "red"
    assert snapshot.get("size") == 3
    assert str(snapshot) == "ops (Configs Chat)"
    assert snapshot.integration is integration
    assert everything[0].id == snapshot.id


def test_snapshots_are_usable_from_another_thread(chat):
    add(chat, "ops", settings={"color": "red"})
    snapshot = chat.get_configs()[0]
    seen: dict[str, t.Any] = {}
    errors: list[BaseException] = []

    def read() -> None:
        try:
            seen["name"] = snapshot.name
            seen["color"] = snapshot.get("color")
            seen["size"] = snapshot.get("size")
            seen["str"] = str(snapshot)
            seen["integration"] = snapshot.integration
            seen["settings"] = snapshot.settings
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=read)
    thread.start()
    thread.join()

    assert errors == []
    assert seen == {
        "name": "ops",
        "color": "red",
        "size": 3,
        "str": "ops (Configs Chat)",
        "integration": chat,
        "settings": {"color": "red"},
    }


def test_snapshot_of_an_unregistered_integration(chat, manager):
    add(chat, "ops", settings={"color": "red"})
    manager.unregister_integration_class(ChatIntegration)

    snapshot = manager.get_integration_configs()[0]

    assert str(snapshot) == f"ops ({ChatIntegration.integration_id})"
    assert snapshot.get("color") == "red"
    assert snapshot.get("size", 7) == 7
    with pytest.raises(IntegrationNotRegisteredError):
        snapshot.integration  # noqa: B018


class VaultForm(IntegrationConfigForm):
    token = PasswordField("Token")


class VaultIntegration(Integration):
    integration_id = "test_configs.vault"
    name = "Vault"
    config_form_cls = VaultForm


def _read_in_thread(read: t.Callable[[], t.Any]) -> t.Any:
    result: dict[str, t.Any] = {}

    def run() -> None:
        try:
            result["value"] = read()
        except Exception as exc:  # reported by the assertion below
            result["value"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return result["value"]


def test_snapshot_get_returns_secrets_in_clear_in_any_thread(
    app: Flask, integrations: FlaskIntegrations
):
    with app.app_context():
        vault = integrations.manager.register_integration_class(VaultIntegration)
        add(vault, "ops", settings={"token": "s3cret-value"})
        snapshot = vault.get_configs()[0]
        assert snapshot.get("token") == "s3cret-value"
        assert "s3cret-value" not in repr(snapshot.settings)

    assert snapshot.get("token") == "s3cret-value"
    assert _read_in_thread(lambda: snapshot.get("token")) == "s3cret-value"


def test_snapshot_secrets_with_two_apps_sharing_the_model(
    app: Flask,
    database_url: str,
    db: SQLAlchemy,
    integrations: FlaskIntegrations,
):
    second = make_app(database_url, db, integrations, name="second_app")
    try:
        with app.app_context():
            vault = integrations.manager.register_integration_class(VaultIntegration)
            add(vault, "ops", settings={"token": "s3cret-value"})
            snapshot = vault.get_configs()[0]

        assert _read_in_thread(lambda: snapshot.get("token")) == "s3cret-value"
        assert snapshot.get("token") == "s3cret-value"
    finally:
        with second.app_context():
            for engine in db.engines.values():
                engine.dispose()


# -- get_config(): a live instance ---------------------------------------------


def test_get_config_returns_a_live_editable_instance(chat, manager, db):
    config_id = add(chat, "ops", settings={"color": "red"}).id
    chat.get_configs()

    live = manager.get_config(config_id)
    assert isinstance(live, manager.config_model)
    assert live in db.session
    assert live.name == "ops"
    live.name = "renamed"
    live.set("color", "green")
    db.session.commit()

    snapshot = chat.get_configs()[0]
    assert snapshot.name == "renamed"
    assert snapshot.get("color") == "green"
    db.session.expire_all()
    assert manager.get_config(config_id).settings == {"color": "green"}


def test_get_config_of_a_missing_id_is_none(chat, manager):
    assert manager.get_config(12345) is None


# -- the LRU bound -------------------------------------------------------------

SMALL_CACHE = pytest.mark.parametrize(
    "app_config", [{"INTEGRATIONS_CONFIG_CACHE_SIZE": 2}], ids=["cache_size_2"]
)


@SMALL_CACHE
def test_cache_is_bounded(chat, count_queries):
    for name in "abc":
        add(chat, name)
    for name in "abc":
        chat.get_configs(name=name)

    with count_queries() as evicted:
        assert names(chat.get_configs(name="a")) == ["a"]
    with count_queries() as kept:
        assert names(chat.get_configs(name="c")) == ["c"]
        assert names(chat.get_configs(name="a")) == ["a"]

    assert len(evicted) == 1
    assert len(kept) == 0


@SMALL_CACHE
def test_cache_evicts_the_least_recently_used(chat, count_queries):
    for name in "abc":
        add(chat, name)
    chat.get_configs(name="a")
    chat.get_configs(name="b")
    chat.get_configs(name="a")  # now "b" is the least recently used
    chat.get_configs(name="c")

    with count_queries() as hit:
        chat.get_configs(name="a")
        chat.get_configs(name="c")
    with count_queries() as miss:
        chat.get_configs(name="b")

    assert len(hit) == 0
    assert len(miss) == 1


def test_default_cache_holds_many_filters(chat, count_queries):
    add(chat, "ops")
    for number in range(50):
        chat.get_configs(name=f"name-{number}")

    with count_queries() as queries:
        for number in range(50):
            chat.get_configs(name=f"name-{number}")
    assert len(queries) == 0


# -- clearing the cache --------------------------------------------------------


def test_clear_configs_cache_forgets_exactly_that_entry(
    chat, mail, manager, db, count_queries
):
    first = add(chat, "ops")
    add(chat, "dev")
    add(mail, "ops")
    manager.get_integration_configs(ChatIntegration, name="ops", enabled=True)
    manager.get_integration_configs(ChatIntegration, name="dev")
    manager.get_integration_configs(MailIntegration, name="ops")
    manager.get_integration_configs(name="ops")
    # A change the manager is not told about: the cache stays stale.
    run_raw(
        db,
        "UPDATE flask_integrations_config SET name = 'dev' WHERE id = :id",
        id=first.id,
    )
    assert (
        len(manager.get_integration_configs(ChatIntegration, name="ops", enabled=True))
        == 1
    )

    # Argument order does not matter here either.
    manager.clear_configs_cache(ChatIntegration, enabled=True, name="ops")

    with count_queries() as cleared:
        assert (
            manager.get_integration_configs(ChatIntegration, name="ops", enabled=True)
            == []
        )
    with count_queries() as kept:
        assert names(manager.get_integration_configs(ChatIntegration, name="dev")) == [
            "dev"
        ]
        assert len(manager.get_integration_configs(MailIntegration, name="ops")) == 1
        assert len(manager.get_integration_configs(name="ops")) == 2
    assert len(cleared) == 1
    assert len(kept) == 0


def test_clear_configs_cache_of_get_configs_entry(chat, manager, db, count_queries):
    config = add(chat, "ops")
    add(chat, "dev")
    assert names(chat.get_configs(name="ops")) == ["ops"]
    assert names(chat.get_configs()) == ["ops", "dev"]
    run_raw(
        db,
        "UPDATE flask_integrations_config SET enabled = :off WHERE id = :id",
        off=False,
        id=config.id,
    )

    # get_configs(**filters) is the query (cls, enabled=True, **filters).
    manager.clear_configs_cache(ChatIntegration, name="ops", enabled=True)

    with count_queries() as cleared:
        assert chat.get_configs(name="ops") == []
    with count_queries() as kept:
        assert names(chat.get_configs()) == ["ops", "dev"]  # still the stale entry
    assert len(cleared) == 1
    assert len(kept) == 0


def test_clear_configs_cache_without_class(chat, manager, count_queries):
    add(chat, "ops")
    manager.get_integration_configs()
    manager.get_integration_configs(name="ops")
    manager.get_integration_configs(ChatIntegration)

    manager.clear_configs_cache()

    with count_queries() as cleared:
        manager.get_integration_configs()
    with count_queries() as kept:
        manager.get_integration_configs(name="ops")
        manager.get_integration_configs(ChatIntegration)
    assert len(cleared) == 1
    assert len(kept) == 0


def test_clear_configs_cache_of_an_uncached_entry_does_nothing(
    chat, manager, count_queries
):
    add(chat, "ops")
    chat.get_configs()

    manager.clear_configs_cache(ChatIntegration, name="never-asked")

    with count_queries() as queries:
        chat.get_configs()
    assert len(queries) == 0


def test_clear_all_configs_cache(chat, mail, manager, db, count_queries):
    config = add(chat, "ops")
    add(mail, "mail")
    chat.get_configs()
    chat.get_configs(name="ops")
    mail.get_configs()
    manager.get_integration_configs()
    run_raw(
        db,
        "UPDATE flask_integrations_config SET name = 'renamed' WHERE id = :id",
        id=config.id,
    )

    manager.clear_all_configs_cache()

    with count_queries() as queries:
        assert names(chat.get_configs()) == ["renamed"]
        assert chat.get_configs(name="ops") == []
        assert names(mail.get_configs()) == ["mail"]
        assert names(manager.get_integration_configs()) == ["renamed", "mail"]
    assert len(queries) == 4


# -- changes committed in this process are visible at once ---------------------


def _create(integration: t.Any, manager: t.Any, db: SQLAlchemy, config_id: int) -> None:
    add(integration, "new")


def _rename(integration: t.Any, manager: t.Any, db: SQLAlchemy, config_id: int) -> None:
    manager.get_config(config_id).name = "renamed"
    db.session.commit()


def _disable(
    integration: t.Any, manager: t.Any, db: SQLAlchemy, config_id: int
) -> None:
    manager.get_config(config_id).enabled = False
    db.session.commit()


def _delete(integration: t.Any, manager: t.Any, db: SQLAlchemy, config_id: int) -> None:
    db.session.delete(manager.get_config(config_id))
    db.session.commit()


def _edit_settings(
    integration: t.Any, manager: t.Any, db: SQLAlchemy, config_id: int
) -> None:
    config = manager.get_config(config_id)
    config.settings["color"] = "green"
    db.session.commit()


def _edit_nested_settings(
    integration: t.Any, manager: t.Any, db: SQLAlchemy, config_id: int
) -> None:
    config = manager.get_config(config_id)
    config.settings["nested"]["a"] = 2
    db.session.commit()


def _bulk_update(
    integration: t.Any, manager: t.Any, db: SQLAlchemy, config_id: int
) -> None:
    model = manager.config_model
    db.session.execute(
        sa.update(model).where(model.id == config_id).values(name="renamed")
    )
    db.session.commit()


def _set_setting(
    integration: t.Any, manager: t.Any, db: SQLAlchemy, config_id: int
) -> None:
    config = manager.get_config(config_id)
    config.set("color", "green")
    db.session.commit()


@pytest.mark.parametrize(
    ("change", "enabled", "listed"),
    [
        (_create, [("ops", "red", {"a": 1}), ("new", "blue", None)], ["ops", "new"]),
        (_rename, [("renamed", "red", {"a": 1})], ["renamed"]),
        (_disable, [], ["ops"]),
        (_delete, [], []),
        (_edit_settings, [("ops", "green", {"a": 1})], ["ops"]),
        (_edit_nested_settings, [("ops", "red", {"a": 2})], ["ops"]),
        (_set_setting, [("ops", "green", {"a": 1})], ["ops"]),
        (_bulk_update, [("renamed", "red", {"a": 1})], ["renamed"]),
    ],
    ids=[
        "create",
        "rename",
        "disable",
        "delete",
        "edit_settings",
        "edit_nested_settings",
        "set_setting",
        "bulk_update",
    ],
)
def test_committed_change_is_visible_to_the_next_call(
    chat, manager, db, change, enabled, listed
):
    config_id = add(chat, "ops", settings={"color": "red", "nested": {"a": 1}}).id
    before = [(c.name, c.get("color"), c.get("nested")) for c in chat.get_configs()]
    assert before == [("ops", "red", {"a": 1})]
    assert names(manager.get_integration_configs(ChatIntegration)) == ["ops"]

    change(chat, manager, db, config_id)

    after = [(c.name, c.get("color"), c.get("nested")) for c in chat.get_configs()]
    assert after == enabled
    assert names(manager.get_integration_configs(ChatIntegration)) == listed


def test_committed_change_is_visible_with_a_filter_cached_before(chat, manager, db):
    config_id = add(chat, "ops").id
    assert names(chat.get_configs(name="ops")) == ["ops"]
    assert chat.get_configs(name="renamed") == []

    manager.get_config(config_id).name = "renamed"
    db.session.commit()

    assert chat.get_configs(name="ops") == []
    assert names(chat.get_configs(name="renamed")) == ["renamed"]
