"""Recording messages: each use case tells the outbox what happened, in its own transaction.

A service that changes something a person relies on calls ``tell`` after
making the change, with its session, as it calls ``audit.record``: the messages
then exist exactly when the change does (a rolled-back booking tells nobody
anything). Nothing is sent and no word is written here: a sender outside the
request (``booking.notifications``) renders each message in its recipient's
language after the commit.

Each kind of message is one class, registered here by ``booking.notifications``
(``notifications/kinds/``): whom it goes to and what it keeps (``record``),
whether it is still true when its turn comes, its subject, template and
attachments. This module holds the registry and what recording needs (rows,
"to the venue's managers", "to each member, one message per series"), so that
a use case names the kinds it raises without reaching up to the layer that words
them (CTFd registers its challenge types the same way).

A message about reservations keeps what it reports as it was at that moment
(status, SEQUENCE, last change), so that its .ics attachment updates the
calendar to that state even if it is sent late. Reservations of one member and
one series moved together make one message, not one per date.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, ClassVar, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import InstrumentedAttribute, Session

from ..models import (
    MessageStatus,
    OutboxMessage,
    Reservation,
    Status,
    User,
    UTCDateTime,
)
from ..permissions import managers_of

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


class Kind(Protocol):
    """What the outbox asks of a kind of message when a use case raises it."""

    key: ClassVar[str]
    label: ClassVar[Any]  # what administrators read in the list of messages

    def record(self, session: Session, now: datetime, **facts: Any) -> int:
        """Add this kind's messages about ``facts``; how many were added."""
        ...


KINDS: dict[str, Kind] = {}


class UnknownKindError(LookupError):
    """A use case named a kind of message that no class registered."""


def register(kind: Kind) -> Kind:
    """Make ``kind`` known by its key (``booking.notifications.kinds`` registers each)."""
    if kind.key in KINDS and type(KINDS[kind.key]) is not type(kind):
        raise ValueError(f"two kinds of message named {kind.key!r}")
    KINDS[kind.key] = kind
    return kind


def kind_of(key: str) -> Kind:
    try:
        return KINDS[key]
    except KeyError:
        raise UnknownKindError(key) from None


def tell(session: Session, now: datetime, *keys: str, **facts: Any) -> int:
    """Record the messages of each kind named, about the same ``facts`` (each kind takes
    what concerns it: a booking raises "request_to_decide" for what waits for a manager
    and "booked_for_you" for what a manager booked for someone)."""
    return sum(kind_of(key).record(session, now, **facts) for key in keys)


# --- what recording needs ---------------------------------------------------------------


def get(reservation: ReservationLike, name: str) -> Any:
    if isinstance(reservation, Mapping):
        return reservation[name]
    return getattr(reservation, name)


def snapshot(reservation: ReservationLike) -> dict[str, Any]:
    """What a message reports of a reservation: the state its calendar entry must show."""
    status = get(reservation, "status")
    return {
        "id": get(reservation, "id"),
        "status": Status(status).value,
        "sequence": int(get(reservation, "sequence")),
        "updated_at": get(reservation, "updated_at").isoformat(),
    }


def row(
    key: str,
    now: datetime,
    payload: dict[str, Any],
    *,
    recipient_id: int | None = None,
    to_address: str | None = None,
    locale: str | None = None,
    due_at: datetime | None = None,
    dedupe_key: str | None = None,
) -> dict[str, Any]:
    """One message, as a row to insert."""
    return {
        "kind": key,
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


def add(session: Session, rows: list[dict[str, Any]]) -> int:
    """Insert messages in one statement; those whose key is already there are left out."""
    if not rows:
        return 0
    if not any(item["dedupe_key"] for item in rows):
        session.execute(sa.insert(OutboxMessage), rows)
        return len(rows)
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(OutboxMessage).on_conflict_do_nothing(index_elements=["dedupe_key"])
    result = session.execute(statement.returning(OutboxMessage.id), rows)
    return len(result.all())


def to_account(session: Session, key: str, user_id: int, now: datetime, **payload: Any) -> int:
    """One message to one account."""
    return add(session, [row(key, now, payload, recipient_id=user_id)])


def to_address(
    session: Session, key: str, email: str, locale: str, now: datetime, **payload: Any
) -> int:
    """One message to an address that has no account (yet)."""
    return add(session, [row(key, now, payload, to_address=email, locale=locale)])


def to_managers(
    session: Session, key: str, venue_id: int, payload: dict[str, Any], now: datetime
) -> int:
    """One message to each manager of the venue who wants them, in one statement.

    A venue with no manager yet has its requests sent to the administrators,
    so that nobody waits for an answer that no one was asked for.
    """
    managers = managers_of(venue_id)
    recipients = sa.or_(User.id.in_(managers), sa.and_(User.is_admin, ~managers.exists()))
    return _to_accounts(session, key, payload, now, recipients, User.notify_new_requests)


def _to_accounts(
    session: Session,
    key: str,
    payload: dict[str, Any],
    now: datetime,
    recipients: sa.ColumnElement[bool],
    choice: sa.ColumnElement[bool],
) -> int:
    """One message to each active account of ``recipients`` that holds ``choice`` (a
    preference), chosen by the INSERT itself: one statement, whoever receives it."""
    data: sa.ColumnElement[Any] = sa.literal(payload, sa.JSON)
    if session.get_bind().dialect.name == "postgresql":
        # PostgreSQL reads an untyped parameter as text; SQLite must not cast
        # (its JSON "type" has numeric affinity: the text would become 0).
        data = sa.cast(data, sa.JSON)
    columns = ("kind", "recipient_id", "payload", "status", "attempts", "due_at", "created_at")
    values = sa.select(
        sa.literal(key, sa.String),
        User.id,
        data,
        sa.literal(MessageStatus.PENDING.value, sa.String),
        sa.literal(0, sa.Integer),
        sa.literal(now, UTCDateTime),
        sa.literal(now, UTCDateTime),
    ).where(recipients, User.active, choice)
    # Columns left out take their defaults (include_defaults): no error, no subject yet.
    result = session.execute(sa.insert(OutboxMessage).from_select(columns, values))
    return result.rowcount or 0


def by_member_and_series(
    reservations: Iterable[ReservationLike],
) -> dict[tuple[int, int | None], list[ReservationLike]]:
    """Reservations grouped as messages tell them: one message per member and series, each
    with its dates in order."""
    groups: dict[tuple[int, int | None], list[ReservationLike]] = {}
    for reservation in reservations:
        key = (get(reservation, "user_id"), get(reservation, "series_id"))
        groups.setdefault(key, []).append(reservation)
    return {key: sorted(group, key=lambda r: get(r, "starts_at")) for key, group in groups.items()}


def to_members(
    session: Session,
    key: str,
    reservations: Iterable[ReservationLike],
    now: datetime,
    **extra: Any,
) -> int:
    """One message per member and series, with the reservations it is about."""
    rows = [
        row(key, now, {"reservations": [snapshot(r) for r in group], **extra}, recipient_id=uid)
        for (uid, _series), group in by_member_and_series(reservations).items()
    ]
    return add(session, rows)


def _member_choosing_statement(dialect: str, choice: sa.ColumnElement[bool]) -> sa.Insert:
    """INSERT … SELECT of one message to one member, if active and holding ``choice``:
    built once per database and preference, its values bound at each call (a booking
    confirmed at once records one, and pays for no statement building)."""
    data: sa.ColumnElement[Any] = sa.bindparam("payload", type_=sa.JSON)
    if dialect == "postgresql":
        data = sa.cast(data, sa.JSON)  # see _to_accounts
    table = OutboxMessage.__table__
    columns = ("kind", "recipient_id", "payload", "status", "attempts", "due_at", "created_at")
    values = sa.select(
        sa.bindparam("kind", type_=sa.String),
        User.id,
        data,
        sa.literal(MessageStatus.PENDING.value, sa.String),
        sa.literal(0, sa.Integer),
        sa.bindparam("now", type_=UTCDateTime),
        sa.bindparam("now", type_=UTCDateTime),
    ).where(User.id == sa.bindparam("user_id"), User.active, choice)
    return sa.insert(table).from_select([table.c[name] for name in columns], values)


_MEMBER_CHOOSING: dict[tuple[str, str], sa.Insert] = {}


def to_members_choosing(
    session: Session,
    key: str,
    reservations: Iterable[ReservationLike],
    now: datetime,
    choice: InstrumentedAttribute[bool],
    **extra: Any,
) -> int:
    """As ``to_members``, to those members only whose account holds ``choice`` (the
    e-mails a person may turn off), decided in the INSERT: one statement per message."""
    groups = by_member_and_series(reservations)
    if not groups:
        return 0
    dialect = session.get_bind().dialect.name
    statement = _MEMBER_CHOOSING.get((dialect, choice.key))
    if statement is None:
        statement = _MEMBER_CHOOSING.setdefault(
            (dialect, choice.key), _member_choosing_statement(dialect, choice)
        )
    connection = session.connection()
    return sum(
        connection.execute(
            statement,
            {
                "kind": key,
                "payload": {"reservations": [snapshot(r) for r in group], **extra},
                "now": now,
                "user_id": uid,
            },
        ).rowcount
        or 0
        for (uid, _series), group in groups.items()
    )
