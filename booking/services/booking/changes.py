"""Changing a booking: its day, times, seats and purpose; one date of a series, or it and
every later one.

A change is judged by every rule like a new booking (``engine.evaluate``), with the
booking itself, and the change it may already wait for, left out of what holds the slot
and of the member's weekly time: nobody's booking stands in its own way. It is atomic:
refused, nothing is written. Accepted, it is the same reservation (same id and iCal UID,
SEQUENCE + 1), and the audit log says from what to what.

How a change takes effect depends on who asks and on the resource:

- a request still waiting for a manager changes in place and keeps waiting;
- a confirmed booking moves at once, unless its resource needs approval and its member
  asks: then the booking keeps its slot and the new one is held by a pending row of its
  own (``Reservation.replaces_id``) that managers accept or refuse in their queue
  (``lifecycle``), like any request. Asking again changes that pending change;
- a manager moves any booking of their venue at once, with a reason the member reads,
  and may set soft rules aside as when booking for someone (never the capacity).

A single change costs the statements of a booking and one more: the booking is read with
the people, after the resource's lock (``loading.load_booking``), so the one more is the
waiting list asked about the slot the booking lets go of.
"""

from __future__ import annotations

import bisect
import enum
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ...database import run_write
from ...extensions import db
from ...localtime import local_week_bounds, to_local
from ...models import (
    HOLDING_STATUSES,
    MAX_HOLD,
    AuditEvent,
    Reservation,
    Series,
    Status,
)
from ...permissions import may_change
from ...rules import Hold, LocalMoment, Request, Violation, blocking
from .. import outbox
from ..audit import audit_row
from ..errors import BookingError, NotAllowedError, TransitionError
from .engine import When, evaluate, guarded, instant, local_day
from .lifecycle import Settled, Slot, change_detail, expire_rows, lock_booking, slot_of
from .loading import (
    BOOKED,
    BOOKING_COLUMNS,
    PEOPLE,
    RESOURCE_OF_BOOKING,
    RESOURCE_OF_BOOKING_LOCKED,
    WAITING_CHANGE,
    Context,
    context_of,
    holds_during,
    load_booking,
    minutes_between,
    minutes_by_week,
    monday_of,
)

# What a change may move, and what it writes with it.
MOVED = ("starts_at", "ends_at", "blocked_until", "seats", "purpose")
_UPDATE = (
    sa.update(Reservation)
    .where(Reservation.id == sa.bindparam("row_id"))
    .values(
        {
            **{getattr(Reservation, name): sa.bindparam(f"new_{name}") for name in MOVED},
            Reservation.sequence: sa.bindparam("new_sequence"),
            Reservation.updated_at: sa.bindparam("new_updated_at"),
            Reservation.overrides: sa.bindparam("new_overrides"),
            Reservation.series_id: sa.bindparam("new_series_id"),
        }
    )
)
_INSERT = sa.insert(Reservation).returning(Reservation.uid, Reservation.id)
_DELETE = sa.delete(Reservation).where(Reservation.id.in_(sa.bindparam("ids", expanding=True)))


@dataclass(frozen=True)
class ChangeRequest:
    """A new version of a booking. ``seats`` and ``purpose`` left as None stay as they are;
    ``reason`` is what a manager tells the member (required when the booking is someone
    else's)."""

    reservation_id: int
    actor_id: int
    starts_at: When
    ends_at: When
    seats: int | None = None
    purpose: str | None = None
    reason: str = ""
    overrides: frozenset[str] = frozenset()


class Outcome(enum.StrEnum):
    MOVED = "moved"  # the booking took its new version at once
    ASKED = "asked"  # a confirmed booking waits for a manager to accept its change
    REQUEST_CHANGED = "request_changed"  # a request still waiting changed in place


@dataclass(frozen=True)
class Changed:
    reservation_id: int
    outcome: Outcome
    change_id: int | None = None  # the pending change, when one waits


def _frees(before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
    """Whether the old version held time (or seats) that the new one lets go of."""
    return (
        after["starts_at"] > before["starts_at"]
        or after["blocked_until"] < before["blocked_until"]
        or after["seats"] < before["seats"]
    )


def _state(context: Context, booking: Mapping[str, Any], now: datetime) -> None:
    """A booking that may change: a booking (not a change of one), holding, not started."""
    if booking["replaces_id"] is not None:
        raise NotAllowedError("not_found")
    status = Status(booking["status"])
    if status not in HOLDING_STATUSES:
        raise TransitionError(f"change_{status.value}")
    if booking["starts_at"] <= now:
        raise TransitionError("change_started")


def _reason_violations(context: Context, reason: str) -> list[Violation]:
    """The member deserves to know why a manager changed their booking."""
    if context.actor.id != context.member.id and not reason:
        return [Violation("change_reason", "reason")]
    return []


def _minutes_in_week(rows: Iterable[Mapping[str, Any] | None], monday: date, zone: ZoneInfo) -> int:
    return sum(
        minutes_between(row["starts_at"], row["ends_at"])
        for row in rows
        if row is not None
        and Status(row["status"]) in HOLDING_STATUSES
        and monday_of(row["starts_at"], zone) == monday
    )


def _asks_approval(context: Context, booking: Mapping[str, Any]) -> bool:
    """A confirmed booking keeps its slot while a manager decides on its change."""
    return (
        Status(booking["status"]) == Status.CONFIRMED
        and context.requires_approval
        and not context.by_manager
    )


def _update_params(
    row: Mapping[str, Any], new: Mapping[str, Any], now: datetime, overrides: str
) -> dict[str, Any]:
    return {
        "row_id": row["id"],
        **{f"new_{name}": new[name] for name in MOVED},
        "new_sequence": row["sequence"] + 1,
        "new_updated_at": now,
        "new_overrides": overrides,
        "new_series_id": new.get("series_id", row["series_id"]),
    }


def _change_row(
    context: Context, booking: Mapping[str, Any], new: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """A pending change of ``booking``: a request of its own, linked to it."""
    return {
        "uid": str(uuid.uuid4()),
        "resource_id": context.resource_id,
        "user_id": booking["user_id"],
        "created_by_id": context.actor.id,
        "series_id": None,
        "replaces_id": booking["id"],
        **{name: new[name] for name in MOVED},
        "exclusive": context.exclusive,
        "status": Status.PENDING,
        "decided_by_id": None,
        "decided_at": None,
        "decision_reason": "",
        "overrides": "",
        "sequence": 0,
        "created_at": now,
        "updated_at": now,
    }


@dataclass
class _Writes:
    """Everything a change writes, gathered so that each kind goes in one statement."""

    updates: list[dict[str, Any]] = field(default_factory=list)
    inserts: list[dict[str, Any]] = field(default_factory=list)
    deletes: list[int] = field(default_factory=list)
    audits: list[dict[str, Any]] = field(default_factory=list)
    # What to tell: bookings moved (their rows after), with what they were.
    moved: list[dict[str, Any]] = field(default_factory=list)
    was: dict[int, dict[str, Any]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)  # requests changed in place
    asked: list[dict[str, Any]] = field(default_factory=list)  # pending changes, new or changed
    freed: list[Slot] = field(default_factory=list)

    def add(
        self,
        context: Context,
        booking: Mapping[str, Any],
        pending: Mapping[str, Any] | None,
        new: dict[str, Any],
        now: datetime,
        reason: str,
    ) -> Outcome:
        """One booking's change, sorted into what it writes and tells."""
        overrides = ",".join(sorted(context.overrides))
        series_id = new.get("series_id", booking["series_id"])
        if _asks_approval(context, booking):
            if pending is not None:
                self.updates.append(_update_params(pending, new, now, ""))
                changed = {**pending, **new, "sequence": pending["sequence"] + 1}
                changed["updated_at"] = now
                if _frees(pending, changed):
                    self.freed.append(slot_of(pending))
            else:
                changed = _change_row(context, booking, new, now)
                self.inserts.append(changed)
            self.asked.append(changed)
            self.was[booking["id"]] = dict(booking)
            self.audits.append(
                audit_row(
                    "change_requested",
                    booking["id"],
                    series_id,
                    context.actor.id,
                    now,
                    change_detail(booking, new),
                )
            )
            return Outcome.ASKED
        self.updates.append(_update_params(booking, new, now, overrides))
        after = {
            **booking,
            **new,
            "series_id": series_id,
            "sequence": booking["sequence"] + 1,
            "updated_at": now,
            "overrides": overrides,
        }
        if pending is not None:
            # The change it waited for is overtaken: the booking moves now.
            self.deletes.append(pending["id"])
            self.freed.append(slot_of(pending))
        if _frees(booking, after):
            self.freed.append(slot_of(booking))
        self.was[booking["id"]] = dict(booking)
        self.audits.append(
            audit_row(
                "changed",
                booking["id"],
                series_id,
                context.actor.id,
                now,
                change_detail(booking, after, reason, context.overrides),
            )
        )
        if Status(booking["status"]) == Status.PENDING:
            self.requests.append(after)
            return Outcome.REQUEST_CHANGED
        self.moved.append(after)
        return Outcome.MOVED

    def write(self, session: Session, context: Context, now: datetime, reason: str) -> list[int]:
        """Write it all, each kind in one statement; the ids of the changes inserted."""
        connection = session.connection()
        if self.deletes:
            connection.execute(_DELETE, {"ids": self.deletes})
        if self.updates:
            connection.execute(_UPDATE, self.updates)
        inserted: list[int] = []
        if self.inserts:
            ids = dict(connection.execute(_INSERT, self.inserts).tuples().all())
            for row in self.inserts:
                row["id"] = ids[row["uid"]]
                inserted.append(row["id"])
        if self.audits:
            connection.execute(sa.insert(AuditEvent), self.audits)
        was = {rid: _said(row) for rid, row in self.was.items()}
        actor_id = context.actor.id
        if self.moved:
            outbox.tell(
                session,
                now,
                "changed",
                reservations=self.moved,
                actor_id=actor_id,
                reason=reason,
                was=was,
            )
        if self.requests:
            outbox.tell(
                session,
                now,
                "request_to_decide",
                reservations=self.requests,
                venue_id=context.venue_id,
            )
        if self.asked:
            outbox.tell(
                session,
                now,
                "change_to_decide",
                changes=self.asked,
                venue_id=context.venue_id,
                was=was,
            )
        if self.freed:
            outbox.tell(session, now, "slot_freed", reservations=self.freed)
        return inserted


def _said(row: Mapping[str, Any]) -> dict[str, Any]:
    """A version of a booking as a message keeps it (JSON)."""
    return {
        "starts_at": row["starts_at"].isoformat(),
        "ends_at": row["ends_at"].isoformat(),
        "seats": row["seats"],
    }


# --- one booking ----------------------------------------------------------------------


def _new_version(
    context: Context, booking: Mapping[str, Any], request: ChangeRequest
) -> dict[str, Any]:
    zone = context.rules.zone
    start = instant(request.starts_at, zone, "starts_at")
    end = instant(request.ends_at, zone, "ends_at")
    unreadable = [v for v in (start, end) if isinstance(v, Violation)]
    if unreadable:
        raise BookingError(unreadable)
    assert isinstance(start, datetime) and isinstance(end, datetime)
    return {
        "starts_at": start,
        "ends_at": end,
        "blocked_until": end + context.rules.buffer,
        "seats": booking["seats"] if request.seats is None else request.seats,
        "purpose": (booking["purpose"] if request.purpose is None else request.purpose).strip(),
    }


def _lapse(
    session: Session, now: datetime, pending: list[dict[str, Any] | None]
) -> list[dict[str, Any] | None]:
    """Changes whose time came undecided expire now (their bookings stay as they were), so
    that a new change never revives one; the others, as they are."""
    overdue = [p["id"] for p in pending if p is not None and p["starts_at"] <= now]
    if overdue:
        expire_rows(session, now, ids=overdue)
    return [None if p is not None and p["id"] in overdue else p for p in pending]


def _same(row: Mapping[str, Any] | None, new: Mapping[str, Any]) -> bool:
    return row is not None and all(row[name] == new[name] for name in MOVED)


def change(request: ChangeRequest, now: datetime) -> Changed:
    """Change one booking. Raises BookingError listing every rule in the way (nothing is
    written), TransitionError when the booking can no longer change."""

    def days(zone: ZoneInfo) -> tuple[date, date]:
        local = [local_day(moment, zone) for moment in (request.starts_at, request.ends_at)]
        return min(local), max(local)

    reason = request.reason.strip()

    def work(session: Session) -> Changed:
        context, found = load_booking(
            session,
            request.reservation_id,
            request.actor_id,
            request.overrides,
            lock=True,
            days=days,
        )
        booking, pending = found.row, found.pending
        _state(context, booking, now)
        pending = _lapse(session, now, [pending])[0]
        new = _new_version(context, booking, request)
        if _same(booking, new) or (_asks_approval(context, booking) and _same(pending, new)):
            raise BookingError([Violation("unchanged")])
        mine = {booking["id"], *([pending["id"]] if pending else [])}
        zone = context.rules.zone
        start, end = new["starts_at"], new["ends_at"]
        held = [
            h.hold(context.member.id)
            for h in holds_during(session, context, start, max(new["blocked_until"], start), now)
            if h.id not in mine
        ]
        used = 0
        if context.rules.weekly_quota_minutes is not None:
            week_start, week_end = local_week_bounds(start, zone)
            monday = monday_of(start, zone)
            used = minutes_by_week(session, context, week_start, week_end).get(monday, 0)
            used -= _minutes_in_week((booking, pending), monday, zone)
        standing = blocking(
            evaluate(context, Request(start, end, new["seats"]), now, held, used),
            context.overrides,
        )
        standing += _reason_violations(context, reason)
        if standing:
            raise BookingError(standing)
        writes = _Writes()
        outcome = writes.add(context, booking, pending, new, now, reason)
        inserted = writes.write(session, context, now, reason)
        change_id = None
        if outcome == Outcome.ASKED:
            change_id = inserted[0] if inserted else pending["id"] if pending else None
        return Changed(booking["id"], outcome, change_id)

    return guarded(work)


def withdraw_change(reservation_id: int, actor_id: int, now: datetime) -> int:
    """Withdraw the change a booking waits for: the booking stays as it is. Its member or a
    manager of its venue. Returns the booking's id."""

    def work(session: Session) -> int:
        booking, actor = lock_booking(session, reservation_id, actor_id)
        if not may_change(actor, booking):
            raise NotAllowedError("change")
        pending = booking.pending_change
        if pending is None:
            raise TransitionError("withdraw_nothing")
        Settled().drop(session, [pending], actor.id, now, "change_withdrawn").tell(session, now)
        return booking.id

    return run_write(work)


# --- a date of a series and every later one ---------------------------------------------

_LATER_DATES = (
    sa.select(
        *(getattr(BOOKED, key) for key in BOOKING_COLUMNS),
        *(getattr(WAITING_CHANGE, key) for key in BOOKING_COLUMNS),
    )
    .select_from(BOOKED)
    .outerjoin(WAITING_CHANGE, WAITING_CHANGE.replaces_id == BOOKED.id)
    # Every date of the series, sorted out in Python (a series has at most a few hundred):
    # the series' index is then the only one a planner may choose. A pending change has no
    # series: the series' own rows are its bookings.
    .where(
        BOOKED.series_id
        == sa.select(Reservation.series_id)
        .where(Reservation.id == sa.bindparam("reservation_id"))
        .scalar_subquery()
    )
    .order_by(BOOKED.starts_at, BOOKED.id)
)


@dataclass
class Move:
    """One date of a series and where the change would take it: free, or left aside (it
    then stays as it is) with the reasons."""

    reservation_id: int
    was_starts_at: datetime
    was_ends_at: datetime
    day: date
    starts_at: datetime | None
    ends_at: datetime | None
    violations: list[Violation] = field(default_factory=list)

    @property
    def is_free(self) -> bool:
        return self.starts_at is not None and not self.violations


@dataclass
class Following:
    """What changing a date and every later one did (or would do)."""

    moves: list[Move]
    outcomes: dict[int, Outcome] = field(default_factory=dict)

    @property
    def free(self) -> list[Move]:
        return [m for m in self.moves if m.is_free]

    @property
    def left_aside(self) -> list[Move]:
        return [m for m in self.moves if not m.is_free]

    def count(self, outcome: Outcome) -> int:
        return sum(1 for o in self.outcomes.values() if o == outcome)


def _later_dates(
    session: Session, request: ChangeRequest, now: datetime, lock: bool
) -> tuple[Context, list[tuple[dict[str, Any], dict[str, Any] | None]]]:
    """The booking, the later dates of its series (with the changes they wait for), and the
    context of the rules over every day they may move to."""
    if not isinstance(request.starts_at, LocalMoment) or not isinstance(
        request.ends_at, LocalMoment
    ):
        raise ValueError("a series moves by local day and time")
    connection = session.connection()
    found = connection.execute(
        RESOURCE_OF_BOOKING_LOCKED if lock else RESOURCE_OF_BOOKING,
        {"reservation_id": request.reservation_id},
    ).one_or_none()
    if found is None:
        raise NotAllowedError("not_found")
    resource_id, *resource_row = found
    width = len(BOOKING_COLUMNS)
    dates = []
    for row in connection.execute(_LATER_DATES, {"reservation_id": request.reservation_id}):
        booking = dict(zip(BOOKING_COLUMNS, row[:width], strict=True))
        pending_values = row[width:]
        pending = (
            dict(zip(BOOKING_COLUMNS, pending_values, strict=True))
            if pending_values[0] is not None
            else None
        )
        dates.append((booking, pending))
    this = next((b for b, _ in dates if b["id"] == request.reservation_id), None)
    if this is None or Status(this["status"]) not in HOLDING_STATUSES:
        raise TransitionError("change_series")
    dates = [
        (b, p)
        for b, p in dates
        if Status(b["status"]) in HOLDING_STATUSES
        and (b["starts_at"], b["id"]) >= (this["starts_at"], this["id"])
    ]
    first = dates[0][0]
    offset = request.starts_at.day - first["starts_at"].astimezone(_zone(resource_row)).date()

    def days(zone: ZoneInfo) -> tuple[date, date]:
        local = [to_local(b["starts_at"], zone).date() + offset for b, _ in dates]
        return min(local), max(local) + timedelta(days=1)

    context, _ = context_of(
        session,
        resource_id,
        tuple(resource_row),
        request.actor_id,
        request.overrides,
        days,
        PEOPLE,
        {"member_id": first["user_id"]},
        lambda _rows: first["user_id"],
    )
    return context, dates


def _zone(resource_row: list[Any]) -> ZoneInfo:
    return ZoneInfo(resource_row[-1])


def _moves(
    session: Session,
    context: Context,
    request: ChangeRequest,
    dates: list[tuple[dict[str, Any], dict[str, Any] | None]],
    now: datetime,
) -> list[tuple[Move, dict[str, Any] | None]]:
    """Every date moved by the same number of days to the new times, each judged like a
    booking of a new series: against what holds the resource (the dates moving left out)
    and the dates moved before it."""
    assert isinstance(request.starts_at, LocalMoment) and isinstance(request.ends_at, LocalMoment)
    rules = context.rules
    zone = rules.zone
    first = dates[0][0]
    offset = request.starts_at.day - to_local(first["starts_at"], zone).date()
    end_offset = request.ends_at.day - request.starts_at.day
    planned = []
    for booking, pending in dates:
        day = to_local(booking["starts_at"], zone).date() + offset
        start = instant(LocalMoment(day, request.starts_at.at), zone, "starts_at")
        end = instant(LocalMoment(day + end_offset, request.ends_at.at), zone, "ends_at")
        planned.append((booking, pending, day, start, end))
    mine = {b["id"] for b, _ in dates} | {p["id"] for _, p in dates if p is not None}
    instants = [
        (s, e) for *_, s, e in planned if isinstance(s, datetime) and isinstance(e, datetime)
    ]
    held = []
    used: dict[date, int] = {}
    if instants:
        span_start = min(s for s, _ in instants)
        span_end = max(max(e, s) for s, e in instants) + rules.buffer
        held = [
            h for h in holds_during(session, context, span_start, span_end, now) if h.id not in mine
        ]
        if rules.weekly_quota_minutes is not None:
            old_start = min(b["starts_at"] for b, _ in dates)
            week_start, _ = local_week_bounds(min(span_start, old_start), zone)
            _, week_end = local_week_bounds(
                max(span_end, max(b["ends_at"] for b, _ in dates)), zone
            )
            used = minutes_by_week(session, context, week_start, week_end)
            for booking, pending in dates:
                for row in (booking, pending):
                    if row is not None and Status(row["status"]) in HOLDING_STATUSES:
                        monday = monday_of(row["starts_at"], zone)
                        used[monday] = used.get(monday, 0) - minutes_between(
                            row["starts_at"], row["ends_at"]
                        )
    starts = [h.starts_at for h in held]
    seats_of = request.seats
    result = []
    accepted: list[Request] = []
    for booking, pending, day, start, end in planned:
        was = (booking["starts_at"], booking["ends_at"])
        unreadable = [v for v in (start, end) if isinstance(v, Violation)]
        if unreadable:
            result.append((Move(booking["id"], *was, day, None, None, unreadable[:1]), None))
            continue
        assert isinstance(start, datetime) and isinstance(end, datetime)
        seats = booking["seats"] if seats_of is None else seats_of
        candidate = Request(start, end, seats)
        low = bisect.bisect_left(starts, start - MAX_HOLD)
        high = bisect.bisect_left(starts, max(end, start) + rules.buffer)
        nearby = [h.hold(context.member.id) for h in held[low:high]]
        nearby += [Hold(a.starts_at, a.ends_at + rules.buffer, a.seats) for a in accepted]
        monday = monday_of(start, zone)
        minutes = used.get(monday, 0) + sum(
            minutes_between(a.starts_at, a.ends_at)
            for a in accepted
            if monday_of(a.starts_at, zone) == monday
        )
        violations = blocking(evaluate(context, candidate, now, nearby, minutes), context.overrides)
        new = {
            "starts_at": start,
            "ends_at": end,
            "blocked_until": end + rules.buffer,
            "seats": seats,
            "purpose": (booking["purpose"] if request.purpose is None else request.purpose).strip(),
        }
        if not violations and (
            _same(booking, new) or (_asks_approval(context, booking) and _same(pending, new))
        ):
            violations = [Violation("unchanged")]
        if not violations:
            accepted.append(candidate)
        result.append((Move(booking["id"], *was, day, start, end, violations), new))
    return result


def preview_following(request: ChangeRequest, now: datetime) -> Following:
    """Which dates can move and which would stay as they are, without changing anything."""
    session = db.session
    context, dates = _later_dates(session, request, now, lock=False)
    _state(context, dates[0][0], now)
    return Following([move for move, _ in _moves(session, context, request, dates, now)])


def change_following(request: ChangeRequest, now: datetime) -> Following:
    """Move a date of a series and every later one by the same days, to the new times, in
    one transaction: the dates that are free move (or wait for a manager), the others stay
    as they are. Nothing free: BookingError, nothing moves."""
    reason = request.reason.strip()

    def work(session: Session) -> Following:
        context, dates = _later_dates(session, request, now, lock=True)
        _state(context, dates[0][0], now)
        waiting = _lapse(session, now, [p for _, p in dates])
        dates = [(b, p) for (b, _), p in zip(dates, waiting, strict=True)]
        judged = _moves(session, context, request, dates, now)
        problems = _reason_violations(context, reason)
        if problems:
            raise BookingError(problems)
        free = [(move, new) for move, new in judged if move.is_free]
        if not free:
            taken = {"capacity", "own_overlap"}
            everything_taken = all(
                any(v.code in taken for v in move.violations) for move, _ in judged
            )
            raise BookingError(
                [Violation("series_taken" if everything_taken else "series_empty", "day")]
            )
        by_id = {b["id"]: (b, p) for b, p in dates}
        writes = _Writes()
        result = Following([move for move, _ in judged])
        moving = [
            by_id[move.reservation_id][0]
            for move, _ in free
            if not _asks_approval(context, by_id[move.reservation_id][0])
        ]
        moving_ids = {row["id"] for row in moving}
        series_id = _reshape_series(session, context, request, dates, moving, now)
        for move, new in free:
            assert new is not None
            booking, pending = by_id[move.reservation_id]
            if series_id is not None and booking["id"] in moving_ids:
                new = {**new, "series_id": series_id}
            result.outcomes[booking["id"]] = writes.add(context, booking, pending, new, now, reason)
        writes.write(session, context, now, reason)
        return result

    return guarded(work)


def _reshape_series(
    session: Session,
    context: Context,
    request: ChangeRequest,
    dates: list[tuple[dict[str, Any], dict[str, Any] | None]],
    moving: list[dict[str, Any]],
    now: datetime,
) -> int | None:
    """The series says what its dates are ("every Thursday, 14:00–16:00"): dates that move
    for good take its new words with them. When the series keeps other dates (earlier ones,
    or dates left aside), the moving ones become a series of their own, from the first of
    them; otherwise the series itself changes. Returns the series the moving dates belong
    to, when it is a new one."""
    if not moving:
        return None
    assert isinstance(request.starts_at, LocalMoment) and isinstance(request.ends_at, LocalMoment)
    series = session.get(Series, moving[0]["series_id"])
    if series is None:
        return None
    zone = context.rules.zone
    offset = request.starts_at.day - to_local(dates[0][0]["starts_at"], zone).date()
    moving_ids = {row["id"] for row in moving}
    others = session.scalar(
        sa.select(sa.func.count(Reservation.id)).where(
            Reservation.series_id == series.id,
            Reservation.replaces_id.is_(None),
            Reservation.id.not_in(moving_ids),
        )
    )
    weekdays = ",".join(
        str((int(d) + offset.days) % 7) for d in series.weekdays.split(",") if d.strip().isdigit()
    )
    first_day = to_local(moving[0]["starts_at"], zone).date() + offset
    shape = {
        "weekdays": weekdays,
        "local_start": request.starts_at.at,
        "local_end": request.ends_at.at,
        "purpose": series.purpose if request.purpose is None else request.purpose.strip(),
    }
    if not others:
        for name, value in shape.items():
            setattr(series, name, value)
        series.starts_on = series.starts_on + offset
        if series.until is not None:
            series.until = series.until + offset
        session.flush()
        return None
    values = {
        "resource_id": series.resource_id,
        "user_id": series.user_id,
        "created_by_id": context.actor.id,
        "frequency": series.frequency,
        "interval_count": series.interval_count,
        "starts_on": first_day,
        "until": series.until + offset if series.until is not None else None,
        "occurrences": None if series.until is not None else len(moving),
        "created_at": now,
        **shape,
    }
    return session.scalar(sa.insert(Series).returning(Series.id), values)


__all__ = [
    "ChangeRequest",
    "Changed",
    "Following",
    "Move",
    "Outcome",
    "change",
    "change_following",
    "preview_following",
    "withdraw_change",
]
