"""What the account use cases share: addresses, languages, the audit line, the manager
acting, an account or a role looked up by its address."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.orm import Session

from ...models import AuditEvent, Membership, User
from ...permissions import can_manage
from ..audit import audit_row
from ..errors import NotAllowedError

LANGUAGES = ("fr", "en")


def normal_email(email: str) -> str:
    return email.strip().lower()


def checked_email(email: str) -> str | None:
    """The address as stored (normalised, lower case), or None if it cannot be one."""
    email = normal_email(email)
    if not email or len(email) > 254:
        return None
    try:
        return validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


def known_language(locale: str) -> str:
    return locale if locale in LANGUAGES else "fr"


def audit_line(
    session: Session, action: str, actor_id: int | None, now: datetime, detail: str
) -> None:
    session.execute(sa.insert(AuditEvent), [audit_row(action, None, None, actor_id, now, detail)])


def manager_at(session: Session, actor_id: int, venue_id: int) -> User:
    actor = session.get(User, actor_id)
    if actor is None or not can_manage(actor, venue_id):
        raise NotAllowedError("manage")
    return actor


def account_of(session: Session, email: str) -> User | None:
    return session.scalar(sa.select(User).where(User.email == normal_email(email)))


def membership_of(session: Session, user_id: int, venue_id: int) -> Membership | None:
    return session.scalar(
        sa.select(Membership).where(Membership.user_id == user_id, Membership.venue_id == venue_id)
    )
