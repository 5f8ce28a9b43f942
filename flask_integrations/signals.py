"""Blinker signals sent by flask-integrations.

Connect to them like any blinker signal::

    from flask_integrations import config_saved

    @config_saved.connect
    def on_saved(sender, config, created, **kwargs):
        ...
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# Each signal carries its description as its docstring, so that help() and
# the API reference show it wherever the signal is imported from.

integration_enabled = _signals.signal(
    "integration-enabled",
    doc="Sent when an integration is enabled in this process. Sender: the integration.",
)

integration_disabled = _signals.signal(
    "integration-disabled",
    doc="Sent when an integration is disabled in this process. Sender: the"
    " integration.",
)

config_saved = _signals.signal(
    "config-saved",
    doc="Sent after a commit that created or changed a configuration, in the"
    " process that committed. Sender: the manager. Keyword arguments:"
    " ``config`` (a read-only snapshot) and ``created`` (bool).",
)

config_deleted = _signals.signal(
    "config-deleted",
    doc="Sent after a commit that deleted a configuration, in the process that"
    " committed. Sender: the manager. Keyword argument: ``config`` (a"
    " read-only snapshot of the configuration as it was).",
)

delivery_failed = _signals.signal(
    "delivery-failed",
    doc="Sent when a delivery attempt failed. Sender: the integration. Keyword"
    " arguments: ``config`` (snapshot), ``delivery`` (the job), ``error`` and"
    " ``final`` (no retry will follow).",
)

delivery_succeeded = _signals.signal(
    "delivery-succeeded",
    doc="Sent when a delivery succeeded. Sender: the integration. Keyword"
    " arguments: ``config`` and ``delivery``.",
)

config_auto_disabled = _signals.signal(
    "config-auto-disabled",
    doc="Sent when a configuration was disabled because its deliveries kept"
    " failing. Sender: the integration. Keyword arguments: ``config``"
    " (snapshot) and ``reason``.",
)
