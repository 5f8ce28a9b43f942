"""The conditions and message template fields on the admin pages: rows added
and removed without JavaScript, errors at the row, what is stored."""

from __future__ import annotations

import json
import re
import typing as t
from html import unescape

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from flask_integrations import (
    Choice,
    ConditionsField,
    IntegrationConfigForm,
)
from flask_integrations.conditions import ChoiceCatalogue, ConditionSet
from flask_integrations.fields import MAX_CONDITIONS
from flask_integrations.testing.client import find_form
from tests.conditions_support import TicketChat, TicketChatForm
from tests.conftest import SimpleIntegration

ADD_URL = "/integrations/tests.ticket_chat/configs/add/"


@pytest.fixture
def chat(manager: t.Any) -> t.Any:
    return manager.register_integration_class(TicketChat)


def page_form(client: t.Any, url: str = ADD_URL) -> MultiDict[str, str]:
    """The values the page's form would send untouched."""
    response = client.get(url)
    assert response.status_code == 200
    return MultiDict(find_form(response.get_data(as_text=True)).values)


def typed(values: MultiDict[str, str], **fields: t.Any) -> MultiDict[str, str]:
    """``values`` with ``fields`` typed in: ``conditions_0_choice`` is the
    field ``conditions-0-choice``; a list gives every value; ``None`` leaves
    the field out."""
    for key, value in fields.items():
        name = key.replace("_", "-")
        if value is None:
            values.poplist(name)
        else:
            values.setlist(name, value if isinstance(value, list) else [value])
    return values


def row(index: int, choice: str, op: str, value: t.Any) -> dict[str, t.Any]:
    """The fields of one row, for :func:`typed`."""
    prefix = f"conditions_{index}_"
    return {f"{prefix}choice": choice, f"{prefix}op": op, f"{prefix}value": value}


def post(client: t.Any, values: MultiDict[str, str], url: str = ADD_URL) -> t.Any:
    return client.post(url, data=values)


def stored(db: SQLAlchemy, model: type[t.Any]) -> list[t.Any]:
    with db.engine.connect() as connection:
        return list(connection.execute(sa.select(model.name, model.settings)))


def test_a_new_configuration_starts_with_always(chat: t.Any, client: t.Any) -> None:
    html = client.get(ADD_URL).get_data(as_text=True)
    assert re.search(r'name="conditions-mode" value="always" checked', html)
    assert "No conditions yet." in html
    assert "data-fi-add>Add a condition</button>" in html
    assert '<script src="/integrations/~static/conditions.js" defer>' in html
    with client.get("/integrations/~static/conditions.js") as script:
        assert script.status_code == 200


def test_add_a_row_without_javascript_saves_nothing(
    chat: t.Any, client: t.Any, db: SQLAlchemy, manager: t.Any
) -> None:
    values = typed(page_form(client), name="Ops", conditions_add="1")
    response = post(client, values)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert stored(db, manager.config_model) == []
    assert 'value="Ops"' in html
    assert "Please correct" not in html
    assert (
        'id="conditions-0-choice" name="conditions-0-choice" data-fi-choice autofocus'
        in html
    )

    values = MultiDict(find_form(html).values)
    typed(values, **row(0, "title", "contains", "urgent"), conditions_add="1")
    html = post(client, values).get_data(as_text=True)
    assert 'id="conditions-1-choice"' in html
    assert re.search(r'<option value="title" selected>Title</option>', html)
    assert 'name="conditions-0-value" value="urgent"' in html
    assert stored(db, manager.config_model) == []


def test_remove_a_row_without_javascript(
    chat: t.Any, client: t.Any, db: SQLAlchemy, manager: t.Any
) -> None:
    values = typed(
        page_form(client),
        **row(3, "title", "contains", "one"),
        **row(7, "title", "contains", "two"),
        conditions_remove="3",
    )
    html = post(client, values).get_data(as_text=True)
    assert 'value="one"' not in html
    assert 'name="conditions-7-value" value="two"' in html
    assert (
        'id="conditions-7-choice" name="conditions-7-choice" data-fi-choice autofocus'
        in html
    )
    assert "Condition 1</legend>" in html

    values = typed(MultiDict(find_form(html).values), conditions_remove="7")
    html = post(client, values).get_data(as_text=True)
    assert "conditions-7" not in html.split("<template")[0]
    assert "data-fi-add autofocus>" in html
    assert stored(db, manager.config_model) == []


def test_add_never_saves_even_at_the_most_rows(
    chat: t.Any, client: t.Any, db: SQLAlchemy, manager: t.Any
) -> None:
    rows = {}
    for index in range(MAX_CONDITIONS):
        rows.update(row(index, "title", "contains", str(index)))
    values = typed(page_form(client), name="Ops", conditions_mode="all", **rows)
    html = post(client, typed(values, conditions_add="1")).get_data(as_text=True)
    assert stored(db, manager.config_model) == []
    assert f'id="conditions-{MAX_CONDITIONS}-choice"' not in html
    assert post(client, typed(values, conditions_add=None)).status_code == 302
    values = typed(values, **row(MAX_CONDITIONS, "title", "is-set", ""))
    html = post(client, values).get_data(as_text=True)
    assert f"Use at most {MAX_CONDITIONS} conditions." in html


def test_save_stores_the_condition_set(
    chat: t.Any, client: t.Any, db: SQLAlchemy, manager: t.Any
) -> None:
    values = typed(
        page_form(client),
        name="Ops",
        conditions_mode="any",
        **row(0, "title", "contains", " urgent "),
        **row(1, "priority", "one-of", ["low", "high"]),
        **row(2, "points", "greater-than", "2.5"),
        **row(3, "title", "is-set", "ignored"),
        **row(4, "", "is", ""),
    )
    response = post(client, values)
    assert response.status_code == 302
    [(name, settings)] = stored(db, manager.config_model)
    assert name == "Ops"
    assert settings["conditions"] == {
        "mode": "any",
        "conditions": [
            {"choice": "title", "op": "contains", "value": "urgent"},
            {"choice": "priority", "op": "one-of", "value": ["low", "high"]},
            {"choice": "points", "op": "greater-than", "value": 2.5},
            {"choice": "title", "op": "is-set", "value": None},
        ],
    }
    [snapshot] = chat.get_configs()
    assert snapshot.match_conditions(payload={"title": "URGENT"}) is True


ROW_ERRORS = [
    (("", "is", "x"), "Choose what to test."),
    (("severity", "is", "x"), "'severity' can no longer be tested"),
    (("priority", "contains", "x"), "Choose a test that suits 'Priority'."),
    (("title", "is", " "), "Enter a value."),
    (("title", "one-of", " , "), "Enter at least one value"),
    (("points", "is", "many"), "'many' is not a number"),
    (("priority", "is", "urgent"), "Choose one of the options."),
    (("title", "matches-regex", "(("), "This regular expression is not valid"),
]


@pytest.mark.parametrize(("bad_row", "message"), ROW_ERRORS)
def test_errors_point_at_the_row(
    chat: t.Any,
    client: t.Any,
    db: SQLAlchemy,
    manager: t.Any,
    bad_row: tuple[str, str, str],
    message: str,
) -> None:
    values = typed(
        page_form(client),
        name="Ops",
        conditions_mode="all",
        **row(0, "title", "contains", "fine"),
        **row(5, *bad_row),
    )
    html = post(client, values).get_data(as_text=True)
    assert stored(db, manager.config_model) == []
    assert "Please correct the errors below." in html
    assert "Correct the conditions marked below." in html
    error = re.search(
        r'<ul class="fi-errors" id="conditions-5-error">(.*?)</ul>', html, re.S
    )
    assert error is not None and message in unescape(error.group(1))
    assert 'aria-describedby="conditions-5-error" aria-invalid="true"' in html
    assert 'id="conditions-0-error"' not in html


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        (None, "Choose when this configuration receives events."),
        ("all", "There is no condition to test. Add one, or choose 'Always'"),
        ("any", "There is no condition to test."),
    ],
)
def test_the_mode_must_be_chosen_and_need_conditions(
    chat: t.Any,
    client: t.Any,
    db: SQLAlchemy,
    manager: t.Any,
    mode: str | None,
    message: str,
) -> None:
    # A row left blank counts as no condition.
    values = typed(
        page_form(client), name="Ops", conditions_mode=mode, **row(0, "", "is", "")
    )
    html = post(client, values).get_data(as_text=True)
    assert message in unescape(html)
    assert stored(db, manager.config_model) == []


def test_the_edit_page_shows_stored_conditions(
    chat: t.Any, client: t.Any, db: SQLAlchemy
) -> None:
    config = chat.create_config(
        save=True,
        name="Ops",
        enabled=True,
        settings={
            "conditions": {
                "mode": "all",
                "conditions": [
                    {"choice": "priority", "op": "one-of", "value": ["high"]},
                    {"choice": "title", "op": "none-of", "value": ["a", "b"]},
                    {"choice": "severity", "op": "is", "value": 3},
                ],
            }
        },
    )
    url = f"/integrations/{TicketChat.integration_id}/configs/{config.id}/"
    html = client.get(url).get_data(as_text=True)
    assert re.search(r'value="all" checked', html)
    assert re.search(
        r'name="conditions-0-value" data-fi-value multiple size="3">\s*'
        r'<option value="low">Low</option>\s*<option value="normal">Normal</option>'
        r'\s*<option value="high" selected>High',
        html,
    )
    assert 'name="conditions-1-value" value="a, b"' in html
    assert (
        '<option value="severity" selected>severity (no longer offered)</option>'
        in html
    )
    assert (
        "It tests &#39;severity&#39;, which this integration no longer offers." in html
    )
    assert 'name="conditions-2-value" value="3"' in html

    values = typed(MultiDict(find_form(html).values), conditions_remove="2")
    html = post(client, values, url=url).get_data(as_text=True)
    assert "severity" not in html.split("<template")[0]
    values = MultiDict(find_form(html).values)
    assert post(client, values, url=url).status_code == 302
    config = chat.integration_mgr.get_config(config.id)
    assert config.get("conditions") == {
        "mode": "all",
        "conditions": [
            {"choice": "priority", "op": "one-of", "value": ["high"]},
            {"choice": "title", "op": "none-of", "value": ["a", "b"]},
        ],
    }


def test_a_post_without_the_field_keeps_the_stored_conditions(
    chat: t.Any, client: t.Any
) -> None:
    conditions = {"mode": "any", "conditions": [{"choice": "title", "op": "is-set"}]}
    config = chat.create_config(
        save=True, name="Ops", enabled=True, settings={"conditions": conditions}
    )
    url = f"/integrations/{TicketChat.integration_id}/configs/{config.id}/"
    response = client.post(url, data={"name": "Renamed", "enabled": "y"})
    assert response.status_code == 302
    config = chat.integration_mgr.get_config(config.id)
    assert config.name == "Renamed"
    assert config.get("conditions") == conditions


def test_a_field_may_offer_its_own_choices(app_ctx: Flask) -> None:
    class Form(IntegrationConfigForm):
        conditions = ConditionsField("When", choices=[Choice("a", "A")])

    with app_ctx.test_request_context():
        form = Form(SimpleIntegration(t.cast(t.Any, None)), meta={"csrf": False})
        assert [c.name for c in form.conditions.catalogue.choices] == ["a"]
        assert "Add a condition" in form.conditions()


def test_without_choices_no_row_can_be_added(app_ctx: Flask) -> None:
    class Form(IntegrationConfigForm):
        conditions = ConditionsField("When")

    with app_ctx.test_request_context():
        form = Form(SimpleIntegration(t.cast(t.Any, None)), meta={"csrf": False})
        html = form.conditions()
    assert "Add a condition" not in html
    assert "offer nothing to test yet" in unescape(html)


# -- the redisplay API -----------------------------------------------------------


def test_wants_redisplay(chat: t.Any, app: Flask) -> None:
    with app.test_request_context(
        method="POST",
        data={"name": "x", "conditions-mode": "always", "conditions-add": "1"},
    ):
        form = TicketChatForm(chat)
        assert form.wants_redisplay() is True
        assert form.validate() is False
        assert form.errors == {}
        assert len(form.conditions.rows) == 1
    with app.test_request_context(
        method="POST", data={"name": "x", "conditions-mode": "always"}
    ):
        form = TicketChatForm(chat)
        assert form.wants_redisplay() is False
        assert form.validate() is True


def test_adding_a_row_still_checks_the_csrf_token(
    app: Flask, chat: t.Any, client: t.Any
) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    values = typed(page_form(client), conditions_add="1")
    assert post(client, values).status_code == 200
    values.poplist("csrf_token")
    assert post(client, values).status_code == 400


# -- message templates --------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "error"),
    [
        ("Hello {{ title", "Line 1: unexpected end of template"),
        ("a\n{% if x %}", "Line 2: Unexpected end of template."),
        ("{{ x" + " " * 20_000 + "}}", "longer than 20000 characters"),
    ],
)
def test_an_invalid_template_is_a_form_error(
    chat: t.Any,
    client: t.Any,
    db: SQLAlchemy,
    manager: t.Any,
    template: str,
    error: str,
) -> None:
    values = typed(page_form(client), name="Ops", message=template)
    html = post(client, values).get_data(as_text=True)
    found = re.search(r'id="message-error">(.*?)</ul>', html, re.S)
    assert found is not None and error in unescape(found.group(1))
    assert stored(db, manager.config_model) == []


def test_a_valid_template_is_saved(
    chat: t.Any, client: t.Any, db: SQLAlchemy, manager: t.Any
) -> None:
    values = typed(page_form(client), name="Ops", message="{{ event }}: {{ title }}")
    assert post(client, values).status_code == 302
    assert (
        stored(db, manager.config_model)[0][1]["message"] == "{{ event }}: {{ title }}"
    )


# -- hypothesis ------------------------------------------------------------------------

ROW_PARTS = st.sampled_from(["", "title", "priority", "points", "severity", "x\x00"])
OPS = st.sampled_from(
    ["", "is", "one-of", "matches-regex", "is-set", "nope", "greater-than"]
)
VALUES = st.lists(
    st.sampled_from(["", "x", "high", "3", "((", "a, b", "1e400", "\x00"])
    | st.text(max_size=5),
    max_size=2,
)


@settings(
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    mode=st.sampled_from(["", "always", "all", "any", "most"]),
    rows=st.lists(st.tuples(st.integers(0, 99), ROW_PARTS, OPS, VALUES), max_size=4),
    button=st.sampled_from([None, "add", "remove"]),
)
def test_any_post_is_shown_again_or_saved_never_a_500(
    chat: t.Any,
    client: t.Any,
    db: SQLAlchemy,
    manager: t.Any,
    mode: str,
    rows: list[tuple[int, str, str, list[str]]],
    button: str | None,
) -> None:
    data = MultiDict({"name": "Fuzz", "conditions-mode": mode})
    for index, choice, op, value in rows:
        data.add(f"conditions-{index}-choice", choice)
        data.add(f"conditions-{index}-op", op)
        data.setlist(f"conditions-{index}-value", value)
    if button == "add":
        data["conditions-add"] = "1"
    elif button == "remove":
        data["conditions-remove"] = str(rows[0][0] if rows else 5)
    before = stored(db, manager.config_model)
    response = client.post(ADD_URL, data=data)
    assert response.status_code in (200, 302)
    after = stored(db, manager.config_model)
    if response.status_code == 200:
        assert after == before
        if (
            any(op == "matches-regex" and "((" in value for _, _, op, value in rows)
            and not button
        ):
            assert "Please correct the errors below." in response.get_data(as_text=True)
    else:
        conditions = after[-1][1]["conditions"]
        assert conditions["mode"] == mode
        ConditionSet.from_json(conditions, ChoiceCatalogue.of(chat))


# -- the command line -------------------------------------------------------------


def test_check_reports_stale_conditions(chat: t.Any, runner: t.Any) -> None:
    stale = {"mode": "all", "conditions": [{"choice": "severity", "op": "is"}]}
    good = chat.create_config(save=True, name="good", enabled=True)
    bad = chat.create_config(
        save=True, name="stale", enabled=True, settings={"conditions": stale}
    )
    result = runner.invoke(args=["integrations", "check"])
    assert result.exit_code == 1
    assert f"Configuration {bad.id} ('stale') of 'Ticket chat' is broken:" in (
        result.output
    )
    assert (
        "'settings.conditions': Condition 1: It tests 'severity', which this"
        " integration no longer offers." in " ".join(result.output.split())
    )
    assert f"Configuration {good.id}" not in result.output


def test_import_refuses_conditions_that_cannot_be_used(
    chat: t.Any, runner: t.Any, tmp_path: t.Any, db: SQLAlchemy, manager: t.Any
) -> None:
    entries = [
        {
            "integration_id": TicketChat.integration_id,
            "name": name,
            "settings": {"conditions": conditions},
        }
        for name, conditions in [
            (
                "fine",
                {"mode": "any", "conditions": [{"choice": "title", "op": "is-set"}]},
            ),
            (
                "stale",
                {"mode": "all", "conditions": [{"choice": "severity", "op": "is"}]},
            ),
        ]
    ]
    path = tmp_path / "in.json"
    path.write_text(json.dumps(entries), encoding="utf-8")
    result = runner.invoke(args=["integrations", "import", str(path)])
    assert result.exit_code != 0
    assert "It tests 'severity'" in " ".join(result.output.split())
    assert stored(db, manager.config_model) == []
    del entries[1]
    path.write_text(json.dumps(entries), encoding="utf-8")
    assert runner.invoke(args=["integrations", "import", str(path)]).exit_code == 0
    [(_, settings)] = stored(db, manager.config_model)
    assert settings["conditions"]["conditions"] == [{"choice": "title", "op": "is-set"}]
