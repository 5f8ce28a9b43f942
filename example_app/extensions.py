"""Extension objects shared by the example app's modules."""

from __future__ import annotations

from flask import abort
from flask_login import LoginManager, current_user
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from flask_integrations import FlaskIntegrations

db = SQLAlchemy()
csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "example.login"


def admin_required() -> object:
    """Let logged-in administrators into the integration pages; send anyone
    else to the login page."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not current_user.is_admin:
        abort(403)
    return True


integrations = FlaskIntegrations(db=db, admin_required=admin_required)


def _register_integrations() -> None:
    from .integrations.announcements import AnnouncementIntegration
    from .integrations.chat_commands import ChatCommandIntegration
    from .integrations.ticket_events import TicketSlack, TicketWebhook

    integrations.register(AnnouncementIntegration)
    integrations.register(TicketWebhook)
    integrations.register(TicketSlack)
    integrations.register(ChatCommandIntegration)


_register_integrations()
