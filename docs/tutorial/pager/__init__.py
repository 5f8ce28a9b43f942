"""An integration that pages an on-call service when an important ticket
is opened in the help desk."""

from __future__ import annotations

import json

from flask_integrations import Integration, SignalHook, TemplateHook
from flask_integrations.outbound import OutboundClient
from flask_integrations.signing import signature_headers

from helpdesk import PRIORITIES, ticket_opened

from .forms import PagerForm


class PagerIntegration(Integration):
    integration_id = "tutorial.pager"
    name = "On-call pager"
    description = "Page the on-call person when an important ticket is opened."
    icon_static_urls = {"1x": "pager.svg"}
    config_form_cls = PagerForm
    default_settings = {"min_priority": "urgent", "tags": ["support"]}

    def initialize(self):
        SignalHook(self, ticket_opened, self.on_ticket_opened)
        TemplateHook(self, "ticket-sidebar", "pager/ticket_panel.html")

    def pagers_for(self, ticket):
        """The enabled configurations that page for ``ticket``."""
        rank = PRIORITIES.index(ticket.priority)
        return [
            config
            for config in self.get_configs()
            if rank >= PRIORITIES.index(config.get("min_priority"))
        ]

    def on_ticket_opened(self, sender, ticket, **kwargs):
        alert = {
            "ticket": ticket.id,
            "title": ticket.title,
            "priority": ticket.priority,
        }
        for config in self.pagers_for(ticket):
            self.send_event("ticket.opened", alert, id=config.id)

    def deliver(self, config, event, payload, delivery):
        body = json.dumps({"event": event, "tags": config.get("tags"), **payload})
        headers = signature_headers(
            config.get("signing_secret"),
            body.encode(),
            message_id=delivery.delivery_id,
        )
        headers["Content-Type"] = "application/json"
        return OutboundClient().post(
            config.get("alert_url"), content=body, headers=headers
        )
