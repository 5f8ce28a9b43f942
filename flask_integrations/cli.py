"""The ``flask integrations`` command group."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

integrations_cli = AppGroup(
    "integrations", help="Manage integrations and their configurations."
)


def _check_expired() -> None:
    """Catch up with configuration changes before a command runs."""
    state = current_app.extensions["integrations"]
    state.sync_registrations()
    state.manager.check_expired()


@integrations_cli.command("list")
def list_command() -> None:
    """List integrations, whether they are enabled, and their configurations."""
    _check_expired()
    manager = current_app.extensions["integrations"].manager
    for integration in sorted(
        manager.get_integrations(), key=lambda i: str(i.name or i.integration_id)
    ):
        state = "enabled" if integration.enabled else "disabled"
        click.echo(f"{integration.integration_id}  {integration.name or ''}  [{state}]")
        for config in manager.get_integration_configs(integration):
            flag = "on " if config.enabled else "off"
            click.echo(f"  #{config.id} [{flag}] {config.name}")
