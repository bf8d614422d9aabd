"""What the database says about a resource: its rules, its holds, its free/busy."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .. import rules as r
from ..models import (
    HOLDING_STATUSES,
    MAX_HOLD_MINUTES,
    Closure,
    QualificationGrant,
    Reservation,
    Resource,
    Venue,
)

MAX_HOLD = timedelta(minutes=MAX_HOLD_MINUTES)


def rules_for(resource: Resource) -> r.Rules:
    closures = [
        c for c in resource.venue.closures if c.resource_id is None or c.resource_id == resource.id
    ]
    return r.Rules(
        zone=resource.venue.zone,
        capacity=resource.capacity,
        slot_minutes=resource.slot_minutes,
        min_duration_minutes=resource.min_duration_minutes,
        max_duration_minutes=resource.max_duration_minutes,
        min_notice_minutes=resource.min_notice_minutes,
        horizon_days=resource.horizon_days,
        buffer_minutes=resource.buffer_minutes,
        weekly_quota_minutes=resource.weekly_quota_minutes,
        requires_qualification=resource.qualification_id is not None,
        periods=tuple(
            r.Period(p.weekday, p.opens_at, p.closes_at) for p in resource.opening_periods
        ),
        closures=tuple(r.DateRange(c.starts_on, c.ends_on, c.reason) for c in closures),
    )


def _overlap_filter(start: datetime, end: datetime) -> list[sa.ColumnElement[bool]]:
    # The lower bound on starts_at keeps this a range scan of
    # ix_reservation_resource_starts: nothing can hold longer than MAX_HOLD.
    return [
        Reservation.status.in_(HOLDING_STATUSES),
        Reservation.starts_at >= start - MAX_HOLD,
        Reservation.starts_at < end,
        Reservation.blocked_until > start,
    ]


def holds(
    session: Session,
    resource_id: int,
    start: datetime,
    end: datetime,
    exclude_id: int | None = None,
) -> list[r.Hold]:
    query = sa.select(Reservation.starts_at, Reservation.blocked_until, Reservation.seats).where(
        Reservation.resource_id == resource_id, *_overlap_filter(start, end)
    )
    if exclude_id is not None:
        query = query.where(Reservation.id != exclude_id)
    return [r.Hold(s, b, n) for s, b, n in session.execute(query)]


def minutes_booked(
    session: Session, resource_id: int, user_id: int, start: datetime, end: datetime
) -> int:
    """Minutes the member holds on the resource among slots starting in [start, end)."""
    rows = session.execute(
        sa.select(Reservation.starts_at, Reservation.ends_at).where(
            Reservation.resource_id == resource_id,
            Reservation.user_id == user_id,
            Reservation.status.in_(HOLDING_STATUSES),
            Reservation.starts_at >= start,
            Reservation.starts_at < end,
        )
    )
    return sum(int((e - s).total_seconds() // 60) for s, e in rows)


def holds_valid_qualification(
    session: Session, user_id: int, qualification_id: int | None, day: date
) -> bool:
    if qualification_id is None:
        return True
    grant = session.scalar(
        sa.select(QualificationGrant).where(
            QualificationGrant.user_id == user_id,
            QualificationGrant.qualification_id == qualification_id,
        )
    )
    return grant is not None and grant.is_valid_on(day)


@dataclass(frozen=True)
class Busy:
    resource_id: int
    starts_at: datetime
    ends_at: datetime
    blocked_until: datetime
    seats: int
    pending: bool


def busy_by_resource(
    session: Session, resource_ids: Sequence[int], start: datetime, end: datetime
) -> dict[int, list[Busy]]:
    """Free/busy of several resources over [start, end) in one query."""
    result: dict[int, list[Busy]] = defaultdict(list)
    if not resource_ids:
        return result
    query = (
        sa.select(
            Reservation.resource_id,
            Reservation.starts_at,
            Reservation.ends_at,
            Reservation.blocked_until,
            Reservation.seats,
            Reservation.status,
        )
        .where(Reservation.resource_id.in_(resource_ids), *_overlap_filter(start, end))
        .order_by(Reservation.starts_at)
    )
    for rid, s, e, b, n, status in session.execute(query):
        result[rid].append(Busy(rid, s, e, b, n, status == "pending"))
    return result


def venue_busy(
    session: Session, venue: Venue, start: datetime, end: datetime
) -> dict[int, list[Busy]]:
    ids = list(
        session.scalars(
            sa.select(Resource.id).where(Resource.venue_id == venue.id, Resource.is_active)
        )
    )
    return busy_by_resource(session, ids, start, end)


def closures_for(session: Session, venue_id: int, start: date, end: date) -> list[Closure]:
    return list(
        session.scalars(
            sa.select(Closure).where(
                Closure.venue_id == venue_id, Closure.starts_on <= end, Closure.ends_on >= start
            )
        )
    )
