"""Property tests: arbitrary input never produces a 500 nor loses data."""

from __future__ import annotations

import typing as t

import pytest
import sqlalchemy as sa
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wtforms import FloatField, IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from flask_integrations import FlaskIntegrations, Integration, IntegrationConfigForm


class PropertyForm(IntegrationConfigForm):
    url = StringField("URL", validators=[InputRequired(), Length(max=200)])
    token = PasswordField("Token")
    retries = IntegerField("Retries", validators=[NumberRange(0, 10)], default=3)
    mode = SelectField("Mode", choices=["fast", "safe"])
    ratio = FloatField("Ratio", validators=[Optional()])


class PropertyIntegration(Integration):
    integration_id = "tests.properties"
    name = "Properties"
    config_form_cls = PropertyForm
    default_settings = {"retries": 3, "mode": "safe"}


HYPOTHESIS = settings(
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

FIELD_NAMES = st.sampled_from(
    [
        "name",
        "enabled",
        "url",
        "token",
        "retries",
        "mode",
        "ratio",
        "csrf_token",
        "_version",
        "next",
        "settings",
        "id",
        "integration_id",
    ]
)
TEXT = st.text(max_size=300)
VALUES = st.one_of(
    TEXT, st.sampled_from(["inf", "-Infinity", "nan", "1e999", "0", "3"])
)
FORM_DATA = st.dictionaries(
    FIELD_NAMES, st.one_of(VALUES, st.lists(VALUES, max_size=3))
)

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(TEXT, children, max_size=4)
    ),
    max_leaves=20,
)


@pytest.fixture
def integrations(db: t.Any) -> FlaskIntegrations:
    ext = FlaskIntegrations(db=db, admin_required=lambda: True)
    ext.register(PropertyIntegration)
    return ext


@pytest.fixture
def stored(app: Flask, integrations: FlaskIntegrations) -> int:
    with app.app_context():
        integration = integrations.manager.get_integration("tests.properties")
        config = integration.create_config(
            name="keep me",
            enabled=True,
            settings={"url": "https://example.invalid/hook", "token": "s" * 20},
        )
        integrations.manager.session.add(config)
        integrations.manager.session.commit()
        return int(config.id)


def _count(app: Flask, integrations: FlaskIntegrations) -> int:
    with app.app_context():
        model = integrations.manager.config_model
        return int(
            integrations.manager.session.execute(
                sa.select(sa.func.count()).select_from(model)
            ).scalar_one()
        )


@HYPOTHESIS
@given(data=FORM_DATA)
def test_arbitrary_posts_to_the_edit_page(
    app: Flask, integrations: FlaskIntegrations, stored: int, data: dict[str, t.Any]
) -> None:
    client = app.test_client()
    before = _count(app, integrations)
    with app.app_context():
        token_before = integrations.manager.get_config(stored).get("token")
    url = f"/integrations/tests.properties/configs/{stored}/"
    response = client.post(url, data=data)
    assert response.status_code in (200, 302, 400)
    assert _count(app, integrations) == before
    assert client.get(url).status_code == 200
    with app.app_context():
        config = integrations.manager.get_config(stored)
        assert config is not None
        posted = data.get("token")
        posted = posted[0] if isinstance(posted, list) and posted else posted
        if response.status_code == 302 and posted:
            assert config.get("token") == posted
        else:
            assert config.get("token") == token_before


@HYPOTHESIS
@given(data=FORM_DATA)
def test_arbitrary_posts_to_the_add_page(
    app: Flask, integrations: FlaskIntegrations, stored: int, data: dict[str, t.Any]
) -> None:
    client = app.test_client()
    before = _count(app, integrations)
    response = client.post("/integrations/tests.properties/configs/add/", data=data)
    assert response.status_code in (200, 302, 400)
    assert _count(app, integrations) == before + (response.status_code == 302)
    with app.app_context():
        assert integrations.manager.get_config(stored).name == "keep me"
    assert client.get("/integrations/").status_code == 200


def test_nul_characters_are_refused_with_a_form_error(
    app: Flask, integrations: FlaskIntegrations, stored: int
) -> None:
    client = app.test_client()
    edit = client.post(
        f"/integrations/tests.properties/configs/{stored}/",
        data={"name": "a\x00b", "url": "https://x.invalid", "enabled": "y"},
    )
    assert edit.status_code == 200
    add = client.post(
        "/integrations/tests.properties/configs/add/",
        data={"name": "new", "url": "x\x00", "enabled": "y"},
    )
    assert add.status_code == 200
    assert _count(app, integrations) == 1
    with app.app_context():
        assert integrations.manager.get_config(stored).name == "keep me"


@HYPOTHESIS
@given(query=st.dictionaries(st.sampled_from(["q", "page", "next"]), TEXT))
def test_arbitrary_list_queries(
    app: Flask, integrations: FlaskIntegrations, stored: int, query: dict[str, str]
) -> None:
    response = app.test_client().get("/integrations/", query_string=query)
    assert response.status_code == 200


@HYPOTHESIS
@given(settings_value=JSON, extra=JSON)
def test_arbitrary_json_in_settings(
    app: Flask,
    integrations: FlaskIntegrations,
    stored: int,
    settings_value: t.Any,
    extra: t.Any,
) -> None:
    with app.app_context():
        manager = integrations.manager
        table = manager.config_model.__table__
        manager.session.execute(
            sa.update(table)
            .where(table.c.id == stored)
            .values(settings=settings_value, extra_data=extra)
        )
        manager.session.commit()
        manager.check_expired()
        (config,) = manager.get_integration("tests.properties").get_configs()
        str(config)
        config.get("url")
        config.get("retries")
        assert config.get("missing", "default") == "default" or (
            isinstance(settings_value, dict) and "missing" in settings_value
        )
    client = app.test_client()
    assert client.get("/integrations/").status_code == 200
    edit = client.get(f"/integrations/tests.properties/configs/{stored}/")
    assert edit.status_code == 200
    assert _count(app, integrations) == 1
