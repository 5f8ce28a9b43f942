from blinker import Namespace
from flask import Flask, request
from flask_sqlalchemy import SQLAlchemy
from wtforms import StringField

from flask_integrations import (
    FlaskIntegrations,
    Integration,
    IntegrationConfigForm,
    SignalHook,
)

db = SQLAlchemy()
# Who may use the admin pages: everyone, for this local try only.
integrations = FlaskIntegrations(db=db, admin_required=lambda: True)

# A signal of your app; the integration reacts to it.
ticket_created = Namespace().signal("ticket-created")


class AuditLogForm(IntegrationConfigForm):
    prefix = StringField("Prefix", description="Printed before each line.")


@integrations.register
class AuditLog(Integration):
    integration_id = "acme.audit"
    name = "Audit log"
    description = "Print a line for every new ticket."
    config_form_cls = AuditLogForm
    default_settings = {"prefix": "[audit]"}

    def initialize(self):
        # Runs once an enabled configuration exists.
        SignalHook(self, ticket_created, self.on_ticket_created)

    def on_ticket_created(self, sender, title, **kwargs):
        for config in self.get_configs():  # the enabled configurations
            print(config.get("prefix"), config.name, "saw a new ticket:", title)


def create_app():
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "change me"  # signs the forms' CSRF tokens
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///quickstart.db"
    db.init_app(app)
    integrations.init_app(app)
    with app.app_context():
        db.create_all()

    @app.post("/tickets")
    def create_ticket():
        title = request.form["title"]
        ticket_created.send(app, title=title)
        return f"Created the ticket {title!r}.\n"

    return app
