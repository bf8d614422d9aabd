"""Closures that come back: every week (every Monday morning), every year (the August
closure), or on each of the country's public holidays, until a date or for ever.

A rule (``ClosureRule``) is expanded into ``Closure`` rows, one per occurrence, some two
years ahead (``EXPAND_DAYS``: past the longest booking horizon), and a periodic job
(``extend_rules``: the background worker and ``flask refresh-calendars``) writes the
occurrences that come into that reach. So every reader of closures (the engine, the
weeks, the search, the schedule, the feeds and their triggers, the reports) sees an
occurrence as any closure, and "what is closed then?" stays one indexed range query.

As for a one-off closure, the manager first sees the bookings inside the occurrences
(``preview_rule``) and confirming (``add_rule``) writes the rule, its occurrences and
the cancellations ticked in one transaction. Removing a rule removes its occurrences
to come; those past stay, as history. One occurrence can be removed alone (the venue
opens that Monday after all) like any closure: the job never writes it again.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from ...database import run_write
from ...extensions import db
from ...localtime import local_day_bounds, to_local, wall_clock_instant
from ...models import Closure, ClosureFrequency, ClosureRule, Reservation, Resource, Venue
from ...rules import Violation
from ..audit import record_admin
from ..booking.lifecycle import cancel_held, lock_resources
from ..errors import ChangedMeanwhileError, NotAllowedError, SettingsError
from .closures import MAX_REASON, inside
from .managing import managed_venue

# Occurrences are written this many days ahead: past MAX_HORIZON_DAYS (730), the furthest
# a resource lets members book, with a margin for the job that moves it on.
EXPAND_DAYS = 760
# The job writes more once fewer than this many days are left before the reach.
EXTEND_SLACK = 30

# Public holidays offered: France's, by the parts of it that have their own.
HOLIDAY_REGIONS: tuple[tuple[str, str], ...] = (
    ("FR", ""),  # metropolitan France
    ("FR", "57"),  # Alsace-Moselle (Moselle, Bas-Rhin and Haut-Rhin share them)
    ("FR", "971"),
    ("FR", "972"),
    ("FR", "973"),
    ("FR", "974"),
    ("FR", "976"),
)
# The region a venue's time zone suggests.
ZONE_REGIONS = {
    "America/Guadeloupe": "971",
    "America/Martinique": "972",
    "America/Cayenne": "973",
    "Indian/Reunion": "974",
    "Indian/Mayotte": "976",
}


def region_of(zone_name: str) -> str:
    return ZONE_REGIONS.get(zone_name, "")


@dataclass(frozen=True)
class RuleRequest:
    venue_id: int
    resource_id: int | None  # None: the whole venue
    frequency: str  # weekly, yearly, holidays
    first_day: date  # the first occurrence (weekly: its weekday; yearly: its date)
    last_day: date  # the first occurrence's last day (the same for one day)
    start_time: time | None = None  # None: from the start of the first day
    end_time: time | None = None  # None: until the end of the last day
    until: date | None = None  # the last day an occurrence may start; None: for ever
    reason: str = ""
    reason_public: bool = False
    country: str = ""
    subdivision: str = ""


@dataclass(frozen=True)
class Occurrence:
    starts_at: datetime
    ends_at: datetime
    reason: str


def _holiday_names(country: str, subdivision: str, first: date, last: date) -> dict[date, str]:
    import holidays

    found = holidays.country_holidays(
        country,
        subdiv=subdivision or None,
        years=range(first.year, last.year + 1),
        language="fr",
    )
    return {day: str(name) for day, name in sorted(found.items()) if first <= day <= last}


def _span(rule: RuleRequest | ClosureRule, day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants of the occurrence whose first day is ``day``."""
    last = day + (rule.last_day - rule.first_day)
    start = (
        wall_clock_instant(day, rule.start_time, zone)
        if rule.start_time is not None
        else local_day_bounds(day, zone)[0]
    )
    end = (
        wall_clock_instant(last, rule.end_time, zone)
        if rule.end_time is not None
        else local_day_bounds(last, zone)[1]
    )
    return start, end


def first_days(rule: RuleRequest | ClosureRule, after: date, upto: date) -> list[date]:
    """The first day of each occurrence that starts in (after, upto], the rule's end
    respected (pure)."""
    if rule.until is not None:
        upto = min(upto, rule.until)
    days: list[date] = []
    if upto <= after:
        return days
    frequency = ClosureFrequency(rule.frequency)
    if frequency == ClosureFrequency.WEEKLY:
        skip = max((after - rule.first_day).days // 7, 0)
        day = rule.first_day + timedelta(weeks=skip)
        while day <= upto:
            if day > after:
                days.append(day)
            day += timedelta(weeks=1)
    elif frequency == ClosureFrequency.YEARLY:
        for year in range(max(rule.first_day.year, after.year), upto.year + 1):
            try:
                day = rule.first_day.replace(year=year)
            except ValueError:  # 29 February in a year without one
                continue
            if after < day <= upto and day >= rule.first_day:
                days.append(day)
    return days


def occurrences(
    rule: RuleRequest | ClosureRule, zone: ZoneInfo, after: date, upto: date
) -> list[Occurrence]:
    """The occurrences whose first day is in (after, upto]."""
    reason = rule.reason.strip()
    if ClosureFrequency(rule.frequency) == ClosureFrequency.HOLIDAYS:
        last = upto if rule.until is None else min(upto, rule.until)
        first = max(after + timedelta(days=1), rule.first_day)
        if last < first:
            return []
        return [
            Occurrence(*local_day_bounds(day, zone), f"{reason} — {name}"[:MAX_REASON])
            for day, name in _holiday_names(rule.country, rule.subdivision, first, last).items()
        ]
    return [Occurrence(*_span(rule, day, zone), reason) for day in first_days(rule, after, upto)]


def _check(venue: Venue, request: RuleRequest, now: datetime) -> list[Occurrence]:
    """The occurrences to write now (those not over), or every reason the rule is wrong."""
    violations: list[Violation] = []
    reason = request.reason.strip()
    if not reason:
        violations.append(Violation("reason_required", "reason"))
    elif len(reason) > MAX_REASON:
        violations.append(Violation("too_long_text", "reason", {"max": MAX_REASON}))
    try:
        frequency = ClosureFrequency(request.frequency)
    except ValueError:
        raise SettingsError([Violation("unknown_frequency", "frequency")]) from None
    if frequency == ClosureFrequency.HOLIDAYS:
        if (request.country, request.subdivision) not in HOLIDAY_REGIONS:
            violations.append(Violation("unknown_region", "region"))
    else:
        length = request.last_day - request.first_day
        if length < timedelta(0):
            violations.append(Violation("end_before_start", "ends"))
        elif length >= timedelta(days=7 if frequency == ClosureFrequency.WEEKLY else 365):
            violations.append(Violation("longer_than_repeat", "ends"))
        else:
            start, end = _span(request, request.first_day, venue.zone)
            if end <= start:
                violations.append(Violation("end_before_start", "ends"))
            elif frequency == ClosureFrequency.WEEKLY and end - start >= timedelta(days=7):
                violations.append(Violation("longer_than_repeat", "ends"))
    if request.until is not None and request.until < request.first_day:
        violations.append(Violation("until_before_start", "until"))
    if violations:
        raise SettingsError(violations)
    today = to_local(now, venue.zone).date()
    found = [
        o
        for o in occurrences(
            request,
            venue.zone,
            request.first_day - timedelta(days=1),
            today + timedelta(days=EXPAND_DAYS),
        )
        if o.ends_at > now
    ]
    if not found:
        raise SettingsError([Violation("closure_past", "until")])
    return found


def _resources(session: Session, venue: Venue, resource_id: int | None) -> list[int]:
    query = sa.select(Resource.id).where(Resource.venue_id == venue.id)
    if resource_id is not None:
        query = query.where(Resource.id == resource_id)
    found = list(session.scalars(query))
    if resource_id is not None and not found:
        raise SettingsError([Violation("unknown_resource", "resource")])
    return found


def reservations_inside(
    session: Session, resource_ids: list[int], found: list[Occurrence]
) -> list[Reservation]:
    """The bookings that still hold a slot inside any of the occurrences, earliest first:
    one range query over the occurrences' whole reach, then each checked against them."""
    if not found:
        return []
    candidates = inside(session, resource_ids, found[0].starts_at, found[-1].ends_at)
    starts = [o.starts_at for o in found]
    kept = []
    for reservation in candidates:
        # The occurrences that start before the booking ends: the last of them decides
        # (occurrences of one rule do not overlap one another).
        position = bisect.bisect_left(starts, reservation.ends_at) - 1
        while position >= 0 and found[position].ends_at > reservation.starts_at:
            kept.append(reservation)
            break
    return kept


@dataclass
class RulePreview:
    occurrences: list[Occurrence]
    reservations: list[Reservation]
    reach: date  # occurrences are written up to this day, then as time goes


def preview_rule(request: RuleRequest, actor_id: int, now: datetime) -> RulePreview:
    """The occurrences the rule would write and the bookings inside them: nothing written."""
    session = db.session
    venue, _ = managed_venue(session, request.venue_id, actor_id)
    found = _check(venue, request, now)
    ids = _resources(session, venue, request.resource_id)
    today = to_local(now, venue.zone).date()
    return RulePreview(
        found, reservations_inside(session, ids, found), today + timedelta(days=EXPAND_DAYS)
    )


@dataclass
class RuleResult:
    rule: ClosureRule
    written: int
    cancelled: list[Reservation]


def _closure_rows(rule: ClosureRule, found: Iterable[Occurrence], now: datetime) -> list[dict]:
    import uuid

    return [
        {
            "uid": str(uuid.uuid4()),
            "venue_id": rule.venue_id,
            "resource_id": rule.resource_id,
            "starts_at": o.starts_at,
            "ends_at": o.ends_at,
            "reason": o.reason,
            "reason_public": rule.reason_public,
            "created_by_id": rule.created_by_id,
            "created_at": now,
            "updated_at": now,
            "sequence": 0,
            "rule_id": rule.id,
        }
        for o in found
    ]


def add_rule(
    request: RuleRequest,
    actor_id: int,
    now: datetime,
    *,
    seen_ids: frozenset[int],
    cancel_ids: frozenset[int],
) -> RuleResult:
    """Write the rule and its occurrences, and cancel the bookings ticked among those
    shown (``seen_ids``), all in one transaction."""

    def work(session: Session) -> RuleResult:
        venue, actor = managed_venue(session, request.venue_id, actor_id)
        found = _check(venue, request, now)
        ids = _resources(session, venue, request.resource_id)
        lock_resources(session, ids)
        held = reservations_inside(session, ids, found)
        if {r.id for r in held} - seen_ids:
            raise ChangedMeanwhileError()
        today = to_local(now, venue.zone).date()
        rule = ClosureRule(
            venue_id=venue.id,
            resource_id=request.resource_id,
            frequency=ClosureFrequency(request.frequency),
            first_day=request.first_day,
            last_day=request.last_day,
            start_time=request.start_time,
            end_time=request.end_time,
            until=request.until,
            country=request.country,
            subdivision=request.subdivision,
            reason=request.reason.strip(),
            reason_public=request.reason_public,
            expanded_until=today + timedelta(days=EXPAND_DAYS),
            created_by_id=actor.id,
            created_at=now,
        )
        session.add(rule)
        session.flush()
        session.execute(sa.insert(Closure), _closure_rows(rule, found, now))
        cancelled = cancel_held(
            session,
            [r for r in held if r.id in cancel_ids],
            actor.id,
            rule.reason,
            now,
            action="cancelled_by_closure",
        )
        record_admin(
            session,
            "closure.rule_created",
            venue_id=venue.id,
            actor_id=actor.id,
            now=now,
            label=_label(session, venue, request.resource_id),
            subject_id=rule.id,
            resource_id=request.resource_id,
            changes=[
                ["frequency", None, rule.frequency.value],
                ["first_day", None, rule.first_day.isoformat()],
                ["last_day", None, rule.last_day.isoformat()],
                ["start_time", None, _clock(rule.start_time)],
                ["end_time", None, _clock(rule.end_time)],
                ["until", None, rule.until.isoformat() if rule.until else None],
                ["region", None, f"{rule.country} {rule.subdivision}".strip() or None],
                ["reason", None, rule.reason],
                ["occurrences", None, len(found)],
                ["cancelled", None, len(cancelled)],
            ],
            detail=rule.reason,
        )
        return RuleResult(rule, len(found), cancelled)

    return run_write(work)


def _clock(value: time | None) -> str | None:
    return value.strftime("%H:%M") if value is not None else None


def _label(session: Session, venue: Venue, resource_id: int | None) -> str:
    if resource_id is None:
        return venue.name
    return session.scalar(sa.select(Resource.name).where(Resource.id == resource_id)) or venue.name


def remove_rule(rule_id: int, actor_id: int, now: datetime) -> int:
    """Remove a rule and its occurrences to come (one under way stays: it has begun);
    returns how many were removed."""

    def work(session: Session) -> int:
        rule = session.get(ClosureRule, rule_id)
        if rule is None:
            raise NotAllowedError("not_found")
        venue, actor = managed_venue(session, rule.venue_id, actor_id)
        removed = session.execute(
            sa.delete(Closure).where(Closure.rule_id == rule.id, Closure.starts_at > now)
        ).rowcount
        record_admin(
            session,
            "closure.rule_removed",
            venue_id=venue.id,
            actor_id=actor.id,
            now=now,
            label=_label(session, venue, rule.resource_id),
            subject_id=rule.id,
            resource_id=rule.resource_id,
            changes=[
                ["frequency", rule.frequency.value, None],
                ["reason", rule.reason, None],
                ["occurrences", removed, None],
            ],
            detail=rule.reason,
        )
        session.delete(rule)  # the past occurrences stay, detached (ON DELETE SET NULL)
        return int(removed or 0)

    return run_write(work)


def extend_rules(now: datetime, limit: int = 200) -> int:
    """Write the occurrences that have come within reach since the rules were last
    extended; returns how many. Bookings already inside a new occurrence (made far
    ahead by a manager setting the horizon aside) are left as they are."""

    soon = to_local(now, ZoneInfo("UTC")).date() + timedelta(days=EXPAND_DAYS - EXTEND_SLACK)
    waiting = db.session.scalar(
        sa.select(ClosureRule.id).where(ClosureRule.expanded_until < soon).limit(1)
    )
    db.session.rollback()
    if waiting is None:  # the usual case: nothing to write, no write transaction
        return 0

    def work(session: Session) -> int:
        rules = list(
            session.scalars(
                sa.select(ClosureRule)
                .where(ClosureRule.expanded_until < soon)
                .options(joinedload(ClosureRule.venue))
                .order_by(ClosureRule.id)
                .limit(limit)
            )
        )
        written = 0
        for rule in rules:
            zone = rule.venue.zone
            reach = to_local(now, zone).date() + timedelta(days=EXPAND_DAYS)
            found = occurrences(rule, zone, rule.expanded_until, reach)
            if found:
                session.execute(sa.insert(Closure), _closure_rows(rule, found, now))
                written += len(found)
            rule.expanded_until = reach
        return written

    return run_write(work)


@dataclass
class RuleLine:
    """A rule as the closures screen lists it, with its next occurrence."""

    rule: ClosureRule
    next_start: datetime | None
    next_end: datetime | None


def venue_rules(session: Session, venue_id: int, now: datetime) -> list[RuleLine]:
    """The venue's rules with their next occurrence, in two queries."""
    rules = list(
        session.scalars(
            sa.select(ClosureRule)
            .where(ClosureRule.venue_id == venue_id)
            .options(joinedload(ClosureRule.resource))
            .order_by(ClosureRule.id)
        )
    )
    if not rules:
        return []
    first = (
        sa.select(Closure.rule_id, sa.func.min(Closure.starts_at).label("starts_at"))
        .where(Closure.rule_id.in_([r.id for r in rules]), Closure.ends_at > now)
        .group_by(Closure.rule_id)
        .subquery()
    )
    nexts = {
        rule_id: (start, end)
        for rule_id, start, end in session.execute(
            sa.select(Closure.rule_id, Closure.starts_at, Closure.ends_at).join(
                first,
                sa.and_(Closure.rule_id == first.c.rule_id, Closure.starts_at == first.c.starts_at),
            )
        )
    }
    return [RuleLine(r, *nexts.get(r.id, (None, None))) for r in rules]
