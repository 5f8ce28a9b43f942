"""Conditions: every operator and mode, paths, the JSON round trip, stale
sets, and ``load_conditions``/``match_conditions`` on configurations."""

from __future__ import annotations

import logging
import typing as t

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flask_integrations import (
    Choice,
    ConditionsField,
    IntegrationConfigForm,
    InvalidConditionsError,
)
from flask_integrations.conditions import (
    MODES,
    OPERATORS,
    ChoiceCatalogue,
    ConditionSet,
    check_conditions,
    condition_problems,
    parse_path,
)
from tests.conditions_support import CHOICES, TicketChat

CATALOGUE = ChoiceCatalogue(CHOICES)

TICKET = {
    "title": "URGENT: printer on fire",
    "priority": "high",
    "project": {"name": "Ops"},
    "author": {"login": "ann"},
    "labels": ["Hardware", "office"],
    "points": 3,
    "private": False,
    "assignees": [{"login": "bob"}, {"login": "cy"}],
}


def one(choice: str, op: str, value: t.Any = None) -> ConditionSet:
    condition = {"choice": choice, "op": op, "value": value}
    return ConditionSet.from_json({"mode": "all", "conditions": [condition]}, CATALOGUE)


def matches(choice: str, op: str, value: t.Any, payload: t.Any) -> bool:
    return one(choice, op, value).matches(payload, "ticket.created")


# -- operators -------------------------------------------------------------------

OPERATOR_CASES = [
    # text: compared without regard to case
    ("title", "is", "urgent: PRINTER on fire", True),
    ("title", "is", "urgent", False),
    ("title", "is-not", "urgent", True),
    ("title", "is-not", "Urgent: printer on fire", False),
    ("title", "contains", "printer", True),
    ("title", "contains", "PRINTER", True),
    ("title", "contains", "scanner", False),
    ("title", "does-not-contain", "scanner", True),
    ("title", "does-not-contain", "fire", False),
    ("title", "starts-with", "urgent", True),
    ("title", "starts-with", "printer", False),
    ("title", "one-of", ["other", "URGENT: printer on fire"], True),
    ("title", "one-of", ["other"], False),
    ("title", "none-of", ["other"], True),
    ("title", "none-of", ["urgent: printer on fire"], False),
    ("title", "matches-regex", r"^URGENT\b", True),
    ("title", "matches-regex", r"^urgent\b", False),  # regexes keep case
    ("title", "matches-regex", r"(?i)^urgent\b", True),
    ("title", "is-set", None, True),
    ("title", "is-unset", None, False),
    ("project", "is", "ops", True),
    ("author", "is", "ANN", True),
    ("first_label", "is", "hardware", True),
    # number
    ("points", "is", 3, True),
    ("points", "is", 3.0, True),
    ("points", "is-not", 3, False),
    ("points", "greater-than", 2, True),
    ("points", "greater-than", 3, False),
    ("points", "less-than", 3.5, True),
    ("points", "less-than", 3, False),
    ("points", "one-of", [1, 3], True),
    ("points", "none-of", [1, 3], False),
    ("points", "is-set", None, True),
    # select: exact values
    ("priority", "is", "high", True),
    ("priority", "is", "low", False),
    ("priority", "is-not", "low", True),
    ("priority", "one-of", ["normal", "high"], True),
    ("priority", "none-of", ["normal", "high"], False),
    ("priority", "is-unset", None, False),
    # boolean
    ("private", "is", False, True),
    ("private", "is", True, False),
    ("private", "is-set", None, True),
    # list: items compared without regard to case
    ("labels", "contains", "hardware", True),
    ("labels", "contains", "hard", False),
    ("labels", "does-not-contain", "network", True),
    ("labels", "any-of", ["network", "OFFICE"], True),
    ("labels", "any-of", ["network"], False),
    ("labels", "none-of", ["network"], True),
    ("labels", "none-of", ["office"], False),
    ("labels", "is-set", None, True),
    ("assignees", "contains", "cy", True),
    ("assignees", "any-of", ["dee", "bob"], True),
]


@pytest.mark.parametrize(("choice", "op", "value", "expected"), OPERATOR_CASES)
def test_operator(choice: str, op: str, value: t.Any, expected: bool) -> None:
    assert matches(choice, op, value, TICKET) is expected


def test_every_operator_is_covered() -> None:
    assert {op for _, op, _, _ in OPERATOR_CASES} == set(OPERATORS)


@pytest.mark.parametrize(
    ("choice", "op", "value"),
    [
        ("title", "is", "x"),
        ("title", "contains", "x"),
        ("title", "starts-with", "x"),
        ("title", "one-of", ["x"]),
        ("title", "matches-regex", "."),
        ("points", "greater-than", 0),
        ("points", "less-than", 100),
        ("priority", "is", "high"),
        ("labels", "contains", "x"),
        ("labels", "any-of", ["x"]),
        ("private", "is", False),
        ("title", "is-set", None),
    ],
)
def test_a_missing_value_matches_no_positive_test(
    choice: str, op: str, value: t.Any
) -> None:
    for payload in ({}, {"title": None, "points": None, "project": None}, [], None, 3):
        assert matches(choice, op, value, payload) is False


@pytest.mark.parametrize(
    ("choice", "op", "value"),
    [
        ("title", "is-not", "x"),
        ("title", "does-not-contain", "x"),
        ("title", "none-of", ["x"]),
        ("labels", "none-of", ["x"]),
        ("title", "is-unset", None),
        ("points", "is-unset", None),
    ],
)
def test_negations_match_a_missing_value(choice: str, op: str, value: t.Any) -> None:
    assert matches(choice, op, value, {}) is True


@pytest.mark.parametrize("empty", [None, "", [], {}])
def test_empty_values_are_unset(empty: t.Any) -> None:
    assert matches("title", "is-unset", None, {"title": empty}) is True
    assert matches("labels", "is-set", None, {"labels": empty}) is False


def test_values_of_the_wrong_type_do_not_match() -> None:
    weird = {
        "title": {"nested": "urgent"},
        "points": "many",
        "priority": ["high"],
        "private": "false",
        "labels": [{"x": 1}, None],
    }
    assert matches("title", "contains", "urgent", weird) is False
    assert matches("points", "greater-than", 0, weird) is False
    assert matches("priority", "is", "high", weird) is False
    assert matches("priority", "one-of", ["high"], weird) is False
    assert matches("private", "is", False, weird) is False
    assert matches("labels", "contains", "x", weird) is False


def test_numbers_read_numeric_text_and_text_reads_numbers() -> None:
    assert matches("points", "greater-than", 10, {"points": "12.50"}) is True
    assert matches("points", "is", 1, {"points": True}) is False
    assert matches("title", "is", "42", {"title": 42}) is True
    assert matches("labels", "contains", "7", {"labels": [7, "a"]}) is True
    assert matches("labels", "contains", "solo", {"labels": "Solo"}) is True


def test_a_select_option_does_not_match_a_boolean() -> None:
    catalogue = ChoiceCatalogue([Choice("n", "N", kind="select", options=[(1, "One")])])
    data = {"mode": "all", "conditions": [{"choice": "n", "op": "is", "value": 1}]}
    conditions = ConditionSet.from_json(data, catalogue)
    assert conditions.matches({"n": 1}) is True
    assert conditions.matches({"n": True}) is False


def test_a_regex_that_runs_too_long_counts_as_no_match(
    caplog: pytest.LogCaptureFixture,
) -> None:
    conditions = one("title", "matches-regex", r"^(\w+\s?)*$")
    assert conditions.matches({"title": "a" * 5000 + "!"}, "ticket.created") is False
    assert "took longer than" in caplog.text
    assert conditions.matches({"title": "ab cd"}, "ticket.created") is True


# -- modes ------------------------------------------------------------------------

TRUE = {"choice": "priority", "op": "is", "value": "high"}
FALSE = {"choice": "priority", "op": "is", "value": "low"}


@pytest.mark.parametrize(
    ("mode", "conditions", "expected"),
    [
        ("always", [], True),
        ("always", [FALSE], True),
        ("all", [TRUE], True),
        ("all", [TRUE, TRUE], True),
        ("all", [TRUE, FALSE], False),
        ("any", [FALSE, TRUE], True),
        ("any", [FALSE, FALSE], False),
        ("any", [TRUE], True),
    ],
)
def test_modes(mode: str, conditions: list[t.Any], expected: bool) -> None:
    data = {"mode": mode, "conditions": conditions}
    assert ConditionSet.from_json(data, CATALOGUE).matches(TICKET) is expected


@pytest.mark.parametrize("mode", ["all", "any"])
def test_all_or_any_without_conditions_is_refused(mode: str) -> None:
    with pytest.raises(InvalidConditionsError, match="choose 'Always'"):
        ConditionSet.from_json({"mode": mode, "conditions": []}, CATALOGUE)


# -- events -----------------------------------------------------------------------


def test_each_event_reads_its_own_paths() -> None:
    conditions = one("title", "contains", "fire")
    assert conditions.matches({"title": "fire"}, "ticket.created") is True
    assert conditions.matches({"title": "fire"}, "comment.added") is False
    assert conditions.matches({"ticket": {"title": "fire"}}, "comment.added") is True


def test_a_choice_an_event_lacks_reads_as_missing() -> None:
    assert one("points", "greater-than", 0).matches({"points": 9}, "comment.added") is (
        False
    )
    assert one("points", "is-unset").matches({"points": 9}, "comment.added") is True
    # An unknown event has only the choices of every event: none here.
    assert one("title", "is-set").matches({"title": "x"}, "other.event") is False


def test_choices_for_every_event() -> None:
    catalogue = ChoiceCatalogue(
        {
            "*": [Choice("actor", "Actor", path="actor.name")],
            "a": [Choice("x", "X")],
            "b": [Choice("actor", "Actor", path="by")],
        }
    )
    data = {
        "mode": "all",
        "conditions": [{"choice": "actor", "op": "is", "value": "ann"}],
    }
    conditions = ConditionSet.from_json(data, catalogue)
    assert conditions.matches({"actor": {"name": "ann"}}, "a") is True
    assert conditions.matches({"by": "ann"}, "b") is True
    assert conditions.matches({"actor": {"name": "ann"}}, "c") is True
    assert [c.name for c in catalogue.choices] == ["actor", "x"]
    flat = ChoiceCatalogue([Choice("x", "X")])
    assert list(flat.for_event("anything")) == ["x"]


# -- paths ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "payload", "value"),
    [
        ("a", {"a": 1}, 1),
        ("$.a.b", {"a": {"b": 2}}, 2),
        ("a[1]", {"a": [1, 2]}, 2),
        ("a[-1].b", {"a": [{"b": 1}, {"b": 3}]}, 3),
        ("['x.y'].z", {"x.y": {"z": 4}}, 4),
        ('a["b c"]', {"a": {"b c": 5}}, 5),
        ("a[*].b", {"a": [{"b": 1}, {"c": 2}, {"b": 3}]}, [1, 3]),
        ("a.*", {"a": {"x": 1, "y": 2}}, [1, 2]),
        ("a[*][*]", {"a": [[1, 2], [3]]}, [1, 2, 3]),
        ("a[*]", {"a": "text"}, []),
    ],
)
def test_paths(path: str, payload: t.Any, value: t.Any) -> None:
    assert Choice("c", "C", path=path).get_value(payload) == value


@pytest.mark.parametrize(
    "payload",
    [{}, {"a": 1}, {"a": [1]}, {"a": {"b": []}}, [], "a", None, {"a": {"0": 1}}],
)
def test_paths_that_lead_nowhere_are_missing(payload: t.Any) -> None:
    choice = Choice("c", "C", path="a.b[0]")
    assert choice.get_value(payload) is t.cast(t.Any, choice.get_value({}))


@pytest.mark.parametrize("path", ["", "$", "a..b", "a[x]", "[0]b", "a[", "a.'b'"])
def test_invalid_paths_are_refused_when_declared(path: str) -> None:
    with pytest.raises(ValueError, match="JSON path"):
        Choice("c", "C", path=path)


def test_a_choice_may_read_its_value_with_a_function() -> None:
    catalogue = ChoiceCatalogue(
        [Choice("words", "Words", kind="number", path=lambda p: len(p["text"].split()))]
    )
    data = {
        "mode": "all",
        "conditions": [{"choice": "words", "op": "greater-than", "value": 2}],
    }
    conditions = ConditionSet.from_json(data, catalogue)
    assert conditions.matches({"text": "one two three"}) is True
    assert conditions.matches({"text": "one two"}) is False


def test_parse_path() -> None:
    assert parse_path("$.a['b'][0]")[:3] == ("a", "b", 0)


# -- declaring choices -----------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "colour"}, "has the kind 'colour'"),
        ({"kind": "select"}, "give it options"),
        ({"operators": ["greater-than"]}, "cannot offer"),
    ],
)
def test_invalid_choices_are_refused(kwargs: dict[str, t.Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Choice("c", "C", **kwargs)


def test_choices_of_one_name_must_agree() -> None:
    with pytest.raises(ValueError, match="differ in kind"):
        ChoiceCatalogue(
            {"a": [Choice("x", "X")], "b": [Choice("x", "X", kind="number")]}
        )


def test_a_choice_can_offer_fewer_operators() -> None:
    choice = Choice("c", "C", operators=["is", "contains"])
    catalogue = ChoiceCatalogue([choice])
    data = {
        "mode": "all",
        "conditions": [{"choice": "c", "op": "starts-with", "value": "a"}],
    }
    assert check_conditions(data, catalogue)[0].stale is True
    assert choice.operator_names == ("is", "contains")


# -- JSON ----------------------------------------------------------------------------


def test_json_round_trip() -> None:
    data = {
        "mode": "any",
        "conditions": [
            {"choice": "title", "op": "matches-regex", "value": "^a+$"},
            {"choice": "priority", "op": "one-of", "value": ["low", "high"]},
            {"choice": "points", "op": "less-than", "value": 2.5},
            {"choice": "private", "op": "is", "value": True},
            {"choice": "labels", "op": "is-set", "value": None},
        ],
    }
    conditions = ConditionSet.from_json(data, CATALOGUE)
    assert conditions.to_json() == data
    assert ConditionSet.from_json(conditions.to_json(), CATALOGUE) == conditions
    assert conditions.conditions[1].choice.label == "Priority"


def test_a_value_given_to_an_operator_that_takes_none_is_dropped() -> None:
    assert one("title", "is-set", "ignored").to_json()["conditions"][0]["value"] is None


@pytest.mark.parametrize(
    ("data", "message", "stale"),
    [
        ([], "not an object", False),
        ({"mode": "most"}, "'most' is not 'always'", False),
        ({"mode": "all", "conditions": {}}, "not a list", False),
        (
            {"mode": "all", "conditions": ["x"]},
            "Condition 1: It is not an object",
            False,
        ),
        (
            {
                "mode": "all",
                "conditions": [{"choice": "severity", "op": "is", "value": 1}],
            },
            "Condition 1: It tests 'severity', which this integration no longer offers",
            True,
        ),
        (
            {
                "mode": "all",
                "conditions": [{"choice": "title", "op": "near", "value": 1}],
            },
            "'Title' can no longer be tested with 'near'",
            True,
        ),
        (
            {
                "mode": "any",
                "conditions": [TRUE, {"choice": "points", "op": "is", "value": "x"}],
            },
            "Condition 2: The value 'x' is not a number",
            False,
        ),
        (
            {
                "mode": "all",
                "conditions": [{"choice": "priority", "op": "is", "value": "?"}],
            },
            "'?' is not one of the options",
            False,
        ),
        (
            {
                "mode": "all",
                "conditions": [{"choice": "title", "op": "one-of", "value": []}],
            },
            "at least one value",
            False,
        ),
        (
            {
                "mode": "all",
                "conditions": [{"choice": "title", "op": "is", "value": ""}],
            },
            "not empty",
            False,
        ),
        (
            {
                "mode": "all",
                "conditions": [
                    {"choice": "title", "op": "matches-regex", "value": "(("}
                ],
            },
            "not valid: missing )",
            False,
        ),
        (
            {
                "mode": "all",
                "conditions": [
                    {"choice": "title", "op": "matches-regex", "value": "a" * 1001}
                ],
            },
            "longer than 1000 characters",
            False,
        ),
    ],
)
def test_invalid_sets_are_refused_with_their_problems(
    data: t.Any, message: str, stale: bool
) -> None:
    with pytest.raises(InvalidConditionsError) as info:
        ConditionSet.from_json(data, CATALOGUE)
    assert message in str(info.value)
    assert info.value.problems == check_conditions(data, CATALOGUE)
    assert any(p.stale for p in info.value.problems) is stale


# -- hypothesis ----------------------------------------------------------------------

JSON_SCALARS = (
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
)
JSON = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["title", "points", "labels", "x", "name"]),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)
PAYLOADS = (
    st.fixed_dictionaries(
        {},
        optional={
            "title": JSON,
            "priority": JSON,
            "project": JSON,
            "author": JSON,
            "labels": JSON,
            "points": JSON,
            "private": JSON,
            "assignees": JSON,
        },
    )
    | JSON
)

VALID_VALUES: dict[str, st.SearchStrategy[t.Any]] = {
    "text": st.text(min_size=1, max_size=6),
    "number": st.integers() | st.floats(allow_nan=False, allow_infinity=False),
    "select": st.sampled_from(["low", "normal", "high"]),
    "boolean": st.booleans(),
    "list": st.text(min_size=1, max_size=6),
}


@st.composite
def valid_conditions(draw: st.DrawFn) -> dict[str, t.Any]:
    choice = draw(st.sampled_from(CATALOGUE.choices))
    op = OPERATORS[draw(st.sampled_from(choice.operator_names))]
    if op.name == "matches-regex":
        value: t.Any = draw(st.sampled_from(["a", "^x", "(?i)fire$", r"\d+", ".*"]))
    elif op.takes == "none":
        value = None
    elif op.takes == "many":
        value = draw(st.lists(VALID_VALUES[choice.kind], min_size=1, max_size=3))
    else:
        value = draw(VALID_VALUES[choice.kind])
    return {"choice": choice.name, "op": op.name, "value": value}


VALID_SETS = st.builds(
    lambda mode, conditions: {"mode": mode, "conditions": conditions},
    st.sampled_from(["all", "any"]),
    st.lists(valid_conditions(), min_size=1, max_size=5),
) | st.builds(
    lambda conditions: {"mode": "always", "conditions": conditions},
    st.lists(valid_conditions(), max_size=3),
)

HYPOTHESIS = settings(deadline=None, max_examples=150)


@HYPOTHESIS
@given(
    VALID_SETS,
    st.lists(PAYLOADS, max_size=4),
    st.sampled_from(["ticket.created", "comment.added", "other", None]),
)
def test_valid_sets_round_trip_and_never_raise(
    data: dict[str, t.Any], payloads: list[t.Any], event: str | None
) -> None:
    conditions = ConditionSet.from_json(data, CATALOGUE)
    assert conditions.to_json() == data
    for payload in [*payloads, TICKET]:
        assert conditions.matches(payload, event) in (True, False)


@HYPOTHESIS
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "mode": st.sampled_from(MODES) | JSON,
            "conditions": st.lists(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "choice": st.sampled_from([c.name for c in CATALOGUE.choices])
                        | JSON,
                        "op": st.sampled_from(list(OPERATORS)) | JSON,
                        "value": JSON,
                    },
                )
                | JSON,
                max_size=4,
            )
            | JSON,
        },
    )
    | JSON
)
def test_any_stored_value_is_used_or_refused_with_problems(data: t.Any) -> None:
    problems = check_conditions(data, CATALOGUE)
    try:
        conditions = ConditionSet.from_json(data, CATALOGUE)
    except InvalidConditionsError as exc:
        assert exc.problems == problems != []
        assert all(str(p) for p in problems)
    else:
        assert problems == []
        assert conditions.matches(TICKET, "ticket.created") in (True, False)


# -- configurations ------------------------------------------------------------------


class TwoConditionsForm(IntegrationConfigForm):
    conditions = ConditionsField("What to post")
    extra = ConditionsField("Also")


class ConditionsIntegration(TicketChat):
    integration_id = "test_conditions.chat"
    config_form_cls = TwoConditionsForm


@pytest.fixture
def chat(manager: t.Any) -> t.Any:
    return manager.register_integration_class(ConditionsIntegration)


def stored_config(chat: t.Any, **settings: t.Any) -> t.Any:
    return chat.create_config(save=True, name="ops", enabled=True, settings=settings)


HIGH = {"mode": "all", "conditions": [TRUE]}
STALE = {"mode": "all", "conditions": [{"choice": "severity", "op": "is", "value": 1}]}


def test_configurations_match_their_conditions(chat: t.Any, manager: t.Any) -> None:
    config = stored_config(chat, conditions=HIGH, other={"mode": "always"})
    [snapshot] = chat.get_configs()
    for c in (config, snapshot):
        assert c.match_conditions(payload=TICKET, event="ticket.created") is True
        assert c.match_conditions(payload={"priority": "low"}) is False
        assert c.match_conditions("other", payload={}) is True
        assert c.load_conditions() == ConditionSet.from_json(HIGH, CATALOGUE)


def test_no_conditions_never_match(chat: t.Any) -> None:
    config = stored_config(chat)
    [snapshot] = chat.get_configs()
    for c in (config, snapshot):
        assert c.load_conditions() is None
        assert c.match_conditions(payload=TICKET) is False


def test_the_integration_default_counts(chat: t.Any, manager: t.Any) -> None:
    chat.default_settings = {"conditions": {"mode": "always", "conditions": []}}
    stored_config(chat)
    manager.clear_all_configs_cache()
    [snapshot] = chat.get_configs()
    assert snapshot.match_conditions(payload={}) is True


@pytest.mark.parametrize("bad", [STALE, {"mode": "all"}, "always", ["x"], 3])
def test_unusable_conditions_never_match_and_are_logged(
    chat: t.Any, bad: t.Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "flask_integrations")
    config = stored_config(chat, conditions=bad)
    [snapshot] = chat.get_configs()
    for c in (config, snapshot):
        assert c.match_conditions(payload=TICKET, event="ticket.created") is False
    assert "receives no event until its conditions 'conditions'" in caplog.text


def test_snapshots_check_their_conditions_once(
    chat: t.Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "flask_integrations")
    stored_config(chat, conditions=STALE, extra=HIGH)
    [snapshot] = chat.get_configs()
    for _ in range(3):
        snapshot.match_conditions(payload={})
    assert caplog.text.count("receives no event") == 1
    assert snapshot.load_conditions("extra") is snapshot.load_conditions("extra")


def test_orphans_match_nothing(chat: t.Any, manager: t.Any) -> None:
    config = stored_config(chat, conditions={"mode": "always", "conditions": []})
    manager.unregister_integration_class(ConditionsIntegration)
    assert config.load_conditions() is None
    assert config.match_conditions(payload={}) is False
    assert condition_problems(config) == []


def test_condition_problems_of_a_configuration(chat: t.Any) -> None:
    config = stored_config(chat, conditions=STALE, extra=HIGH, other=STALE)
    problems = condition_problems(config)
    assert [str(p) for p in problems] == [
        "Condition 1: It tests 'severity', which this integration no longer"
        " offers. Remove it or choose something else to test."
    ]
    assert problems[0].stale
    assert len(condition_problems(config, "other")) == 1
    assert condition_problems(config, "extra") == []


def test_a_failing_choice_function_counts_as_no_match(
    chat: t.Any, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(payload: t.Any) -> t.Any:
        raise RuntimeError("boom")

    chat.condition_choices = [Choice("boom", "Boom", path=explode)]
    config = stored_config(
        chat,
        conditions={"mode": "all", "conditions": [{"choice": "boom", "op": "is-set"}]},
    )
    assert config.match_conditions(payload={}) is False
    assert "boom" in caplog.text
