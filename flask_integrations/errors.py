"""Exceptions raised by flask-integrations.

Every exception the package raises on purpose derives from
:class:`IntegrationError`::

    IntegrationError
     ├── IntegrationRegistrationError
     │    └── IntegrationAlreadyRegisteredError
     ├── IntegrationNotRegisteredError
     ├── InvalidConfigFilterError
     ├── ConfigFormError
     ├── SecretDecryptionError
     ├── EncryptionKeyError
     ├── SettingsMigrationError
     ├── WebhookVerificationError
     ├── InvalidConditionsError
     ├── InvalidTemplateError
     └── OutboundRequestError
          ├── UnsafeURLError
          ├── TooManyRedirectsError
          ├── ResponseTooLargeError
          └── OutboundNetworkError
               └── OutboundTimeoutError
"""

from __future__ import annotations

import typing as t


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


class OutboundRequestError(IntegrationError):
    """A request to another service could not be sent or its response read.

    Messages name the host but never the whole URL, whose path or query may
    hold a secret (e.g. a chat webhook token).

    :param host: The host the request was for, when known.
    """

    def __init__(self, message: str, host: str | None = None) -> None:
        self.host = host
        super().__init__(message)


class UnsafeURLError(OutboundRequestError, ValueError):
    """The URL may not be sent to: wrong scheme, credentials in it, a host
    that does not resolve, or an address that is not public and not in
    ``INTEGRATIONS_OUTBOUND_ALLOWLIST``.

    :param address: The refused IP address, when that is the problem.
    """

    def __init__(
        self, message: str, host: str | None = None, address: str | None = None
    ) -> None:
        self.address = address
        super().__init__(message, host)


class TooManyRedirectsError(OutboundRequestError):
    """The response redirected more times than allowed."""


class ResponseTooLargeError(OutboundRequestError):
    """The response body is larger than the limit.

    :param limit: The limit, in bytes.
    :param status_code: The status code of the response.
    """

    def __init__(
        self, host: str, limit: int, status_code: int, message: str | None = None
    ) -> None:
        self.limit = limit
        self.status_code = status_code
        super().__init__(
            message
            or f"The response from '{host}' (status {status_code}) is larger than"
            f" the limit of {limit} bytes. Raise 'max_response_bytes' if such"
            " responses are expected.",
            host,
        )


class OutboundNetworkError(OutboundRequestError):
    """The connection failed or broke, or the response was malformed; the
    original exception is chained as ``__cause__``."""


class OutboundTimeoutError(OutboundNetworkError):
    """Connecting, sending or reading took longer than its timeout."""


class SecretDecryptionError(IntegrationError):
    """A stored secret could not be decrypted with any configured key."""


class EncryptionKeyError(IntegrationError):
    """No usable key is configured to encrypt secret settings."""


class SettingsMigrationError(IntegrationError):
    """Stored settings could not be upgraded to the integration's
    ``settings_version``."""


class WebhookVerificationError(IntegrationError):
    """A signed webhook request could not be verified."""


class InvalidConditionsError(IntegrationError, ValueError):
    """A stored condition set cannot be used: it is malformed, or names a
    choice or an operator the integration no longer offers.

    :param problems: What is wrong, one
        :class:`~flask_integrations.conditions.ConditionProblem` each.
    """

    def __init__(self, problems: list[t.Any]) -> None:
        self.problems = problems
        details = " ".join(str(p) for p in problems)
        super().__init__(f"The conditions cannot be used. {details}")


class InvalidTemplateError(IntegrationError, ValueError):
    """A message template is not valid Jinja.

    :param message: What is wrong, with the line number.
    :param lineno: The line of the template where the error is, if known.
    """

    def __init__(self, message: str, lineno: int | None = None) -> None:
        self.lineno = lineno
        super().__init__(message)
