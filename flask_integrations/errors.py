"""Exceptions raised by flask-integrations.

Every exception the package raises on purpose derives from
:class:`IntegrationError`::

    IntegrationError
     ├── IntegrationRegistrationError
     │    └── IntegrationAlreadyRegisteredError
     ├── IntegrationNotRegisteredError
     ├── InvalidConfigFilterError
     └── ConfigFormError
"""

from __future__ import annotations


class IntegrationError(Exception):
    """Base class of every error raised on purpose by flask-integrations."""


class IntegrationRegistrationError(IntegrationError):
    """An integration class could not be registered."""


class IntegrationAlreadyRegisteredError(IntegrationRegistrationError):
    """The integration, or another one with the same id, is already registered.

    :param integration_id: The id that is already taken.
    """

    def __init__(self, integration_id: str, message: str | None = None) -> None:
        self.integration_id = integration_id
        super().__init__(
            message
            or f"The integration id '{integration_id}' is already registered."
            " Give the new class an 'integration_id' of its own."
        )


class IntegrationNotRegisteredError(IntegrationError):
    """No integration is registered under the given id.

    :param integration_id: The id that was looked up, or ``None``.
    """

    def __init__(self, integration_id: str | None) -> None:
        self.integration_id = integration_id
        if integration_id is None:
            message = "No integration id was given."
        else:
            message = f"No integration is registered with the id '{integration_id}'."
        super().__init__(message)


class InvalidConfigFilterError(IntegrationError, ValueError):
    """A configuration filter names a column the configuration model lacks.

    :param name: The unknown column name.
    :param model: The configuration model class.
    """

    def __init__(self, name: str, model: type) -> None:
        self.name = name
        super().__init__(
            f"Cannot filter configurations on '{name}': the model"
            f" '{model.__name__}' has no such column."
        )


class ConfigFormError(IntegrationError, ValueError):
    """A configuration form was saved while it has errors.

    :param errors: The form's errors, field name to list of messages.
    """

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        detail = "; ".join(
            f"'{name}': {' '.join(str(m) for m in messages)}"
            for name, messages in errors.items()
        )
        super().__init__(
            f"The configuration form cannot be saved because it has errors: {detail}"
        )
