"""Every kind of message, one class each, registered with the outbox when imported.

A new e-mail: a class in one of these modules (decorated with ``@kind``: its key,
label, recipients, "is it still true?", subject and attachments) and its
template in ``templates/emails/<key>.txt``.
"""

from . import accounts, changes, reservations, roles, waitlist
from .base import Composer, Envelope, MessageKind, Obsolete, kind, of, sender_address

__all__ = [
    "Composer",
    "Envelope",
    "MessageKind",
    "Obsolete",
    "accounts",
    "changes",
    "kind",
    "of",
    "reservations",
    "roles",
    "sender_address",
    "waitlist",
]
