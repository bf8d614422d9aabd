"""An e-mail as the administrators' messages page shows it: text, attachments, masked links."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from email.message import EmailMessage

from markupsafe import Markup, escape

from ..services import outbox

_LINK = re.compile(r"https?://[^\s<>\"]+")
# Links that let their holder in: a password to choose, an invitation to accept.
_SECRET_LINK = re.compile(r"(https?://\S+/(password/reset|welcome|invitations)/)([^\s/]+)")
# Their kinds, by path (notifications.secret_links tells whether one still works).
SECRET_KINDS = {"password/reset": "reset", "welcome": "welcome", "invitations": "invitation"}
MASK = "…"


@dataclass(frozen=True)
class ShownAttachment:
    filename: str
    content_type: str
    text: str


@dataclass(frozen=True)
class Parts:
    subject: str
    sender: str
    to: str
    date: str
    message_id: str
    body: str
    attachments: tuple[ShownAttachment, ...]
    # Links that let someone in: how many are hidden (they still work), how many shown
    # (used or expired).
    hidden_links: int = 0
    dead_links: int = 0


def message_parts(message: EmailMessage) -> Parts:
    body_part = message.get_body(preferencelist=("plain",))
    body = body_part.get_content() if body_part is not None else ""
    attachments = tuple(
        ShownAttachment(
            filename=part.get_filename() or "",
            content_type=part.get_content_type()
            + (f"; method={part.get_param('method')}" if part.get_param("method") else ""),
            text=_text(part),
        )
        for part in message.iter_attachments()
    )
    return Parts(
        subject=str(message["Subject"] or ""),
        sender=str(message["From"] or ""),
        to=str(message["To"] or ""),
        date=str(message["Date"] or ""),
        message_id=str(message["Message-ID"] or ""),
        body=body,
        attachments=attachments,
    )


def _text(part: EmailMessage) -> str:
    content = part.get_content()
    if isinstance(content, bytes):
        return content.decode("utf-8", errors="replace")
    return str(content)


def hide_secret_links(parts: Parts, may_work: Callable[[str, str], bool]) -> Parts:
    """The message with each link that lets someone in cut after its path, while
    ``may_work(kind, token)`` says it may still open something."""
    hidden = dead = 0

    def mask(found: re.Match[str]) -> str:
        nonlocal hidden, dead
        if may_work(SECRET_KINDS[found.group(2)], found.group(3)):
            hidden += 1
            return found.group(1) + MASK
        dead += 1
        return found.group(0)

    body = _SECRET_LINK.sub(mask, parts.body)
    return replace(parts, body=body, hidden_links=hidden, dead_links=dead)


def with_links(text: str) -> Markup:
    """Plain text with its web addresses made links (but a masked one), the rest escaped."""
    parts, last = [], 0
    for found in _LINK.finditer(text):
        url = found.group(0)
        parts.append(escape(text[last : found.start()]))
        if url.endswith(MASK):
            parts.append(escape(url))
        else:
            parts.append(Markup('<a href="{0}">{0}</a>').format(url))
        last = found.end()
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


def kind_label(key: str) -> str:
    """What a message is, for the administrators' list: its kind's label."""
    found = outbox.KINDS.get(key)
    return str(found.label) if found is not None else key
