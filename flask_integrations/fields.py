"""Form fields for configuration forms."""

from __future__ import annotations

import copy
import re
import typing as t
from dataclasses import dataclass
from dataclasses import field as dataclass_field

from flask import render_template
from markupsafe import Markup
from wtforms import Field, StringField, TextAreaField
from wtforms.utils import unset_value
from wtforms.validators import ValidationError
from wtforms.widgets import URLInput

from .conditions import (
    MODES,
    OPERATORS,
    Choice,
    ChoiceCatalogue,
    SelectKind,
    check_conditions,
)
from .errors import InvalidTemplateError, OutboundNetworkError, UnsafeURLError
from .i18n import gettext
from .message_templates import check_template
from .outbound import check_url

__all__ = [
    "ConditionRow",
    "ConditionsField",
    "ConditionsWidget",
    "MessageTemplateField",
    "OutboundURLField",
]


class OutboundURLField(StringField):  # type: ignore[misc]
    """A URL the framework will send requests to, e.g. a webhook URL.

    When the form is validated, a non-empty value must pass
    :func:`~flask_integrations.outbound.check_url`: ``http`` or ``https``,
    no credentials, and a host whose addresses are all public (or admitted
    by ``INTEGRATIONS_OUTBOUND_ALLOWLIST``), resolved with the same resolver
    the client uses (``INTEGRATIONS_OUTBOUND_RESOLVER`` in tests). The check
    runs after the field's own validators, so add
    :class:`~wtforms.validators.InputRequired` or
    :class:`~wtforms.validators.Optional` as usual. The value is stripped of
    surrounding white space.

    :class:`~flask_integrations.outbound.OutboundClient` checks the URL again
    when sending: its host may resolve elsewhere by then.
    """

    widget = URLInput()
    data: t.Any

    def process_formdata(self, valuelist: list[t.Any]) -> None:
        if valuelist:
            self.data = str(valuelist[0]).strip()

    def post_validate(self, form: t.Any, validation_stopped: bool) -> None:
        if validation_stopped or self.errors or not self.data:
            return
        try:
            check_url(self.data)
        except UnsafeURLError as exc:
            raise ValidationError(str(exc)) from exc
        except OutboundNetworkError as exc:
            raise ValidationError(
                gettext(
                    "The host of this URL could not be looked up right now (%(error)s)."
                    " Try again in a moment.",
                    error=str(exc.__cause__ or exc),
                )
            ) from exc


#: The most conditions a :class:`ConditionsField` takes.
MAX_CONDITIONS = 50

# Names of a row's inputs after the field's name: "<field>-<index>-<part>".
_ROW_INPUT = re.compile(r"(\d{1,6})-(choice|op|value)")


def _always() -> dict[str, t.Any]:
    return {"mode": "always", "conditions": []}


@dataclass
class ConditionRow:
    """One row of a :class:`ConditionsField`, as the page shows it.

    :param index: The number in its inputs' names (stable while the page
        is edited; not its position).
    :param choice: The chosen choice's name.
    :param op: The chosen operator's name.
    :param value: The value's text(s), as typed.
    :param errors: What is wrong with it, shown beside it.
    """

    index: int
    choice: str = ""
    op: str = ""
    value: list[str] = dataclass_field(default_factory=list)
    errors: list[str] = dataclass_field(default_factory=list)

    @property
    def blank(self) -> bool:
        """Nothing chosen nor typed: saving drops the row."""
        return not self.choice and not any(v.strip() for v in self.value)


class ConditionsWidget:
    """Renders a :class:`ConditionsField` with the template
    ``flask_integrations/_conditions_field.html``."""

    template_name = "flask_integrations/_conditions_field.html"

    def __call__(self, field: ConditionsField, **kwargs: t.Any) -> Markup:
        return Markup(render_template(self.template_name, field=field, attrs=kwargs))


class ConditionsField(Field):  # type: ignore[misc]
    """The conditions deciding which events a configuration receives: a mode
    (*always*, *all* or *any*) and rows of choice, operator and value.

    It stores a condition set as JSON (see
    :mod:`flask_integrations.conditions`) and offers the choices the
    integration declares in
    :attr:`~flask_integrations.Integration.condition_choices`::

        class ChatForm(IntegrationConfigForm):
            conditions = ConditionsField("What to post")

    The rows work without JavaScript: *Add a condition* and *Remove* are
    submit buttons that show the page again with what was typed (see
    :meth:`IntegrationConfigForm.wants_redisplay
    <flask_integrations.IntegrationConfigForm.wants_redisplay>`); a small
    script, allowed by a ``default-src 'self'`` content security policy,
    does the same in place and keeps each row's operators and value field
    in step with its choice. A new configuration starts with *always*.

    :param choices: The choices to offer, instead of the integration's (as
        ``condition_choices`` takes them).
    """

    widget = ConditionsWidget()
    #: Marks fields whose setting holds a condition set (see
    #: :func:`~flask_integrations.conditions.condition_problems`).
    stores_conditions: t.ClassVar[bool] = True

    data: dict[str, t.Any] | None

    def __init__(
        self,
        label: str | None = None,
        validators: t.Any = None,
        *,
        choices: t.Mapping[str, t.Sequence[Choice]] | t.Sequence[Choice] | None = None,
        **kwargs: t.Any,
    ) -> None:
        kwargs.setdefault("default", _always)
        super().__init__(label, validators, **kwargs)
        self._form = kwargs.get("_form")
        self._choices = choices
        self._catalogue: ChoiceCatalogue | None = None
        #: The chosen mode, or ``None``.
        self.mode: str | None = None
        #: The rows shown.
        self.rows: list[ConditionRow] = []
        #: Whether *Add a condition* or *Remove* was pressed.
        self.redisplay_requested = False
        #: The id of the control to focus when the page is shown again.
        self.focus_id: str | None = None
        #: Problems of the stored set that concern no single row.
        self.set_errors: list[str] = []
        #: The field's and each row's errors, reported if it is validated.
        self._pending: tuple[list[str], dict[int, list[str]]] = ([], {})

    @property
    def catalogue(self) -> ChoiceCatalogue:
        """The choices offered."""
        if self._catalogue is None:
            source = self._choices
            if source is None:
                integration = getattr(self._form, "integration", None)
                source = getattr(integration, "condition_choices", None) or {}
            self._catalogue = ChoiceCatalogue(source)
        return self._catalogue

    # -- loading ------------------------------------------------------------

    def process(
        self, formdata: t.Any, data: t.Any = unset_value, extra_filters: t.Any = None
    ) -> None:
        self.process_errors: list[str] = []
        if data is unset_value:
            data = self.default() if callable(self.default) else self.default
        self.object_data = data
        self.process_data(data)
        prefix = f"{self.name}-"
        if formdata is not None and any(k.startswith(prefix) for k in formdata):
            self._read_form(formdata)

    def process_data(self, value: t.Any) -> None:
        """Show a stored condition set, with what is wrong with it."""
        self.data = dict(copy.deepcopy(value)) if isinstance(value, t.Mapping) else None
        stored = self.data or {}
        mode = stored.get("mode")
        self.mode = mode if isinstance(mode, str) else None
        items = stored.get("conditions")
        items = items if isinstance(items, list) else []
        self.rows = [self._row_from_json(i, item) for i, item in enumerate(items)]
        self.set_errors = []
        problems = check_conditions(self.data, self.catalogue) if self.data else []
        for problem in problems:
            if problem.index is None:
                self.set_errors.append(problem.message)
            else:
                self.rows[problem.index].errors.append(problem.message)
        # Validated without posted rows (as the CLI's check and import do),
        # a stored set that cannot be used is an error.
        self._pending = ([str(p) for p in problems], {})

    def _row_from_json(self, index: int, item: t.Any) -> ConditionRow:
        if not isinstance(item, t.Mapping):
            return ConditionRow(index)
        row = ConditionRow(
            index, str(item.get("choice") or ""), str(item.get("op") or "")
        )
        choice, op = self.catalogue.get(row.choice), OPERATORS.get(row.op)
        value = item.get("value")
        if choice is not None and op is not None:
            row.value = choice.value_kind.to_form(op, value)
        elif value is not None:
            row.value = [str(value)]
        return row

    def _read_form(self, formdata: t.Any) -> None:
        prefix = f"{self.name}-"
        indexes = sorted(
            {
                int(match[1])
                for key in formdata
                if key.startswith(prefix)
                and (match := _ROW_INPUT.fullmatch(key[len(prefix) :]))
            }
        )
        self.rows = [
            ConditionRow(
                index,
                formdata.get(f"{prefix}{index}-choice", ""),
                formdata.get(f"{prefix}{index}-op", ""),
                formdata.getlist(f"{prefix}{index}-value"),
            )
            for index in indexes[: MAX_CONDITIONS + 1]
        ]
        mode = formdata.get(f"{prefix}mode")
        self.mode = mode if mode in MODES else None
        self.set_errors = []
        self._apply_buttons(formdata.get(f"{prefix}remove"), f"{prefix}add" in formdata)
        self._pending = self._parse_rows()

    def _apply_buttons(self, remove: str | None, add: bool) -> None:
        if remove is not None:
            self.redisplay_requested = True
            position = next(
                (i for i, row in enumerate(self.rows) if str(row.index) == remove), None
            )
            if position is not None:
                del self.rows[position]
                after = self.rows[position] if position < len(self.rows) else None
                self.focus_id = self.row_id(after, "choice") if after else self.add_id
        if add:
            self.redisplay_requested = True
        if add and len(self.rows) < MAX_CONDITIONS:
            index = max((row.index for row in self.rows), default=-1) + 1
            self.rows.append(ConditionRow(index))
            self.focus_id = self.row_id(self.rows[-1], "choice")

    def _parse_rows(self) -> tuple[list[str], dict[int, list[str]]]:
        """Turn the typed rows into :attr:`data`; return the field's and
        each row's errors, to report if the form is validated."""
        field_errors: list[str] = []
        row_errors: dict[int, list[str]] = {}
        if self.mode is None:
            field_errors.append(
                gettext("Choose when this configuration receives events.")
            )
        if len(self.rows) > MAX_CONDITIONS:
            field_errors.append(
                gettext("Use at most %(max)s conditions.", max=MAX_CONDITIONS)
            )
        items, positions = [], []
        for position, row in enumerate(self.rows):
            if row.blank:
                continue
            try:
                items.append(self._row_to_json(row))
                positions.append(position)
            except ValueError as exc:
                row_errors[position] = [str(exc)]
        self.data = {"mode": self.mode or "always", "conditions": items}
        if row_errors and not items:
            # "No condition to test" would be news only once the rows are fixed.
            return field_errors, row_errors
        for problem in check_conditions(self.data, self.catalogue):
            if problem.index is None:
                field_errors.append(problem.message)
            else:
                row_errors.setdefault(positions[problem.index], []).append(
                    problem.message
                )
        return field_errors, row_errors

    def _row_to_json(self, row: ConditionRow) -> dict[str, t.Any]:
        if not row.choice:
            raise ValueError(gettext("Choose what to test."))
        choice = self.catalogue.get(row.choice)
        if choice is None:
            raise ValueError(
                gettext(
                    "'%(choice)s' can no longer be tested. Choose something else,"
                    " or remove this condition.",
                    choice=row.choice,
                )
            )
        op = OPERATORS.get(row.op)
        if op is None or not choice.offers(op.name):
            raise ValueError(
                gettext("Choose a test that suits '%(label)s'.", label=choice.label)
            )
        value = choice.value_kind.from_form(op, row.value)
        return {"choice": choice.name, "op": op.name, "value": value}

    # -- validating -----------------------------------------------------------

    def pre_validate(self, form: t.Any) -> None:
        field_errors, row_errors = self._pending
        for position, messages in row_errors.items():
            self.rows[position].errors = messages
        if row_errors:
            field_errors = [
                gettext("Correct the conditions marked below."),
                *field_errors,
            ]
        self.errors.extend(field_errors)

    # -- rendering ------------------------------------------------------------

    @property
    def blank_row(self) -> ConditionRow:
        """A new, empty row (the model of the rows the script adds)."""
        return ConditionRow(-1)

    @property
    def add_id(self) -> str:
        """The id of the *Add a condition* button."""
        return f"{self.id}-add"

    def row_id(self, row: ConditionRow | None, part: str) -> str:
        """The id of a row's ``choice``, ``op`` or ``value`` control."""
        index = "__index__" if row is None else row.index
        return f"{self.id}-{index}-{part}"

    def choice_options(self, row: ConditionRow) -> list[tuple[str, str, bool]]:
        """``(value, label, selected)`` of a row's choice menu."""
        options = [
            (c.name, str(c.label), c.name == row.choice) for c in self.catalogue.choices
        ]
        if row.choice and self.catalogue.get(row.choice) is None:
            label = gettext("%(name)s (no longer offered)", name=row.choice)
            options.append((row.choice, label, True))
        return options

    def operator_options(self, row: ConditionRow) -> list[tuple[str, str, bool]]:
        """``(value, label, selected)`` of a row's operator menu: the
        operators that suit its choice (every one before a choice is made)."""
        choice = self.catalogue.get(row.choice)
        names = list(choice.operator_names if choice else OPERATORS)
        options = [(n, str(OPERATORS[n].label), n == row.op) for n in names]
        if row.op and row.op not in names:
            label = gettext("%(name)s (no longer offered)", name=row.op)
            options.append((row.op, label, True))
        return options

    def value_input(self, row: ConditionRow) -> dict[str, t.Any]:
        """How to show a row's value: ``options`` (``(value, label,
        selected)``, for a menu; ``None`` for a text box), ``multiple``,
        ``text`` and ``takes`` (the operator's)."""
        choice = self.catalogue.get(row.choice)
        op = OPERATORS.get(row.op)
        if op is None or (choice is not None and not choice.offers(op.name)):
            op = OPERATORS[choice.operator_names[0] if choice else "is"]
        kind = choice.value_kind if choice else None
        options = None
        if isinstance(kind, SelectKind):
            chosen = set(row.value)
            options = [
                (kind.format(v), str(label), kind.format(v) in chosen)
                for v, label in kind.options
            ]
        return {
            "options": options,
            "multiple": op.takes == "many",
            "text": ", ".join(row.value),
            "takes": op.takes,
        }

    def script_data(self) -> dict[str, t.Any]:
        """What the script needs to keep rows in step with their choice."""
        return {
            "choices": {
                c.name: {
                    "ops": list(c.operator_names),
                    "options": [
                        [c.value_kind.format(v), str(label)]
                        for v, label in getattr(c.value_kind, "options", ())
                    ],
                }
                for c in self.catalogue.choices
            },
            "operators": {
                name: {"label": str(op.label), "takes": op.takes}
                for name, op in OPERATORS.items()
            },
            "order": list(OPERATORS),
            "text": {
                "condition": gettext("Condition %(number)s", number="{n}"),
                "remove": " " + gettext("condition %(number)s", number="{n}"),
                "added": gettext("Condition %(number)s added.", number="{n}"),
                "removed": gettext("Condition removed."),
                "commas": gettext("Separate values with commas"),
            },
        }


class MessageTemplateField(TextAreaField):  # type: ignore[misc]
    """A message template (see :mod:`flask_integrations.message_templates`):
    a template that is not valid Jinja is a form error naming the line.

    Leave it blank for the integration's default message (add
    :class:`~wtforms.validators.Optional` as usual).
    """

    def post_validate(self, form: t.Any, validation_stopped: bool) -> None:
        if validation_stopped or self.errors or not self.data:
            return
        try:
            check_template(self.data)
        except InvalidTemplateError as exc:
            raise ValidationError(str(exc)) from exc
