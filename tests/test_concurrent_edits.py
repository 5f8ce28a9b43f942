"""Two administrators editing the same configuration."""

from __future__ import annotations

import typing as t

import pytest
from flask import Flask

from flask_integrations import FlaskIntegrations, Integration


class Shared(Integration):
    integration_id = "tests.concurrent"
    name = "Shared"


@pytest.fixture
def integrations(db: t.Any) -> FlaskIntegrations:
    ext = FlaskIntegrations(db=db, admin_required=lambda: True)
    ext.register(Shared)
    return ext


@pytest.fixture
def config_id(app: Flask, integrations: FlaskIntegrations) -> int:
    with app.app_context():
        config = integrations.manager.get_integration(Shared.integration_id)
        return int(config.create_config(name="original", enabled=True, save=True).id)


def _stored(app: Flask, integrations: FlaskIntegrations, config_id: int) -> t.Any:
    with app.app_context():
        return integrations.manager.get_config(config_id)


URL = "/integrations/tests.concurrent/configs/{}/"


def test_second_save_is_told_and_loses_nothing(
    app: Flask, integrations: FlaskIntegrations, config_id: int
) -> None:
    first, second = app.test_client(), app.test_client()
    assert 'name="_version" value="1"' in first.get(URL.format(config_id)).text
    assert 'name="_version" value="1"' in second.get(URL.format(config_id)).text

    saved = first.post(
        URL.format(config_id), data={"name": "first", "enabled": "y", "_version": "1"}
    )
    assert saved.status_code == 302

    conflict = second.post(
        URL.format(config_id), data={"name": "second", "enabled": "y", "_version": "1"}
    )
    assert conflict.status_code == 200
    assert "changed by someone else since you opened it" in conflict.text
    assert 'value="second"' in conflict.text
    assert 'name="_version" value="2"' in conflict.text
    assert _stored(app, integrations, config_id).name == "first"

    again = second.post(
        URL.format(config_id), data={"name": "second", "enabled": "y", "_version": "2"}
    )
    assert again.status_code == 302
    assert _stored(app, integrations, config_id).name == "second"


def test_saving_a_configuration_deleted_meanwhile_says_so(
    app: Flask, integrations: FlaskIntegrations, config_id: int
) -> None:
    editor, deleter = app.test_client(), app.test_client()
    editor.get(URL.format(config_id))
    assert deleter.post(URL.format(config_id) + "delete/").status_code == 302

    response = editor.post(
        URL.format(config_id), data={"name": "late", "enabled": "y", "_version": "1"}
    )
    assert response.status_code == 404
    assert "someone may have deleted it" in response.text

    toggled = editor.post(URL.format(config_id) + "toggle/")
    assert toggled.status_code == 404
    assert "someone may have deleted it" in toggled.text


def test_a_change_racing_the_commit_is_caught_too(
    app: Flask, integrations: FlaskIntegrations, config_id: int
) -> None:
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    table = integrations.config_model_for(app).__table__

    fired: list[bool] = []

    def concurrent_writer(session: Session, *args: t.Any) -> None:
        # Another process commits between this request's read and its flush.
        if fired:
            return
        fired.append(True)
        session.connection().execute(
            sa.update(table).values(name="racer", version=table.c.version + 1)
        )

    sa.event.listen(Session, "before_flush", concurrent_writer)
    try:
        response = app.test_client().post(
            URL.format(config_id),
            data={"name": "mine", "enabled": "y", "_version": "1"},
        )
    finally:
        sa.event.remove(Session, "before_flush", concurrent_writer)
    assert response.status_code == 200
    assert "changed by someone else since you opened it" in response.text
    assert 'value="mine"' in response.text
    assert _stored(app, integrations, config_id).name == "original"


class _SerializationFailure(Exception):
    """What psycopg raises when a REPEATABLE READ commit meets a concurrent
    one (only its SQLSTATE matters)."""

    sqlstate = "40001"


@pytest.fixture
def refuse_next_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The next commit of any session fails as a serialization failure."""
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    commit = Session.commit
    calls = {"n": 0}

    def refusing(self: Session) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise sa.exc.OperationalError(
                "COMMIT", {}, _SerializationFailure("could not serialize access")
            )
        commit(self)

    monkeypatch.setattr(Session, "commit", refusing)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_save_refused_for_a_concurrent_change_says_so_and_keeps_the_form(
    client: t.Any,
    app: Flask,
    integrations: FlaskIntegrations,
    config_id: int,
    refuse_next_commit: None,
) -> None:
    response = client.post(URL.format(config_id), data={"name": "mine", "enabled": "y"})

    assert response.status_code == 409
    assert "was not saved. Please try again." in response.text
    assert 'value="mine"' in response.text
    assert _stored(app, integrations, config_id).name == "original"

    again = client.post(URL.format(config_id), data={"name": "mine", "enabled": "y"})
    assert again.status_code == 302
    assert _stored(app, integrations, config_id).name == "mine"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("action", ["toggle", "delete"])
def test_a_toggle_or_delete_refused_for_a_concurrent_change_does_nothing(
    action: str,
    client: t.Any,
    app: Flask,
    integrations: FlaskIntegrations,
    config_id: int,
    refuse_next_commit: None,
) -> None:
    response = client.post(URL.format(config_id) + f"{action}/", follow_redirects=True)

    assert response.status_code == 200
    assert "was not saved. Please try again." in response.text
    stored = _stored(app, integrations, config_id)
    assert stored is not None and stored.enabled is True
