"""Booking one slot under every rule and the database's lock.

A request names its times in the venue's local time (``LocalMoment``: a day
and a wall-clock time) or as UTC instants; ``instant`` alone turns the first
into the second, with the venue's zone, for single slots and series alike, so
that a time that does not exist is reported on the field that holds it.

A booking loads what the rules need (``booking.services.booking.loading``), evaluates
the pure rules (``booking.rules``), then writes the reservation and its audit
row in one statement each. The feed stamps that calendars poll are bumped by
database triggers inside those statements (``booking.models.feeds``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached

from ...database import run_write
from ...extensions import db
from ...localtime import LocalTimeError, local_week_bounds, to_local, to_utc
from ...models import AuditEvent, Reservation, Status
from ...permissions import can_book_at
from ...rules import (
    Hold,
    LocalMoment,
    Request,
    Rules,
    Violation,
    blocking,
    check_capacity,
    check_qualification,
    check_quota,
    check_shape,
    check_timing,
)
from .. import outbox
from ..audit import audit_row
from ..errors import BookingError, ConflictError
from .loading import Context, holds_during, load, minutes_by_week, monday_of

T = TypeVar("T")

When = LocalMoment | datetime

_INSERT_RESERVATIONS = sa.insert(Reservation).returning(Reservation.uid, Reservation.id)
_INSERT_AUDIT = sa.insert(AuditEvent)


# --- the evaluation ---------------------------------------------------------------


def person_violations(context: Context, day: date, training: bool = True) -> list[Violation]:
    """What stops this member booking this resource, whatever the time."""
    member = context.member
    violations: list[Violation] = []
    if not member.active:
        violations.append(Violation("account_inactive"))
    elif not can_book_at(member, context.venue_id):  # type: ignore[arg-type]
        violations.append(Violation("no_role", None, {"venue": context.venue_name}))
    if not context.resource_active:
        violations.append(Violation("resource_retired"))
    if training:
        violations.extend(
            check_qualification(context.rules, member.grant, day, context.qualification_name)
        )
    return violations


def slot_violations(
    rules: Rules, request: Request, now: datetime, held: Sequence[Hold]
) -> list[Violation]:
    """The rules about the slot itself, whoever asks: its shape, hours, closures, notice,
    horizon and the seats left (buffer included). The week views and the search ask these
    too, so that a time shown as free can be booked."""
    shape = check_shape(request, rules)
    if any(v.code == "end_before_start" for v in shape):
        return shape
    return [*shape, *check_timing(request, rules, now), *check_capacity(request, rules, held)]


def evaluate(
    context: Context,
    request: Request,
    now: datetime,
    held: Sequence[Hold],
    minutes_this_week: int,
) -> list[Violation]:
    """Every violated rule, soft ones included."""
    rules = context.rules
    day = to_local(request.starts_at, rules.zone).date()
    violations = person_violations(context, day, training=False)
    slot = slot_violations(rules, request, now, held)
    violations.extend(slot)
    if any(v.code == "end_before_start" for v in slot):
        return violations
    violations.extend(check_quota(request, rules, minutes_this_week))
    violations.extend(
        check_qualification(rules, context.member.grant, day, context.qualification_name)
    )
    return violations


def instant(moment: When, zone: ZoneInfo, field_name: str) -> datetime | Violation:
    """The UTC instant of a request's time, or why it has none."""
    if isinstance(moment, datetime):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("a booking time is a LocalMoment or an aware datetime")
        return moment.astimezone(UTC)
    try:
        return to_utc(datetime.combine(moment.day, moment.at), zone)
    except LocalTimeError as error:
        return Violation(error.code, field_name)


def local_day(moment: When, zone: ZoneInfo) -> date:
    return moment.day if isinstance(moment, LocalMoment) else moment.astimezone(zone).date()


# --- writing ----------------------------------------------------------------------


def reservation_row(
    context: Context,
    request: Request,
    purpose: str,
    now: datetime,
    series_id: int | None = None,
) -> dict:
    needs_decision = context.requires_approval and not context.by_manager
    return {
        "uid": str(uuid.uuid4()),
        "resource_id": context.resource_id,
        "user_id": context.member.id,
        "created_by_id": context.actor.id,
        "series_id": series_id,
        "starts_at": request.starts_at,
        "ends_at": request.ends_at,
        "blocked_until": request.ends_at + context.rules.buffer,
        "exclusive": context.exclusive,
        "seats": request.seats,
        "purpose": purpose.strip(),
        "status": Status.PENDING if needs_decision else Status.CONFIRMED,
        "decided_by_id": None,
        "decided_at": None,
        "decision_reason": "",
        "overrides": ",".join(sorted(context.overrides)),
        "sequence": 0,
        "created_at": now,
        "updated_at": now,
    }


def insert(
    session: Session,
    context: Context,
    rows: list[dict],
    actor_id: int,
    now: datetime,
    detail: str,
) -> list[dict]:
    """Insert reservations and their "created" audit rows, one statement each, and
    tell whom it concerns (the managers of a request, a member booked for, a member
    whose own booking is confirmed at once)."""
    # Rows come back in any order: each is known by its uid.
    connection = session.connection()
    ids = dict(connection.execute(_INSERT_RESERVATIONS, rows).tuples().all())
    for row in rows:
        row["id"] = ids[row["uid"]]
    connection.execute(
        _INSERT_AUDIT,
        [audit_row("created", row["id"], row["series_id"], actor_id, now, detail) for row in rows],
    )
    outbox.tell(
        session,
        now,
        "request_to_decide",
        "booked_for_you",
        "booked",
        reservations=rows,
        venue_id=context.venue_id,
        actor_id=actor_id,
    )
    return rows


def attach(model: type[T], values: dict) -> T:
    """An ORM object for a row just written, known to the session without reading it back."""
    instance = model(**values)
    make_transient_to_detached(instance)
    db.session.add(instance)
    return instance


def guarded(work: Callable[[Session], T]) -> T:
    """Run ``work`` in a write transaction; a lost race becomes ConflictError.

    A database that stays locked (another process holding SQLite's write lock
    past the busy timeout) is not a lost race: its error goes up, and the
    page says to try again.
    """
    try:
        return run_write(work)
    except IntegrityError as error:
        # PostgreSQL's exclusion constraint: another transaction won the slot.
        if getattr(error.orig, "sqlstate", None) == "23P01":
            raise ConflictError() from error
        raise


# --- one slot -----------------------------------------------------------------------


def book(
    *,
    resource_id: int,
    member_id: int,
    actor_id: int,
    starts_at: When,
    ends_at: When,
    now: datetime,
    seats: int = 1,
    purpose: str = "",
    overrides: frozenset[str] = frozenset(),
) -> Reservation:
    """Book one slot. Raises BookingError listing every rule that stands in the way."""

    def days(zone: ZoneInfo) -> tuple[date, date]:
        local = [local_day(moment, zone) for moment in (starts_at, ends_at)]
        return min(local), max(local)

    def work(session: Session) -> dict:
        context = load(session, resource_id, member_id, actor_id, overrides, lock=True, days=days)
        zone = context.rules.zone
        start = instant(starts_at, zone, "starts_at")
        end = instant(ends_at, zone, "ends_at")
        unreadable = [v for v in (start, end) if isinstance(v, Violation)]
        if unreadable:
            raise BookingError(unreadable)
        assert isinstance(start, datetime) and isinstance(end, datetime)
        request = Request(start, end, seats)
        blocked_until = end + context.rules.buffer
        held = [
            h.hold(context.member.id)
            for h in holds_during(session, context, start, max(blocked_until, start), now)
        ]
        used = 0
        if context.rules.weekly_quota_minutes is not None:
            week_start, week_end = local_week_bounds(start, zone)
            used = minutes_by_week(session, context, week_start, week_end).get(
                monday_of(start, zone), 0
            )
        standing = blocking(evaluate(context, request, now, held, used), context.overrides)
        if standing:
            raise BookingError(standing)
        row = reservation_row(context, request, purpose, now)
        detail = f"overrides={row['overrides']}" if row["overrides"] else ""
        return insert(session, context, [row], actor_id, now, detail)[0]

    return attach(Reservation, guarded(work))


def obstacles(*, resource_id: int, user_id: int, now: datetime) -> list[Violation]:
    """What will stop this person booking this resource, said before they fill a form in.

    A dry run of the engine's own checks on the person and the resource (role,
    account, training, retired resource), for today. Managers may book for
    someone who qualifies: only what concerns the resource stands for them.
    """

    def days(zone: ZoneInfo) -> tuple[date, date]:
        local = to_local(now, zone).date()
        return local, local

    context = load(db.session, resource_id, user_id, user_id, frozenset(), lock=False, days=days)
    today = to_local(now, context.rules.zone).date()
    violations = person_violations(context, today)
    if context.by_manager:
        return [v for v in violations if v.code == "resource_retired"]
    return violations
