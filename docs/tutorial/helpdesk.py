"""The parts of the host app the pager integration uses.

In the tutorial the host app is a help desk. Here it is reduced to what the
integration needs: a ticket, its priorities, and the blinker signal the app
sends when a ticket is opened. In your project these are your own modules.
"""

from __future__ import annotations

import dataclasses

from blinker import Namespace

#: Ticket priorities, lowest first.
PRIORITIES = ["low", "normal", "high", "urgent"]

signals = Namespace()

#: Sent when a ticket is opened: ``ticket_opened.send(app, ticket=ticket)``.
ticket_opened = signals.signal("ticket-opened")


@dataclasses.dataclass
class Ticket:
    id: int
    title: str
    priority: str = "normal"
