"""Conditions: rules that decide whether a configuration receives an event.

An integration says what its events can be tested on, as :class:`Choice`
objects per event (see :attr:`Integration.condition_choices
<flask_integrations.Integration.condition_choices>`)::

    condition_choices = {
        "ticket.created": [
            Choice("title", "Title"),
            Choice("priority", "Priority", kind="select",
                   options=[("low", "Low"), ("high", "High")]),
            Choice("project", "Project", path="project.name"),
        ],
    }

A configuration stores a condition set in its settings as JSON::

    {"mode": "all", "conditions": [
        {"choice": "priority", "op": "is", "value": "high"},
        {"choice": "title", "op": "contains", "value": "urgent"}]}

:meth:`ConditionSet.from_json` checks such a value against the choices and
compiles it once; :meth:`ConditionSet.matches` then tests an event's payload
in a few microseconds. A condition whose choice or operator the integration
no longer offers is *stale*: the set is refused, with a
:class:`ConditionProblem` per fault, and never matches.
"""

from __future__ import annotations

import logging
import math
import re
import typing as t
from dataclasses import dataclass, field

import regex

from .errors import IntegrationError, InvalidConditionsError
from .i18n import gettext, lazy_gettext

if t.TYPE_CHECKING:  # pragma: no cover
    from .integration import Integration

__all__ = [
    "KINDS",
    "MAX_PATTERN_LENGTH",
    "MODES",
    "OPERATORS",
    "REGEX_TIMEOUT",
    "Choice",
    "ChoiceCatalogue",
    "Condition",
    "ConditionProblem",
    "ConditionSet",
    "ConfigConditionsMixin",
    "Kind",
    "Operator",
    "check_conditions",
    "condition_problems",
    "load_config_conditions",
    "parse_path",
]

logger = logging.getLogger("flask_integrations")

#: How long, in seconds, a "matches regex" condition may search one value;
#: a search that takes longer counts as no match (and is logged).
REGEX_TIMEOUT = 0.05

#: The longest regular expression a condition may hold.
MAX_PATTERN_LENGTH = 1000

#: The modes of a condition set: every event, all conditions, any condition.
MODES = ("always", "all", "any")

#: Text, or a lazy translation (``lazy_gettext``).
Label = str | t.Any
Predicate = t.Callable[[t.Any], bool]
Getter = t.Callable[[t.Any], t.Any]


class _Missing:
    """The value of a path the payload does not have."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: t.Any = _Missing()


# -- operators ------------------------------------------------------------------


@dataclass(frozen=True)
class Operator:
    """A test a condition applies to a value, such as "contains".

    :param name: Its id in stored conditions (``"contains"``).
    :param label: What the form shows (``"contains"``).
    :param takes: The value it compares with: ``"none"`` (``is-set``),
        ``"one"`` or ``"many"`` (a list, for ``one-of``).
    :param negates: The operator it is the opposite of, if any: it matches
        exactly when that one does not (also when the value is missing).
    """

    name: str
    label: Label
    takes: t.Literal["none", "one", "many"] = "one"
    negates: str | None = None


#: Every operator, by name, in the order forms list them.
OPERATORS: dict[str, Operator] = {
    op.name: op
    for op in (
        Operator("is", lazy_gettext("is")),
        Operator("is-not", lazy_gettext("is not"), negates="is"),
        Operator("contains", lazy_gettext("contains")),
        Operator(
            "does-not-contain", lazy_gettext("does not contain"), negates="contains"
        ),
        Operator("starts-with", lazy_gettext("starts with")),
        Operator("one-of", lazy_gettext("is one of"), "many"),
        Operator("any-of", lazy_gettext("is any of"), "many"),
        Operator("none-of", lazy_gettext("is none of"), "many", negates="one-of"),
        Operator("greater-than", lazy_gettext("is greater than")),
        Operator("less-than", lazy_gettext("is less than")),
        Operator("matches-regex", lazy_gettext("matches regex")),
        Operator("is-set", lazy_gettext("is set"), "none"),
        Operator("is-unset", lazy_gettext("is not set"), "none", negates="is-set"),
    )
}


def _is_set(value: t.Any) -> bool:
    return value is not MISSING and value is not None and value not in ("", [], {})


def _is_scalar(value: t.Any) -> bool:
    return isinstance(value, (str, int, float)) or value is None


# -- value kinds ------------------------------------------------------------------


class Kind:
    """How a choice's value is entered and compared. Each kind knows the
    operators that suit it, how to check a stored value, how to read the
    form's text, and how to test a payload's value.

    The kinds are ``text``, ``number``, ``select`` (one of fixed options),
    ``boolean`` and ``list`` (a list of texts, such as labels).
    """

    name: t.ClassVar[str]
    operators: t.ClassVar[tuple[str, ...]] = ()

    def check(self, op: Operator, value: t.Any) -> t.Any:
        """Return ``value`` as stored for ``op`` (a JSON value), or raise
        :class:`ValueError` with a sentence saying what is wrong."""
        if op.takes == "none":
            return None
        if op.takes == "many":
            if not isinstance(value, list) or not value:
                raise ValueError(
                    gettext("The value must be a list of at least one value.")
                )
            return [self.check_one(op, v) for v in value]
        return self.check_one(op, value)

    def check_one(self, op: Operator, value: t.Any) -> t.Any:
        """Check one stored value (see :meth:`check`)."""
        raise NotImplementedError

    def from_form(self, op: Operator, texts: list[str]) -> t.Any:
        """Turn what the form posted for the value into a stored value, or
        raise :class:`ValueError` with a sentence for the user."""
        if op.takes == "none":
            return None
        if op.takes == "many":
            items = [p.strip() for text in texts for p in text.split(",")]
            items = [p for p in items if p]
            if not items:
                raise ValueError(
                    gettext("Enter at least one value; separate values with commas.")
                )
            return [self.parse_text(op, item) for item in items]
        text = texts[0].strip() if texts else ""
        if not text:
            raise ValueError(gettext("Enter a value."))
        return self.parse_text(op, text)

    def parse_text(self, op: Operator, text: str) -> t.Any:
        """One value typed in the form, as stored."""
        return text

    def to_form(self, op: Operator, value: t.Any) -> list[str]:
        """A stored value as the texts of the form's value field."""
        if value is None:
            return []
        if isinstance(value, list):
            return [", ".join(self.format(v) for v in value)]
        return [self.format(value)]

    def format(self, value: t.Any) -> str:
        """One stored value as text."""
        return str(value)

    def predicate(self, op: Operator, expected: t.Any) -> Predicate:
        """The test of a payload value (``MISSING`` when absent) for ``op``
        and a checked ``expected`` value."""
        raise NotImplementedError


def _text(value: t.Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def _search(pattern: t.Any, text: str) -> bool:
    try:
        return pattern.search(text, timeout=REGEX_TIMEOUT) is not None
    except TimeoutError:
        logger.warning(
            "The regular expression %r took longer than %s s on a value of %d"
            " characters; the condition counts as not matching.",
            pattern.pattern,
            REGEX_TIMEOUT,
            len(text),
        )
        return False


class TextKind(Kind):
    """Text, compared without regard to case (except by ``matches-regex``);
    numbers in the payload are compared as they are written."""

    name = "text"
    operators = (
        "is",
        "is-not",
        "contains",
        "does-not-contain",
        "starts-with",
        "one-of",
        "none-of",
        "matches-regex",
        "is-set",
        "is-unset",
    )

    def check_one(self, op: Operator, value: t.Any) -> t.Any:
        return _check_text(op, value)

    def predicate(self, op: Operator, expected: t.Any) -> Predicate:
        if op.name == "matches-regex":
            pattern = compile_pattern(expected)
            return lambda v: (s := _text(v)) is not None and _search(pattern, s)
        if op.name == "one-of":
            wanted = frozenset(e.casefold() for e in expected)
            return lambda v: (s := _text(v)) is not None and s.casefold() in wanted
        e = expected.casefold()
        if op.name == "is":
            return lambda v: (s := _text(v)) is not None and s.casefold() == e
        if op.name == "contains":
            return lambda v: (s := _text(v)) is not None and e in s.casefold()
        return lambda v: (s := _text(v)) is not None and s.casefold().startswith(e)


def _check_text(op: Operator, value: t.Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(gettext("The value must be a text that is not empty."))
    if op.name == "matches-regex":
        compile_pattern(value)
    return value


def compile_pattern(pattern: str) -> t.Any:
    """Compile a condition's regular expression.

    :raises ValueError: It is too long or not valid, with a sentence saying
        why.
    """
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ValueError(
            gettext(
                "The regular expression is longer than %(max)s characters.",
                max=MAX_PATTERN_LENGTH,
            )
        )
    try:
        return regex.compile(pattern)
    except (regex.error, ValueError, OverflowError, RecursionError) as exc:
        raise ValueError(
            gettext("This regular expression is not valid: %(error)s.", error=exc)
        ) from exc


def _number(value: t.Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


class NumberKind(Kind):
    """A number; numeric text in the payload (``"12.50"``) counts too."""

    name = "number"
    operators = (
        "is",
        "is-not",
        "greater-than",
        "less-than",
        "one-of",
        "none-of",
        "is-set",
        "is-unset",
    )

    def check_one(self, op: Operator, value: t.Any) -> t.Any:
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
        ):
            raise ValueError(
                gettext("The value %(value)r is not a number.", value=value)
            )
        return value

    def parse_text(self, op: Operator, text: str) -> t.Any:
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise ValueError(
                gettext("'%(text)s' is not a number, such as 3 or 2.5.", text=text)
            )
        return int(number) if number.is_integer() and "." not in text else number

    def predicate(self, op: Operator, expected: t.Any) -> Predicate:
        if op.name == "one-of":
            wanted = frozenset(float(e) for e in expected)
            return lambda v: _number(v) in wanted
        e = float(expected)
        if op.name == "greater-than":
            return lambda v: (n := _number(v)) is not None and n > e
        if op.name == "less-than":
            return lambda v: (n := _number(v)) is not None and n < e
        return lambda v: _number(v) == e


def _option_key(value: t.Any) -> t.Any:
    # True == 1 in Python; an option "1" must not match a payload's True.
    return (type(value) is bool, value) if _is_scalar(value) else MISSING


class SelectKind(Kind):
    """One of fixed options, such as a priority.

    :param options: ``(value, label)`` pairs; values are JSON scalars and
        are compared exactly with the payload's.
    """

    name = "select"
    operators: t.ClassVar[tuple[str, ...]] = (
        "is",
        "is-not",
        "one-of",
        "none-of",
        "is-set",
        "is-unset",
    )

    def __init__(self, options: t.Sequence[tuple[t.Any, Label]]) -> None:
        self.options = tuple((value, label) for value, label in options)
        self._by_text = {self.format(value): value for value, _ in self.options}

    def check_one(self, op: Operator, value: t.Any) -> t.Any:
        key = _option_key(value)
        if not any(_option_key(v) == key for v, _ in self.options):
            raise ValueError(
                gettext("%(value)r is not one of the options.", value=value)
            )
        return value

    def from_form(self, op: Operator, texts: list[str]) -> t.Any:
        if op.takes == "many":
            values = [self.parse_text(op, text) for text in texts if text]
            if not values:
                raise ValueError(gettext("Choose at least one value."))
            return values
        return super().from_form(op, texts)

    def parse_text(self, op: Operator, text: str) -> t.Any:
        if text not in self._by_text:
            raise ValueError(gettext("Choose one of the options."))
        return self._by_text[text]

    def to_form(self, op: Operator, value: t.Any) -> list[str]:
        values = value if isinstance(value, list) else [value]
        return [self.format(v) for v in values if v is not None]

    def format(self, value: t.Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        return "" if value is None else str(value)

    def predicate(self, op: Operator, expected: t.Any) -> Predicate:
        if op.name == "one-of":
            wanted = frozenset(_option_key(e) for e in expected)
            return lambda v: _option_key(v) in wanted
        key = _option_key(expected)
        return lambda v: _option_key(v) == key


class BooleanKind(SelectKind):
    """Yes or no: ``true`` or ``false`` in the payload."""

    name = "boolean"
    operators = ("is", "is-set", "is-unset")

    def __init__(self) -> None:
        super().__init__([(True, lazy_gettext("yes")), (False, lazy_gettext("no"))])


class ListKind(Kind):
    """A list of texts, such as labels; a single text counts as a list of
    one. Items are compared without regard to case."""

    name = "list"
    operators = (
        "contains",
        "does-not-contain",
        "any-of",
        "none-of",
        "is-set",
        "is-unset",
    )

    def check_one(self, op: Operator, value: t.Any) -> t.Any:
        return _check_text(op, value)

    def predicate(self, op: Operator, expected: t.Any) -> Predicate:
        if op.name == "contains":
            e = expected.casefold()
            return lambda v: e in _items(v)
        # "any-of", and "one-of" behind "none-of": an item is among the values.
        wanted = frozenset(e.casefold() for e in expected)
        return lambda v: not wanted.isdisjoint(_items(v))


def _items(value: t.Any) -> list[str]:
    if isinstance(value, list):
        return [s.casefold() for item in value if (s := _text(item)) is not None]
    s = _text(value)
    return [] if s is None else [s.casefold()]


#: The kinds of value a choice can have, by name (``select`` takes options).
KINDS: dict[str, type[Kind]] = {
    kind.name: kind
    for kind in (TextKind, NumberKind, SelectKind, BooleanKind, ListKind)
}


# -- paths ----------------------------------------------------------------------

_PATH_TOKEN = re.compile(
    r"""\.?(?P<name>[^.\[\]'"]+)
      | \[(?P<index>-?\d+)\]
      | \[(?P<quote>['"])(?P<key>.*?)(?P=quote)\]
      | \[(?P<star>\*)\]""",
    re.VERBOSE,
)

_STAR = object()


def parse_path(path: str) -> tuple[t.Any, ...]:
    """Split a JSON path into keys, indexes and wildcards.

    ``title``, ``ticket.project.name``, ``$.labels[0]``, ``items[*].name``,
    ``items.*.name`` and ``["key.with.dots"]`` are all valid.

    :raises ValueError: The path is empty or not valid.
    """
    text = path.strip()
    if text.startswith("$"):
        text = text[1:]
    steps: list[t.Any] = []
    position = 0
    while position < len(text):
        match = _PATH_TOKEN.match(text, position)
        if match is None or (
            match.group("name") and position and text[position] != "."
        ):
            raise ValueError(
                f"The JSON path {path!r} is not valid at {text[position:]!r}."
            )
        if match.group("name") is not None:
            name = match.group("name")
            steps.append(_STAR if name == "*" else name)
        elif match.group("index") is not None:
            steps.append(int(match.group("index")))
        elif match.group("star"):
            steps.append(_STAR)
        else:
            steps.append(match.group("key"))
        position = match.end()
    if not steps:
        raise ValueError(f"The JSON path {path!r} is empty.")
    return tuple(steps)


def _step(value: t.Any, step: t.Any) -> t.Any:
    if type(step) is str:
        return value.get(step, MISSING) if isinstance(value, dict) else MISSING
    if isinstance(value, list) and -len(value) <= step < len(value):
        return value[step]
    return MISSING


def compile_path(path: str) -> Getter:
    """Return a function that reads ``path`` (see :func:`parse_path`) from a
    payload, giving ``MISSING`` where the payload has nothing there. With a
    wildcard the value is the list of every value found."""
    steps = parse_path(path)
    if _STAR in steps:
        return lambda payload: _collect(payload, steps)
    if len(steps) == 1 and type(steps[0]) is str:
        key = steps[0]
        return lambda p: p.get(key, MISSING) if isinstance(p, dict) else MISSING

    def get(payload: t.Any) -> t.Any:
        value = payload
        for step in steps:
            value = _step(value, step)
            if value is MISSING:
                break
        return value

    return get


def _collect(value: t.Any, steps: tuple[t.Any, ...]) -> list[t.Any]:
    found = [value]
    for step in steps:
        if step is _STAR:
            found = [
                item
                for v in found
                for item in (v.values() if isinstance(v, dict) else v)
                if isinstance(v, (dict, list))
            ]
        else:
            found = [x for v in found if (x := _step(v, step)) is not MISSING]
    return found


# -- choices ----------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """Something a condition can test, read from the event's payload.

    :param name: Its id in stored conditions (``"priority"``).
    :param label: What the form shows (``"Priority"``).
    :param path: Where the value is in the payload: a JSON path such as
        ``"ticket.project.name"`` or ``"labels[*]"`` (see
        :func:`~flask_integrations.conditions.parse_path`), or a function of
        the payload. Defaults to
        ``name``.
    :param kind: How the value is entered and compared: ``"text"``,
        ``"number"``, ``"select"`` (give ``options``), ``"boolean"`` or
        ``"list"``.
    :param options: For ``select``: ``(value, label)`` pairs.
    :param operators: Limit the operators offered (names from
        :data:`~flask_integrations.conditions.OPERATORS`); by default every
        one that suits the kind.
    :raises ValueError: The kind, options, operators or path are not valid.
    """

    name: str
    label: Label
    path: str | Getter | None = None
    kind: str = "text"
    options: t.Sequence[tuple[t.Any, Label]] = ()
    operators: t.Sequence[str] | None = None
    #: The kind's implementation.
    value_kind: Kind = field(init=False, repr=False, compare=False)
    #: Reads the value from a payload (``MISSING`` when absent).
    get_value: Getter = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        init = object.__setattr__
        init(self, "value_kind", self._make_kind())
        init(self, "options", tuple(self.options))
        allowed = self.value_kind.operators
        operators = allowed if self.operators is None else tuple(self.operators)
        wrong = [op for op in operators if op not in allowed]
        if wrong:
            raise ValueError(
                f"The choice '{self.name}' ({self.kind}) cannot offer {wrong};"
                f" a {self.kind} value takes {list(allowed)}."
            )
        init(self, "operators", operators)
        path = self.name if self.path is None else self.path
        init(self, "get_value", path if callable(path) else compile_path(path))

    def _make_kind(self) -> Kind:
        if self.kind not in KINDS:
            raise ValueError(
                f"The choice '{self.name}' has the kind {self.kind!r}; use one of"
                f" {sorted(KINDS)}."
            )
        if self.kind == "select":
            if not self.options:
                raise ValueError(
                    f"The choice '{self.name}' is a select: give it options,"
                    " as (value, label) pairs."
                )
            return SelectKind(self.options)
        return KINDS[self.kind]()

    @property
    def operator_names(self) -> tuple[str, ...]:
        """The names of the operators offered, in order."""
        return t.cast(tuple[str, ...], self.operators)

    def offers(self, op: str) -> bool:
        """Whether conditions on this choice may use the operator ``op``."""
        return op in self.operator_names


class ChoiceCatalogue:
    """The choices an integration offers, per event.

    :param choices: Choices by event name, or one sequence for every event.
        Under the key ``"*"``, choices every event offers. Choices with the
        same name must have the same kind (each event may read its value
        from a different path).
    :raises ValueError: Two choices of one name differ in kind or options.
    """

    def __init__(
        self, choices: t.Mapping[str, t.Sequence[Choice]] | t.Sequence[Choice]
    ) -> None:
        by_event = choices if isinstance(choices, t.Mapping) else {"*": choices}
        common = {c.name: c for c in by_event.get("*", ())}
        self._by_event = {
            event: {**common, **{c.name: c for c in event_choices}}
            for event, event_choices in by_event.items()
        }
        union: dict[str, Choice] = {}
        for event_choices in by_event.values():
            for choice in event_choices:
                first = union.setdefault(choice.name, choice)
                if (first.kind, first.options) != (choice.kind, choice.options):
                    raise ValueError(
                        f"Two choices named '{choice.name}' differ in kind or"
                        " options; give them different names."
                    )
        self._union = union

    @classmethod
    def of(cls, integration: Integration) -> ChoiceCatalogue:
        """The catalogue of ``integration``'s
        :attr:`~flask_integrations.Integration.condition_choices`."""
        return cls(getattr(integration, "condition_choices", None) or {})

    @property
    def choices(self) -> list[Choice]:
        """Every choice, once per name, in the order first declared."""
        return list(self._union.values())

    def get(self, name: str) -> Choice | None:
        """The choice called ``name``, or ``None``."""
        return self._union.get(name)

    def for_event(self, event: str | None) -> dict[str, Choice]:
        """The choices of ``event`` by name (every choice for ``None``)."""
        if event is None:
            return self._union
        found = self._by_event.get(event)
        return found if found is not None else self._by_event.get("*", {})

    def __bool__(self) -> bool:
        return bool(self._union)


# -- conditions and sets ------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """One rule: a choice, an operator and a value (already checked).

    Build conditions with :meth:`ConditionSet.from_json`.
    """

    choice: Choice
    operator: Operator
    value: t.Any

    def to_json(self) -> dict[str, t.Any]:
        """The stored form: ``{"choice": ..., "op": ..., "value": ...}``."""
        return {
            "choice": self.choice.name,
            "op": self.operator.name,
            "value": self.value,
        }

    def predicate(self, choices: t.Mapping[str, Choice] | None = None) -> Predicate:
        """A function of the payload that applies this condition.

        :param choices: The choices of the event being tested, by name: the
            value is read as the one named like ``choice`` reads it, and is
            missing when there is none. ``None`` reads it as ``choice``
            does.
        """
        op = self.operator
        positive = OPERATORS[op.negates] if op.negates else op
        if positive.name == "is-set":
            test: Predicate = _is_set
        else:
            test = self.choice.value_kind.predicate(positive, self.value)
        if op.negates:
            test = _negation(test)
        choice = self.choice if choices is None else choices.get(self.choice.name)
        if choice is None:
            constant = test(MISSING)
            return lambda payload: constant
        get = choice.get_value
        return lambda payload: test(get(payload))


def _negation(test: Predicate) -> Predicate:
    return lambda value: not test(value)


@dataclass(frozen=True)
class ConditionProblem:
    """Something wrong with a stored condition set.

    :param message: A sentence saying what is wrong and what to do.
    :param index: The position of the faulty condition in ``conditions``;
        ``None`` for the set as a whole.
    :param stale: The condition names a choice or an operator that the
        integration no longer offers (rather than a malformed value).
    """

    message: str
    index: int | None = None
    stale: bool = False

    def __str__(self) -> str:
        if self.index is None:
            return self.message
        return gettext(
            "Condition %(number)s: %(message)s",
            number=self.index + 1,
            message=self.message,
        )


class ConditionSet:
    """Conditions and how they combine: ``"always"`` (every event, the
    conditions are kept but not tested), ``"all"`` or ``"any"``.

    :param mode: One of :data:`MODES`.
    :param conditions: The conditions, checked.
    :param catalogue: The choices per event, to read each event's values
        from its own paths.
    """

    __slots__ = ("_catalogue", "_tests", "conditions", "mode")

    def __init__(
        self,
        mode: str,
        conditions: t.Sequence[Condition] = (),
        catalogue: ChoiceCatalogue | None = None,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"The mode {mode!r} is not one of {list(MODES)}.")
        self.mode = mode
        self.conditions = tuple(conditions)
        self._catalogue = catalogue
        # Compiled tests per event name: read-only once built.
        self._tests: dict[str | None, tuple[Predicate, ...]] = {}

    @classmethod
    def from_json(
        cls, data: t.Any, catalogue: ChoiceCatalogue | t.Mapping[str, t.Any]
    ) -> ConditionSet:
        """Check and compile a stored condition set.

        :param data: ``{"mode": ..., "conditions": [...]}``.
        :param catalogue: The integration's choices (a
            :class:`ChoiceCatalogue`, or what it takes).
        :raises InvalidConditionsError: The set is malformed or stale; its
            ``problems`` list every fault.
        """
        if not isinstance(catalogue, ChoiceCatalogue):
            catalogue = ChoiceCatalogue(catalogue)
        conditions, problems = _parse(data, catalogue)
        if problems or conditions is None:
            raise InvalidConditionsError(problems)
        return cls(data["mode"], conditions, catalogue)

    def to_json(self) -> dict[str, t.Any]:
        """The stored form of the set (a JSON object)."""
        return {"mode": self.mode, "conditions": [c.to_json() for c in self.conditions]}

    def matches(self, payload: t.Any, event: str | None = None) -> bool:
        """Whether an event passes the set.

        :param payload: The event's JSON payload.
        :param event: The event's name: each event reads its values with its
            own choices' paths; a choice the event does not declare reads as
            missing. ``None`` uses the first-declared path of each choice.
        """
        mode = self.mode
        if mode == "always":
            return True
        tests = self._tests.get(event)
        if tests is None:
            tests = self._compile(event)
        if mode == "all":
            for test in tests:
                if not test(payload):
                    return False
            return True
        for test in tests:
            if test(payload):
                return True
        return False

    def _compile(self, event: str | None) -> tuple[Predicate, ...]:
        if event is None or self._catalogue is None:
            tests = tuple(c.predicate() for c in self.conditions)
        else:
            choices = self._catalogue.for_event(event)
            tests = tuple(c.predicate(choices) for c in self.conditions)
        self._tests[event] = tests
        return tests

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ConditionSet):
            return NotImplemented
        return self.to_json() == other.to_json()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<ConditionSet {self.to_json()!r}>"


def _parse(
    data: t.Any, catalogue: ChoiceCatalogue
) -> tuple[list[Condition] | None, list[ConditionProblem]]:
    if not isinstance(data, dict):
        return None, [
            ConditionProblem(
                gettext(
                    "The stored conditions are not an object with 'mode' and"
                    " 'conditions'."
                )
            )
        ]
    problems = []
    mode = data.get("mode")
    if mode not in MODES:
        problems.append(
            ConditionProblem(
                gettext(
                    "The mode %(mode)r is not 'always', 'all' or 'any'.",
                    mode=mode,
                )
            )
        )
    rows = data.get("conditions", [])
    if not isinstance(rows, list):
        problems.append(ConditionProblem(gettext("'conditions' is not a list.")))
        return None, problems
    conditions = []
    for index, row in enumerate(rows):
        condition = _parse_condition(row, catalogue)
        if isinstance(condition, ConditionProblem):
            problems.append(
                ConditionProblem(condition.message, index, stale=condition.stale)
            )
        else:
            conditions.append(condition)
    if mode in ("all", "any") and not rows:
        problems.append(
            ConditionProblem(
                gettext(
                    "There is no condition to test. Add one, or choose 'Always'"
                    " to receive every event."
                )
            )
        )
    return conditions, problems


def _parse_condition(
    row: t.Any, catalogue: ChoiceCatalogue
) -> Condition | ConditionProblem:
    if not isinstance(row, dict) or not isinstance(row.get("choice"), str):
        return ConditionProblem(
            gettext("It is not an object with 'choice', 'op' and 'value'.")
        )
    choice = catalogue.get(row["choice"])
    if choice is None:
        return ConditionProblem(
            gettext(
                "It tests '%(choice)s', which this integration no longer offers."
                " Remove it or choose something else to test.",
                choice=row["choice"],
            ),
            stale=True,
        )
    op = row.get("op")
    operator = OPERATORS.get(op) if isinstance(op, str) else None
    if operator is None or not choice.offers(operator.name):
        return ConditionProblem(
            gettext(
                "'%(label)s' can no longer be tested with %(op)r. Choose another test.",
                label=choice.label,
                op=op,
            ),
            stale=True,
        )
    try:
        value = choice.value_kind.check(operator, row.get("value"))
    except ValueError as exc:
        return ConditionProblem(str(exc))
    return Condition(choice, operator, value)


def check_conditions(
    data: t.Any, catalogue: ChoiceCatalogue | t.Mapping[str, t.Any]
) -> list[ConditionProblem]:
    """Return what is wrong with a stored condition set (empty when it can
    be used), without raising.

    :param data: ``{"mode": ..., "conditions": [...]}``.
    :param catalogue: The integration's choices.
    """
    if not isinstance(catalogue, ChoiceCatalogue):
        catalogue = ChoiceCatalogue(catalogue)
    return _parse(data, catalogue)[1]


# -- configurations ----------------------------------------------------------------


def _catalogue_of(config: t.Any) -> ChoiceCatalogue | None:
    try:
        return ChoiceCatalogue.of(config.integration)
    except IntegrationError:
        return None


def load_config_conditions(config: t.Any, conditions_key: str) -> ConditionSet | None:
    """The condition set a configuration stores under ``conditions_key``,
    checked against its integration's choices; ``None`` (logged) when it
    has none or it cannot be used. Backs
    :meth:`IntegrationConfigMixin.load_conditions
    <flask_integrations.IntegrationConfigMixin.load_conditions>`."""
    try:
        data = config.get(conditions_key)
        if not data:
            return None
        catalogue = _catalogue_of(config)
        if catalogue is None:
            return None
        return ConditionSet.from_json(data, catalogue)
    except InvalidConditionsError as exc:
        logger.warning(
            "The configuration %s receives no event until its conditions '%s'"
            " are fixed. %s",
            config.id,
            conditions_key,
            exc,
        )
    except Exception:
        logger.exception(
            "The configuration %s receives no event: its conditions '%s' could"
            " not be loaded.",
            config.id,
            conditions_key,
        )
    return None


class ConfigConditionsMixin:
    """``load_conditions()`` and ``match_conditions()`` of configurations:
    of :class:`~flask_integrations.IntegrationConfigMixin` models and of
    :class:`~flask_integrations.ConfigSnapshot` objects."""

    __slots__ = ()

    def load_conditions(
        self, conditions_key: str = "conditions"
    ) -> ConditionSet | None:
        """Return the condition set stored in the setting ``conditions_key``,
        checked against the integration's
        :attr:`~flask_integrations.Integration.condition_choices`.

        ``None`` when the setting is empty, the configuration is an orphan,
        or the set cannot be used (malformed, or naming a choice or operator
        that no longer exists): that is logged as a warning, never raised.
        Snapshots check and compile their conditions once.
        """
        return load_config_conditions(self, conditions_key)

    def match_conditions(
        self,
        conditions_key: str = "conditions",
        *,
        payload: t.Any,
        event: str | None = None,
    ) -> bool:
        """Whether an event passes the conditions stored in
        ``conditions_key``.

        No conditions, or conditions that cannot be used, never match: a
        configuration receives events once its conditions say so (their
        ``"always"`` mode matches every event). Errors are logged and count
        as no match.

        :param payload: The event's JSON payload.
        :param event: The event's name, so that each event reads values
            from its own choices' paths.
        """
        conditions = self.load_conditions(conditions_key)
        if conditions is None:
            return False
        try:
            return conditions.matches(payload, event)
        except Exception:
            logger.exception(
                "Testing the conditions of the configuration %s failed; it"
                " counts as not matching.",
                getattr(self, "id", None),
            )
            return False


def condition_problems(
    config: t.Any, conditions_key: str | None = None
) -> list[ConditionProblem]:
    """What is wrong with the conditions a configuration stores, for pages
    and ``flask integrations check``.

    :param config: A configuration (a model instance or a snapshot).
    :param conditions_key: The setting to check; by default every setting
        whose form field stores conditions (a field class with a true
        ``stores_conditions`` attribute, such as
        :class:`~flask_integrations.ConditionsField`).
    :return: The problems; empty when every set can be used or is unset.
    """
    catalogue = _catalogue_of(config)
    if catalogue is None:
        return []
    keys = (
        [conditions_key]
        if conditions_key is not None
        else conditions_keys(config.integration.config_form_cls)
    )
    problems = []
    for key in keys:
        data = config.get(key)
        if data:
            problems.extend(check_conditions(data, catalogue))
    return problems


def conditions_keys(form_cls: type[t.Any]) -> list[str]:
    """Names of the fields of a form class that store conditions."""
    return [
        name
        for name in dir(form_cls)
        if not name.startswith("_")
        and getattr(
            getattr(getattr(form_cls, name, None), "field_class", None),
            "stores_conditions",
            False,
        )
    ]
