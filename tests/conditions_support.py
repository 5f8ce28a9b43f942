"""The integration the conditions tests share: ticket events whose choices
cover every kind of value, and a form with a conditions field and a message
template."""

from __future__ import annotations

from flask_integrations import (
    Choice,
    ConditionsField,
    Integration,
    IntegrationConfigForm,
    MessageTemplateField,
)

PRIORITIES = [("low", "Low"), ("normal", "Normal"), ("high", "High")]

CHOICES = {
    "ticket.created": [
        Choice("title", "Title"),
        Choice("priority", "Priority", kind="select", options=PRIORITIES),
        Choice("project", "Project", path="project.name"),
        Choice("author", "Author", path="$.author['login']"),
        Choice("labels", "Labels", kind="list"),
        Choice("points", "Points", kind="number"),
        Choice("private", "Private", kind="boolean"),
        Choice("first_label", "First label", path="labels[0]"),
        Choice("assignees", "Assignees", kind="list", path="assignees[*].login"),
    ],
    "comment.added": [
        Choice("title", "Title", path="ticket.title"),
        Choice("body", "Comment"),
    ],
}


class TicketChatForm(IntegrationConfigForm):
    conditions = ConditionsField("What to post")
    message = MessageTemplateField("Message")


class TicketChat(Integration):
    """Declares a conditions field over :data:`CHOICES`."""

    integration_id = "tests.ticket_chat"
    name = "Ticket chat"
    config_form_cls = TicketChatForm
    condition_choices = CHOICES
