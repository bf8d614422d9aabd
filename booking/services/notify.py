"""What to tell whom: each event adds its messages to the outbox, in the caller's transaction.

A service that changes something a person relies on calls one function here
after making the change, with its session, as it calls ``audit.record``: the
messages then exist exactly when the change does (a rolled-back booking tells
nobody anything). Nothing is sent and no word is written here: a sender
outside the request (``booking.notifications``) renders each message in its
recipient's language (``booking.presentation.emails``) after the commit.

A message about reservations keeps what it reports as it was at that moment
(status, SEQUENCE, last change), so that its .ics attachment updates the
calendar to that state even if it is sent late. Reservations of one member
and one series moved together make one message, not one per date.

Events that other use cases raise (a closure cancelling bookings, a role or a
training granted or removed) have their function here too, ready for them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..models import (
    MAX_HOLD,
    Membership,
    MessageKind,
    MessageStatus,
    OutboxMessage,
    QualificationGrant,
    Reservation,
    Resource,
    Role,
    Status,
    User,
    UTCDateTime,
    Venue,
    WaitlistEntry,
    WaitStatus,
)

# The first member waiting for a freed slot hears of it first; the next one
# this much later, if the slot is still free then, and so on.
WAITLIST_HEAD_START = timedelta(minutes=15)
# A training expiring within this many days is worth a reminder.
TRAINING_WARNING_DAYS = 14

ReservationLike = Reservation | Mapping[str, Any]
# What a message needs of a reservation it reports, read as one row.
REPORTED = (
    Reservation.id,
    Reservation.user_id,
    Reservation.series_id,
    Reservation.starts_at,
    Reservation.status,
    Reservation.sequence,
    Reservation.updated_at,
)


def _get(reservation: ReservationLike, name: str) -> Any:
    if isinstance(reservation, Mapping):
        return reservation[name]
    return getattr(reservation, name)


def snapshot(reservation: ReservationLike) -> dict[str, Any]:
    """What a message reports of a reservation: the state its calendar entry must show."""
    status = _get(reservation, "status")
    return {
        "id": _get(reservation, "id"),
        "status": Status(status).value,
        "sequence": int(_get(reservation, "sequence")),
        "updated_at": _get(reservation, "updated_at").isoformat(),
    }


def _row(
    kind: MessageKind,
    now: datetime,
    payload: dict[str, Any],
    *,
    recipient_id: int | None = None,
    to_address: str | None = None,
    locale: str | None = None,
    due_at: datetime | None = None,
    dedupe_key: str | None = None,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "recipient_id": recipient_id,
        "to_address": to_address,
        "locale": locale,
        "payload": payload,
        "dedupe_key": dedupe_key,
        "status": MessageStatus.PENDING,
        "attempts": 0,
        "due_at": due_at or now,
        "lease_until": None,
        "created_at": now,
        "sent_at": None,
        "last_error": "",
        "subject": "",
        "sent_to": "",
        "rendered": None,
    }


def _add(session: Session, rows: list[dict[str, Any]]) -> int:
    """Insert messages in one statement; those whose key is already there are left out."""
    if not rows:
        return 0
    if not any(row["dedupe_key"] for row in rows):
        session.execute(sa.insert(OutboxMessage), rows)
        return len(rows)
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(OutboxMessage).on_conflict_do_nothing(index_elements=["dedupe_key"])
    result = session.execute(statement.returning(OutboxMessage.id), rows)
    return len(result.all())


def _to_managers(
    session: Session, kind: MessageKind, venue_id: int, payload: dict[str, Any], now: datetime
) -> None:
    """One message to each manager of the venue who wants them, in one statement.

    A venue with no manager yet has its requests sent to the administrators,
    so that nobody waits for an answer that no one was asked for.
    """
    managers = sa.select(Membership.user_id).where(
        Membership.venue_id == venue_id, Membership.role == Role.MANAGER
    )
    recipients = sa.or_(User.id.in_(managers), sa.and_(User.is_admin, ~managers.exists()))
    data: sa.ColumnElement[Any] = sa.literal(payload, sa.JSON)
    if session.get_bind().dialect.name == "postgresql":
        # PostgreSQL reads an untyped parameter as text; SQLite must not cast
        # (its JSON "type" has numeric affinity: the text would become 0).
        data = sa.cast(data, sa.JSON)
    columns = ("kind", "recipient_id", "payload", "status", "attempts", "due_at", "created_at")
    values = sa.select(
        sa.literal(kind.value, sa.String),
        User.id,
        data,
        sa.literal(MessageStatus.PENDING.value, sa.String),
        sa.literal(0, sa.Integer),
        sa.literal(now, UTCDateTime),
        sa.literal(now, UTCDateTime),
    ).where(recipients, User.active, User.notify_new_requests)
    # Columns left out take their defaults (include_defaults): no error, no subject yet.
    session.execute(sa.insert(OutboxMessage).from_select(columns, values))


def _by_member_and_series(
    reservations: Iterable[ReservationLike],
) -> dict[tuple[int, int | None], list[ReservationLike]]:
    groups: dict[tuple[int, int | None], list[ReservationLike]] = {}
    for reservation in reservations:
        key = (_get(reservation, "user_id"), _get(reservation, "series_id"))
        groups.setdefault(key, []).append(reservation)
    return groups


def _to_members(
    session: Session,
    kind: MessageKind,
    reservations: Iterable[ReservationLike],
    now: datetime,
    **extra: Any,
) -> None:
    """One message per member and series, with the reservations it is about."""
    rows = []
    for (user_id, _series), group in _by_member_and_series(reservations).items():
        ordered = sorted(group, key=lambda r: _get(r, "starts_at"))
        payload = {"reservations": [snapshot(r) for r in ordered], **extra}
        rows.append(_row(kind, now, payload, recipient_id=user_id))
    _add(session, rows)


# --- reservations ------------------------------------------------------------------


def booked(
    session: Session,
    reservations: Sequence[ReservationLike],
    venue_id: int,
    actor_id: int,
    now: datetime,
) -> None:
    """New reservations: the managers decide pending requests; a member for whom a
    manager booked is told."""
    if not reservations:
        return
    pending = [r for r in reservations if Status(_get(r, "status")) == Status.PENDING]
    for (user_id, series_id), group in _by_member_and_series(pending).items():
        ordered = sorted(group, key=lambda r: _get(r, "starts_at"))
        payload = {
            "reservations": [snapshot(r) for r in ordered],
            "member_id": user_id,
            "series_id": series_id,
        }
        _to_managers(session, MessageKind.REQUEST_TO_DECIDE, venue_id, payload, now)
    for_others = [
        r
        for r in reservations
        if Status(_get(r, "status")) == Status.CONFIRMED and _get(r, "user_id") != actor_id
    ]
    _to_members(session, MessageKind.BOOKED_FOR_YOU, for_others, now, actor_id=actor_id)


def accepted(session: Session, reservations: Sequence[Reservation], now: datetime) -> None:
    _to_members(session, MessageKind.ACCEPTED, reservations, now)


def refused(
    session: Session, reservations: Sequence[Reservation], reason: str, now: datetime
) -> None:
    _to_members(session, MessageKind.REFUSED, reservations, now, reason=reason)
    slot_freed(session, reservations, now)


def cancelled(
    session: Session,
    reservations: Sequence[Reservation],
    actor_id: int,
    reason: str,
    now: datetime,
    *,
    were_confirmed: Iterable[int] = (),
) -> None:
    """Cancelled by the member or by a manager; the slots go to whoever waits for them.

    A manager's cancellation is explained to the member, with the reason. The
    member's own is confirmed only for bookings that were confirmed (their
    calendar may hold them); a request they withdrew tells nobody.
    """
    theirs = [r for r in reservations if r.user_id == actor_id]
    others = [r for r in reservations if r.user_id != actor_id]
    confirmed = set(were_confirmed)
    _to_members(
        session, MessageKind.CANCELLED_BY_YOU, [r for r in theirs if r.id in confirmed], now
    )
    _to_members(
        session, MessageKind.CANCELLED_BY_MANAGER, others, now, reason=reason, actor_id=actor_id
    )
    slot_freed(session, reservations, now)


def cancelled_by_closure(
    session: Session, reservations: Sequence[Reservation], reason: str, now: datetime
) -> None:
    """Reservations a closure cancelled: each member is told why. Nobody waiting is told
    of a slot inside a closure."""
    _to_members(session, MessageKind.CANCELLED_BY_CLOSURE, reservations, now, reason=reason)


def expired(session: Session, reservation_ids: Sequence[int], now: datetime) -> None:
    """Requests whose start passed undecided: each member is told, one message per series."""
    if not reservation_ids:
        return
    rows = session.execute(
        sa.select(*REPORTED).where(Reservation.id.in_(reservation_ids))
    ).mappings()
    _to_members(session, MessageKind.EXPIRED, list(rows), now)


def slot_freed(session: Session, reservations: Sequence[Reservation], now: datetime) -> None:
    """Tell the members waiting for the freed slots, in the order they asked.

    The first hears of it at once, each next one ``WAITLIST_HEAD_START`` later
    (compressed when the slot is close); the sender drops a message whose slot
    has been taken again by then.
    """
    freed = [r for r in reservations if r.ends_at > now]
    if not freed:
        return
    resources = {r.resource_id for r in freed}
    low = min(r.starts_at for r in freed) - MAX_HOLD
    high = max(r.blocked_until for r in freed)
    candidates = session.execute(
        sa.select(WaitlistEntry, Resource.buffer_minutes)
        .join(Resource, Resource.id == WaitlistEntry.resource_id)
        .where(
            WaitlistEntry.resource_id.in_(resources),
            WaitlistEntry.status == WaitStatus.WAITING,
            WaitlistEntry.starts_at > now,
            WaitlistEntry.starts_at >= low,
            WaitlistEntry.starts_at < high,
        )
        .order_by(WaitlistEntry.created_at, WaitlistEntry.id)
    ).all()
    waiting = [
        entry
        for entry, buffer in candidates
        if any(
            r.resource_id == entry.resource_id
            and entry.starts_at < r.blocked_until
            and entry.ends_at + timedelta(minutes=buffer) > r.starts_at
            and entry.user_id != r.user_id
            for r in freed
        )
    ]
    if not waiting:
        return
    soonest = min(entry.starts_at for entry in waiting)
    step = min(WAITLIST_HEAD_START, (soonest - now) / (len(waiting) + 1))
    rows = []
    for place, entry in enumerate(waiting):
        entry.notified_at = now
        rows.append(
            _row(
                MessageKind.SLOT_FREED,
                now,
                {"entry_id": entry.id},
                recipient_id=entry.user_id,
                due_at=now + step * place,
            )
        )
    _add(session, rows)


def reminders(session: Session, now: datetime, zones: Mapping[str, date]) -> int:
    """Record the day-before reminders not recorded yet; returns how many were new.

    ``zones`` maps each venue time zone to the local date whose reservations
    are reminded there ("tomorrow" in that zone). A reminder is recorded once
    per reservation and start, however often this runs.
    """
    horizon = now + timedelta(days=3)
    candidates = session.execute(
        sa.select(*REPORTED, Venue.timezone)
        .join(Resource, Resource.id == Reservation.resource_id)
        .join(Venue, Venue.id == Resource.venue_id)
        .join(User, User.id == Reservation.user_id)
        .where(
            Reservation.status == Status.CONFIRMED,
            Reservation.starts_at > now,
            Reservation.starts_at < horizon,
            User.active,
            User.remind_day_before,
        )
    ).mappings()
    rows = []
    for reservation in candidates:
        zone = reservation["timezone"]
        day = zones.get(zone)
        if day is None or reservation["starts_at"].astimezone(ZoneInfo(zone)).date() != day:
            continue
        key = f"reminder:{reservation['id']}:{reservation['starts_at']:%Y%m%dT%H%M}"
        rows.append(
            _row(
                MessageKind.REMINDER,
                now,
                {"reservations": [snapshot(reservation)]},
                recipient_id=reservation["user_id"],
                dedupe_key=key,
            )
        )
    return _add(session, rows)


# --- accounts, roles and trainings -----------------------------------------------------


def invitation(
    session: Session, invitation_id: int, email: str, locale: str, now: datetime
) -> None:
    """The link to accept an invitation, to an address that has no account yet."""
    _add(
        session,
        [
            _row(
                MessageKind.INVITATION,
                now,
                {"invitation_id": invitation_id},
                to_address=email,
                locale=locale,
            )
        ],
    )


def welcome(session: Session, user_id: int, venue_id: int, now: datetime) -> None:
    """A new account made from an accepted request: the link to choose a password."""
    _add(
        session,
        [_row(MessageKind.WELCOME, now, {"venue_id": venue_id}, recipient_id=user_id)],
    )


def signup_to_decide(session: Session, request_id: int, venue_id: int, now: datetime) -> None:
    _to_managers(session, MessageKind.SIGNUP_TO_DECIDE, venue_id, {"request_id": request_id}, now)


def signup_declined(
    session: Session, request_id: int, email: str, locale: str, now: datetime
) -> None:
    _add(
        session,
        [
            _row(
                MessageKind.SIGNUP_DECLINED,
                now,
                {"request_id": request_id},
                to_address=email,
                locale=locale,
            )
        ],
    )


def password_reset(session: Session, user_id: int, now: datetime) -> None:
    _add(session, [_row(MessageKind.PASSWORD_RESET, now, {}, recipient_id=user_id)])


def password_changed(session: Session, user_id: int, now: datetime) -> None:
    """The account's password was changed or reset: a change its owner did not make shows."""
    _add(session, [_row(MessageKind.PASSWORD_CHANGED, now, {}, recipient_id=user_id)])


def role_granted(session: Session, user_id: int, venue_id: int, role: Role, now: datetime) -> None:
    """Someone became a member or a manager of a venue."""
    payload = {"venue_id": venue_id, "role": Role(role).value}
    _add(session, [_row(MessageKind.ROLE_GRANTED, now, payload, recipient_id=user_id)])


def role_removed(session: Session, user_id: int, venue_id: int, role: Role, now: datetime) -> None:
    """Someone is no longer a member (or no longer a manager) of a venue."""
    payload = {"venue_id": venue_id, "role": Role(role).value}
    _add(session, [_row(MessageKind.ROLE_REMOVED, now, payload, recipient_id=user_id)])


def training_granted(
    session: Session,
    user_id: int,
    qualification_id: int,
    expires_on: date | None,
    now: datetime,
) -> None:
    payload = {
        "qualification_id": qualification_id,
        "expires_on": expires_on.isoformat() if expires_on else None,
    }
    _add(session, [_row(MessageKind.TRAINING_GRANTED, now, payload, recipient_id=user_id)])


def trainings_expiring(session: Session, today: date, now: datetime) -> int:
    """Record a reminder for each training that expires within TRAINING_WARNING_DAYS,
    once per grant and expiry date; returns how many were new."""
    grants = session.execute(
        sa.select(
            QualificationGrant.id,
            QualificationGrant.user_id,
            QualificationGrant.qualification_id,
            QualificationGrant.expires_on,
        )
        .join(User, User.id == QualificationGrant.user_id)
        .where(
            QualificationGrant.expires_on >= today,
            QualificationGrant.expires_on <= today + timedelta(days=TRAINING_WARNING_DAYS),
            User.active,
            User.remind_training_expiry,
        )
    ).all()
    rows = [
        _row(
            MessageKind.TRAINING_EXPIRING,
            now,
            {"qualification_id": qualification_id, "expires_on": expires_on.isoformat()},
            recipient_id=user_id,
            dedupe_key=f"training-expiring:{grant_id}:{expires_on:%Y%m%d}",
        )
        for grant_id, user_id, qualification_id, expires_on in grants
    ]
    return _add(session, rows)
