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

#: Sent when an integration is enabled in this process. Sender: the integration.
integration_enabled = _signals.signal("integration-enabled")

#: Sent when an integration is disabled in this process. Sender: the integration.
integration_disabled = _signals.signal("integration-disabled")

#: Sent after a commit that created or changed a configuration, in the process
#: that committed. Sender: the manager. Keyword arguments: ``config`` (a
#: read-only snapshot) and ``created`` (bool).
config_saved = _signals.signal("config-saved")

#: Sent after a commit that deleted a configuration, in the process that
#: committed. Sender: the manager. Keyword argument: ``config`` (a read-only
#: snapshot of the configuration as it was).
config_deleted = _signals.signal("config-deleted")
