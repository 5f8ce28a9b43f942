"""Secret settings are encrypted at rest."""

from __future__ import annotations

import typing as t

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from flask import Flask
from wtforms import PasswordField, StringField

from flask_integrations import FlaskIntegrations, Integration, IntegrationConfigForm
from flask_integrations.crypto import (
    EncryptionKeyError,
    SecretDecryptionError,
    cipher_for,
    derive_key,
    is_encrypted,
)

CLEAR = "super-secret-token-1234"


class SecretForm(IntegrationConfigForm):
    url = StringField("URL")
    token = PasswordField("Token")
    signing_key = StringField("Signing key")
    secret_fields = ("signing_key",)


class SecretIntegration(Integration):
    integration_id = "tests.secrets"
    name = "Secrets"
    config_form_cls = SecretForm


@pytest.fixture
def integrations(db: t.Any) -> FlaskIntegrations:
    ext = FlaskIntegrations(db=db, admin_required=lambda: True)
    ext.register(SecretIntegration)
    return ext


def _raw(db: t.Any, config_id: int) -> t.Any:
    table = db.metadata.tables["flask_integrations_config"]
    with db.engine.connect() as connection:
        return connection.execute(
            sa.select(table.c.settings).where(table.c.id == config_id)
        ).scalar_one()


def _raw_text(db: t.Any) -> str:
    with db.engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT settings FROM flask_integrations_config")
        ).all()
    return repr(rows)


def _create(manager: t.Any) -> t.Any:
    integration = manager.get_integration(SecretIntegration.integration_id)
    config = integration.create_config(name="s", enabled=True)
    config.settings = {
        "url": "https://x.invalid",
        "token": CLEAR,
        "signing_key": "k" * 20,
    }
    manager.session.add(config)
    manager.session.commit()
    return config


def test_secrets_never_reach_the_database_in_clear(manager: t.Any, db: t.Any) -> None:
    config = _create(manager)
    raw = _raw(db, config.id)
    assert raw["url"] == "https://x.invalid"
    assert is_encrypted(raw["token"]) and is_encrypted(raw["signing_key"])
    assert CLEAR not in _raw_text(db) and "k" * 20 not in _raw_text(db)
    assert config.get("token") == CLEAR
    (snapshot,) = manager.get_integration_configs(SecretIntegration)
    assert snapshot.get("token") == CLEAR
    assert CLEAR not in repr(snapshot.settings)


def test_secrets_set_in_code_and_edited_in_place_are_encrypted(
    manager: t.Any, db: t.Any
) -> None:
    config = _create(manager)
    config.set("token", "changed-in-code")
    manager.session.commit()
    assert is_encrypted(_raw(db, config.id)["token"])
    assert manager.get_config(config.id).get("token") == "changed-in-code"


def test_pages_never_show_a_secret(app: Flask, manager: t.Any, db: t.Any) -> None:
    config = _create(manager)
    page = app.test_client().get(f"/integrations/tests.secrets/configs/{config.id}/")
    assert CLEAR not in page.text
    assert "ends in …1234" in page.text
    history = page.text.split("History", 1)[1]
    assert "gAAAA" not in history


def test_saving_the_form_encrypts(app: Flask, manager: t.Any, db: t.Any) -> None:
    response = app.test_client().post(
        "/integrations/tests.secrets/configs/add/",
        data={"name": "form", "enabled": "y", "url": "u", "token": "typed-token-here"},
    )
    assert response.status_code == 302
    config = manager.get_integration_configs(SecretIntegration)[0]
    assert is_encrypted(_raw(db, config.id)["token"])
    assert config.get("token") == "typed-token-here"


def test_key_derived_from_secret_key_and_explicit_key(app: Flask) -> None:
    derived = derive_key("test secret key")
    assert len(derived) == 44
    token = cipher_for(app).encrypt(b"x")
    assert Fernet(derived).decrypt(token) == b"x"
    explicit = Fernet.generate_key()
    app.config["INTEGRATIONS_ENCRYPTION_KEY"] = explicit.decode()
    assert Fernet(explicit).decrypt(cipher_for(app).encrypt(b"y")) == b"y"


def test_no_key_at_all_is_a_clear_error(app: Flask) -> None:
    app.config["SECRET_KEY"] = None
    with pytest.raises(EncryptionKeyError, match="INTEGRATIONS_ENCRYPTION_KEY"):
        cipher_for(app)


def test_key_rotation(app: Flask, manager: t.Any, db: t.Any) -> None:
    config = _create(manager)
    old_token = _raw(db, config.id)["token"]

    new_key = Fernet.generate_key().decode()
    app.config["INTEGRATIONS_ENCRYPTION_KEY"] = new_key
    with pytest.raises(SecretDecryptionError, match="INTEGRATIONS_ENCRYPTION_OLD_KEYS"):
        manager.get_config(config.id).get("token")

    app.config["INTEGRATIONS_ENCRYPTION_OLD_KEYS"] = ["test secret key"]
    assert manager.get_config(config.id).get("token") == CLEAR
    assert manager.reencrypt_secrets() == 1
    assert _raw(db, config.id)["token"] != old_token

    app.config["INTEGRATIONS_ENCRYPTION_OLD_KEYS"] = []
    manager.session.expire_all()
    assert manager.get_config(config.id).get("token") == CLEAR
    assert manager.get_config(config.id).get("signing_key") == "k" * 20


def test_an_undecryptable_secret_breaks_only_its_configuration(
    app: Flask, manager: t.Any, db: t.Any
) -> None:
    broken = _create(manager)
    table = db.metadata.tables["flask_integrations_config"]
    manager.session.execute(
        sa.update(table)
        .where(table.c.id == broken.id)
        .values(settings={"token": {"$fernet": "gAAAAA-not-a-token"}})
    )
    manager.session.commit()
    healthy = _create(manager)
    manager.session.expire_all()
    with pytest.raises(SecretDecryptionError, match="'token'"):
        manager.get_config(broken.id).get("token")
    assert manager.get_config(healthy.id).get("token") == CLEAR
    client = app.test_client()
    assert client.get("/integrations/").status_code == 200
    edit = client.get(f"/integrations/tests.secrets/configs/{broken.id}/")
    assert edit.status_code == 200
    before = _raw(db, healthy.id)["token"]
    with pytest.raises(SecretDecryptionError):
        manager.reencrypt_secrets()
    assert _raw(db, healthy.id)["token"] == before


def test_reencrypt_command(app: Flask, manager: t.Any, db: t.Any) -> None:
    config = _create(manager)
    before = _raw(db, config.id)["token"]
    app.config["INTEGRATIONS_ENCRYPTION_OLD_KEYS"] = ["test secret key"]
    app.config["INTEGRATIONS_ENCRYPTION_KEY"] = Fernet.generate_key().decode()
    result = app.test_cli_runner().invoke(args=["integrations", "reencrypt"])
    assert result.exit_code == 0, result.output
    assert "1 configuration" in result.output
    assert _raw(db, config.id)["token"] != before
    app.config["INTEGRATIONS_ENCRYPTION_OLD_KEYS"] = []
    manager.session.expire_all()
    assert manager.get_config(config.id).get("token") == CLEAR

    app.config["INTEGRATIONS_ENCRYPTION_KEY"] = Fernet.generate_key().decode()
    failed = app.test_cli_runner().invoke(args=["integrations", "reencrypt"])
    assert failed.exit_code == 1
    assert "Nothing was changed" in failed.output
