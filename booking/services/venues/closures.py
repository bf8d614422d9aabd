"""Closing a venue, or one of its resources, for a while: holidays, maintenance.

A closure is entered in the venue's local time and kept as a half-open range
of instants. Before it is saved, the manager sees the reservations inside it
(``preview``); confirming (``close``) writes the closure and cancels the
ones ticked, each with the closure's reason, in one transaction: all of it
or nothing. A booking made between the preview and the confirmation stops
the confirmation, so that nobody is cancelled unseen.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from ...database import run_write
from ...extensions import db
from ...models import Closure, Reservation, Resource, Venue
from ...rules import LocalMoment, Violation
from ..audit import record_admin
from ..booking.engine import instant
from ..booking.lifecycle import cancel_held, lock_resources
from ..errors import ChangedMeanwhileError, NotAllowedError, SettingsError
from .managing import managed_venue

MAX_REASON = 200


@dataclass(frozen=True)
class ClosureRequest:
    venue_id: int
    resource_id: int | None  # None: the whole venue
    starts: LocalMoment
    ends: LocalMoment  # the first moment open again
    reason: str
    reason_public: bool = False


@dataclass
class ClosurePreview:
    starts_at: datetime
    ends_at: datetime
    reservations: list[Reservation]


def _span(venue: Venue, request: ClosureRequest, now: datetime) -> tuple[datetime, datetime]:
    """The closure's instants, or every reason it cannot be made."""
    violations: list[Violation] = []
    start = instant(request.starts, venue.zone, "starts")
    end = instant(request.ends, venue.zone, "ends")
    violations += [v for v in (start, end) if isinstance(v, Violation)]
    reason = request.reason.strip()
    if not reason:
        violations.append(Violation("reason_required", "reason"))
    elif len(reason) > MAX_REASON:
        violations.append(Violation("too_long_text", "reason", {"max": MAX_REASON}))
    if isinstance(start, datetime) and isinstance(end, datetime):
        if end <= start:
            violations.append(Violation("end_before_start", "ends"))
        elif end <= now:
            violations.append(Violation("closure_past", "ends"))
    if violations:
        raise SettingsError(violations)
    assert isinstance(start, datetime) and isinstance(end, datetime)
    return start, end


def _resources(session: Session, venue: Venue, resource_id: int | None) -> list[int]:
    if resource_id is None:
        return list(session.scalars(sa.select(Resource.id).where(Resource.venue_id == venue.id)))
    found = session.scalar(
        sa.select(Resource.id).where(Resource.id == resource_id, Resource.venue_id == venue.id)
    )
    if found is None:
        raise SettingsError([Violation("unknown_resource", "resource")])
    return [found]


def inside(
    session: Session, resource_ids: Iterable[int], start: datetime, end: datetime
) -> list[Reservation]:
    """Reservations whose slot meets [start, end) and still hold it, earliest first."""
    ids = list(resource_ids)
    if not ids:
        return []
    return list(
        session.scalars(
            sa.select(Reservation)
            .where(
                Reservation.resource_id.in_(ids),
                Reservation.holding(),
                *Reservation.overlapping(start, end, with_buffer=False),
            )
            .options(joinedload(Reservation.user), joinedload(Reservation.resource))
            .order_by(Reservation.starts_at, Reservation.id)
        )
    )


def preview(request: ClosureRequest, actor_id: int, now: datetime) -> ClosurePreview:
    """What the closure would be, and the reservations inside it: nothing is written."""
    session = db.session
    venue, _ = managed_venue(session, request.venue_id, actor_id)
    start, end = _span(venue, request, now)
    resource_ids = _resources(session, venue, request.resource_id)
    return ClosurePreview(start, end, inside(session, resource_ids, start, end))


@dataclass
class ClosureResult:
    closure: Closure
    cancelled: list[Reservation]


def close(
    request: ClosureRequest,
    actor_id: int,
    now: datetime,
    *,
    seen_ids: frozenset[int],
    cancel_ids: frozenset[int],
) -> ClosureResult:
    """Write the closure and cancel the reservations in ``cancel_ids`` (those shown,
    ``seen_ids``, that the manager ticked), all in one transaction."""

    def work(session: Session) -> ClosureResult:
        venue, actor = managed_venue(session, request.venue_id, actor_id)
        start, end = _span(venue, request, now)
        resource_ids = _resources(session, venue, request.resource_id)
        lock_resources(session, resource_ids)
        found = inside(session, resource_ids, start, end)
        if {res.id for res in found} - seen_ids:
            raise ChangedMeanwhileError()
        closure = Closure(
            venue_id=venue.id,
            resource_id=request.resource_id,
            starts_at=start,
            ends_at=end,
            reason=request.reason.strip(),
            reason_public=request.reason_public,
            created_by_id=actor.id,
            created_at=now,
            updated_at=now,
        )
        session.add(closure)
        session.flush()
        cancelled = cancel_held(
            session,
            [res for res in found if res.id in cancel_ids],
            actor.id,
            closure.reason,
            now,
            action="cancelled_by_closure",
        )
        resource_name = found[0].resource.name if request.resource_id and found else None
        if request.resource_id and resource_name is None:
            resource_name = session.scalar(
                sa.select(Resource.name).where(Resource.id == request.resource_id)
            )
        record_admin(
            session,
            "closure.created",
            venue_id=venue.id,
            actor_id=actor.id,
            now=now,
            label=resource_name or venue.name,
            subject_id=closure.id,
            resource_id=request.resource_id,
            changes=[
                ["starts_at", None, start.isoformat()],
                ["ends_at", None, end.isoformat()],
                ["reason", None, closure.reason],
                ["reason_public", None, closure.reason_public],
                ["cancelled", None, len(cancelled)],
            ],
            detail=closure.reason,
        )
        return ClosureResult(closure, cancelled)

    return run_write(work)


def reopen(closure_id: int, actor_id: int, now: datetime) -> Closure:
    """Remove a closure (the venue opens again as usual); cancelled bookings stay cancelled."""

    def work(session: Session) -> Closure:
        closure = session.get(Closure, closure_id)
        if closure is None or closure.busy:
            # A followed calendar's busy time comes from that calendar: not removed here.
            raise NotAllowedError("not_found")
        venue, actor = managed_venue(session, closure.venue_id, actor_id)
        label = closure.resource.name if closure.resource else venue.name
        record_admin(
            session,
            "closure.removed",
            venue_id=venue.id,
            actor_id=actor.id,
            now=now,
            label=label,
            subject_id=closure.id,
            resource_id=closure.resource_id,
            changes=[
                ["starts_at", closure.starts_at.isoformat(), None],
                ["ends_at", closure.ends_at.isoformat(), None],
                ["reason", closure.reason, None],
            ],
            detail=closure.reason,
        )
        session.delete(closure)
        return closure

    return run_write(work)


def venue_closures(session: Session, venue_id: int, since: datetime) -> list[Closure]:
    """The venue's closures not over by ``since``, soonest first: its one-off closures
    and the next occurrence of each recurring one (its followed calendars' busy times are
    shown in the weeks, not listed here). Two range queries, however many occurrences
    lie ahead."""
    upcoming = [Closure.venue_id == venue_id, Closure.ends_at > since]
    one_off = list(
        session.scalars(
            sa.select(Closure)
            .where(*upcoming, Closure.rule_id.is_(None), Closure.calendar_id.is_(None))
            .options(joinedload(Closure.resource), joinedload(Closure.venue))
        )
    )
    first = (
        sa.select(Closure.rule_id, sa.func.min(Closure.starts_at).label("starts_at"))
        .where(*upcoming, Closure.rule_id.is_not(None))
        .group_by(Closure.rule_id)
        .subquery()
    )
    recurring = list(
        session.scalars(
            sa.select(Closure)
            .join(
                first,
                sa.and_(Closure.rule_id == first.c.rule_id, Closure.starts_at == first.c.starts_at),
            )
            .options(joinedload(Closure.resource), joinedload(Closure.venue))
        )
    )
    return sorted(one_off + recurring, key=lambda c: (c.starts_at, c.id))
