"""``IntegrationConfigForm``: adding and editing configurations, secrets,
fieldsets, JSON round trips and use outside a request."""

from __future__ import annotations

import datetime
import json
import typing as t

import pytest
from flask import Flask, has_request_context, render_template_string
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import generate_csrf
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict
from wtforms import DateField, DateTimeLocalField, PasswordField, StringField
from wtforms.validators import InputRequired, Optional

from flask_integrations import (
    ConfigFormError,
    Fieldset,
    Integration,
    IntegrationConfigForm,
    IntegrationError,
)


class ChatForm(IntegrationConfigForm):
    webhook_url = StringField("Webhook URL")
    api_token = PasswordField("API token", validators=[InputRequired()])
    channel = StringField("Channel")
    signing_key = StringField("Signing key")
    start_date = DateField("Start date", validators=[Optional()])
    remind_at = DateTimeLocalField("Remind at", validators=[Optional()])

    secret_fields = ("signing_key",)
    fieldsets = (
        Fieldset("Connection", ("webhook_url", "api_token"), "Where messages go."),
        ("Schedule", {"fields": ("start_date", "remind_at")}),
    )


class ChatIntegration(Integration):
    integration_id = "test_forms.chat"
    name = "Form Chat"
    default_settings = {"channel": "#general", "username": "bot"}
    config_form_cls = ChatForm


class PlainIntegration(Integration):
    integration_id = "test_forms.plain"
    name = "Plain"


#: Renders a form the way the admin pages do.
FIELDSETS_TEMPLATE = (
    '{% import "flask_integrations/_macros.html" as m %}{{ m.fieldsets(form) }}'
)

STORED_TOKEN = "tok-1234567890-ABCD"  # 19 characters
STORED_KEY = "short-key"  # 9 characters


@pytest.fixture
def chat(manager: t.Any) -> ChatIntegration:
    return t.cast(ChatIntegration, manager.register_integration_class(ChatIntegration))


def add_config(integration: t.Any, **kwargs: t.Any) -> t.Any:
    kwargs.setdefault("name", "ops")
    kwargs.setdefault("enabled", True)
    return integration.create_config(save=True, **kwargs)


def stored(db: SQLAlchemy, model: type[t.Any], config_id: int) -> t.Any:
    """The configuration as stored, read in a session of its own."""
    with Session(db.engine) as session:
        config = session.get(model, config_id)
        assert config is not None
        session.expunge(config)
        return config


def in_clear(config: t.Any) -> dict[str, t.Any]:
    """The stored settings as ``get()`` returns them (secrets decrypted)."""
    return {name: config.get(name) for name in config.settings}


def assert_not_stored_in_clear(config: t.Any, *secrets: str) -> None:
    """Secrets are stored encrypted: the raw JSON never holds them."""
    raw = json.dumps(config.settings)
    for secret in secrets:
        assert secret not in raw


def count_configs(manager: t.Any) -> int:
    manager.clear_all_configs_cache()
    return len(manager.get_integration_configs())


VALID_POST = {
    "name": "ops",
    "enabled": "y",
    "webhook_url": "https://hooks.example.com/abc",
    "api_token": "new-token",
    "channel": "#ops",
    "signing_key": "key-1",
    "start_date": "2024-03-05",
    "remind_at": "2024-03-05T10:30",
}


@pytest.fixture
def edited(chat: ChatIntegration) -> t.Any:
    """A stored configuration with secrets."""
    return add_config(
        chat,
        name="ops",
        enabled=False,
        settings={
            "webhook_url": "https://hooks.example.com/old",
            "api_token": STORED_TOKEN,
            "signing_key": STORED_KEY,
            "channel": "#ops",
            "start_date": "2024-03-05",
            "remind_at": "2024-03-05T10:30:00",
        },
    )


# -- adding --------------------------------------------------------------------


def test_add_form_starts_from_default_settings(app, chat):
    with app.test_request_context():
        form = ChatForm(chat)

        assert form.config is None
        assert form.channel.data == "#general"
        assert form.enabled.data is True
        assert "checked" in str(form.enabled())
        assert not form.name.data
        assert form.webhook_url.data is None
        assert "username" not in form


def test_save_creates_a_config(app, chat, manager, db):
    with app.test_request_context(method="POST", data=VALID_POST):
        form = ChatForm(chat)
        assert form.validate(), form.errors
        config = form.save()

    assert isinstance(config, manager.config_model)
    assert config.id is not None
    saved = stored(db, manager.config_model, config.id)
    assert saved.integration_id == ChatIntegration.integration_id
    assert saved.name == "ops"
    assert saved.enabled is True
    assert in_clear(saved) == {
        "webhook_url": "https://hooks.example.com/abc",
        "api_token": "new-token",
        "channel": "#ops",
        "signing_key": "key-1",
        "start_date": "2024-03-05",
        "remind_at": "2024-03-05T10:30:00",
    }
    assert saved.settings["channel"] == "#ops"
    assert_not_stored_in_clear(saved, "new-token", "key-1")
    assert chat.enabled
    assert [c.name for c in chat.get_configs()] == ["ops"]


def test_unticked_enabled_saves_a_disabled_config(app, chat, manager, db):
    data = {k: v for k, v in VALID_POST.items() if k != "enabled"}
    with app.test_request_context(method="POST", data=data):
        form = ChatForm(chat)
        assert form.validate(), form.errors
        config = form.save()

    assert stored(db, manager.config_model, config.id).enabled is False
    assert not chat.enabled


def test_save_never_stores_the_csrf_token(app, chat, manager, db):
    with app.test_request_context(method="POST"):
        token = generate_csrf()
        form = ChatForm(
            chat,
            meta={"csrf": True},
            formdata=MultiDict({**VALID_POST, "csrf_token": token}),
        )
        assert "csrf_token" in form
        assert form.validate(), form.errors
        config = form.save()

    settings = stored(db, manager.config_model, config.id).settings
    assert "csrf_token" not in settings
    assert "name" not in settings
    assert "enabled" not in settings
    assert token not in settings.values()


def test_csrf_is_checked_when_on(app, chat, manager):
    with app.test_request_context(method="POST"):
        generate_csrf()
        form = ChatForm(
            chat,
            meta={"csrf": True},
            formdata=MultiDict({**VALID_POST, "csrf_token": "bad"}),
        )
        assert not form.validate()
        assert "csrf_token" in form.errors
        with pytest.raises(ConfigFormError):
            form.save()
    assert count_configs(manager) == 0


def test_save_without_validating_raises(app, chat, manager):
    with app.test_request_context(method="POST", data=VALID_POST):
        form = ChatForm(chat)
        with pytest.raises(ConfigFormError) as info:
            form.save()

    assert isinstance(info.value, IntegrationError)
    assert count_configs(manager) == 0


def test_save_with_errors_raises_and_stores_nothing(app, chat, manager):
    data = {**VALID_POST, "name": "", "start_date": "not a date"}
    with app.test_request_context(method="POST", data=data):
        form = ChatForm(chat)
        assert not form.validate()
        with pytest.raises(ConfigFormError) as info:
            form.save()

    assert isinstance(info.value, IntegrationError)
    assert set(info.value.errors) >= {"name", "start_date"}
    assert "'name'" in str(info.value)
    assert count_configs(manager) == 0
    assert not chat.enabled


def test_save_without_commit_waits_for_the_commit(app, chat, manager, db):
    with app.test_request_context(method="POST", data=VALID_POST):
        form = ChatForm(chat)
        assert form.validate(), form.errors
        config = form.save(commit=False)
        assert config in db.session
        assert not chat.enabled
        db.session.commit()

    assert chat.enabled
    assert count_configs(manager) == 1


# -- editing -------------------------------------------------------------------


def test_edit_form_loads_the_config(app, chat, edited):
    with app.test_request_context():
        form = ChatForm(chat, config=edited)

        assert form.config is edited
        assert form.name.data == "ops"
        assert form.enabled.data is False
        assert "checked" not in str(form.enabled())
        assert form.webhook_url.data == "https://hooks.example.com/old"
        assert form.channel.data == "#ops"
        assert form.start_date.data == datetime.date(2024, 3, 5)
        assert form.remind_at.data == datetime.datetime(2024, 3, 5, 10, 30)


def test_edit_form_falls_back_to_default_settings(app, chat):
    config = add_config(chat, settings={"webhook_url": "https://x.example.com"})

    with app.test_request_context():
        form = ChatForm(chat, config=config)

        assert form.channel.data == "#general"
        assert form.webhook_url.data == "https://x.example.com"


def test_edit_saves_changes_into_the_same_config(app, chat, manager, db, edited):
    data = {**VALID_POST, "name": "renamed", "channel": "#new", "api_token": ""}
    with app.test_request_context(method="POST", data=data):
        form = ChatForm(chat, config=edited)
        assert form.validate(), form.errors
        config = form.save()

    assert config.id == edited.id
    assert count_configs(manager) == 1
    saved = stored(db, manager.config_model, edited.id)
    assert saved.name == "renamed"
    assert saved.enabled is True
    assert saved.settings["channel"] == "#new"
    assert saved.settings["webhook_url"] == "https://hooks.example.com/abc"
    assert chat.enabled


def test_failed_edit_changes_nothing_stored(app, chat, manager, db, edited):
    before = stored(db, manager.config_model, edited.id).settings
    with app.test_request_context(method="POST", data={**VALID_POST, "name": ""}):
        form = ChatForm(chat, config=edited)
        assert not form.validate()
        with pytest.raises(ConfigFormError):
            form.save()
    db.session.rollback()

    saved = stored(db, manager.config_model, edited.id)
    assert saved.name == "ops"
    assert saved.settings == before


def test_edit_form_of_settings_that_are_not_an_object(app, chat, manager, db):
    config = add_config(chat, settings=["not", "an", "object"])

    with app.test_request_context():
        form = ChatForm(chat, config=config)
        assert form.channel.data == "#general"
        assert form.secret_hint("api_token") is None

    with app.test_request_context(method="POST", data=VALID_POST):
        form = ChatForm(chat, config=config)
        assert form.validate(), form.errors
        form.save()

    assert stored(db, manager.config_model, config.id).settings["channel"] == "#ops"


# -- secrets -------------------------------------------------------------------


def test_password_fields_and_secret_fields_are_secrets(app, chat):
    with app.test_request_context():
        form = ChatForm(chat)

        assert form.is_secret("api_token")
        assert form.is_secret(form.signing_key)
        assert not form.is_secret("channel")
        assert not form.is_secret("name")


def test_secrets_are_not_rendered_back(app, chat, edited):
    with app.test_request_context():
        form = ChatForm(chat, config=edited)

        assert not form.api_token.data
        assert not form.signing_key.data
        for field in form:
            html = str(field())
            assert STORED_TOKEN not in html, field.name
            assert STORED_KEY not in html, field.name
        # The other settings are rendered back.
        assert "https://hooks.example.com/old" in str(form.webhook_url())


def test_secrets_are_not_rendered_back_after_a_blank_post(app, chat, edited):
    data = {**VALID_POST, "api_token": "", "signing_key": "", "name": ""}
    with app.test_request_context(method="POST", data=data):
        form = ChatForm(chat, config=edited)
        assert not form.validate()

        html = "".join(str(field()) for field in form)
        assert STORED_TOKEN not in html
        assert STORED_KEY not in html


def test_secret_fields_are_not_rendered_in_the_page(app, chat, edited):
    with app.test_request_context():
        form = ChatForm(chat, config=edited)
        html = render_template_string(
            FIELDSETS_TEMPLATE,
            form=form,
        )

    assert STORED_TOKEN not in html
    assert STORED_KEY not in html
    assert "ABCD" in html  # the hint of the long secret
    assert "https://hooks.example.com/old" in html


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        ("x", "set"),
        ("a" * 15, "set"),
        ("a" * 12 + "WXYZ", "set, ends in …WXYZ"),
        (STORED_TOKEN, "set, ends in …ABCD"),
    ],
    ids=["1-char", "15-chars", "16-chars", "19-chars"],
)
def test_secret_hint(app, chat, value, hint):
    config = add_config(chat, settings={"api_token": value})

    with app.test_request_context():
        form = ChatForm(chat, config=config)
        assert form.secret_hint("api_token") == hint
        assert form.secret_hint("signing_key") is None


def test_secret_hint_when_adding_is_empty(app, chat):
    with app.test_request_context():
        form = ChatForm(chat)
        assert form.secret_hint("api_token") is None
        assert form.secret_hint("signing_key") is None


def test_blank_secrets_on_edit_keep_the_stored_values(app, chat, manager, db, edited):
    data = {**VALID_POST, "api_token": "", "signing_key": ""}
    with app.test_request_context(method="POST", data=data):
        form = ChatForm(chat, config=edited)
        assert form.validate(), form.errors
        form.save()

    saved = stored(db, manager.config_model, edited.id)
    settings = saved.settings
    assert in_clear(saved)["api_token"] == STORED_TOKEN
    assert in_clear(saved)["signing_key"] == STORED_KEY
    assert settings["channel"] == "#ops"
    assert settings["webhook_url"] == "https://hooks.example.com/abc"


def test_new_secrets_on_edit_replace_the_stored_values(app, chat, manager, db, edited):
    data = {**VALID_POST, "api_token": "brand-new-token", "signing_key": "new-key"}
    with app.test_request_context(method="POST", data=data):
        form = ChatForm(chat, config=edited)
        assert form.validate(), form.errors
        form.save()

    saved = stored(db, manager.config_model, edited.id)
    assert in_clear(saved)["api_token"] == "brand-new-token"
    assert in_clear(saved)["signing_key"] == "new-key"
    assert_not_stored_in_clear(saved, "brand-new-token", "new-key")


def test_secrets_saved_by_the_form_survive_a_blank_edit(app, chat, manager, db):
    with app.test_request_context(
        method="POST", data={**VALID_POST, "api_token": STORED_TOKEN}
    ):
        form = ChatForm(chat)
        assert form.validate(), form.errors
        config_id = form.save().id
    assert_not_stored_in_clear(
        stored(db, manager.config_model, config_id), STORED_TOKEN
    )
    db.session.remove()

    with app.test_request_context():
        form = ChatForm(chat, config=manager.get_config(config_id))
        assert form.secret_hint("api_token") == "set, ends in …ABCD"
        assert form.secret_hint("signing_key") == "set"
        html = "".join(str(field()) for field in form)
        assert STORED_TOKEN not in html
        assert "key-1" not in html

    blank = {**VALID_POST, "api_token": "", "signing_key": "", "channel": "#new"}
    with app.test_request_context(method="POST", data=blank):
        form = ChatForm(chat, config=manager.get_config(config_id))
        assert form.validate(), form.errors
        form.save()

    saved = stored(db, manager.config_model, config_id)
    assert saved.get("api_token") == STORED_TOKEN
    assert saved.get("signing_key") == "key-1"
    assert saved.get("channel") == "#new"
    assert_not_stored_in_clear(saved, STORED_TOKEN, "key-1")


def test_required_secret_may_be_blank_on_edit_only_when_stored(
    app, chat, manager, edited
):
    blank = {**VALID_POST, "api_token": ""}

    with app.test_request_context(method="POST", data=blank):
        form = ChatForm(chat, config=edited)
        assert form.validate(), form.errors
        assert not form.api_token.flags.required

    # Adding after editing: the secret is required again.
    with app.test_request_context(method="POST", data=blank):
        form = ChatForm(chat)
        assert not form.validate()
        assert "api_token" in form.errors
        assert form.api_token.flags.required

    # Editing a configuration without a stored secret requires one too.
    without = add_config(chat, name="no-token", settings={"channel": "#x"})
    with app.test_request_context(method="POST", data=blank):
        form = ChatForm(chat, config=without)
        assert not form.validate()
        assert "api_token" in form.errors


# -- fieldsets -----------------------------------------------------------------


def _layout(form: IntegrationConfigForm) -> list[tuple[str, tuple[str, ...]]]:
    return [(str(f.title), tuple(f.fields)) for f in form.get_fieldsets()]


def test_fieldsets_order(app, chat):
    with app.test_request_context():
        form = ChatForm(chat)
        fieldsets = form.get_fieldsets()

    assert _layout(form) == [
        ("Basic information", ("name", "enabled")),
        ("Connection", ("webhook_url", "api_token")),
        ("Schedule", ("start_date", "remind_at")),
        ("More settings", ("channel", "signing_key")),
    ]
    assert str(fieldsets[1].description) == "Where messages go."


def test_fieldsets_without_declared_groups(app, manager):
    class NoGroupsForm(IntegrationConfigForm):
        url = StringField("URL")
        token = PasswordField("Token")

    integration = manager.register_integration_class(PlainIntegration)
    with app.test_request_context():
        form = NoGroupsForm(integration)
        assert _layout(form) == [
            ("Basic information", ("name", "enabled")),
            ("Settings", ("url", "token")),
        ]
        bare = IntegrationConfigForm(integration)
        assert _layout(bare) == [("Basic information", ("name", "enabled"))]


def test_fieldsets_render_in_order(app, chat):
    with app.test_request_context():
        form = ChatForm(chat)
        html = render_template_string(
            FIELDSETS_TEMPLATE,
            form=form,
        )

    positions = [
        html.index(text)
        for text in (
            "Basic information",
            'name="name"',
            'name="enabled"',
            "Connection",
            'name="webhook_url"',
            'name="api_token"',
            "Schedule",
            'name="start_date"',
            "More settings",
            'name="channel"',
            'name="signing_key"',
        )
    ]
    assert positions == sorted(positions)
    assert "csrf_token" not in html


# -- dates ---------------------------------------------------------------------


def test_dates_round_trip_through_json_settings(app, chat, manager, db):
    with app.test_request_context(method="POST", data=VALID_POST):
        form = ChatForm(chat)
        assert form.validate(), form.errors
        config_id = form.save().id

    settings = stored(db, manager.config_model, config_id).settings
    assert settings["start_date"] == "2024-03-05"
    assert settings["remind_at"] == "2024-03-05T10:30:00"
    db.session.remove()

    with app.test_request_context():
        form = ChatForm(chat, config=manager.get_config(config_id))
        assert form.start_date.data == datetime.date(2024, 3, 5)
        assert form.remind_at.data == datetime.datetime(2024, 3, 5, 10, 30)
        assert 'value="2024-03-05"' in str(form.start_date())


def test_blank_optional_date_round_trips(app, chat, manager, db):
    data = {**VALID_POST, "start_date": "", "remind_at": ""}
    with app.test_request_context(method="POST", data=data):
        form = ChatForm(chat)
        assert form.validate(), form.errors
        config_id = form.save().id

    assert stored(db, manager.config_model, config_id).settings["start_date"] is None
    with app.test_request_context():
        form = ChatForm(chat, config=manager.get_config(config_id))
        assert form.start_date.data is None
        assert form.remind_at.data is None


class DatedIntegration(Integration):
    integration_id = "test_forms.dated"
    name = "Dated"
    default_settings = {"start_date": "2024-01-31", "channel": "#dates"}
    config_form_cls = ChatForm


def test_add_form_deserializes_default_settings_like_edit(app, manager):
    integration = manager.register_integration_class(DatedIntegration)
    config = add_config(integration, settings={"api_token": STORED_TOKEN})

    with app.test_request_context():
        edit = ChatForm(integration, config=config)
        add = ChatForm(integration)

        assert edit.start_date.data == datetime.date(2024, 1, 31)
        assert add.start_date.data == datetime.date(2024, 1, 31)
        assert 'value="2024-01-31"' in str(add.start_date())


# -- outside a request (CLI) ---------------------------------------------------


def test_form_outside_a_request(app: Flask, chat, manager, db):
    assert not has_request_context()
    form = ChatForm(chat, meta={"csrf": False}, formdata=MultiDict(VALID_POST))
    assert "csrf_token" not in form
    assert form.validate(), form.errors
    config_id = form.save().id

    assert chat.enabled
    saved = stored(db, manager.config_model, config_id)
    assert saved.name == "ops"
    assert saved.get("api_token") == "new-token"
    assert saved.settings["start_date"] == "2024-03-05"

    edit = ChatForm(
        chat,
        config=manager.get_config(config_id),
        meta={"csrf": False},
        formdata=MultiDict({**VALID_POST, "channel": "#cli", "api_token": ""}),
    )
    assert edit.validate(), edit.errors
    edit.save()

    saved = stored(db, manager.config_model, config_id)
    assert saved.settings["channel"] == "#cli"
    assert saved.get("api_token") == "new-token"


def test_form_outside_a_request_with_errors(app: Flask, chat, manager):
    assert not has_request_context()
    form = ChatForm(
        chat, meta={"csrf": False}, formdata=MultiDict({"name": "", "api_token": ""})
    )
    assert not form.validate()
    assert {"name", "api_token"} <= set(form.errors)
    with pytest.raises(ConfigFormError):
        form.save()
    assert count_configs(manager) == 0


def test_fieldset_tuples_in_either_order() -> None:
    from flask_integrations.forms import Fieldset, _as_fieldset

    expected = Fieldset("Where", ("url", "channel"), "Pick a channel.")
    assert _as_fieldset(("Where", ("url", "channel"), "Pick a channel.")) == expected
    assert _as_fieldset(("Where", "Pick a channel.", ["url", "channel"])) == expected
    assert _as_fieldset(("Where", ["url"])) == Fieldset("Where", ("url",), None)
    with pytest.raises(ValueError, match="Invalid fieldset"):
        _as_fieldset(("Where", "only text"))
