"""The ``flask integrations`` commands, run through Flask's CLI test runner:
list, show, enable, disable, delete, export, import and check."""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import stat
import typing as t

import pytest
import sqlalchemy as sa
from flask import Flask, current_app, jsonify
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import Mapped, mapped_column
from wtforms import IntegerField, PasswordField, StringField
from wtforms.validators import URL, InputRequired, Length, NumberRange, Optional

from flask_integrations import (
    FlaskIntegrations,
    Integration,
    IntegrationConfigForm,
    IntegrationConfigMixin,
)
from tests.conftest import make_app

# -- integrations under test ------------------------------------------------------


class ChatForm(IntegrationConfigForm):
    webhook_url = StringField(
        "Webhook URL", validators=[InputRequired(), URL(require_tld=False)]
    )
    channel = StringField("Channel", validators=[Optional(), Length(max=20)])
    retries = IntegerField("Retries", validators=[Optional(), NumberRange(0, 5)])
    api_token = PasswordField("API token", validators=[InputRequired(), Length(max=64)])
    signing_key = StringField("Signing key")

    secret_fields = ("signing_key",)


class CliChat(Integration):
    integration_id = "cli.chat"
    name = "Zulu Chat"
    default_settings = {"channel": "#general"}
    config_form_cls = ChatForm


class CliPlain(Integration):
    integration_id = "cli.plain"
    name = "alpha plain"


class CliFailing(Integration):
    integration_id = "cli.failing"
    name = "Mike Failing"

    def initialize(self) -> None:
        raise RuntimeError("the service is down")


CHAT = CliChat.integration_id
PLAIN = CliPlain.integration_id
FAILING = CliFailing.integration_id
GONE = "cli.gone"

URL_OK = "https://hooks.example.com/ops"
TOKEN = "tok-0123456789-SECRET-TOKEN"
SIGNING_KEY = "signing-KEY-42"


@pytest.fixture
def integrations(db: SQLAlchemy) -> FlaskIntegrations:
    """The extension, with the integrations above registered."""
    extension = FlaskIntegrations(db=db, admin_required=lambda: True)
    for cls in (CliChat, CliPlain, CliFailing):
        extension.register(cls)
    return extension


# -- helpers ----------------------------------------------------------------------


def invoke(runner: t.Any, *args: str, **kwargs: t.Any) -> t.Any:
    """Run ``flask integrations ARGS``; a crash is never a valid outcome."""
    result = runner.invoke(args=["integrations", *args], **kwargs)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def chat_settings(**changes: t.Any) -> dict[str, t.Any]:
    settings = {
        "webhook_url": URL_OK,
        "channel": "#ops",
        "retries": 2,
        "api_token": TOKEN,
        "signing_key": SIGNING_KEY,
    }
    settings.update(changes)
    return settings


def create_config(
    app: Flask,
    integration_id: str,
    name: str | None,
    enabled: bool = True,
    settings: dict[str, t.Any] | None = None,
    **columns: t.Any,
) -> int:
    """Store a configuration from code (even of an unregistered integration)."""
    with app.app_context():
        state = app.extensions["integrations"]
        config = state.manager.config_model(
            integration_id=integration_id,
            name=name,
            enabled=enabled,
            settings=settings if settings is not None else {},
            **columns,
        )
        state.db.session.add(config)
        state.db.session.commit()
        return t.cast(int, config.id)


def stored_configs(app: Flask, *columns: str) -> list[dict[str, t.Any]]:
    """The stored configurations, read with a fresh session, oldest first."""
    with app.app_context():
        state = app.extensions["integrations"]
        model = state.manager.config_model
        configs = state.db.session.scalars(sa.select(model).order_by(model.id)).all()
        keys = columns or ("id", "integration_id", "name", "enabled", "settings")
        return [{key: getattr(c, key) for key in keys} for c in configs]


def settings_in_clear(app: Flask) -> list[dict[str, t.Any]]:
    """The stored settings, secrets decrypted, oldest first."""
    with app.app_context():
        state = app.extensions["integrations"]
        model = state.manager.config_model
        configs = state.db.session.scalars(sa.select(model).order_by(model.id)).all()
        return [{key: c.get(key) for key in c.settings} for c in configs]


def portable(app: Flask) -> list[dict[str, t.Any]]:
    """What an export should carry over, by integration and name."""
    rows = stored_configs(app, "integration_id", "name", "enabled", "extra_data")
    for row, settings in zip(rows, settings_in_clear(app), strict=True):
        row["settings"] = settings
    return sorted(rows, key=lambda r: (r["integration_id"], r["name"]))


def history_rows(app: Flask) -> list[dict[str, t.Any]]:
    """Every row of ``flask_integrations_history``, oldest first."""
    with app.app_context():
        rows = app.extensions["integrations"].db.session.execute(
            sa.text(
                "SELECT config_id, config_name, action, actor, changes"
                " FROM flask_integrations_history ORDER BY id"
            )
        )
        result = []
        for row in rows.mappings():
            entry = dict(row)
            if isinstance(entry["changes"], str):
                entry["changes"] = json.loads(entry["changes"])
            result.append(entry)
        return result


def generation(app: Flask) -> int:
    with app.app_context():
        value = (
            app.extensions["integrations"]
            .db.session.execute(
                sa.text(
                    "SELECT generation FROM flask_integrations_sync"
                    " WHERE name = 'configs'"
                )
            )
            .scalar()
        )
        return int(value or 0)


def database_state(app: Flask) -> tuple[t.Any, ...]:
    """Everything a command might change."""
    return (
        stored_configs(app, "id", "name", "enabled", "settings", "version"),
        history_rows(app),
        generation(app),
    )


def integration_enabled(app: Flask, integration_id: str) -> bool:
    with app.app_context():
        manager = app.extensions["integrations"].manager
        return bool(manager.get_integration(integration_id).enabled)


def write_json(path: t.Any, value: t.Any) -> str:
    path.write_text(json.dumps(value), encoding="utf-8")
    return str(path)


@contextlib.contextmanager
def other_app(
    url: str,
    name: str,
    classes: t.Sequence[type[Integration]] = (CliChat, CliPlain, CliFailing),
) -> t.Iterator[Flask]:
    """Another app (as if on another installation or in another process)."""
    db = SQLAlchemy()
    extension = FlaskIntegrations(db=db, admin_required=lambda: True)
    for cls in classes:
        extension.register(cls)
    app = make_app(url, db, extension, name=name)
    with app.app_context():
        db.create_all()
    try:
        yield app
    finally:
        with app.app_context():
            app.extensions["integrations"].manager.shutdown()
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()


# -- list -----------------------------------------------------------------------


def test_list_sorts_integrations_by_name_and_shows_configs(app, runner):
    ops = create_config(app, CHAT, "ops", settings=chat_settings())
    dev = create_config(app, CHAT, "dev", enabled=False, settings=chat_settings())

    result = invoke(runner, "list")

    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines == [
        "alpha plain (cli.plain): disabled",
        "  (no configurations)",
        "Mike Failing (cli.failing): disabled",
        "  (no configurations)",
        "Zulu Chat (cli.chat): enabled",
        f"  {ops}  enabled   ops",
        f"  {dev}  disabled  dev",
    ]


def test_list_shows_a_failed_integration_with_its_error(app, runner):
    config_id = create_config(app, FAILING, "flaky")

    result = invoke(runner, "list")

    assert result.exit_code == 0
    assert (
        "Mike Failing (cli.failing): failed (RuntimeError: the service is down)"
        in result.output
    )
    assert f"  {config_id}  enabled   flaky" in result.output


def test_list_shows_orphans_as_unavailable(app, runner):
    orphan = create_config(app, GONE, "left behind")

    result = invoke(runner, "list")

    assert result.exit_code == 0
    lines = result.output.splitlines()
    index = lines.index("cli.gone: unavailable (the integration is not registered)")
    assert lines[index + 1] == f"  {orphan}  enabled   left behind"


def test_list_sees_changes_made_by_another_process(
    shared_database_url, db, integrations
):
    app = make_app(shared_database_url, db, integrations, name="lister")
    with app.app_context():
        db.create_all()
    runner = app.test_cli_runner()
    try:
        assert "(no configurations)" in invoke(runner, "list").output
        with other_app(shared_database_url, "writer") as writer:
            create_config(writer, PLAIN, "written elsewhere")

        result = invoke(runner, "list")

        assert "alpha plain (cli.plain): enabled" in result.output
        assert "written elsewhere" in result.output
    finally:
        with app.app_context():
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()


def test_a_missing_table_is_a_clear_error(db, integrations):
    app = make_app("sqlite://", db, integrations, name="no_tables")
    try:
        result = invoke(app.test_cli_runner(), "list")

        assert result.exit_code == 1
        assert "Error: The database could not be used:" in result.output
        assert "flask db upgrade" in result.output
        assert "Traceback" not in result.output
    finally:
        with app.app_context():
            for engine in db.engines.values():
                engine.dispose()


# -- show ---------------------------------------------------------------------------


def test_show_prints_columns_and_settings_with_secrets_hidden(app, runner):
    config_id = create_config(
        app,
        CHAT,
        "ops",
        settings=chat_settings(oauth_token="tok-oauth-XYZ", colour="red"),
        extra_data={"note": "hi"},
    )

    result = invoke(runner, "show", str(config_id))

    assert result.exit_code == 0
    output = result.output
    assert f"Configuration {config_id}" in output
    assert "  integration_id: cli.chat (Zulu Chat)" in output
    assert "  name: ops" in output
    assert "  enabled: True" in output
    assert "  version: 1" in output
    assert "  time_added: " in output
    assert f'  webhook_url: "{URL_OK}"' in output
    assert "  retries: 2" in output
    assert "  api_token: [secret]" in output
    assert "  signing_key: [secret]" in output
    assert "  oauth_token: [secret]" in output
    assert '  colour: "red"' in output
    assert '  note: "hi"' in output
    assert TOKEN not in output
    assert SIGNING_KEY not in output


def test_show_an_orphan_hides_settings_that_look_secret(app, runner):
    config_id = create_config(
        app, GONE, "old", settings={"password": "hunter2", "colour": "red"}
    )

    result = invoke(runner, "show", str(config_id))

    assert result.exit_code == 0
    assert "  integration_id: cli.gone (not registered)" in result.output
    assert "  password: [secret]" in result.output
    assert '  colour: "red"' in result.output
    assert "hunter2" not in result.output


def test_show_unknown_id_is_an_error(app, runner):
    result = invoke(runner, "show", "4242")

    assert result.exit_code == 1
    assert "Error: No configuration with id 4242." in result.output


def test_show_a_non_numeric_id_is_a_usage_error(app, runner):
    result = invoke(runner, "show", "ops")

    assert result.exit_code == 2
    assert "Invalid value for 'CONFIG_ID'" in result.output


# -- enable and disable ---------------------------------------------------------


def test_enable_stores_it_enables_the_integration_and_records_cli(app, runner):
    config_id = create_config(app, CHAT, "ops", enabled=False, settings=chat_settings())
    assert not integration_enabled(app, CHAT)

    result = invoke(runner, "enable", str(config_id))

    assert result.exit_code == 0
    assert result.output == f"Enabled configuration {config_id} ('ops').\n"
    assert stored_configs(app, "enabled") == [{"enabled": True}]
    assert integration_enabled(app, CHAT)
    last = history_rows(app)[-1]
    assert last["action"] == "enabled"
    assert last["actor"] == "cli"
    assert last["config_id"] == config_id


def test_disable_stores_it_disables_the_integration_and_records_cli(app, runner):
    config_id = create_config(app, CHAT, "ops", settings=chat_settings())
    assert integration_enabled(app, CHAT)

    result = invoke(runner, "disable", str(config_id))

    assert result.exit_code == 0
    assert result.output == f"Disabled configuration {config_id} ('ops').\n"
    assert stored_configs(app, "enabled") == [{"enabled": False}]
    assert not integration_enabled(app, CHAT)
    last = history_rows(app)[-1]
    assert (last["action"], last["actor"]) == ("disabled", "cli")


@pytest.mark.parametrize("command, enabled", [("enable", True), ("disable", False)])
def test_enable_or_disable_when_already_so_changes_nothing(
    app, runner, command, enabled
):
    config_id = create_config(app, PLAIN, "ops", enabled=enabled)
    before = database_state(app)

    result = invoke(runner, command, str(config_id))

    assert result.exit_code == 0
    word = "enabled" if enabled else "disabled"
    assert result.output == f"Configuration {config_id} ('ops') is already {word}.\n"
    assert database_state(app) == before


@pytest.mark.parametrize("command", ["enable", "disable", "delete"])
def test_unknown_config_id_is_an_error_and_changes_nothing(app, runner, command):
    create_config(app, PLAIN, "ops", enabled=False)
    before = database_state(app)

    options = ["--yes"] if command == "delete" else []
    result = invoke(runner, command, "999", *options)

    assert result.exit_code == 1
    assert "Error: No configuration with id 999." in result.output
    assert "Traceback" not in result.output
    assert database_state(app) == before


def test_enable_an_orphan_is_refused(app, runner):
    config_id = create_config(app, GONE, "old", enabled=False)
    before = database_state(app)

    result = invoke(runner, "enable", str(config_id))

    assert result.exit_code == 1
    assert (
        f"Error: Cannot enable configuration {config_id} ('old'): its integration"
        " 'cli.gone' is not registered." in result.output
    )
    assert database_state(app) == before


def test_enable_warns_when_the_integration_fails_to_initialize(app, runner):
    config_id = create_config(app, FAILING, "flaky", enabled=False)

    result = invoke(runner, "enable", str(config_id))

    assert result.exit_code == 0
    assert stored_configs(app, "enabled") == [{"enabled": True}]
    assert "failed to initialize: RuntimeError: the service is down" in result.stderr
    assert "Warning" not in result.stdout


def test_enable_through_the_cli_reaches_another_process(
    shared_database_url, db, integrations
):
    app = make_app(shared_database_url, db, integrations, name="cli_app")
    with app.app_context():
        db.create_all()
    config_id = create_config(app, CHAT, "ops", enabled=False, settings=chat_settings())
    runner = app.test_cli_runner()
    try:
        with other_app(shared_database_url, "worker") as worker:

            def state() -> t.Any:
                manager = current_app.extensions["integrations"].manager
                chat = manager.get_integration(CHAT)
                return jsonify(
                    enabled=chat.enabled, configs=[c.name for c in chat.get_configs()]
                )

            worker.add_url_rule("/state", "state", state)
            client = worker.test_client()
            assert client.get("/state").json == {"enabled": False, "configs": []}

            assert invoke(runner, "enable", str(config_id)).exit_code == 0
            assert client.get("/state").json == {"enabled": True, "configs": ["ops"]}

            assert invoke(runner, "disable", str(config_id)).exit_code == 0
            assert client.get("/state").json == {"enabled": False, "configs": []}
    finally:
        with app.app_context():
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()


# -- delete ------------------------------------------------------------------------


def test_delete_with_yes_deletes_and_records_cli(app, runner):
    config_id = create_config(app, CHAT, "ops", settings=chat_settings())
    keep = create_config(app, CHAT, "keep", settings=chat_settings())

    result = invoke(runner, "delete", str(config_id), "--yes")

    assert result.exit_code == 0
    assert result.output == f"Deleted configuration {config_id} ('ops').\n"
    assert [c["id"] for c in stored_configs(app)] == [keep]
    last = history_rows(app)[-1]
    assert (last["config_id"], last["action"], last["actor"]) == (
        config_id,
        "deleted",
        "cli",
    )


def test_delete_asks_for_confirmation(app, runner):
    config_id = create_config(app, PLAIN, "ops")
    before = database_state(app)

    refused = invoke(runner, "delete", str(config_id), input="n\n")

    assert refused.exit_code == 1
    assert f"Delete configuration {config_id} ('ops')? [y/N]" in refused.output
    assert "Aborted!" in refused.output
    assert database_state(app) == before

    accepted = invoke(runner, "delete", str(config_id), input="y\n")

    assert accepted.exit_code == 0
    assert stored_configs(app) == []


def test_delete_an_orphan(app, runner):
    config_id = create_config(app, GONE, "old")

    result = invoke(runner, "delete", str(config_id), "--yes")

    assert result.exit_code == 0
    assert stored_configs(app) == []


def test_deleting_the_last_enabled_config_disables_the_integration(app, runner):
    config_id = create_config(app, PLAIN, "ops")
    assert integration_enabled(app, PLAIN)

    invoke(runner, "delete", str(config_id), "--yes")

    assert not integration_enabled(app, PLAIN)


# -- export -----------------------------------------------------------------------


def test_export_writes_every_configuration_without_secrets(app, runner):
    # A key no form field handles is a secret when its name looks like one.
    settings = chat_settings(extra="kept", oauth_token="tok-oauth-XYZ")
    create_config(app, CHAT, "ops", settings=settings, extra_data={"n": 1})
    create_config(app, PLAIN, "plain", enabled=False, settings={"x": [1, 2]})

    result = invoke(runner, "export")

    assert result.exit_code == 0
    assert json.loads(result.stdout) == [
        {
            "integration_id": CHAT,
            "name": "ops",
            "enabled": True,
            "settings": {
                "webhook_url": URL_OK,
                "channel": "#ops",
                "retries": 2,
                "extra": "kept",
            },
            "extra_data": {"n": 1},
        },
        {
            "integration_id": PLAIN,
            "name": "plain",
            "enabled": False,
            "settings": {"x": [1, 2]},
            "extra_data": {},
        },
    ]
    assert TOKEN not in result.output
    assert SIGNING_KEY not in result.output
    assert "tok-oauth-XYZ" not in result.output
    assert "Left out 3 secret setting(s)" in result.stderr
    assert "--include-secrets" in result.stderr


def test_export_include_secrets_includes_them_with_a_warning(app, runner):
    create_config(app, CHAT, "ops", settings=chat_settings())

    result = invoke(runner, "export", "--include-secrets")

    assert result.exit_code == 0
    [entry] = json.loads(result.stdout)
    assert entry["settings"]["api_token"] == TOKEN
    assert entry["settings"]["signing_key"] == SIGNING_KEY
    assert "Warning: the export contains secrets in clear text." in result.stderr
    assert "Warning" not in result.stdout


def test_export_to_a_file(app, runner, tmp_path):
    create_config(app, CHAT, "ops", settings=chat_settings())
    target = tmp_path / "configs.json"

    result = invoke(runner, "export", "--output", str(target))

    assert result.exit_code == 0
    assert f"Exported 1 configuration(s) to '{target}'." in result.stdout
    [entry] = json.loads(target.read_text(encoding="utf-8"))
    assert entry["name"] == "ops"
    assert "api_token" not in entry["settings"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_export_with_secrets_to_a_new_file_is_private(app, runner, tmp_path):
    create_config(app, CHAT, "ops", settings=chat_settings())
    target = tmp_path / "secrets.json"

    invoke(runner, "export", "--include-secrets", "-o", str(target))

    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert TOKEN in target.read_text(encoding="utf-8")


def test_export_to_an_unwritable_place_is_an_error(app, runner, tmp_path):
    result = invoke(runner, "export", "-o", str(tmp_path / "missing" / "x.json"))

    assert result.exit_code == 1
    assert "Error: Cannot write to" in result.output


def test_export_skips_orphans_and_says_so(app, runner):
    orphan = create_config(app, GONE, "old", settings={"password": "hunter2"})
    create_config(app, PLAIN, "plain")

    result = invoke(runner, "export")

    assert [e["name"] for e in json.loads(result.stdout)] == ["plain"]
    assert (
        f"Skipped configuration {orphan} ('old'): its integration 'cli.gone' is"
        " not registered." in result.stderr
    )
    assert "hunter2" not in result.output


def test_export_of_nothing_is_an_empty_list(app, runner):
    result = invoke(runner, "export")

    assert result.exit_code == 0
    assert json.loads(result.stdout) == []


# -- import ----------------------------------------------------------------------


def test_import_creates_configs_validated_by_the_form(app, runner, tmp_path):
    path = write_json(
        tmp_path / "in.json",
        [
            {
                "integration_id": CHAT,
                "name": "ops",
                "settings": {"webhook_url": URL_OK, "api_token": TOKEN, "custom": 7},
            },
            {"integration_id": PLAIN, "name": "plain", "enabled": False},
        ],
    )

    result = invoke(runner, "import", path)

    assert result.exit_code == 0
    assert "Imported 2 configuration(s)" in result.output
    assert "2 created, 0 updated, 0 unchanged" in result.output
    configs = stored_configs(app, "integration_id", "name", "enabled")
    for config, settings in zip(configs, settings_in_clear(app), strict=True):
        config["settings"] = settings
    assert configs == [
        {
            "integration_id": CHAT,
            "name": "ops",
            # Enabled when not said otherwise, as on the add page; the form's
            # fields get their defaults; a key with no field is kept.
            "enabled": True,
            "settings": {
                "webhook_url": URL_OK,
                "api_token": TOKEN,
                "channel": "#general",
                "retries": None,
                "signing_key": None,
                "custom": 7,
            },
        },
        {"integration_id": PLAIN, "name": "plain", "enabled": False, "settings": {}},
    ]
    assert integration_enabled(app, CHAT)
    assert not integration_enabled(app, PLAIN)
    rows = history_rows(app)
    assert [(r["action"], r["actor"]) for r in rows] == [
        ("created", "cli"),
        ("created", "cli"),
    ]
    assert rows[0]["changes"]["settings.api_token"]["new"] == "[redacted]"


@pytest.mark.parametrize("direction", ["from-this-app", "into-this-app"])
def test_export_then_import_into_a_fresh_app_gives_equal_configs(
    app, runner, tmp_path, direction
):
    with other_app("sqlite://", "fresh") as fresh:
        source, target = (app, fresh) if direction == "from-this-app" else (fresh, app)
        create_config(
            source, CHAT, "ops", settings=chat_settings(), extra_data={"a": 1}
        )
        create_config(
            source, CHAT, "dev", enabled=False, settings=chat_settings(retries=0)
        )
        create_config(source, PLAIN, "plain", settings={"free": {"nested": [1]}})
        path = str(tmp_path / "export.json")

        exported = invoke(
            source.test_cli_runner(), "export", "--include-secrets", "-o", path
        )
        imported = invoke(target.test_cli_runner(), "import", path)

        assert exported.exit_code == 0
        assert imported.exit_code == 0, imported.output
        assert "3 created" in imported.output
        assert portable(target) == portable(source)
        assert integration_enabled(target, CHAT)


def test_import_again_is_idempotent(app, runner, tmp_path):
    create_config(app, CHAT, "ops", settings=chat_settings())
    create_config(app, PLAIN, "plain", enabled=False, settings={"x": 1})
    path = str(tmp_path / "export.json")
    invoke(runner, "export", "-o", path)
    before = database_state(app)

    first = invoke(runner, "import", path)
    second = invoke(runner, "import", path)

    for result in (first, second):
        assert result.exit_code == 0
        assert "0 created, 0 updated, 2 unchanged" in result.output
    # No duplicate, no new version, no history entry, secrets still stored.
    assert database_state(app) == before
    assert settings_in_clear(app)[0]["api_token"] == TOKEN


def test_import_again_with_secrets_is_idempotent(app, runner, tmp_path):
    create_config(app, CHAT, "ops", settings=chat_settings())
    path = str(tmp_path / "export.json")
    invoke(runner, "export", "--include-secrets", "-o", path)
    before = database_state(app)

    result = invoke(runner, "import", path)

    assert "0 created, 0 updated, 1 unchanged" in result.output
    # The secrets are not encrypted again: the row does not change.
    assert database_state(app) == before


def test_secrets_are_stored_encrypted_and_exported_in_clear_on_request(
    app, runner, tmp_path
):
    path = write_json(
        tmp_path / "in.json",
        [{"integration_id": CHAT, "name": "ops", "settings": chat_settings()}],
    )
    invoke(runner, "import", path)
    [stored] = stored_configs(app, "settings")
    assert TOKEN not in json.dumps(stored)

    without = invoke(runner, "export")
    with_secrets = invoke(runner, "export", "--include-secrets")

    assert "api_token" not in without.stdout
    assert "$fernet" not in without.stdout
    [entry] = json.loads(with_secrets.stdout)
    assert entry["settings"]["api_token"] == TOKEN
    assert entry["settings"]["signing_key"] == SIGNING_KEY


def test_import_updates_the_config_of_the_same_integration_and_name(
    app, runner, tmp_path
):
    config_id = create_config(
        app, CHAT, "ops", settings=chat_settings(legacy="old"), extra_data={"a": 1}
    )
    other_id = create_config(app, CHAT, "dev", settings=chat_settings())
    path = write_json(
        tmp_path / "in.json",
        [
            {
                "integration_id": CHAT,
                "name": "ops",
                "enabled": False,
                "settings": {"webhook_url": "https://new.example.com/", "custom": 1},
                "extra_data": {"b": 2},
            }
        ],
    )

    result = invoke(runner, "import", path)

    assert result.exit_code == 0
    assert "0 created, 1 updated, 0 unchanged" in result.output
    configs = stored_configs(app, "id", "enabled", "extra_data", "version")
    assert [c["id"] for c in configs] == [config_id, other_id]
    updated = configs[0]
    updated["settings"] = settings_in_clear(app)[0]
    assert updated["enabled"] is False
    assert updated["version"] == 2
    # What the file names changes; what it leaves out (secrets included) stays.
    assert updated["settings"] == chat_settings(
        webhook_url="https://new.example.com/", legacy="old", custom=1
    )
    assert updated["extra_data"] == {"a": 1, "b": 2}
    last = history_rows(app)[-1]
    assert (last["config_id"], last["action"], last["actor"]) == (
        config_id,
        "updated",
        "cli",
    )
    assert last["changes"]["enabled"] == {"old": True, "new": False}


def test_import_without_the_secrets_cannot_create_a_config_needing_one(
    app, runner, tmp_path
):
    create_config(app, CHAT, "ops", settings=chat_settings())
    path = str(tmp_path / "export.json")
    invoke(runner, "export", "-o", path)

    with other_app("sqlite://", "fresh") as fresh:
        result = invoke(fresh.test_cli_runner(), "import", path)

        assert result.exit_code == 1
        assert (
            "Entry at index 0 ('ops'), field 'settings.api_token': This field is"
            " required." in result.output
        )
        assert stored_configs(fresh) == []


BAD_ENTRIES: list[tuple[str, t.Any, str]] = [
    (
        "unknown-integration",
        {"integration_id": "cli.nope", "name": "x"},
        "Entry at index 1 ('x'), field 'integration_id': No integration is"
        " registered with the id 'cli.nope'.",
    ),
    (
        "missing-integration-id",
        {"name": "x"},
        "Entry at index 1 ('x'), field 'integration_id': An integration id",
    ),
    (
        "missing-name",
        {"integration_id": PLAIN},
        "Entry at index 1, field 'name': A name (a non-empty string) is required.",
    ),
    (
        "blank-name",
        {"integration_id": PLAIN, "name": "  "},
        "Entry at index 1 ('  '), field 'name': A name",
    ),
    (
        "name-too-long",
        {"integration_id": PLAIN, "name": "n" * 300},
        "field 'name': Field cannot be longer than 255 characters.",
    ),
    (
        "invalid-url",
        {
            "integration_id": CHAT,
            "name": "bad",
            "settings": {"webhook_url": "not a url", "api_token": TOKEN},
        },
        "Entry at index 1 ('bad'), field 'settings.webhook_url': Invalid URL.",
    ),
    (
        "missing-required-field",
        {"integration_id": CHAT, "name": "bad", "settings": {"api_token": TOKEN}},
        "Entry at index 1 ('bad'), field 'settings.webhook_url': This field is"
        " required.",
    ),
    (
        "not-an-integer",
        {
            "integration_id": CHAT,
            "name": "bad",
            "settings": {"webhook_url": URL_OK, "api_token": TOKEN, "retries": "x"},
        },
        "Entry at index 1 ('bad'), field 'settings.retries': Not a valid integer"
        " value.",
    ),
    (
        "out-of-range",
        {
            "integration_id": CHAT,
            "name": "bad",
            "settings": {"webhook_url": URL_OK, "api_token": TOKEN, "retries": 9},
        },
        "Entry at index 1 ('bad'), field 'settings.retries': Number must be between"
        " 0 and 5.",
    ),
    (
        "enabled-not-boolean",
        {"integration_id": PLAIN, "name": "x", "enabled": "yes"},
        "Entry at index 1 ('x'), field 'enabled': It must be true or false.",
    ),
    (
        "settings-not-an-object",
        {"integration_id": PLAIN, "name": "x", "settings": [1]},
        "Entry at index 1 ('x'), field 'settings': It must be a JSON object, not a"
        " list.",
    ),
    (
        "unknown-key",
        {"integration_id": PLAIN, "name": "x", "setings": {}},
        "Entry at index 1 ('x'), field 'setings': Unknown field; remove it.",
    ),
    (
        "not-an-object",
        ["cli.plain", "x"],
        "Entry at index 1: It must be a JSON object, not a list.",
    ),
    (
        "duplicate",
        {"integration_id": PLAIN, "name": "fine"},
        "Entry at index 1 ('fine'), field 'name': The entry at index 0 has the same"
        " integration and name.",
    ),
]


@pytest.mark.parametrize(
    "entry, message", [b[1:] for b in BAD_ENTRIES], ids=[b[0] for b in BAD_ENTRIES]
)
def test_a_bad_entry_changes_nothing_and_is_named(
    app, runner, tmp_path, entry, message
):
    create_config(app, PLAIN, "existing", enabled=False, settings={"keep": 1})
    # The first entry is fine on its own (it would update 'existing' and
    # create 'fine'), but must not be imported either.
    path = write_json(
        tmp_path / "in.json",
        [{"integration_id": PLAIN, "name": "fine"}, entry],
    )
    before = database_state(app)

    result = invoke(runner, "import", path)

    assert result.exit_code == 1
    assert f"Error: The file '{path}' was not imported, and nothing was changed:" in (
        result.output
    )
    assert message in result.output
    assert "Traceback" not in result.output
    assert database_state(app) == before
    assert not integration_enabled(app, PLAIN)


def test_every_bad_entry_is_reported(app, runner, tmp_path):
    path = write_json(
        tmp_path / "in.json",
        [
            {"integration_id": "cli.nope", "name": "first"},
            {"integration_id": PLAIN, "name": "ok"},
            {"integration_id": CHAT, "name": "third", "settings": {}},
        ],
    )

    result = invoke(runner, "import", path)

    assert result.exit_code == 1
    assert "Entry at index 0 ('first'), field 'integration_id'" in result.output
    assert "Entry at index 1" not in result.output
    assert "Entry at index 2 ('third'), field 'settings.webhook_url'" in result.output
    assert "Entry at index 2 ('third'), field 'settings.api_token'" in result.output


@pytest.mark.parametrize(
    "content, message",
    [
        ("[{", "is not valid JSON: Expecting property name"),
        ("", "is not valid JSON: Expecting value: line 1 column 1"),
        ('[{"integration_id": "cli.plain", "name": NaN}]', "is not valid JSON"),
        ('{"integration_id": "cli.plain"}', "must hold a JSON list of configurations,"),
        ('"text"', "not a string"),
    ],
    ids=["truncated", "empty", "nan", "object", "string"],
)
def test_a_file_that_is_not_a_json_list_changes_nothing(
    app, runner, tmp_path, content, message
):
    create_config(app, PLAIN, "existing")
    path = tmp_path / "in.json"
    path.write_text(content, encoding="utf-8")
    before = database_state(app)

    result = invoke(runner, "import", str(path))

    assert result.exit_code == 1
    assert f"Error: The file '{path}' " in result.output
    assert message in result.output
    assert "Nothing was changed." in result.output
    assert database_state(app) == before


def test_a_file_that_is_not_utf8_is_an_error(app, runner, tmp_path):
    path = tmp_path / "in.json"
    path.write_bytes(b'[{"name": "\xff"}]')

    result = invoke(runner, "import", str(path))

    assert result.exit_code == 1
    assert "is not UTF-8 text. Nothing was changed." in result.output


def test_import_a_missing_file_is_a_usage_error(app, runner, tmp_path):
    result = invoke(runner, "import", str(tmp_path / "nope.json"))

    assert result.exit_code == 2
    assert "No such file or directory" in result.output


def test_import_reads_standard_input(app, runner):
    entries = [{"integration_id": PLAIN, "name": "piped"}]

    result = invoke(runner, "import", "-", input=json.dumps(entries))

    assert result.exit_code == 0
    assert [c["name"] for c in stored_configs(app)] == ["piped"]


def test_import_refuses_to_guess_between_two_configs_of_the_same_name(
    app, runner, tmp_path
):
    first = create_config(app, PLAIN, "twin")
    second = create_config(app, PLAIN, "twin")
    path = write_json(tmp_path / "in.json", [{"integration_id": PLAIN, "name": "twin"}])
    before = database_state(app)

    result = invoke(runner, "import", path)

    assert result.exit_code == 1
    assert (
        f"Entry at index 0 ('twin'), field 'name': It matches 2 stored"
        f" configurations (ids {first}, {second})." in result.output
    )
    assert database_state(app) == before


# -- a configuration model with extra columns ------------------------------------


@pytest.fixture
def team_app(database_url: str, db: SQLAlchemy) -> t.Iterator[Flask]:
    """An app whose configuration model has extra columns."""

    class TeamConfig(IntegrationConfigMixin, db.Model):  # type: ignore[name-defined, misc]
        team: Mapped[str] = mapped_column(sa.String(50))
        review_on: Mapped[datetime.date | None] = mapped_column(sa.Date, nullable=True)

    extension = FlaskIntegrations(
        db=db, config_model=TeamConfig, admin_required=lambda: True
    )
    extension.register(CliChat)
    extension.register(CliPlain)
    app = make_app(database_url, db, extension, name="team_app")
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        app.extensions["integrations"].manager.shutdown()
        db.session.remove()
        db.drop_all()
        for engine in db.engines.values():
            engine.dispose()


def test_export_and_import_carry_extra_columns(team_app, tmp_path):
    create_config(
        team_app, PLAIN, "ops", team="blue", review_on=datetime.date(2025, 3, 1)
    )
    runner = team_app.test_cli_runner()

    exported = invoke(runner, "export")

    assert json.loads(exported.stdout) == [
        {
            "integration_id": PLAIN,
            "name": "ops",
            "enabled": True,
            "settings": {},
            "extra_data": {},
            "team": "blue",
            "review_on": "2025-03-01",
        }
    ]

    entries = json.loads(exported.stdout)
    entries[0].update(team="red", review_on="2026-01-31")
    entries.append({"integration_id": PLAIN, "name": "new", "team": "green"})
    imported = invoke(runner, "import", write_json(tmp_path / "in.json", entries))

    assert imported.exit_code == 0, imported.output
    assert stored_configs(team_app, "name", "team", "review_on") == [
        {"name": "ops", "team": "red", "review_on": datetime.date(2026, 1, 31)},
        {"name": "new", "team": "green", "review_on": None},
    ]


def test_import_names_the_entry_the_database_refuses(team_app, tmp_path):
    create_config(team_app, PLAIN, "ops", team="blue")
    before = stored_configs(team_app, "name", "team", "version")
    path = write_json(
        tmp_path / "in.json",
        [
            {"integration_id": PLAIN, "name": "ops", "team": "red"},
            {"integration_id": PLAIN, "name": "no team"},
        ],
    )

    result = invoke(team_app.test_cli_runner(), "import", path)

    assert result.exit_code == 1
    assert (
        "Error: The entry at index 1 ('no team') could not be stored, and nothing"
        " was changed:" in result.output
    )
    assert stored_configs(team_app, "name", "team", "version") == before


def test_import_rejects_a_bad_value_of_an_extra_column(team_app, tmp_path):
    path = write_json(
        tmp_path / "in.json",
        [{"integration_id": PLAIN, "name": "x", "team": "a", "review_on": "soon"}],
    )

    result = invoke(team_app.test_cli_runner(), "import", path)

    assert result.exit_code == 1
    assert (
        "Entry at index 0 ('x'), field 'review_on': Not a valid value for this"
        " column: 'soon'." in result.output
    )
    assert stored_configs(team_app) == []


# -- check -----------------------------------------------------------------------


def test_check_passes_when_every_config_is_valid(app, runner):
    create_config(app, CHAT, "ops", settings=chat_settings())
    create_config(app, PLAIN, "plain", settings={"anything": True})
    before = database_state(app)

    result = invoke(runner, "check")

    assert result.exit_code == 0
    assert result.output == "Checked 2 configuration(s): 0 broken, 0 unavailable.\n"
    assert database_state(app) == before


def test_check_reports_broken_configs_with_their_field_errors(app, runner):
    create_config(app, CHAT, "ok", settings=chat_settings())
    bad_url = create_config(
        app, CHAT, "bad url", settings=chat_settings(webhook_url="x")
    )
    no_token = create_config(
        app, CHAT, "no token", enabled=False, settings=chat_settings(api_token="")
    )
    before = database_state(app)

    result = invoke(runner, "check")

    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"Configuration {bad_url} ('bad url') of 'Zulu Chat' is broken:",
        "  'settings.webhook_url': Invalid URL.",
        f"Configuration {no_token} ('no token') of 'Zulu Chat' is broken:",
        "  'settings.api_token': This field is required.",
        "Checked 3 configuration(s): 2 broken, 0 unavailable.",
    ]
    assert database_state(app) == before


def test_check_reports_a_secret_that_cannot_be_decrypted(app, runner):
    config_id = create_config(app, CHAT, "ops", settings=chat_settings())
    app.config["SECRET_KEY"] = "another key, the old one is lost"

    result = invoke(runner, "check")

    assert result.exit_code == 1
    assert f"Configuration {config_id} ('ops') of 'Zulu Chat' is broken:" in (
        result.output
    )
    assert "cannot be decrypted with the configured keys" in result.output
    assert "$fernet" not in result.output


def test_check_reports_settings_that_are_not_an_object(app, runner):
    config_id = create_config(app, PLAIN, "odd", settings=["not", "a", "dict"])

    result = invoke(runner, "check")

    assert result.exit_code == 1
    assert f"Configuration {config_id} ('odd') of 'alpha plain' is broken:" in (
        result.output
    )
    assert "'settings': It must be a JSON object, not a list." in result.output


def test_check_reports_orphans_without_failing(app, runner):
    create_config(app, PLAIN, "plain")
    orphan = create_config(app, GONE, "old")

    result = invoke(runner, "check")

    assert result.exit_code == 0
    assert (
        f"Configuration {orphan} ('old') is unavailable: its integration"
        " 'cli.gone' is not registered." in result.output
    )
    assert "Checked 2 configuration(s): 0 broken, 1 unavailable." in result.output


def test_check_reports_a_form_that_raises(app, runner, integrations):
    class ExplodingForm(IntegrationConfigForm):
        def validate(self, extra_validators: t.Any = None) -> bool:
            raise RuntimeError("kaboom")

    class Exploding(Integration):
        integration_id = "cli.exploding"
        name = "Exploding"
        config_form_cls = ExplodingForm

    with app.app_context():
        integrations.register(Exploding)
    config_id = create_config(app, Exploding.integration_id, "boom")

    result = invoke(runner, "check")

    assert result.exit_code == 1
    assert f"Configuration {config_id} ('boom') of 'Exploding' is broken:" in (
        result.output
    )
    assert "  The form raised RuntimeError: kaboom" in result.output


# -- settings written by an older version of an integration ------------------------


class VersionedForm(IntegrationConfigForm):
    webhook_url = StringField("Webhook URL", validators=[InputRequired()])


class CliVersioned(Integration):
    """Version 2 renamed the setting 'url' to 'webhook_url'."""

    integration_id = "cli.versioned"
    name = "Versioned"
    settings_version = 2
    config_form_cls = VersionedForm

    def migrate_settings(
        self, settings: dict[str, t.Any], from_version: int
    ) -> dict[str, t.Any]:
        if "url" not in settings:
            raise ValueError("there is no 'url' to upgrade")
        settings["webhook_url"] = settings.pop("url")
        return settings


#: Columns of a configuration stored by version 1 of an integration.
OLD = {"settings_version": 1}


@pytest.fixture
def versioned(app: Flask, integrations: FlaskIntegrations) -> None:
    with app.app_context():
        integrations.register(CliVersioned)


def test_check_validates_settings_upgraded_to_the_current_version(
    app, runner, versioned
):
    create_config(
        app, CliVersioned.integration_id, "old", settings={"url": URL_OK}, **OLD
    )

    result = invoke(runner, "check")

    assert result.exit_code == 0, result.output
    assert "0 broken" in result.output


def test_check_reports_settings_that_cannot_be_upgraded(app, runner, versioned):
    config_id = create_config(
        app, CliVersioned.integration_id, "stuck", settings={"other": 1}, **OLD
    )

    result = invoke(runner, "check")

    assert result.exit_code == 1
    assert f"Configuration {config_id} ('stuck') of 'Versioned' is broken:" in (
        result.stdout
    )
    assert "  Its settings could not be upgraded from an older version" in (
        result.stdout
    )


def test_export_skips_settings_that_cannot_be_upgraded(app, runner, versioned):
    create_config(
        app, CliVersioned.integration_id, "fine", settings={"url": URL_OK}, **OLD
    )
    stuck = create_config(app, CliVersioned.integration_id, "stuck", settings={}, **OLD)

    result = invoke(runner, "export")

    assert result.exit_code == 0
    [entry] = json.loads(result.stdout)
    assert entry["name"] == "fine"
    assert entry["settings"] == {"webhook_url": URL_OK}
    assert "settings_version" not in entry
    assert (
        f"Skipped configuration {stuck} ('stuck'): its settings could not be"
        " upgraded" in result.stderr
    )


def test_import_updating_old_settings_stores_them_at_the_current_version(
    app, runner, versioned, tmp_path
):
    config_id = create_config(
        app,
        CliVersioned.integration_id,
        "old",
        enabled=False,
        settings={"url": URL_OK},
        **OLD,
    )
    path = write_json(
        tmp_path / "in.json",
        [
            {
                "integration_id": CliVersioned.integration_id,
                "name": "old",
                "enabled": True,
                "settings": {"webhook_url": "https://new.example.com/"},
            }
        ],
    )

    result = invoke(runner, "import", path)

    assert result.exit_code == 0, result.output
    assert stored_configs(app, "id", "settings", "settings_version") == [
        {
            "id": config_id,
            "settings": {"webhook_url": "https://new.example.com/"},
            "settings_version": 2,
        }
    ]
    # Read as the integration sees it: not upgraded a second time.
    with app.app_context():
        manager = app.extensions["integrations"].manager
        [snapshot] = manager.get_integration_configs(CliVersioned)
        assert snapshot.get("webhook_url") == "https://new.example.com/"


def test_import_cannot_update_settings_that_cannot_be_upgraded(
    app, runner, versioned, tmp_path
):
    create_config(app, CliVersioned.integration_id, "stuck", settings={}, **OLD)
    path = write_json(
        tmp_path / "in.json",
        [
            {
                "integration_id": CliVersioned.integration_id,
                "name": "stuck",
                "settings": {"webhook_url": URL_OK},
            }
        ],
    )
    before = database_state(app)

    result = invoke(runner, "import", path)

    assert result.exit_code == 1
    assert (
        "Entry at index 0 ('stuck'): The stored configuration cannot be updated:"
        in result.output
    )
    assert "there is no 'url' to upgrade" in result.output
    assert database_state(app) == before
