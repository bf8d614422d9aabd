"""The requests waiting for a manager, with what a decision needs on one card.

Oldest request first. A series waiting as a whole is one card with its
dates. A change asked of a confirmed booking is a request too (a pending row that
replaces the booking): its card shows the booking's time and the one asked; the changes
of a series' dates join that series' card. Each card knows the other reservations
on the same slot, the member's recent history at the venue (bookings, cancellations,
refusals) and whether they hold the training the resource requires. Seven queries, whatever
the number of requests (the people of the requests and of what meets them are read by
their key).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased, joinedload, selectinload

from ...models import (
    MAX_HOLD,
    Qualification,
    QualificationGrant,
    Reservation,
    Resource,
    Series,
    Status,
    User,
    Venue,
    meets,
)
from ...permissions import managed_venue_ids_query

HISTORY_DAYS = 365
MAX_CARDS = 300


@dataclass(frozen=True)
class History:
    """A member's reservations at a venue over the last year, by what became of them."""

    confirmed: int = 0
    cancelled: int = 0
    refused: int = 0
    expired: int = 0

    @property
    def is_new(self) -> bool:
        return not (self.confirmed or self.cancelled or self.refused or self.expired)


@dataclass(frozen=True)
class Training:
    name: str
    held: bool
    expires_on: date | None  # the last valid day, when the member holds it


@dataclass
class Card:
    """One decision to take: a request, or every waiting date of a series."""

    reservations: list[Reservation]
    series: Series | None
    requested_at: datetime
    history: History
    training: Training | None
    # Other reservations holding the same resource at the same time, by request id.
    others: dict[int, list[Reservation]] = field(default_factory=dict)

    @property
    def first(self) -> Reservation:
        return self.reservations[0]

    @property
    def others_count(self) -> int:
        """How many other reservations meet its dates, all dates together."""
        return sum(len(self.others.get(r.id, [])) for r in self.reservations)

    @property
    def is_change(self) -> bool:
        """Whether every request of the card is a change of a confirmed booking."""
        return all(r.replaces_id is not None for r in self.reservations)

    @property
    def key(self) -> str:
        return f"series-{self.series.id}" if self.series else f"request-{self.first.id}"


def _pending(user: User, venue_id: int | None) -> sa.Select:
    query = (
        sa.select(Reservation)
        .join(Resource, Resource.id == Reservation.resource_id)
        .where(Reservation.waiting(), Resource.venue_id.in_(managed_venue_ids_query(user)))
    )
    if venue_id is not None:
        query = query.where(Resource.venue_id == venue_id)
    return query


def pending_count(session: Session, user: User, venue_id: int | None = None) -> int:
    """How many requests wait for this manager (at one venue): one indexed count."""
    query = _pending(user, venue_id).with_only_columns(sa.func.count(Reservation.id))
    return session.scalar(query) or 0


def cards(session: Session, user: User, now: datetime, venue_id: int | None = None) -> list[Card]:
    pending = list(
        session.scalars(
            _pending(user, venue_id)
            .options(
                joinedload(Reservation.resource).joinedload(Resource.venue),
                joinedload(Reservation.resource).joinedload(Resource.qualification),
                # The people by their key (an index scan), not a join with every account
                # that PostgreSQL may hash whole on a large network.
                selectinload(Reservation.user),
                joinedload(Reservation.series),
                joinedload(Reservation.replaces).joinedload(Reservation.series),
            )
            .order_by(Reservation.created_at, Reservation.id)
            .limit(MAX_CARDS)
        ).unique()
    )
    if not pending:
        return []

    # Other reservations on the same slots (buffers included), in one query: a range of
    # each resource's bookings from the earliest request on (nothing holds longer than
    # MAX_HOLD), not its whole history.
    mine, other = aliased(Reservation), aliased(Reservation)
    earliest = min(p.starts_at for p in pending) - MAX_HOLD
    others: dict[int, list[Reservation]] = defaultdict(list)
    for request_id, found in session.execute(
        sa.select(mine.id, other)
        .join(
            other,
            sa.and_(
                other.resource_id == mine.resource_id,
                other.id != mine.id,
                # A change and the booking it replaces are one booking.
                sa.or_(mine.replaces_id.is_(None), other.id != mine.replaces_id),
                other.status.in_((Status.PENDING, Status.CONFIRMED)),
                other.starts_at >= earliest,
                *meets(other.starts_at, other.blocked_until, mine.starts_at, mine.blocked_until),
            ),
        )
        .where(mine.id.in_([p.id for p in pending]))
        .options(selectinload(other.user))
        .order_by(other.starts_at)
    ).unique():
        others[request_id].append(found)

    # Each member's last year at each venue, by outcome.
    since = now - timedelta(days=HISTORY_DAYS)
    pairs = {(p.user_id, p.resource.venue_id) for p in pending}
    counts: dict[tuple[int, int], dict[Status, int]] = defaultdict(dict)
    for uid, vid, status, n in session.execute(
        sa.select(Reservation.user_id, Resource.venue_id, Reservation.status, sa.func.count())
        .join(Resource, Resource.id == Reservation.resource_id)
        .where(
            Reservation.user_id.in_({u for u, _ in pairs}),
            Resource.venue_id.in_({v for _, v in pairs}),
            Reservation.starts_at >= since,
            Reservation.status != Status.PENDING,
        )
        .group_by(Reservation.user_id, Resource.venue_id, Reservation.status)
    ):
        counts[(uid, vid)][Status(status)] = n

    # The trainings the requested resources need, held by the members who ask.
    needed = {
        (p.user_id, p.resource.qualification_id) for p in pending if p.resource.qualification_id
    }
    grants: dict[tuple[int, int], date | None] = {}
    if needed:
        for uid, qid, expires_on in session.execute(
            sa.select(
                QualificationGrant.user_id,
                QualificationGrant.qualification_id,
                QualificationGrant.expires_on,
            ).where(
                QualificationGrant.user_id.in_({u for u, _ in needed}),
                QualificationGrant.qualification_id.in_({q for _, q in needed}),
            )
        ):
            grants[(uid, qid)] = expires_on

    grouped: dict[object, list[Reservation]] = {}
    for reservation in pending:
        series_id = _series_of(reservation)
        key = ("series", series_id) if series_id else ("one", reservation.id)
        grouped.setdefault(key, []).append(reservation)

    result = []
    for group in grouped.values():
        group.sort(key=lambda res: res.starts_at)
        first = group[0]
        by_status = counts.get((first.user_id, first.resource.venue_id), {})
        training = None
        qualification: Qualification | None = first.resource.qualification
        if qualification is not None:
            key = (first.user_id, qualification.id)
            first_day = first.starts_at.astimezone(first.resource.venue.zone).date()
            expires_on = grants.get(key)
            held = key in grants and (expires_on is None or first_day <= expires_on)
            training = Training(qualification.name, held, expires_on)
        result.append(
            Card(
                reservations=group,
                series=first.series or (first.replaces.series if first.replaces else None),
                requested_at=min(res.created_at for res in group),
                history=History(
                    confirmed=by_status.get(Status.CONFIRMED, 0),
                    cancelled=by_status.get(Status.CANCELLED, 0),
                    refused=by_status.get(Status.REFUSED, 0),
                    expired=by_status.get(Status.EXPIRED, 0),
                ),
                training=training,
                others={res.id: others.get(res.id, []) for res in group},
            )
        )
    result.sort(key=lambda card: (card.requested_at, card.first.id))
    return result


def _series_of(reservation: Reservation) -> int | None:
    """The series a request belongs to: its own, or that of the booking it would change."""
    if reservation.replaces is not None:
        return reservation.replaces.series_id
    return reservation.series_id


def managed_venues(session: Session, user: User) -> list[Venue]:
    """The venues this person manages (every venue, retired ones too, for administrators)."""
    return list(
        session.scalars(
            sa.select(Venue).where(Venue.id.in_(managed_venue_ids_query(user))).order_by(Venue.name)
        )
    )
