"""The ``flask integrations`` command group.

Commands list, show, enable, disable and delete configurations, export them
to JSON, import them back (validated by each integration's own form) and
check every stored configuration. Each command first catches up with changes
made elsewhere, and writes through the ORM session, so the history records
its changes as made by ``"cli"`` and every other process sees them at its
next request.
"""

from __future__ import annotations

import datetime
import decimal
import json
import os
import typing as t
import uuid
from dataclasses import dataclass, field

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.orm import MappedColumn
from wtforms import Field, FieldList, FormField

from .crypto import is_encrypted, reveal
from .errors import (
    IntegrationError,
    IntegrationNotRegisteredError,
    SecretDecryptionError,
    SettingsMigrationError,
)
from .forms import IntegrationConfigForm, config_form_class
from .history import acting_as, is_secret_setting
from .models import IntegrationConfigMixin, as_settings_dict
from .upgrades import migrate, needs_upgrade

if t.TYPE_CHECKING:  # pragma: no cover
    from .integration import Integration
    from .manager import IntegrationManager

#: Who the history names for changes made by these commands.
CLI_ACTOR = "cli"

#: Shown by ``show`` instead of a secret's value.
SECRET_PLACEHOLDER = "[secret]"

#: Columns every configuration model has (those of the mixin); ``export``
#: writes the other ones, the extra columns of the app's own model.
BASE_COLUMNS = frozenset(
    name
    for name, value in vars(IntegrationConfigMixin).items()
    if isinstance(value, MappedColumn)
)

#: Keys of an exported entry besides the extra columns of the model.
ENTRY_KEYS = ("integration_id", "name", "enabled", "settings", "extra_data")

#: Why a configuration the manager cannot read is skipped or broken.
UNREADABLE = (
    "its settings could not be upgraded from an older version of its"
    " integration; the log says why."
)

#: A problem found in an entry: the key it concerns, and the message.
FieldError = tuple[str, str]


class _IntegrationsGroup(AppGroup):
    """An :class:`~flask.cli.AppGroup` that reports database errors, and
    errors the package raises on purpose, as a message instead of a
    traceback."""

    def invoke(self, ctx: click.Context) -> t.Any:
        try:
            return super().invoke(ctx)
        except IntegrationError as exc:
            raise click.ClickException(str(exc)) from exc
        except sa.exc.SQLAlchemyError as exc:
            raise click.ClickException(
                f"The database could not be used: {_database_error(exc)}. Check"
                " the database URL, and that the tables exist ('flask db upgrade'"
                " or 'db.create_all()')."
            ) from exc


def _database_error(exc: sa.exc.SQLAlchemyError) -> str:
    """The first line of the driver's message, without SQLAlchemy's extras."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


#: The ``flask integrations`` group, added to every app by ``init_app``.
integrations_cli = _IntegrationsGroup(
    "integrations", help="Manage integrations and their configurations."
)


# -- shared helpers -------------------------------------------------------------


def _check_expired() -> None:
    """Catch up with configuration changes before a command runs."""
    state = current_app.extensions["integrations"]
    state.sync_registrations()
    state.manager.check_expired()


def _manager() -> IntegrationManager:
    return t.cast("IntegrationManager", current_app.extensions["integrations"].manager)


def _integration_or_none(integration_id: str) -> Integration | None:
    try:
        return _manager().get_integration(integration_id)
    except IntegrationNotRegisteredError:
        return None


def _get_config_or_fail(config_id: int) -> t.Any:
    config = _manager().get_config(config_id)
    if config is None:
        raise click.ClickException(
            f"No configuration with id {config_id}. Run 'flask integrations list'"
            " to see the configurations."
        )
    return config


def _describe(config: t.Any) -> str:
    return f"configuration {config.id} ('{config.name}')"


def _label(integration: Integration) -> str:
    return str(integration.name or integration.integration_id)


def _commit(session: t.Any) -> None:
    """Commit the CLI's changes; a concurrent change is a clear error."""
    try:
        session.commit()
    except sa.orm.exc.StaleDataError as exc:
        session.rollback()
        raise click.ClickException(
            "The configuration was changed or deleted by someone else while the"
            " command ran. Nothing was changed; run the command again."
        ) from exc


def _extra_columns(model: type[t.Any]) -> list[str]:
    """Columns of a custom configuration model beyond the standard ones."""
    return [
        attr.key
        for attr in sa.inspect(model).column_attrs
        if attr.key not in BASE_COLUMNS
    ]


def _secret_keys(
    integration: Integration | None, settings: t.Mapping[str, t.Any]
) -> set[str]:
    """The keys of ``settings`` that hold secrets.

    Values stored encrypted are secrets. Otherwise the form decides for the
    keys its fields handle (a ``PasswordField`` or a name in
    ``secret_fields``); other keys — left by code, by an older version of
    the integration, or of an integration that is not registered — are
    secrets when their name looks like one (``token``, ``password``…).
    """
    fields: set[str] = set()
    secrets: set[str] = set()
    if integration is not None:
        fields = set(config_form_class(integration).settings_field_names_for_class())
        secrets = config_form_class(integration).secret_names_for_class()
    return {
        key
        for key, value in settings.items()
        if is_encrypted(value)
        or key in secrets
        or (key not in fields and is_secret_setting(key, None))
    }


def _in_clear(config: t.Any) -> dict[str, t.Any]:
    """The settings of ``config`` with encrypted secrets decrypted.

    :raises click.ClickException: A secret cannot be decrypted.
    """
    settings = as_settings_dict(config.settings)
    try:
        return {
            key: config.get(key) if is_encrypted(value) else value
            for key, value in settings.items()
        }
    except SecretDecryptionError as exc:
        raise click.ClickException(f"In {_describe(config)}: {exc}") from exc


def _json_default(value: t.Any) -> t.Any:
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    raise TypeError(f"a value of type '{type(value).__name__}' is not JSON")


def _dumps(value: t.Any, **kwargs: t.Any) -> str:
    return json.dumps(value, default=_json_default, ensure_ascii=False, **kwargs)


# -- list and show ------------------------------------------------------------------


@integrations_cli.command("list")
def list_command() -> None:
    """List integrations, whether they are enabled, and their configurations.

    Configurations whose integration is no longer registered are listed as
    unavailable.
    """
    _check_expired()
    manager = _manager()
    model = manager.config_model
    rows = manager.session.execute(
        sa.select(model.id, model.integration_id, model.name, model.enabled).order_by(
            model.id
        )
    )
    by_integration: dict[str, list[t.Any]] = {}
    for config in rows:
        by_integration.setdefault(config.integration_id, []).append(config)
    integrations = sorted(
        manager.get_integrations(),
        key=lambda i: (str(i.name or "").casefold(), str(i.integration_id)),
    )
    if not integrations and not by_integration:
        click.echo("No integrations are registered and no configurations are stored.")
        return
    for integration in integrations:
        integration_id = str(integration.integration_id)
        click.echo(f"{_label(integration)} ({integration_id}): {_state(integration)}")
        _echo_configs(by_integration.pop(integration_id, []))
    for integration_id in sorted(by_integration):
        click.echo(f"{integration_id}: unavailable (the integration is not registered)")
        _echo_configs(by_integration[integration_id])


def _state(integration: Integration) -> str:
    if integration.enabled:
        return "enabled"
    if integration.failure is not None:
        return f"failed ({integration.failure.summary})"
    return "disabled"


def _echo_configs(configs: list[t.Any]) -> None:
    if not configs:
        click.echo("  (no configurations)")
        return
    width = max(len(str(c.id)) for c in configs)
    for config in configs:
        state = "enabled " if config.enabled else "disabled"
        name = config.name if config.name is not None else "(no name)"
        click.echo(f"  {config.id:>{width}}  {state}  {name}")


@integrations_cli.command("show")
@click.argument("config_id", type=int)
def show_command(config_id: int) -> None:
    """Show the configuration CONFIG_ID: its columns and settings.

    Secrets are shown as "[secret]".
    """
    _check_expired()
    config = _get_config_or_fail(config_id)
    integration = _integration_or_none(config.integration_id)
    click.echo(f"Configuration {config.id}")
    for attr in sa.inspect(type(config)).column_attrs:
        if attr.key in ("settings", "extra_data"):
            continue
        value = getattr(config, attr.key)
        if attr.key == "integration_id":
            label = _label(integration) if integration else "not registered"
            click.echo(f"  integration_id: {value} ({label})")
        else:
            shown = value.isoformat() if isinstance(value, datetime.date) else value
            click.echo(f"  {attr.key}: {shown}")
    settings = as_settings_dict(config.settings)
    click.echo("Settings:")
    _echo_mapping(settings, _secret_keys(integration, settings))
    click.echo("Extra data:")
    _echo_mapping(as_settings_dict(config.extra_data), set())


def _echo_mapping(values: dict[str, t.Any], secrets: set[str]) -> None:
    """Print ``values`` one per line, the values of ``secrets`` hidden."""
    if not values:
        click.echo("  (none)")
    for key in sorted(values):
        value = values[key]
        if key in secrets and value not in (None, ""):
            shown = SECRET_PLACEHOLDER
        else:
            shown = _dumps(value)
        click.echo(f"  {key}: {shown}")


# -- enable, disable, delete --------------------------------------------------------


@integrations_cli.command("enable")
@click.argument("config_id", type=int)
def enable_command(config_id: int) -> None:
    """Enable the configuration CONFIG_ID."""
    _check_expired()
    _set_enabled(config_id, True)


@integrations_cli.command("disable")
@click.argument("config_id", type=int)
def disable_command(config_id: int) -> None:
    """Disable the configuration CONFIG_ID."""
    _check_expired()
    _set_enabled(config_id, False)


def _set_enabled(config_id: int, enabled: bool) -> None:
    config = _get_config_or_fail(config_id)
    word = "enabled" if enabled else "disabled"
    integration = _integration_or_none(config.integration_id)
    if enabled and integration is None:
        raise click.ClickException(
            f"Cannot enable {_describe(config)}: its integration"
            f" '{config.integration_id}' is not registered."
        )
    if bool(config.enabled) == enabled:
        click.echo(f"{_describe(config).capitalize()} is already {word}.")
        return
    with acting_as(CLI_ACTOR):
        config.enabled = enabled
        _commit(_manager().session)
    click.echo(f"{word.capitalize()} {_describe(config)}.")
    if enabled and integration is not None and integration.failure is not None:
        click.echo(
            f"Warning: the integration '{_label(integration)}' failed to"
            f" initialize: {integration.failure.summary}",
            err=True,
        )


@integrations_cli.command("delete")
@click.argument("config_id", type=int)
@click.option("--yes", is_flag=True, help="Delete without asking for confirmation.")
def delete_command(config_id: int, yes: bool) -> None:
    """Delete the configuration CONFIG_ID, after confirmation."""
    _check_expired()
    config = _get_config_or_fail(config_id)
    description = _describe(config)
    if not yes:
        click.confirm(f"Delete {description}?", abort=True)
    session = _manager().session
    with acting_as(CLI_ACTOR):
        session.delete(config)
        _commit(session)
    click.echo(f"Deleted {description}.")


# -- export ----------------------------------------------------------------------


@integrations_cli.command("reencrypt")
def reencrypt_command() -> None:
    """Re-encrypt every stored secret with the current key.

    Run it after changing INTEGRATIONS_ENCRYPTION_KEY (or SECRET_KEY), with
    the previous key listed in INTEGRATIONS_ENCRYPTION_OLD_KEYS.
    """
    _check_expired()
    with acting_as(CLI_ACTOR):
        try:
            count = _manager().reencrypt_secrets()
        except IntegrationError as exc:
            raise click.ClickException(f"{exc} Nothing was changed.") from exc
    click.echo(f"Re-encrypted the secrets of {count} configuration(s).")


@integrations_cli.command("export")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True),
    help="Write to this file instead of standard output.",
)
@click.option(
    "--include-secrets",
    is_flag=True,
    help="Include secret settings, in clear text.",
)
def export_command(output: str | None, include_secrets: bool) -> None:
    """Export every configuration as JSON.

    Secret settings are left out unless --include-secrets is given.
    Configurations whose integration is not registered are skipped.
    """
    _check_expired()
    manager = _manager()
    extra = _extra_columns(manager.config_model)
    entries, left_out = [], 0
    snapshots = manager.get_integration_configs()
    for config in _unreadable(manager, snapshots):
        click.echo(
            f"Skipped {_describe(config)}: {UNREADABLE}",
            err=True,
        )
    for config in snapshots:
        integration = _integration_or_none(config.integration_id)
        if integration is None:
            click.echo(
                f"Skipped {_describe(config)}: its integration"
                f" '{config.integration_id}' is not registered.",
                err=True,
            )
            continue
        settings = config.settings
        if include_secrets:
            settings = _in_clear(config)
        else:
            secrets = _secret_keys(integration, settings)
            left_out += len(secrets)
            settings = {k: v for k, v in settings.items() if k not in secrets}
        entry = {
            "integration_id": config.integration_id,
            "name": config.name,
            "enabled": bool(config.enabled),
            "settings": settings,
            "extra_data": as_settings_dict(config.extra_data),
        }
        entry.update((key, getattr(config, key)) for key in extra)
        entries.append(entry)
    try:
        text = _dumps(entries, indent=2) + "\n"
    except (TypeError, ValueError) as exc:
        raise click.ClickException(
            f"The configurations cannot be exported as JSON: {exc}."
        ) from exc
    if include_secrets:
        click.echo(
            "Warning: the export contains secrets in clear text. Keep it safe,"
            " and delete it once it is imported.",
            err=True,
        )
    elif left_out:
        click.echo(
            f"Left out {left_out} secret setting(s); use '--include-secrets' to"
            " export them, or enter them again after importing.",
            err=True,
        )
    if output is None:
        click.echo(text, nl=False)
        return
    _write_private(output, text, private=include_secrets)
    click.echo(f"Exported {len(entries)} configuration(s) to '{output}'.")


def _unreadable(manager: IntegrationManager, snapshots: list[t.Any]) -> list[t.Any]:
    """Stored configurations of registered integrations that the manager left
    out of ``snapshots``: their settings could not be upgraded."""
    model = manager.config_model
    seen = {snapshot.id for snapshot in snapshots}
    rows = manager.session.execute(
        sa.select(model.id, model.integration_id, model.name).order_by(model.id)
    )
    return [
        row
        for row in rows
        if row.id not in seen and _integration_or_none(row.integration_id) is not None
    ]


def _write_private(path: str, text: str, private: bool) -> None:
    """Write ``text`` to ``path``; a new file holding secrets is readable by
    its owner only."""
    mode = 0o600 if private else 0o666
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with open(fd, "w", encoding="utf-8") as file:
            file.write(text)
    except OSError as exc:
        raise click.ClickException(
            f"Cannot write to '{path}': {exc.strerror}."
        ) from exc


# -- import ----------------------------------------------------------------------


@dataclass
class _Planned:
    """An entry of an import file that passed validation."""

    index: int
    integration: Integration
    config: t.Any
    form: IntegrationConfigForm
    other_settings: dict[str, t.Any]
    extra_data: dict[str, t.Any] | None
    columns: dict[str, t.Any] = field(default_factory=dict)

    @property
    def config_name(self) -> str:
        return str(self.form.name.data)


class _ImportFile:
    """The entries of an import file, checked and planned before any write."""

    def __init__(self, manager: IntegrationManager, entries: list[t.Any]) -> None:
        self.manager = manager
        self.entries = entries
        self.model = manager.config_model
        self.extra = _extra_columns(self.model)
        self.errors: list[str] = []
        self.planned: list[_Planned] = []
        self._existing = self._load_existing()

    def _load_existing(self) -> dict[tuple[str, str], list[t.Any]]:
        ids = {
            e["integration_id"]
            for e in self.entries
            if isinstance(e, dict) and isinstance(e.get("integration_id"), str)
        }
        existing: dict[tuple[str, str], list[t.Any]] = {}
        if not ids:
            return existing
        model = self.model
        rows = self.manager.session.execute(
            sa.select(model).where(model.integration_id.in_(ids)).order_by(model.id)
        ).scalars()
        for config in rows:
            existing.setdefault((config.integration_id, config.name), []).append(config)
        return existing

    def plan(self) -> None:
        """Check every entry; collect errors, or the changes to make."""
        seen: dict[tuple[str, str], int] = {}
        for index, entry in enumerate(self.entries):
            name = entry.get("name") if isinstance(entry, dict) else None
            where = f"Entry at index {index}" + (
                f" ('{name}')" if isinstance(name, str) else ""
            )
            errors = self._plan_entry(index, entry, seen)
            self.errors.extend(
                f"{where}, field '{key}': {message}" if key else f"{where}: {message}"
                for key, message in errors
            )

    def _plan_entry(
        self, index: int, entry: t.Any, seen: dict[tuple[str, str], int]
    ) -> list[FieldError]:
        if not isinstance(entry, dict):
            return [("", f"It must be a JSON object, not {_json_kind(entry)}.")]
        errors = self._check_keys(entry)
        integration = self._check_integration(entry, errors)
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            errors.append(("name", "A name (a non-empty string) is required."))
        columns = self._check_columns(entry, errors)
        if errors or integration is None or not isinstance(name, str):
            return errors
        key = (str(integration.integration_id), name)
        if key in seen:
            return [
                (
                    "name",
                    f"The entry at index {seen[key]} has the same integration"
                    " and name. Remove one of them.",
                )
            ]
        seen[key] = index
        matches = self._existing.get(key, [])
        if len(matches) > 1:
            ids = ", ".join(str(c.id) for c in matches)
            return [
                (
                    "name",
                    f"It matches {len(matches)} stored configurations (ids {ids})."
                    " Rename or delete all but one of them first.",
                )
            ]
        config = matches[0] if matches else None
        if config is not None:
            try:
                _upgrade_stored_settings(integration, config)
            except SettingsMigrationError as exc:
                return [("", f"The stored configuration cannot be updated: {exc}")]
        form, form_errors = _validate_with_form(integration, config, entry)
        if form is None or form_errors:
            return form_errors
        self.planned.append(
            _Planned(
                index=index,
                integration=integration,
                config=config,
                form=form,
                other_settings=_other_settings(form, entry.get("settings") or {}),
                extra_data=entry.get("extra_data"),
                columns=columns,
            )
        )
        return []

    def _check_keys(self, entry: dict[str, t.Any]) -> list[FieldError]:
        errors: list[FieldError] = []
        allowed = {*ENTRY_KEYS, *self.extra}
        for key in entry:
            if key not in allowed:
                errors.append((key, "Unknown field; remove it."))
        if "enabled" in entry and not isinstance(entry["enabled"], bool):
            errors.append(("enabled", "It must be true or false."))
        for key in ("settings", "extra_data"):
            if key in entry and not isinstance(entry[key], dict):
                errors.append(
                    (key, f"It must be a JSON object, not {_json_kind(entry[key])}.")
                )
        return errors

    def _check_integration(
        self, entry: dict[str, t.Any], errors: list[FieldError]
    ) -> Integration | None:
        integration_id = entry.get("integration_id")
        if not isinstance(integration_id, str):
            errors.append(
                ("integration_id", "An integration id (a string) is required.")
            )
            return None
        integration = _integration_or_none(integration_id)
        if integration is None:
            errors.append(
                (
                    "integration_id",
                    f"No integration is registered with the id '{integration_id}'.",
                )
            )
        return integration

    def _check_columns(
        self, entry: dict[str, t.Any], errors: list[FieldError]
    ) -> dict[str, t.Any]:
        columns = {}
        mapper = sa.inspect(self.model)
        for key in self.extra:
            if key not in entry:
                continue
            try:
                columns[key] = _column_value(
                    mapper.column_attrs[key].columns[0], entry[key]
                )
            except (ValueError, ArithmeticError):
                errors.append(
                    (key, f"Not a valid value for this column: {entry[key]!r}.")
                )
        return columns

    def apply(self) -> tuple[int, int, int]:
        """Make the planned changes in the session (not committed).

        :return: How many configurations were created, updated and left
            unchanged.
        """
        session = self.manager.session
        created = updated = unchanged = 0
        for planned in self.planned:
            config = planned.config
            is_new = config is None
            if is_new:
                config = planned.integration.create_config()
            stored = dict(as_settings_dict(config.settings))
            for key, value in planned.columns.items():
                setattr(config, key, value)
            config.settings = {
                **as_settings_dict(config.settings),
                **planned.other_settings,
            }
            if planned.extra_data is not None:
                config.extra_data = {
                    **as_settings_dict(config.extra_data),
                    **planned.extra_data,
                }
            planned.form.populate_config(config)
            config.settings = _keep_unchanged_secrets(config, stored)
            if is_new:
                created += 1
            elif session.is_modified(config):
                updated += 1
            else:
                unchanged += 1
            session.add(config)
            self._flush(session, planned)
        return created, updated, unchanged

    def _flush(self, session: t.Any, planned: _Planned) -> None:
        """Flush one entry's change, so a database error names the entry."""
        try:
            session.flush()
        except sa.exc.SQLAlchemyError as exc:
            session.rollback()
            raise click.ClickException(
                f"The entry at index {planned.index} ('{planned.config_name}') could"
                " not be stored, and nothing was changed:"
                f" {_database_error(exc)}."
            ) from exc


def _keep_unchanged_secrets(
    config: t.Any, stored: dict[str, t.Any]
) -> dict[str, t.Any]:
    """The settings of ``config``, where each secret the import sets to the
    value already stored keeps its stored (encrypted) form: encrypting it
    again would change the configuration for nothing."""
    settings = dict(as_settings_dict(config.settings))
    for key, old in stored.items():
        new = settings.get(key)
        if not is_encrypted(old) or new is None or is_encrypted(new):
            continue
        try:
            if reveal(type(config), key, old) == new:
                settings[key] = old
        except SecretDecryptionError:
            pass
    return settings


def _upgrade_stored_settings(integration: Integration, config: t.Any) -> None:
    """Bring the settings of a stored configuration to the integration's
    current version (in the session, saved with the import), so the form
    reads them as it expects and they are not upgraded again once the
    import has written settings of the current version.

    :raises SettingsMigrationError: They cannot be upgraded.
    """
    values = {
        "id": config.id,
        "settings": config.settings,
        "settings_version": config.settings_version,
    }
    if needs_upgrade(integration, values):
        upgraded = migrate(integration, values)
        config.settings = upgraded["settings"]
        config.settings_version = upgraded["settings_version"]


def _json_kind(value: t.Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"


def _other_settings(
    form: IntegrationConfigForm, settings: dict[str, t.Any]
) -> dict[str, t.Any]:
    """Settings of an entry that no field of ``form`` handles: kept as they are."""
    handled = set(form.settings_field_names())
    return {k: v for k, v in settings.items() if k not in handled}


def _column_value(column: sa.ColumnElement[t.Any], value: t.Any) -> t.Any:
    """Turn the JSON value of an extra column back into its Python type."""
    if not isinstance(value, str):
        return value
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        return value
    parsers: dict[type, t.Callable[[str], t.Any]] = {
        datetime.datetime: datetime.datetime.fromisoformat,
        datetime.date: datetime.date.fromisoformat,
        datetime.time: datetime.time.fromisoformat,
        decimal.Decimal: decimal.Decimal,
        uuid.UUID: uuid.UUID,
    }
    parse = parsers.get(python_type)
    return parse(value) if parse is not None else value


def _reject_constant(name: str) -> t.NoReturn:
    raise ValueError(f"'{name}' is not allowed in JSON")


def _read_entries(file: t.IO[str]) -> list[t.Any]:
    try:
        entries = json.loads(file.read(), parse_constant=_reject_constant)
    except UnicodeDecodeError as exc:
        raise click.ClickException(
            f"The file '{file.name}' is not UTF-8 text. Nothing was changed."
        ) from exc
    except ValueError as exc:
        raise click.ClickException(
            f"The file '{file.name}' is not valid JSON: {exc}. Nothing was changed."
        ) from exc
    if not isinstance(entries, list):
        raise click.ClickException(
            f"The file '{file.name}' must hold a JSON list of configurations, not"
            f" {_json_kind(entries)}. Nothing was changed."
        )
    return entries


@integrations_cli.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8"))
def import_command(file: t.IO[str]) -> None:
    """Import configurations from FILE, a JSON list as written by 'export'.

    Every entry is validated by its integration's form first; if any is
    wrong, nothing is changed. An entry updates the stored configuration of
    the same integration and name, or creates one. Settings and extra data
    the file does not mention are kept.
    """
    _check_expired()
    entries = _read_entries(file)
    manager = _manager()
    session = manager.session
    importing = _ImportFile(manager, entries)
    with current_app.test_request_context():
        importing.plan()
    if importing.errors:
        session.rollback()
        raise click.ClickException(
            f"The file '{file.name}' was not imported, and nothing was changed:\n  "
            + "\n  ".join(importing.errors)
        )
    with acting_as(CLI_ACTOR):
        created, updated, unchanged = importing.apply()
        _commit(session)
    click.echo(
        f"Imported {len(importing.planned)} configuration(s) from '{file.name}':"
        f" {created} created, {updated} updated, {unchanged} unchanged."
    )


# -- validation through the integration's form ------------------------------------


def _validate_with_form(
    integration: Integration, config: t.Any, entry: t.Mapping[str, t.Any]
) -> tuple[IntegrationConfigForm | None, list[FieldError]]:
    """Validate ``entry`` (``name``, ``enabled``, ``settings``…) as if it had
    been posted to the configuration page of ``config`` (``None`` to add one).

    Must run in a request context. Fields the entry leaves out keep the
    stored value (or the default, when adding).

    :return: The validated form, and the errors found, each naming the key
        of the entry it concerns (``"settings.<field>"`` for settings). The
        form is ``None`` when it raised.
    """
    form_cls = config_form_class(integration)
    options: dict[str, t.Any] = {"formdata": None, "meta": {"csrf": False}}
    try:
        probe = form_cls(integration, config, **options)
        data, errors = _form_data(probe, entry)
        form = form_cls(integration, config, data=data, **options)
        _mark_as_submitted(form)
        form.validate()
    except Exception as exc:
        return None, [("", f"The form raised {type(exc).__name__}: {exc}")]
    settings_names = set(form.settings_field_names())
    for name, messages in form.errors.items():
        key = f"settings.{name}" if name in settings_names else str(name or "")
        errors.extend((path, message) for path, message in _flatten(key, messages))
    return form, errors


def _form_data(
    form: IntegrationConfigForm, entry: t.Mapping[str, t.Any]
) -> tuple[dict[str, t.Any], list[FieldError]]:
    """The form data an entry supplies, with stored settings turned back
    into field data; values that cannot be are errors."""
    data = {name: entry[name] for name in form.model_fields if name in entry}
    errors: list[FieldError] = []
    settings = as_settings_dict(entry.get("settings"))
    for name in form.settings_field_names():
        if name not in settings:
            continue
        value = form.deserialize_value(name, settings[name])
        if value is None and settings[name] is not None:
            errors.append((f"settings.{name}", "Not a valid value."))
        data[name] = value
    return data, errors


def _mark_as_submitted(fields: t.Iterable[Field]) -> None:
    """Give each field the raw input a browser would have sent for its data,
    so that validators reading it (``InputRequired``, ``Optional``) judge
    the data as they judge a posted page."""
    for bound in fields:
        if isinstance(bound, FormField):
            _mark_as_submitted(bound.form)
        elif isinstance(bound, FieldList):
            _mark_as_submitted(bound.entries)
        else:
            bound.raw_data = _raw_input(bound.object_data)


def _raw_input(value: t.Any) -> list[str]:
    if value is None or value is False:
        return []
    if value is True:
        return ["y"]
    if isinstance(value, (list, tuple, set, frozenset)):
        return [str(v) for v in value]
    return [str(value)]


def _flatten(key: str, messages: t.Any) -> t.Iterator[FieldError]:
    """Flatten WTForms errors (lists, and dicts for enclosed forms)."""
    if isinstance(messages, dict):
        for sub, value in messages.items():
            yield from _flatten(f"{key}.{sub}" if key else str(sub), value)
    elif isinstance(messages, (list, tuple)):
        for index, message in enumerate(messages):
            if isinstance(message, (dict, list, tuple)):
                yield from _flatten(f"{key}[{index}]", message)
            else:
                yield key, str(message)
    else:
        yield key, str(messages)


# -- check -------------------------------------------------------------------------


@integrations_cli.command("check")
def check_command() -> None:
    """Validate every stored configuration with its integration's form.

    Reports the broken ones with their field errors, and those whose
    integration is not registered. Exits with status 1 if any is broken.
    """
    _check_expired()
    manager = _manager()
    model = manager.config_model
    # Snapshots hold the settings upgraded to the integration's version.
    readable = {s.id: s for s in manager.get_integration_configs()}
    configs = manager.session.execute(sa.select(model).order_by(model.id)).scalars()
    checked = broken = orphans = 0
    with current_app.test_request_context():
        for config in configs:
            checked += 1
            integration = _integration_or_none(config.integration_id)
            if integration is None:
                orphans += 1
                click.echo(
                    f"{_describe(config).capitalize()} is unavailable: its"
                    f" integration '{config.integration_id}' is not registered."
                )
                continue
            errors = _check_config(integration, config, readable.get(config.id))
            if errors:
                broken += 1
                click.echo(
                    f"{_describe(config).capitalize()} of '{_label(integration)}'"
                    " is broken:"
                )
                for key, message in errors:
                    click.echo(f"  '{key}': {message}" if key else f"  {message}")
    click.echo(
        f"Checked {checked} configuration(s): {broken} broken, {orphans} unavailable."
    )
    if broken:
        click.get_current_context().exit(1)


def _check_config(
    integration: Integration, config: t.Any, snapshot: t.Any
) -> list[FieldError]:
    """Validate a stored configuration, as ``import`` validates an entry.

    :param config: The stored configuration.
    :param snapshot: The manager's snapshot of it, with settings upgraded
        to the integration's version; ``None`` if they could not be.
    """
    if not isinstance(config.settings, dict):
        kind = _json_kind(config.settings)
        return [("settings", f"It must be a JSON object, not {kind}.")]
    if snapshot is None:
        return [("", UNREADABLE[0].upper() + UNREADABLE[1:])]
    try:
        settings = _in_clear(snapshot)
    except click.ClickException as exc:
        return [("", str(exc.message))]
    entry = {"name": snapshot.name, "enabled": snapshot.enabled, "settings": settings}
    return _validate_with_form(integration, snapshot, entry)[1]
