"""Reading what the outbox sent, in tests that use no mail server (files in instance/mail/)."""

from __future__ import annotations

import email
import re
from datetime import datetime
from email.message import EmailMessage
from email.policy import default as default_policy

import sqlalchemy as sa

from booking.extensions import db
from booking.models import MessageStatus, OutboxMessage
from booking.notifications import send_due


def sent_mail(now: datetime) -> list[EmailMessage]:
    """Send what is due, then every message sent so far, oldest first."""
    send_due(now)
    db.session.expire_all()
    rows = db.session.scalars(
        sa.select(OutboxMessage.rendered)
        .where(OutboxMessage.status == MessageStatus.SENT)
        .order_by(OutboxMessage.id)
    ).all()
    messages = []
    for rendered in rows:
        message = email.message_from_string(rendered, policy=default_policy)
        assert isinstance(message, EmailMessage)
        messages.append(message)
    return messages


def to(messages: list[EmailMessage], address: str) -> list[EmailMessage]:
    return [m for m in messages if m["To"].addresses[0].addr_spec == address]


def text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return part.get_content().replace("\u00a0", " ").replace("\u202f", " ")


def subject(message: EmailMessage) -> str:
    return str(message["Subject"]).replace("\u00a0", " ")


def link(message: EmailMessage, path: str) -> str:
    """The path (and query) of the first link in the message whose path starts with ``path``."""
    found = re.search(r"https?://[^/\s]+(" + re.escape(path) + r"[^\s]*)", text(message))
    assert found, f"no link to {path} in:\n{text(message)}"
    return found.group(1)
