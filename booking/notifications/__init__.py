"""Sending the outbox: rendering each message in its recipient's language and delivering it.

Services record messages (``booking.services.outbox``) in their own
transactions; this package sends them after the commit, outside any request:
``sender`` claims and delivers, ``compose`` turns a row into an e-mail with
``booking.presentation.emails``, ``transport`` speaks SMTP or writes files,
``worker`` runs it all from a background thread or a command.
"""

from .sender import (
    Report,
    drop,
    hold_interrupted,
    send_again,
    send_due,
    send_waiting_now,
    transport,
)
from .worker import BackgroundSender, Cycle, init_app

__all__ = [
    "BackgroundSender",
    "Cycle",
    "Report",
    "drop",
    "hold_interrupted",
    "init_app",
    "send_again",
    "send_due",
    "send_waiting_now",
    "transport",
]
