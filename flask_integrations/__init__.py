"""Pluggable integrations with third-party services for Flask apps."""

from __future__ import annotations

from .errors import ConfigFormError
from .errors import IntegrationAlreadyRegisteredError
from .errors import IntegrationError
from .errors import IntegrationNotRegisteredError
from .errors import IntegrationRegistrationError
from .errors import InvalidConfigFilterError
from .extension import FlaskIntegrations
from .forms import Fieldset
from .forms import IntegrationConfigForm
from .hooks import IntegrationHook
from .hooks import SignalHook
from .hooks import TemplateHook
from .integration import Integration
from .integration import IntegrationFailure
from .manager import IntegrationManager
from .models import IntegrationConfigMixin
from .models import get_default_config_model
from .signals import config_deleted
from .signals import config_saved
from .signals import integration_disabled
from .signals import integration_enabled
from .routing import route
from .snapshot import ConfigSnapshot

__all__ = [
    "ConfigFormError",
    "ConfigSnapshot",
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
    "InvalidConfigFilterError",
    "SignalHook",
    "TemplateHook",
    "config_deleted",
    "config_saved",
    "get_default_config_model",
    "integration_disabled",
    "integration_enabled",
    "route",
]
