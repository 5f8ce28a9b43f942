"""Read-only snapshots of stored configurations.

The manager caches configurations for every thread and request of a process,
so it never hands out live ORM instances: it hands out
:class:`ConfigSnapshot` objects, plain values copied from a row. Nested
values (the ``settings`` dict, lists in it) are read-only containers, so
reading a snapshot copies nothing and no caller can change what another one
sees.
"""

from __future__ import annotations

import copy
import typing as t

from .conditions import ConditionSet, ConfigConditionsMixin, load_config_conditions
from .crypto import is_encrypted, reveal
from .errors import IntegrationNotRegisteredError
from .models import _integration_label, as_settings_dict

if t.TYPE_CHECKING:  # pragma: no cover
    from .integration import Integration
    from .manager import IntegrationManager

_MISSING = object()


def _read_only(*args: t.Any, **kwargs: t.Any) -> t.NoReturn:
    raise TypeError(
        "Values read from a configuration snapshot are read-only. Copy them"
        " first ('copy.deepcopy(value)'), or load an editable instance with"
        " 'manager.get_config(config_id)'."
    )


class FrozenDict(dict[str, t.Any]):
    """A dict that refuses changes: the type of nested dicts in snapshots.

    It compares equal to, serialises like and is an instance of ``dict``.
    ``copy.copy()`` and ``copy.deepcopy()`` return plain, mutable copies.
    """

    __slots__ = ()

    __setitem__ = __delitem__ = __ior__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only

    def __copy__(self) -> dict[str, t.Any]:
        return dict(self)

    def __deepcopy__(self, memo: dict[int, t.Any]) -> dict[str, t.Any]:
        return {k: copy.deepcopy(v, memo) for k, v in self.items()}

    def __reduce__(self) -> tuple[t.Any, ...]:
        return (dict, (dict(self),))


class FrozenList(list[t.Any]):
    """A list that refuses changes: the type of lists in snapshots.

    It compares equal to, serialises like and is an instance of ``list``.
    ``copy.copy()`` and ``copy.deepcopy()`` return plain, mutable copies.
    """

    __slots__ = ()

    __setitem__ = __delitem__ = __iadd__ = __imul__ = _read_only
    append = extend = insert = remove = pop = clear = _read_only
    sort = reverse = _read_only

    def __copy__(self) -> list[t.Any]:
        return list(self)

    def __deepcopy__(self, memo: dict[int, t.Any]) -> list[t.Any]:
        return [copy.deepcopy(v, memo) for v in self]

    def __reduce__(self) -> tuple[t.Any, ...]:
        return (list, (list(self),))


def freeze(value: t.Any) -> t.Any:
    """Return ``value`` with every nested dict and list made read-only."""
    kind = type(value)
    if kind is dict or kind is FrozenDict:
        return FrozenDict({k: freeze(v) for k, v in value.items()})
    if kind is list or kind is FrozenList:
        return FrozenList([freeze(v) for v in value])
    if isinstance(value, dict):
        return FrozenDict({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return FrozenList([freeze(v) for v in value])
    return value


class ConfigSnapshot(ConfigConditionsMixin):
    """A read-only copy of a stored configuration.

    It has an attribute for each column of the configuration model (``id``,
    ``integration_id``, ``name``, ``enabled``, ``settings``…), plus
    ``get(key, default=None)``, :attr:`integration` and ``str()``. It is safe to share
    between threads and to keep after the session that loaded it has ended.
    Dicts and lists read from it are read-only
    (:class:`~flask_integrations.snapshot.FrozenDict`,
    :class:`~flask_integrations.snapshot.FrozenList`); use
    :meth:`IntegrationManager.get_config` for an instance to edit.

    Each manager makes a subclass with a slot per column of its model
    (:func:`~flask_integrations.snapshot.snapshot_class`), so reading a
    column or a setting costs about what reading a dict does.

    :param manager: The manager the configuration belongs to.
    :param values: The column values.
    :param defaults: The integration's default settings, read-only, if known.
    """

    __slots__ = {  # noqa: RUF023 - the public one first
        "get": (
            "``get(key, default=None)``: return a setting: the stored value"
            " (decrypted, for a secret), else the integration's default, else"
            " ``default``. Raises :class:`SecretDecryptionError` for a secret"
            " none of the configured keys can decrypt."
        ),
        "_values": "The column values, read-only.",
        "_manager": "The manager the configuration belongs to.",
        "_settings": "The default settings overlaid with the stored ones.",
        "_condition_sets": "Condition sets loaded so far, by settings key.",
    }

    #: The columns that have a slot of their own (see
    #: :func:`~flask_integrations.snapshot.snapshot_class`).
    columns: t.ClassVar[tuple[str, ...]] = ()

    _values: dict[str, t.Any]
    _manager: IntegrationManager
    _settings: dict[str, t.Any]
    _condition_sets: dict[str, ConditionSet | None]
    get: t.Callable[..., t.Any]

    # The columns of IntegrationConfigMixin, for type checkers.
    id: t.Any
    integration_id: str
    name: str
    enabled: bool
    settings: dict[str, t.Any]
    extra_data: dict[str, t.Any]
    last_updated: t.Any
    version: int
    settings_version: int

    if t.TYPE_CHECKING:  # pragma: no cover

        def __getattr__(self, name: str) -> t.Any:
            """Columns a custom model adds."""

    def __init__(
        self,
        manager: IntegrationManager,
        values: t.Mapping[str, t.Any],
        defaults: t.Mapping[str, t.Any] | None = None,
    ) -> None:
        frozen = {k: freeze(v) for k, v in values.items()}
        if "settings" in values:
            frozen["settings"] = freeze(as_settings_dict(values["settings"]))
        settings = frozen.get("settings", {})
        if defaults is None:
            defaults = frozen_defaults(manager, frozen.get("integration_id"))
        merged = {**defaults, **settings} if defaults else dict(settings)
        init = object.__setattr__
        for name in self.columns:
            if name in frozen:
                init(self, name, frozen[name])
        init(self, "_values", frozen)
        init(self, "_manager", manager)
        init(self, "_settings", merged)
        init(self, "_condition_sets", {})
        if any(is_encrypted(v) for v in settings.values()):
            init(self, "get", self._get_revealing)
        else:
            # No secret to decrypt: get() is the merged dict's own get().
            init(self, "get", merged.get)

    def __setattr__(self, name: str, value: t.Any) -> None:
        raise AttributeError(
            "A configuration snapshot is read-only. Load an editable instance"
            " with 'manager.get_config(config_id)'."
        )

    def __delattr__(self, name: str) -> None:
        raise AttributeError("A configuration snapshot is read-only.")

    @property
    def integration(self) -> Integration:
        """The registered integration this configuration belongs to.

        :raises IntegrationNotRegisteredError: For orphaned configurations.
        """
        return self._manager.get_integration(self._values["integration_id"])

    def _get_revealing(self, key: str, default: t.Any = None) -> t.Any:
        value = self._settings.get(key, _MISSING)
        if value is _MISSING:
            return default
        if is_encrypted(value):
            # Decrypted on every read: snapshots never hold a secret in clear.
            return reveal(self._manager.config_model, key, value, self._manager.app)
        return value

    def set(self, key: str, value: t.Any) -> None:
        """Snapshots cannot be changed; this always raises.

        :raises AttributeError: Always.
        """
        raise AttributeError(
            "A configuration snapshot is read-only. Load an editable instance"
            " with 'manager.get_config(config_id)' to change its settings."
        )

    def load_conditions(
        self, conditions_key: str = "conditions"
    ) -> ConditionSet | None:
        # Checked and compiled once per snapshot.
        sets = self._condition_sets
        if conditions_key not in sets:
            sets[conditions_key] = load_config_conditions(self, conditions_key)
        return sets[conditions_key]

    def as_dict(self) -> dict[str, t.Any]:
        """Return the column values as a new, mutable dict."""
        return copy.deepcopy(self._values)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ConfigSnapshot):
            return NotImplemented
        return self._values == other._values

    __hash__ = None  # type: ignore[assignment]

    def __copy__(self) -> ConfigSnapshot:
        return self

    def __deepcopy__(self, memo: dict[int, t.Any]) -> ConfigSnapshot:
        return self

    def __reduce__(self) -> t.NoReturn:
        raise TypeError(
            "A configuration snapshot cannot be pickled; pass its 'id' and"
            " read it again."
        )

    def __str__(self) -> str:
        return f"{self._values.get('name')} ({_integration_label(self)})"

    def __repr__(self) -> str:
        return (
            f"<ConfigSnapshot id={self._values.get('id')!r}"
            f" integration_id={self._values.get('integration_id')!r}"
            f" name={self._values.get('name')!r}>"
        )


def snapshot_class(columns: t.Iterable[str]) -> type[ConfigSnapshot]:
    """Return a :class:`ConfigSnapshot` subclass with a slot per column.

    Columns whose name :class:`ConfigSnapshot` already uses (``get``,
    ``integration``…) are left to
    :meth:`ConfigSnapshot.as_dict() <flask_integrations.ConfigSnapshot.as_dict>`.
    """
    taken = set(dir(ConfigSnapshot))
    own = tuple(c for c in columns if c.isidentifier() and c not in taken)
    return type(
        "ConfigSnapshot",
        (ConfigSnapshot,),
        {"__slots__": own, "columns": own, "__module__": __name__},
    )


def frozen_defaults(
    manager: IntegrationManager, integration_id: str | None
) -> dict[str, t.Any]:
    """Return the default settings of a registered integration, read-only
    (empty for orphans)."""
    try:
        integration = manager.get_integration(t.cast(str, integration_id))
    except IntegrationNotRegisteredError:
        return {}
    defaults = getattr(integration, "default_settings", None)
    return freeze(dict(defaults)) if isinstance(defaults, t.Mapping) else {}
