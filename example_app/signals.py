"""The tracker's signals, sent after the change they announce is committed.

Receivers get the app as sender and the objects as keyword arguments::

    ticket_created.send(app, ticket=ticket)
    comment_added.send(app, ticket=ticket, comment=comment)
    ticket_closed.send(app, ticket=ticket, closed_by="admin")
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

ticket_created = _signals.signal("ticket-created")
comment_added = _signals.signal("comment-added")
ticket_closed = _signals.signal("ticket-closed")
