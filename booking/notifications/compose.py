"""From an outbox row to an e-mail: its kind composes it, this module puts it in an envelope.

Each kind of message (``booking.notifications.kinds``) says who receives it,
whether it is still true when its turn comes (else ``Obsolete``: the sender
drops it rather than send something misleading) and what its words need; here
the letter becomes the bytes that travel (``mime``). Only what is truly gone
makes a message obsolete, never its age: a request still pending is announced
however late its message goes (a sender that died, a long outage).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from flask import current_app

from ..models import OutboxMessage
from . import kinds
from .kinds import Composer, Envelope, Obsolete, sender_address
from .links import Links

__all__ = ["Envelope", "Obsolete", "compose", "link_life", "mime", "one_line", "sender_address"]


def one_line(text: str) -> str:
    """``text`` with its line breaks, tabs and runs of spaces made single spaces."""
    return " ".join(text.split())


def compose(message: OutboxMessage, now: datetime, links: Links) -> Envelope:
    """Who receives ``message`` and what it says; raises Obsolete if it should not go."""
    return kinds.of(message).compose(Composer(message, now, links))


def link_life(message: OutboxMessage) -> timedelta | None:
    """How long the link a message carries works, for links that last a short time.

    Such a message keeps its bytes like any other, but a try that comes when its link
    has less than half its life left (after a long outage) writes it again with a new
    link and the same Message-ID, rather than deliver a link about to die.
    """
    return kinds.of(message).link_life()


def mime(
    message: OutboxMessage, envelope: Envelope, now: datetime, message_id: str | None = None
) -> EmailMessage:
    """The e-mail as it travels: headers, a plain-text body, and the .ics attachments."""
    email = kinds.of(message).render(envelope.letter)
    mail = EmailMessage()
    # A name written before line breaks were refused must not break the headers.
    mail["Subject"] = one_line(email.subject)
    mail["From"] = current_app.config["MAIL_FROM"]
    mail["To"] = Address(display_name=one_line(envelope.to_name), addr_spec=envelope.to_address)
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = message_id or make_msgid(
        idstring=f"outbox.{message.id}", domain=sender_address().rpartition("@")[2] or None
    )
    mail["Content-Language"] = envelope.letter.locale
    # No out-of-office replies to a robot (RFC 3834; Outlook's own header too).
    mail["Auto-Submitted"] = "auto-generated"
    mail["X-Auto-Response-Suppress"] = "All"
    mail.set_content(email.body, cte="quoted-printable")
    for attachment in email.attachments:
        maintype, _, rest = attachment.content_type.partition("/")
        subtype, _, parameter = rest.partition(";")
        params = dict([parameter.strip().split("=", 1)]) if parameter.strip() else {}
        params["charset"] = "utf-8"
        mail.add_attachment(
            attachment.data,
            maintype=maintype,
            subtype=subtype.strip(),
            filename=attachment.filename,
            params=params,
        )
    return mail
