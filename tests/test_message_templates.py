"""Message templates: rendered in a sandbox over an event, bounded in time and
size, falling back to the default message with the reason."""

from __future__ import annotations

import json
import typing as t

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flask_integrations import InvalidTemplateError
from flask_integrations.message_templates import (
    MessageTemplate,
    RenderedMessage,
    check_template,
)

PAYLOAD = {
    "title": "Printer on fire",
    "priority": "high",
    "labels": ["hardware", "office"],
    "project": {"name": "Ops"},
    "class": "reserved word",
}


def render(source: str, payload: t.Any = PAYLOAD, **kwargs: t.Any) -> RenderedMessage:
    kwargs.setdefault("event", "ticket.created")
    return MessageTemplate(source).render(payload, default="DEFAULT", **kwargs)


@pytest.mark.parametrize(
    ("source", "text"),
    [
        ("{{ event }}: {{ title }}", "ticket.created: Printer on fire"),
        ("{{ payload.priority|upper }} in {{ project.name }}", "HIGH in Ops"),
        ("{{ labels|join(', ') }}", "hardware, office"),
        ("{{ payload['class'] }}", "reserved word"),
        ("[{{ missing }}{{ missing.deeper.still }}]", "[]"),
        (
            "{% for label in labels %}\n- {{ label }}\n{% endfor %}",
            "- hardware\n- office\n",
        ),
        ("{% if priority == 'high' %}!{% endif %}{{ title }}", "!Printer on fire"),
        ("{{ '%-5s|'|format('ab') }}{{ '{:>4}'.format(7) }}", "ab   |   7"),
    ],
)
def test_templates_render_over_the_event(source: str, text: str) -> None:
    assert render(source) == RenderedMessage(text)


def test_a_payload_that_is_not_an_object_is_still_payload() -> None:
    assert (
        render("{{ payload|length }} {{ event }}", [1, 2, 3]).text == "3 ticket.created"
    )


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        (
            "{% for a in range(100000) %}{% for b in range(100000) %}"
            "{% endfor %}{% endfor %}",
            "took longer than",
        ),
        (
            "{% for a in labels * 10000 %}{% for b in labels * 10000 %}"
            "{% endfor %}{% endfor %}",
            "took longer than",
        ),
        (
            "{% for i in range(100000) %}xxxxxxxxxx{% endfor %}",
            "more than 40000 characters",
        ),
        ("{{ 'x' * 1000000000 }}", "more than 40000 characters"),
        ("{{ labels * 100000 }}", "more than 40000 characters"),
        (
            "{% set ns = namespace(s='x') %}{% for i in range(40) %}"
            "{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
            "more than 40000 characters",
        ),
        ("{{ 'ab' + 'x' * 39999 }}", "more than 40000 characters"),
        ("{{ 'a'|center(1000000000) }}", "more than 40000 characters"),
        ("{{ 'a'|indent(1000000000, true) }}", "more than 40000 characters"),
        ("{{ 'a'.ljust(1000000000) }}", "more than 40000 characters"),
        ("{{ '%0999999999d'|format(1) }}", "format widths"),
        ("{{ '%*d' % (999999999, 1) }}", "format widths"),
        ("{{ '{:>999999999}'.format(1) }}", "format widths"),
        ("{{ '{:{}}'.format(1, 999999999) }}", "format widths"),
        ("{{ 7 ** 100000000 }}", "'**' would be too big"),
        ("{{ title.__class__.__mro__[1].__subclasses__() }}", "is unsafe"),
        ("{{ range.__self__ }}", "rendered nothing"),
        ("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "RecursionError"),
        ("line one\n{{ 1 / 0 }}", "at line 2: ZeroDivisionError"),
        ("{{ title.missing_method() }}", "UndefinedError"),
        ("  \n ", "rendered nothing"),
    ],
)
def test_a_template_that_fails_falls_back_and_says_why(
    source: str, reason: str
) -> None:
    result = render(source)
    assert result.text == "DEFAULT"
    assert result.fell_back
    assert reason in t.cast(str, result.fallback_reason)


def test_limits_can_be_lowered() -> None:
    assert "more than 5 characters" in t.cast(
        str, render("{{ title }}", max_length=5).fallback_reason
    )
    slow = (
        "{% for a in range(100000) %}{% for b in range(100) %}{% endfor %}{% endfor %}"
    )
    assert "longer than 0.01 s" in t.cast(
        str, render(slow, timeout=0.01).fallback_reason
    )


def test_json_templates_must_produce_json() -> None:
    template = MessageTemplate(
        '{"text": {{ title|tojson }}, "labels": {{ labels|tojson }}}', kind="json"
    )
    result = template.render(PAYLOAD, default="{}")
    assert json.loads(result.text) == {
        "text": "Printer on fire",
        "labels": ["hardware", "office"],
    }
    broken = MessageTemplate('{"text": {{ title }}}', kind="json")
    result = broken.render(PAYLOAD, default="{}")
    assert result.text == "{}"
    assert "did not produce valid JSON" in t.cast(str, result.fallback_reason)


@pytest.mark.parametrize(
    ("source", "message", "line"),
    [
        ("{{ title", "Line 1: unexpected end of template", 1),
        ("ok\n{% for x in y %}", "Line 2: Unexpected end of template", 2),
        ("{% nope %}", "Line 1: Encountered unknown tag 'nope'", 1),
        ("x" * 20_001, "longer than 20000 characters", None),
    ],
)
def test_invalid_templates_are_refused(
    source: str, message: str, line: int | None
) -> None:
    with pytest.raises(InvalidTemplateError, match=message) as info:
        check_template(source)
    assert info.value.lineno == line
    with pytest.raises(InvalidTemplateError):
        MessageTemplate(source)


@settings(deadline=None, max_examples=60)
@given(
    source=st.text(alphabet="{}%#()|~*+-/.'\"ab 01\n", max_size=40),
    payload=st.dictionaries(
        st.sampled_from(["a", "b", "title"]),
        st.none() | st.integers() | st.text(max_size=5) | st.lists(st.integers()),
        max_size=3,
    ),
)
def test_any_template_is_refused_or_renders_or_falls_back(
    source: str, payload: dict[str, t.Any]
) -> None:
    try:
        template = MessageTemplate(source)
    except InvalidTemplateError as exc:
        assert str(exc)
        return
    result = template.render(payload, default="DEFAULT")
    assert isinstance(result.text, str)
    assert result.fell_back == (
        result.text == "DEFAULT" and source.strip() != "DEFAULT"
    )
