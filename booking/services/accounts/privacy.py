"""Personal data (RGPD): what the app holds about a person, erasing it, and keeping no more
than it needs.

``export_person`` gathers everything about one account, for the person to download.
``erase_person`` deletes what identifies them and keeps their reservations, anonymised,
so that the venues' activity figures stay right. ``purge_expired`` drops what has served
its purpose (sent e-mails, old requests and invitations, idle login sessions); the
periodic job runs it.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ...database import run_write
from ...extensions import db
from ...models import (
    AdminEvent,
    AuditEvent,
    Invitation,
    LoginSession,
    Membership,
    OutboxMessage,
    PromisedTraining,
    QualificationGrant,
    Reservation,
    Series,
    SignupRequest,
    User,
    WaitlistEntry,
)
from ...models.outbox import OPEN_STATUSES
from ...permissions import can_handle_account
from ..audit import record_admin
from ..booking.lifecycle import cancel_held, lock_resources
from ..errors import NotAllowedError

# How long what has served its purpose is kept (the privacy page says so). E-mails:
# the one period for every purge of the outbox (the command, the jobs timer, and
# the hourly purge of each app process's sender).
SENT_MAIL_DAYS = 90
CLOSED_REQUEST_DAYS = 90
IDLE_SESSION_DAYS = 30

ERASED_NAME = "Compte supprimé"
ERASED_REASON = "Compte supprimé à la demande de la personne"

# Columns never handed out, even to their owner: secrets and their digests.
SECRET_COLUMNS = frozenset(
    {"password_hash", "member_feed_key", "manager_feed_key", "token_digest", "nonce", "rendered"}
)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    return value


def _row(instance: Any) -> dict[str, Any]:
    return {
        column.key: _plain(getattr(instance, column.key))
        for column in sa.inspect(type(instance)).columns
        if column.key not in SECRET_COLUMNS
    }


def export_person(user_id: int) -> dict[str, Any]:
    """Everything the app holds about the account, as plain JSON values."""
    session = db.session
    user = session.get(User, user_id)
    if user is None:
        raise NotAllowedError("not_found")

    def rows(model: Any, *where: Any) -> list[dict[str, Any]]:
        order = list(sa.inspect(model).primary_key)
        return [
            _row(item) for item in session.scalars(sa.select(model).where(*where).order_by(*order))
        ]

    reservation_ids = sa.select(Reservation.id).where(Reservation.user_id == user_id)
    return {
        "account": _row(user),
        "memberships": rows(Membership, Membership.user_id == user_id),
        "trainings": rows(QualificationGrant, QualificationGrant.user_id == user_id),
        "reservations": rows(Reservation, Reservation.user_id == user_id),
        "series": rows(Series, Series.user_id == user_id),
        "reservation_history": rows(
            AuditEvent,
            sa.or_(AuditEvent.reservation_id.in_(reservation_ids), AuditEvent.actor_id == user_id),
        ),
        "venue_history": rows(
            AdminEvent, sa.or_(AdminEvent.member_id == user_id, AdminEvent.actor_id == user_id)
        ),
        "waiting_list": rows(WaitlistEntry, WaitlistEntry.user_id == user_id),
        "login_sessions": rows(LoginSession, LoginSession.user_id == user_id),
        "emails": rows(
            OutboxMessage,
            sa.or_(OutboxMessage.recipient_id == user_id, OutboxMessage.to_address == user.email),
        ),
        "invitations": rows(Invitation, Invitation.email == user.email),
        "trainings_promised": rows(
            PromisedTraining,
            PromisedTraining.invitation_id.in_(
                sa.select(Invitation.id).where(Invitation.email == user.email)
            ),
        ),
        "requests_to_join": rows(SignupRequest, SignupRequest.email == user.email),
    }


def erase_person(user_id: int, actor_id: int, now: datetime) -> None:
    """Delete what identifies the account; keep its reservations, anonymised.

    Reservations still to come are cancelled (their slots free up for others);
    every reservation keeps its times and status, without its purpose or the
    reasons written about it, under an account that names nobody.
    """

    def work(session: Session) -> None:
        user = session.get(User, user_id)
        actor = session.get(User, actor_id)
        if user is None or actor is None:
            raise NotAllowedError("not_found")
        if not can_handle_account(actor, user):
            raise NotAllowedError("erase")
        email = user.email
        coming = list(
            session.scalars(
                sa.select(Reservation).where(
                    Reservation.user_id == user_id,
                    Reservation.holding(),
                    Reservation.ends_at > now,
                )
            )
        )
        lock_resources(session, [reservation.resource_id for reservation in coming])
        cancel_held(session, coming, actor_id, ERASED_REASON, now)
        mine = sa.select(Reservation.id).where(Reservation.user_id == user_id)
        session.execute(
            sa.update(Reservation)
            .where(Reservation.user_id == user_id)
            .values(purpose="", decision_reason="", updated_at=now),
            execution_options={"synchronize_session": False},
        )
        session.execute(
            sa.update(Series).where(Series.user_id == user_id).values(purpose=""),
            execution_options={"synchronize_session": False},
        )
        session.execute(
            sa.update(AuditEvent).where(AuditEvent.reservation_id.in_(mine)).values(detail="")
        )
        for model, where in (
            (Membership, Membership.user_id == user_id),
            (QualificationGrant, QualificationGrant.user_id == user_id),
            (LoginSession, LoginSession.user_id == user_id),
            (WaitlistEntry, WaitlistEntry.user_id == user_id),
            (
                OutboxMessage,
                sa.or_(OutboxMessage.recipient_id == user_id, OutboxMessage.to_address == email),
            ),
            (Invitation, Invitation.email == email),
            (SignupRequest, SignupRequest.email == email),
        ):
            session.execute(sa.delete(model).where(where))
        user.email = f"supprime-{user_id}-{secrets.token_hex(4)}@invalid"
        user.display_name = ERASED_NAME
        user.set_password(secrets.token_urlsafe(32))
        user.active = False
        user.is_admin = False
        user.member_feed_key = None
        user.manager_feed_key = None
        user.feed_token_version += 1
        record_admin(
            session,
            "account.erased",
            venue_id=None,
            actor_id=actor_id,
            now=now,
            label=ERASED_NAME,
            subject_id=user_id,
        )

    run_write(work)


def _old_messages(now: datetime) -> sa.Delete:
    """E-mails done with (sent, failed, dropped or held) written more than SENT_MAIL_DAYS
    ago. Only those still on their way (waiting, being sent) are kept, whatever their age."""
    return sa.delete(OutboxMessage).where(
        OutboxMessage.status.not_in(OPEN_STATUSES),
        OutboxMessage.created_at < now - timedelta(days=SENT_MAIL_DAYS),
    )


def purge_messages(now: datetime) -> int:
    """Forget the e-mails done with: what every app process's sender does hourly."""
    return run_write(lambda session: session.execute(_old_messages(now)).rowcount or 0)


def purge_expired(now: datetime) -> dict[str, int]:
    """Drop what has served its purpose; returns how many rows of each kind went."""

    def work(session: Session) -> dict[str, int]:
        gone = {}
        for name, statement in (
            ("emails", _old_messages(now)),
            (
                "login_sessions",
                sa.delete(LoginSession).where(
                    LoginSession.last_seen_at < now - timedelta(days=IDLE_SESSION_DAYS)
                ),
            ),
            (
                "requests_to_join",
                sa.delete(SignupRequest).where(
                    SignupRequest.decided_at < now - timedelta(days=CLOSED_REQUEST_DAYS)
                ),
            ),
            (
                "invitations",
                sa.delete(Invitation).where(
                    Invitation.expires_at < now - timedelta(days=CLOSED_REQUEST_DAYS)
                ),
            ),
        ):
            gone[name] = session.execute(statement).rowcount or 0
        return gone

    return run_write(work)
