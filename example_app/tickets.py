"""Changing tickets: each function commits, then sends its signal.

The views and the chat command both go through here, so every ticket,
wherever it comes from, reaches the integrations the same way.
"""

from __future__ import annotations

from flask import Flask, current_app

from .extensions import db
from .models import Comment, Ticket
from .signals import comment_added, ticket_closed, ticket_created


def _app() -> Flask:
    """The app itself, the sender of the signals (as Flask's own signals do)."""
    return current_app._get_current_object()  # type: ignore[attr-defined,no-any-return]


def open_ticket(title: str, body: str, author: str, source: str = "web") -> Ticket:
    """Store a new open ticket and send :data:`~.signals.ticket_created`."""
    ticket = Ticket(title=title, body=body, author=author, source=source)
    db.session.add(ticket)
    db.session.commit()
    ticket_created.send(_app(), ticket=ticket)
    return ticket


def add_comment(ticket: Ticket, body: str, author: str) -> Comment:
    """Store a comment on ``ticket`` and send :data:`~.signals.comment_added`."""
    comment = Comment(ticket=ticket, body=body, author=author)
    db.session.add(comment)
    db.session.commit()
    comment_added.send(_app(), ticket=ticket, comment=comment)
    return comment


def close_ticket(ticket: Ticket, closed_by: str) -> bool:
    """Close ``ticket`` and send :data:`~.signals.ticket_closed`.

    :return: Whether it was open (closing a closed ticket does nothing).
    """
    if not ticket.is_open:
        return False
    ticket.status = "closed"
    db.session.commit()
    ticket_closed.send(_app(), ticket=ticket, closed_by=closed_by)
    return True
