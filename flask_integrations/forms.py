"""The :class:`IntegrationConfigForm` every configuration form derives from."""

from __future__ import annotations

import datetime
import decimal
import math
import typing as t
from dataclasses import dataclass, field

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeField,
    DecimalField,
    Field,
    PasswordField,
    SelectMultipleField,
    StringField,
    TimeField,
)
from wtforms.fields.simple import SubmitField
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from .errors import ConfigFormError, SecretDecryptionError
from .i18n import _l
from .models import as_settings_dict

if t.TYPE_CHECKING:  # pragma: no cover
    from .integration import Integration

# Most specific first: DateField derives from DateTimeField.
_ISO_PARSERS: tuple[tuple[type[Field], t.Callable[[str], t.Any]], ...] = (
    (DateField, datetime.date.fromisoformat),
    (TimeField, datetime.time.fromisoformat),
    (DateTimeField, datetime.datetime.fromisoformat),
)

#: Secrets at least this long get a hint with their last 4 characters.
SECRET_HINT_MIN_LENGTH = 16


@dataclass(frozen=True)
class Fieldset:
    """A titled group of fields on a configuration page.

    :param title: Heading of the group.
    :param fields: Names of the fields, in order.
    :param description: A sentence or two under the heading.
    """

    title: str | t.Any
    fields: tuple[str, ...]
    description: str | t.Any | None = None
    classes: tuple[str, ...] = field(default=())


FieldsetSpec = Fieldset | tuple[t.Any, ...] | t.Mapping[str, t.Any]


def _as_fieldset(spec: FieldsetSpec) -> Fieldset:
    if isinstance(spec, Fieldset):
        return spec
    if isinstance(spec, t.Mapping):
        return Fieldset(
            title=spec.get("title", ""),
            fields=tuple(spec["fields"]),
            description=spec.get("description"),
            classes=tuple(spec.get("classes", ())),
        )
    if isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[1], t.Mapping):
        return _as_fieldset({"title": spec[0], **spec[1]})
    if isinstance(spec, tuple) and len(spec) == 3 and _is_text(spec[1]):
        # (title, description, field names), the order the design lists them.
        return Fieldset(spec[0], tuple(spec[2]), spec[1])
    if isinstance(spec, tuple) and 2 <= len(spec) <= 3 and not _is_text(spec[1]):
        return Fieldset(spec[0], tuple(spec[1]), spec[2] if len(spec) == 3 else None)
    raise ValueError(
        f"Invalid fieldset {spec!r}: use Fieldset(title, fields, description),"
        " a (title, fields[, description]) or (title, description, fields)"
        " tuple, or a dict with 'fields'."
    )


def _is_text(value: t.Any) -> bool:
    from .i18n import LazyString

    return isinstance(value, (str, LazyString))


def _unstorable(value: t.Any) -> bool:
    """Whether JSON settings or a database cannot hold ``value``: text with
    NUL characters, or an infinite or NaN number."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, (list, tuple)):
        return any(_unstorable(v) for v in value)
    return False


def _choices(pairs: t.Iterable[tuple[str, str]]) -> list[t.Any]:
    """Choices in the shape the installed WTForms prefers."""
    try:
        from wtforms.fields.choices import SelectChoice
    except ImportError:  # WTForms < 3.3
        return list(pairs)
    return [SelectChoice(value, label) for value, label in pairs]


class EventsField(SelectMultipleField):  # type: ignore[misc]
    """Checkboxes choosing which of an integration's events a configuration
    receives."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class IntegrationConfigForm(FlaskForm):  # type: ignore[misc]
    """Form that adds and edits configurations of an integration.

    ``name`` and ``enabled`` are stored on the configuration's columns; every
    other field a subclass declares is loaded from and saved into
    ``config.settings``. A :class:`~wtforms.PasswordField`, or a field named
    in :attr:`secret_fields`, is a secret: never loaded into the form, and a
    blank value on edit keeps the stored one.

    :param integration: The integration being configured.
    :param config: The configuration to edit; ``None`` to add one.
    :param kwargs: Passed on to :class:`~flask_wtf.FlaskForm`.
    """

    name = StringField(
        _l("Name"),
        validators=[InputRequired(), Length(max=255)],
        description=_l("A name to tell this configuration apart from others."),
    )
    enabled = BooleanField(_l("Enabled"), default=True)

    #: Fields stored on model columns instead of in ``settings``.
    model_fields: t.ClassVar[tuple[str, ...]] = ("name", "enabled")

    #: The fields of the "Basic information" group shown first.
    basic_fields: t.ClassVar[tuple[str, ...]] = ("name", "enabled")

    #: Groups of the integration's own fields, in order.
    fieldsets: t.ClassVar[t.Sequence[FieldsetSpec]] = ()

    #: Names of fields holding secrets (besides every ``PasswordField``).
    secret_fields: t.ClassVar[t.Sequence[str]] = ()

    def __init__(
        self, integration: Integration, config: t.Any = None, **kwargs: t.Any
    ) -> None:
        self.integration = integration
        self.config = config
        data = self._initial_data()
        data.update(kwargs.pop("data", None) or {})
        super().__init__(data=data, **kwargs)
        self._validated = False
        self._keep_stored_secrets_when_blank()

    # -- field groups -------------------------------------------------------

    def settings_field_names(self) -> list[str]:
        """Names of the fields saved into ``settings``."""
        return [
            f.name
            for f in self
            if f.name not in self.model_fields
            and f.name != "csrf_token"
            and not isinstance(f, SubmitField)
        ]

    def is_secret(self, field: Field | str) -> bool:
        """Whether a field holds a secret."""
        field = self[field] if isinstance(field, str) else field
        return isinstance(field, PasswordField) or field.name in self.secret_fields

    def get_fieldsets(self) -> list[Fieldset]:
        """Return the groups to render: "Basic information" first, then the
        declared ones, then a group of any field no fieldset names."""
        basic = [n for n in self.basic_fields if n in self]
        result = [Fieldset(_l("Basic information"), tuple(basic))]
        placed = set(basic)
        for spec in self.fieldsets:
            fieldset = _as_fieldset(spec)
            result.append(fieldset)
            placed.update(fieldset.fields)
        rest = tuple(
            f.name
            for f in self
            if f.name not in placed
            and f.name != "csrf_token"
            and not isinstance(f, SubmitField)
        )
        if rest:
            title = _l("Settings") if len(result) == 1 else _l("More settings")
            result.append(Fieldset(title, rest))
        return result

    # -- loading ------------------------------------------------------------

    def _initial_data(self) -> dict[str, t.Any]:
        names = self.settings_field_names_for_class()
        if self.config is None:
            data: dict[str, t.Any] = {
                k: self.deserialize_value(k, v)
                for k, v in self.integration.default_settings.items()
                if k in names
            }
            data["enabled"] = True
        else:
            data = {name: getattr(self.config, name) for name in self.model_fields}
            for name in names:
                if name in self.secret_names_for_class():
                    continue
                value = self.config.get(name)
                if value is not None:
                    data[name] = self.deserialize_value(name, value)
        return data

    @classmethod
    def settings_field_names_for_class(cls) -> list[str]:
        """Names of the settings fields declared on the class."""
        return [
            name
            for name, unbound in cls._unbound_fields_by_name().items()
            if name not in cls.model_fields
            and name != "csrf_token"
            and unbound.field_class is not SubmitField
        ]

    @classmethod
    def secret_names_for_class(cls) -> set[str]:
        """Names of the secret fields declared on the class."""
        return {
            name
            for name, unbound in cls._unbound_fields_by_name().items()
            if name in cls.secret_fields
            or issubclass(unbound.field_class, PasswordField)
        }

    @classmethod
    def _unbound_fields_by_name(cls) -> dict[str, t.Any]:
        result = {}
        for name in dir(cls):
            if not name.startswith("_"):
                unbound = getattr(cls, name, None)
                if hasattr(unbound, "_formfield"):
                    result[name] = unbound
        return result

    def deserialize_value(self, name: str, value: t.Any) -> t.Any:
        """Turn a stored setting into the field's data.

        Calls ``deserialize_<name>(value)`` when the form defines it; dates
        stored as ISO strings come back as dates for date fields.
        """
        method = getattr(self, f"deserialize_{name}", None)
        if method is not None:
            return method(value)
        unbound = self._unbound_fields_by_name().get(name)
        field_class = getattr(unbound, "field_class", None)
        if isinstance(value, str) and field_class is not None:
            for field_type, parse in _ISO_PARSERS:
                if issubclass(field_class, field_type):
                    try:
                        return parse(value)
                    except ValueError:
                        return None
        if field_class is not None and issubclass(field_class, DecimalField):
            try:
                return decimal.Decimal(str(value))
            except decimal.InvalidOperation:
                return None
        return value

    def stored_secret(self, name: str) -> str | None:
        """The stored value of a secret field, or ``None``."""
        if self.config is None:
            return None
        if name not in as_settings_dict(self.config.settings):
            return None
        try:
            value = self.config.get(name)
        except SecretDecryptionError:
            return None
        return value if value not in (None, "") else None

    def secret_hint(self, name: str) -> str | None:
        """What a page may show of a stored secret: ``None`` when unset,
        else "set", with its last 4 characters when it is long enough."""
        value = self.stored_secret(name)
        if value is None:
            return None
        text = str(value)
        if len(text) >= SECRET_HINT_MIN_LENGTH:
            return str(_l("set, ends in …%(tail)s", tail=text[-4:]))
        return str(_l("set"))

    def _keep_stored_secrets_when_blank(self) -> None:
        for name in self.settings_field_names():
            if self.is_secret(name) and self.stored_secret(name) is not None:
                field = self[name]
                field.validators = [Optional(), *field.validators]
                field.flags.required = False

    # -- validating and saving ----------------------------------------------

    def wants_redisplay(self) -> bool:
        """Whether the submitted form asks to be shown again rather than
        saved: one of its fields had a button of its own pressed, such as
        *Add a condition* of a :class:`~flask_integrations.ConditionsField`
        (such a field sets its ``redisplay_requested`` attribute to true).

        Then :meth:`validate` (and so ``validate_on_submit()``) returns
        ``False`` without reporting any error, so that a view shows the page
        again with what was typed, and nothing is saved. Only the CSRF token
        is checked.
        """
        return any(getattr(f, "redisplay_requested", False) for f in self)

    def validate(self, extra_validators: t.Any = None) -> bool:
        """Validate the fields; text containing NUL characters, which
        databases such as PostgreSQL cannot store, is an error too.

        Returns ``False``, with no error but a bad CSRF token, when the form
        :meth:`wants_redisplay`.
        """
        if self.wants_redisplay():
            self._validated = False
            if "csrf_token" in self:
                self["csrf_token"].validate(self)
            return False
        valid = bool(super().validate(extra_validators=extra_validators))
        for bound in self:
            if _unstorable(bound.data):
                bound.errors = [
                    *bound.errors,
                    str(_l("This value contains a character that cannot be stored.")),
                ]
                valid = False
        if not self._secrets_follow_the_url():
            valid = False
        self._validated = valid
        return valid

    def _secrets_follow_the_url(self) -> bool:
        """A secret meant for one host is never sent to another: when a URL
        the framework sends to changes, stored secrets must be typed again."""
        from .fields import OutboundURLField

        if self.config is None:
            return True
        settings = as_settings_dict(self.config.settings)
        moved = any(
            isinstance(f, OutboundURLField)
            and f.name in settings
            # A secret URL left blank keeps the stored one: it has not moved.
            and not (self.is_secret(f) and not f.data)
            and (f.data or "") != (self._stored_value(f) or "")
            for f in self
        )
        if not moved:
            return True
        ok = True
        for name in self.settings_field_names():
            field = self[name]
            if self.is_secret(name) and name in settings and field.data in (None, ""):
                field.errors = [
                    *field.errors,
                    str(
                        _l(
                            "Re-enter '%(label)s' for the new URL.",
                            label=field.label.text,
                        )
                    ),
                ]
                ok = False
        return ok

    def _stored_value(self, field: Field) -> t.Any:
        # A secret that cannot be decrypted counts as unset here; saving a
        # new one is how the user gets out of that state.
        if self.is_secret(field):
            return self.stored_secret(field.name)
        return self.config.get(field.name)

    def serialize_value(self, name: str, value: t.Any) -> t.Any:
        """Turn a field's data into a JSON value for ``settings``.

        Calls ``serialize_<name>(value)`` when the form defines it; dates
        become ISO strings, decimals strings and sets lists.
        """
        method = getattr(self, f"serialize_{name}", None)
        if method is not None:
            return method(value)
        if isinstance(value, (datetime.date, datetime.time)):
            return value.isoformat()
        if isinstance(value, decimal.Decimal):
            return str(value)
        if isinstance(value, (set, frozenset, tuple)):
            return list(value)
        return value

    def populate_config(self, config: t.Any) -> t.Any:
        """Copy the form's data onto ``config`` without saving it."""
        for name in self.model_fields:
            if name in self:
                setattr(config, name, self[name].data)
        settings = dict(as_settings_dict(config.settings))
        for name in self.settings_field_names():
            value = self[name].data
            if self.is_secret(name) and value in (None, "") and name in settings:
                continue
            settings[name] = self.serialize_value(name, value)
        config.settings = settings
        return config

    def save(self, commit: bool = True) -> t.Any:
        """Save the configuration and return it.

        :param commit: Commit the session; otherwise only add to it.
        :raises ConfigFormError: The form was not validated successfully.
        """
        if not self._validated or self.errors:
            errors = dict(self.errors) or {
                "form": ["The form must be validated before it is saved."]
            }
            raise ConfigFormError(t.cast(dict[str, list[str]], errors))
        config = self.config or self.integration.create_config()
        self.populate_config(config)
        session = self.integration.integration_mgr.session
        session.add(config)
        if commit:
            session.commit()
        self.config = config
        return config


_form_classes: dict[tuple[type[t.Any], type[t.Any]], type[IntegrationConfigForm]] = {}


def config_form_class(integration: Integration) -> type[IntegrationConfigForm]:
    """The form class of ``integration``'s configuration page.

    Its ``config_form_cls``, plus an ``events`` checkbox field when the
    integration declares :attr:`~Integration.events` and the form has none.
    """
    form_cls = integration.config_form_cls
    events = dict(integration.events or {})
    if not events or hasattr(form_cls, "events"):
        return form_cls
    key = (form_cls, type(integration))
    built = _form_classes.get(key)
    if built is None:
        field = EventsField(
            _l("Events"),
            choices=_choices(events.items()),
            default=list(events),
            description=_l("Which events this configuration receives."),
        )
        built = type(form_cls.__name__, (form_cls,), {"events": field})
        _form_classes[key] = built
    return built
