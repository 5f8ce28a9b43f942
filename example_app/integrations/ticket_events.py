"""The library's ready-made webhook and Slack-compatible integrations,
subclassed to send the tracker's ticket events.

Both follow the same three signals and send the same data; the Slack one
also words a message for each event.
"""

from __future__ import annotations

import typing as t

from flask import url_for

from flask_integrations.contrib import SlackIntegration, WebhookIntegration

from ..models import Comment, Ticket
from ..signals import comment_added, ticket_closed, ticket_created

EVENTS = {
    "ticket.created": "Ticket created",
    "comment.added": "Comment added",
    "ticket.closed": "Ticket closed",
}
EVENT_SIGNALS = {
    "ticket.created": ticket_created,
    "comment.added": comment_added,
    "ticket.closed": ticket_closed,
}


def ticket_data(ticket: Ticket) -> dict[str, t.Any]:
    """What every event says about its ticket."""
    return {
        "id": ticket.id,
        "title": ticket.title,
        "status": ticket.status,
        "author": ticket.author,
        "created": ticket.created.isoformat(),
        "url": url_for("example.ticket", ticket_id=ticket.id, _external=True),
    }


def ticket_payload(
    event: str,
    ticket: Ticket,
    comment: Comment | None = None,
    closed_by: str | None = None,
) -> dict[str, t.Any]:
    """The data of a ticket event: the ticket, and the comment or who closed
    it."""
    payload: dict[str, t.Any] = {"ticket": ticket_data(ticket)}
    if event == "ticket.created":
        payload["ticket"]["body"] = ticket.body
    if comment is not None:
        payload["comment"] = {
            "id": comment.id,
            "author": comment.author,
            "body": comment.body,
            "created": comment.created.isoformat(),
        }
    if closed_by is not None:
        payload["closed_by"] = closed_by
    return payload


class TicketWebhook(WebhookIntegration):
    integration_id = "example.webhook"
    events = EVENTS
    event_signals = EVENT_SIGNALS

    def build_payload(self, event: str, sender: t.Any, **kwargs: t.Any) -> t.Any:
        return ticket_payload(event, **kwargs)


class TicketSlack(SlackIntegration):
    integration_id = "example.slack"
    events = EVENTS
    event_signals = EVENT_SIGNALS
    default_settings = {"username": "Example tracker", "icon_emoji": ":ticket:"}

    def build_payload(self, event: str, sender: t.Any, **kwargs: t.Any) -> t.Any:
        return ticket_payload(event, **kwargs)

    def build_message(self, event: str, payload: t.Any) -> str:
        if event == "test":
            return super().build_message(event, payload)
        ticket = payload["ticket"]
        subject = f"#{ticket['id']} {ticket['title']} ({ticket['url']})"
        if event == "ticket.created":
            return f"{ticket['author']} opened {subject}"
        if event == "comment.added":
            comment = payload["comment"]
            body = " ".join(comment["body"].split())
            if len(body) > 200:
                body = body[:199] + "…"
            return f"{comment['author']} commented on {subject}: {body}"
        return f"{payload.get('closed_by', 'Someone')} closed {subject}"
