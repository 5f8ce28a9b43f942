"""Pluggable integrations with third-party services for Flask apps."""

from __future__ import annotations

from .capture import CapturedDelivery, record_deliveries
from .conditions import Choice
from .errors import (
    ConfigFormError,
    EncryptionKeyError,
    IntegrationAlreadyRegisteredError,
    IntegrationError,
    IntegrationNotRegisteredError,
    IntegrationRegistrationError,
    InvalidConditionsError,
    InvalidConfigFilterError,
    InvalidTemplateError,
    OutboundNetworkError,
    OutboundRequestError,
    OutboundTimeoutError,
    ResponseTooLargeError,
    SecretDecryptionError,
    SettingsMigrationError,
    TooManyRedirectsError,
    UnsafeURLError,
    WebhookVerificationError,
)
from .extension import FlaskIntegrations
from .fields import ConditionsField, MessageTemplateField, OutboundURLField
from .forms import Fieldset, IntegrationConfigForm
from .history import acting_as
from .hooks import IntegrationHook, SignalHook, TemplateHook
from .integration import Integration, IntegrationFailure
from .manager import IntegrationManager
from .models import IntegrationConfigMixin, get_default_config_model
from .outbound import OutboundClient, OutboundResponse
from .routing import route
from .signals import (
    config_auto_disabled,
    config_deleted,
    config_saved,
    delivery_failed,
    delivery_succeeded,
    integration_disabled,
    integration_enabled,
)
from .snapshot import ConfigSnapshot

__all__ = [
    "CapturedDelivery",
    "Choice",
    "ConditionsField",
    "ConfigFormError",
    "ConfigSnapshot",
    "EncryptionKeyError",
    "Fieldset",
    "FlaskIntegrations",
    "Integration",
    "IntegrationAlreadyRegisteredError",
    "IntegrationConfigForm",
    "IntegrationConfigMixin",
    "IntegrationError",
    "IntegrationFailure",
    "IntegrationHook",
    "IntegrationManager",
    "IntegrationNotRegisteredError",
    "IntegrationRegistrationError",
    "InvalidConditionsError",
    "InvalidConfigFilterError",
    "InvalidTemplateError",
    "MessageTemplateField",
    "OutboundClient",
    "OutboundNetworkError",
    "OutboundRequestError",
    "OutboundResponse",
    "OutboundTimeoutError",
    "OutboundURLField",
    "ResponseTooLargeError",
    "SecretDecryptionError",
    "SettingsMigrationError",
    "SignalHook",
    "TemplateHook",
    "TooManyRedirectsError",
    "UnsafeURLError",
    "WebhookVerificationError",
    "acting_as",
    "config_auto_disabled",
    "config_deleted",
    "config_saved",
    "delivery_failed",
    "delivery_succeeded",
    "get_default_config_model",
    "integration_disabled",
    "integration_enabled",
    "record_deliveries",
    "route",
]
