"""Read-only snapshots of stored configurations.

The manager caches configurations for every thread and request of a process,
so it never hands out live ORM instances: it hands out
:class:`ConfigSnapshot` objects, plain values copied from a row.
"""

from __future__ import annotations

import copy
import typing as t

from .crypto import reveal
from .models import _integration_default, _integration_label, as_settings_dict

if t.TYPE_CHECKING:  # pragma: no cover
    from .integration import Integration
    from .manager import IntegrationManager


class ConfigSnapshot:
    """A read-only copy of a stored configuration.

    It has an attribute for each column of the configuration model (``id``,
    ``integration_id``, ``name``, ``enabled``, ``settings``…), plus
    :meth:`get`, :attr:`integration` and ``str()``. It is safe to share
    between threads and to keep after the session that loaded it has ended.
    Use :meth:`IntegrationManager.get_config` for an instance to edit.
    """

    __slots__ = ("_manager", "_values")

    _values: dict[str, t.Any]
    _manager: IntegrationManager

    def __init__(self, manager: IntegrationManager, values: t.Mapping[str, t.Any]):
        values = dict(values)
        if "settings" in values:
            values["settings"] = as_settings_dict(values["settings"])
        object.__setattr__(self, "_values", values)
        object.__setattr__(self, "_manager", manager)

    def __getattr__(self, name: str) -> t.Any:
        try:
            value = self._values[name]
        except KeyError:
            raise AttributeError(
                f"'ConfigSnapshot' has no attribute '{name}'."
            ) from None
        if isinstance(value, (dict, list)):
            return copy.deepcopy(value)
        return value

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

    def get(self, key: str, default: t.Any = None) -> t.Any:
        """Return a setting: the stored value, else the integration's default,
        else ``default``."""
        settings = self._values.get("settings", {})
        if key in settings:
            value = reveal(
                self._manager.config_model, key, settings[key], self._manager.app
            )
            return copy.deepcopy(value) if isinstance(value, (dict, list)) else value
        return _integration_default(self, key, default)

    def set(self, key: str, value: t.Any) -> None:
        """Snapshots cannot be changed; this always raises.

        :raises AttributeError: Always.
        """
        raise AttributeError(
            "A configuration snapshot is read-only. Load an editable instance"
            " with 'manager.get_config(config_id)' to change its settings."
        )

    def as_dict(self) -> dict[str, t.Any]:
        """Return the column values as a new dict."""
        return copy.deepcopy(self._values)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ConfigSnapshot):
            return NotImplemented
        return self._values == other._values

    __hash__ = None  # type: ignore[assignment]

    def __str__(self) -> str:
        return f"{self._values.get('name')} ({_integration_label(self)})"

    def __repr__(self) -> str:
        return (
            f"<ConfigSnapshot id={self._values.get('id')!r}"
            f" integration_id={self._values.get('integration_id')!r}"
            f" name={self._values.get('name')!r}>"
        )
