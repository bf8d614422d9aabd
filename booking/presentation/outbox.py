"""An e-mail as the administrators' messages page shows it: text, attachments, masked links."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from email.message import EmailMessage

from markupsafe import Markup, escape

_LINK = re.compile(r"https?://[^\s<>\"]+")
# Links that let their holder in: a password to choose, an invitation to accept.
_SECRET_LINK = re.compile(r"(https?://\S+/(?:password/reset|welcome|invitations)/)[^\s/]+")


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


def hide_secret_links(parts: Parts) -> Parts:
    return replace(parts, body=_SECRET_LINK.sub(r"\1…", parts.body))


def with_links(text: str) -> Markup:
    """Plain text with its web addresses made links, the rest escaped."""
    parts, last = [], 0
    for found in _LINK.finditer(text):
        url = found.group(0)
        parts.append(escape(text[last : found.start()]))
        parts.append(Markup('<a href="{0}">{0}</a>').format(url))
        last = found.end()
    parts.append(escape(text[last:]))
    return Markup("").join(parts)
