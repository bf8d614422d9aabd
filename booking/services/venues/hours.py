"""Weekly opening hours of a venue, or of a resource that has its own.

New hours are checked (periods in order, none overlapping, on the slot grid
of every resource they apply to) and previewed with the reservations still
to come that would fall outside them: those stay booked, and are listed for
the manager to deal with rather than left silently outside the hours.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from ...database import run_write
from ...extensions import db
from ...models import OpeningPeriod, Reservation, Resource, User, Venue
from ...rules import Period, Rules, Violation, check_hours
from ..audit import record_admin
from ..booking.lifecycle import lock_resources
from ..errors import NotAllowedError, SettingsError
from .managing import managed_venue
from .validation import check_grid, check_periods

# One opening period (weekday, opens_at, closes_at), as views hand new hours in.
Period = Period


def _every(days: Sequence[int], *spans: tuple[int, int]) -> tuple[Period, ...]:
    return tuple(Period(day, time(opens), time(closes)) for day in days for opens, closes in spans)


WEEKDAYS = (0, 1, 2, 3, 4)
# Weeks most venues keep, offered in one tap on the hours screen (keys name their words
# in presentation.manage.HOURS_PATTERN_LABELS).
PATTERNS: dict[str, tuple[Period, ...]] = {
    "weekdays": _every(WEEKDAYS, (9, 17)),
    "weekdays_lunch": _every(WEEKDAYS, (9, 12), (14, 18)),
    "monday_saturday": _every((0, 1, 2, 3, 4, 5), (9, 18)),
    "every_day": _every(range(7), (8, 20)),
    "afternoons": _every((1, 2, 3, 4, 5), (14, 19)),
}


def as_text(periods: Sequence[Period] | Sequence[OpeningPeriod]) -> str:
    """Hours as the log keeps them: "0 09:00-12:30 13:30-19:00|1 ...", closed days left out."""
    days = []
    for weekday in range(7):
        spans = sorted((p.opens_at, p.closes_at) for p in periods if p.weekday == weekday)
        if spans:
            days.append(f"{weekday} " + " ".join(f"{o:%H:%M}-{c:%H:%M}" for o, c in spans))
    return "|".join(days)


def _periods(rows: Sequence[OpeningPeriod]) -> list[Period]:
    return [Period(p.weekday, p.opens_at, p.closes_at) for p in rows]


def _applies_to(session: Session, venue: Venue, resource: Resource | None) -> list[Resource]:
    """The resources whose hours these are: the one, or the venue's without hours of their own."""
    if resource is not None:
        return [resource]
    return [
        res
        for res in session.scalars(
            sa.select(Resource).where(Resource.venue_id == venue.id, Resource.is_active)
        )
        if not res.own_opening_periods
    ]


def check(
    session: Session, venue: Venue, resource: Resource | None, periods: Sequence[Period]
) -> None:
    violations = check_periods(periods)
    if not periods:
        violations.append(Violation("no_hours", "day0"))
    if not violations:
        for res in _applies_to(session, venue, resource):
            violations.extend(check_grid(periods, res.slot_minutes, res.name))
    if violations:
        raise SettingsError(violations)


def outside(
    session: Session,
    venue: Venue,
    resource: Resource | None,
    periods: Sequence[Period],
    now: datetime,
) -> list[Reservation]:
    """Reservations still to come, on the resources concerned, that the new hours leave out."""
    resources = _applies_to(session, venue, resource)
    if not resources:
        return []
    rules = Rules(zone=venue.zone, periods=tuple(periods))
    found = session.scalars(
        sa.select(Reservation)
        .where(
            Reservation.resource_id.in_([res.id for res in resources]),
            Reservation.holding(),
            Reservation.starts_at >= now,
        )
        .options(joinedload(Reservation.user), joinedload(Reservation.resource))
        .order_by(Reservation.starts_at)
    )
    return [
        res
        for res in found
        if check_hours(
            res.starts_at.astimezone(venue.zone), res.ends_at.astimezone(venue.zone), rules
        )
    ]


def _owner(
    session: Session, venue_id: int, resource_id: int | None, actor_id: int
) -> tuple[Venue, Resource | None, User]:
    venue, actor = managed_venue(session, venue_id, actor_id)
    resource = None
    if resource_id is not None:
        resource = session.get(Resource, resource_id)
        if resource is None or resource.venue_id != venue.id:
            raise NotAllowedError("not_found")
    return venue, resource, actor


def preview(
    venue_id: int,
    resource_id: int | None,
    periods: Sequence[Period],
    actor_id: int,
    now: datetime,
) -> list[Reservation]:
    """Check new hours; the reservations they would leave out. Nothing is written."""
    venue, resource, _ = _owner(db.session, venue_id, resource_id, actor_id)
    check(db.session, venue, resource, periods)
    return outside(db.session, venue, resource, periods, now)


def set_hours(
    venue_id: int,
    resource_id: int | None,
    periods: Sequence[Period] | None,
    actor_id: int,
    now: datetime,
) -> list[Reservation]:
    """Replace the hours of the venue (``resource_id`` None) or of one resource.

    For a resource, ``periods`` None means "the venue's hours again". Returns
    the reservations still to come that fall outside the new hours.
    """

    def work(session: Session) -> list[Reservation]:
        venue, resource, actor = _owner(session, venue_id, resource_id, actor_id)
        lock_resources(session, [res.id for res in _applies_to(session, venue, resource)])
        if resource is None:
            before_rows = list(venue.opening_periods)
        else:
            before_rows = list(resource.own_opening_periods)
        if periods is None:
            if resource is None:
                raise SettingsError([Violation("no_hours", "day0")])
            new: list[Period] = []
        else:
            new = list(periods)
            check(session, venue, resource, new)
        rows = [
            OpeningPeriod(weekday=p.weekday, opens_at=p.opens_at, closes_at=p.closes_at)
            for p in new
        ]
        if resource is None:
            venue.opening_periods = rows
        else:
            resource.own_opening_periods = rows
        before, after = as_text(before_rows), as_text(new)
        if before != after:
            record_admin(
                session,
                "hours.changed",
                venue_id=venue.id,
                actor_id=actor.id,
                now=now,
                label=resource.name if resource else venue.name,
                subject_id=resource.id if resource else venue.id,
                resource_id=resource.id if resource else None,
                changes=[["hours", before, after]],
            )
        session.flush()
        effective = new or _periods(venue.opening_periods)
        return outside(session, venue, resource, effective, now)

    return run_write(work)
