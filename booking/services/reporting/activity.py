"""The activity report of one venue or of the network, for a period and the one before it.

What funders ask: hours booked and occupancy per resource against the hours
open (closures deducted, seats counted); how many people booked and how many
for the first time; what became of the requests, and how long a decision
took; when in the week things are used; the trainings granted.

Every figure comes from an aggregate query, a fixed number of them whatever
the number of reservations. Local time (which day, which hour, which month)
comes from the period's slices (``booking.services.reporting.periods``): each slice
carries its UTC offset, so SQLite needs no time zone support.

Counting rules:
- time booked is the confirmed reservations' time that falls inside the
  period (a booking across midnight on the last day counts up to midnight),
  multiplied by its seats; the buffer after a booking is not counted;
- bookings, statuses and people count reservations that *start* in the
  period; decisions count the answers *given* in the period;
- the heat map spreads each booking over the local hours it covers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from ...models import (
    MAX_HOLD,
    AuditEvent,
    Closure,
    OpeningPeriod,
    Qualification,
    QualificationGrant,
    Reservation,
    Resource,
    Status,
    User,
    Venue,
)
from ...permissions import can_manage, managed_venue_ids_query
from ..errors import NotAllowedError
from .opening import Hours, Openable, time_open
from .periods import Period, slices
from .sqltime import INSTANT, constants, epoch, greatest, least

# Minutes from Thursday 1 January 1970 (the epoch) back to Monday: weeks start on Monday.
EPOCH_WEEKDAY_MINUTES = 3 * 24 * 60
WEEK_MINUTES = 7 * 24 * 60
WEEK_HOURS = 7 * 24
DECISIONS = ("approved", "refused")


@dataclass(frozen=True)
class Compared:
    """A figure for the period reported and for the one before it."""

    current: float | None
    previous: float | None

    @property
    def change(self) -> float | None:
        """The relative change (0.25: a quarter more), when there is something to compare."""
        if self.current is None or not self.previous:
            return None
        return (self.current - self.previous) / self.previous


def _ratio(part: Compared, whole: Compared) -> Compared:
    return Compared(
        part.current / whole.current if whole.current else None,
        part.previous / whole.previous if whole.previous else None,
    )


@dataclass(frozen=True)
class ResourceUse:
    resource_id: int
    name: str
    venue_name: str
    capacity: int
    is_active: bool
    booked_minutes: Compared  # seat-minutes of confirmed bookings inside the period
    open_minutes: Compared  # seat-minutes open: hours open less closures, times the seats
    bookings: Compared  # confirmed bookings starting in the period

    @property
    def occupancy(self) -> Compared:
        return _ratio(self.booked_minutes, self.open_minutes)


@dataclass(frozen=True)
class TrainingCount:
    name: str
    venue_name: str
    granted: Compared


@dataclass(frozen=True)
class Report:
    venues: list[Venue]
    period: Period
    before: Period
    resources: list[ResourceUse]
    statuses: dict[Status, Compared]
    people: Compared
    newcomers: Compared
    decisions: Compared
    median_decision_minutes: Compared
    heatmap: list[list[int]]  # [weekday][hour] → seat-minutes booked, in the period
    timeline: list[tuple[date, int]]  # first day of each bar → seat-minutes booked
    trainings: list[TrainingCount] = field(default_factory=list)

    @property
    def booked_minutes(self) -> Compared:
        return _sum(r.booked_minutes for r in self.resources)

    @property
    def open_minutes(self) -> Compared:
        return _sum(r.open_minutes for r in self.resources)

    @property
    def occupancy(self) -> Compared:
        return _ratio(self.booked_minutes, self.open_minutes)

    @property
    def bookings(self) -> Compared:
        return _sum(r.bookings for r in self.resources)

    @property
    def requests(self) -> Compared:
        """Every reservation starting in the period, whatever became of it."""
        return _sum(self.statuses.values())

    @property
    def venue(self) -> Venue | None:
        return self.venues[0] if len(self.venues) == 1 else None


def _sum(figures: Sequence[Compared] | object) -> Compared:
    items = list(figures)
    return Compared(
        sum(f.current or 0 for f in items),
        sum(f.previous or 0 for f in items),
    )


# --- who sees which venues ---------------------------------------------------------------


def report_venues(session: Session, actor: User, slug: str | None) -> list[Venue]:
    """The venues a report covers: the one asked for, if the person manages it; every venue
    they manage (every venue, for administrators) when none is named."""
    if slug:
        venue = session.scalar(sa.select(Venue).where(Venue.slug == slug))
        if venue is None or not can_manage(actor, venue):
            raise NotAllowedError("not_found")
        return [venue]
    venues = list(
        session.scalars(
            sa.select(Venue)
            .where(Venue.id.in_(managed_venue_ids_query(actor)))
            .order_by(Venue.name)
        )
    )
    if not venues:
        raise NotAllowedError("manage")
    return venues


# --- the slices as a table -----------------------------------------------------------------

SLICE_COLUMNS = (
    ("zone", sa.String()),
    ("starts_at", INSTANT),
    ("ends_at", INSTANT),
    # starts_at less the longest hold: the lower bound that keeps each join an index range.
    ("earliest", INSTANT),
    ("period", sa.Integer()),
    # The first instant of the slice's period.
    ("period_starts_at", INSTANT),
    ("bucket", sa.Integer()),
    ("offset_s", sa.Integer()),
)


def slice_table(venues: Sequence[Venue], period: Period, before: Period) -> sa.CTE:
    zones = {v.timezone: v.zone for v in venues}
    rows = [
        (
            s.zone,
            s.starts_at,
            s.ends_at,
            s.starts_at - MAX_HOLD,
            s.period,
            (period if s.period == 0 else before).bounds(zones[s.zone])[0],
            s.bucket,
            s.offset_seconds,
        )
        for zone in sorted(zones)
        for s in slices(zone, period, before)
    ]
    return constants("slices", SLICE_COLUMNS, rows)


def window(venues: Sequence[Venue], period: Period, before: Period) -> tuple[datetime, datetime]:
    """The instants the two periods span, whatever the venues' zones."""
    zones = [v.zone for v in venues]
    return (
        min(before.bounds(z)[0] for z in zones),
        max(period.bounds(z)[1] for z in zones),
    )


@dataclass(frozen=True)
class Scope:
    """The resources reported on, by time zone; and the slices of the periods."""

    resources: dict[str, list[int]]  # zone → resource ids
    slices: sa.CTE
    # zone → the first instants of the period before, of the period, and after it
    bounds: dict[str, tuple[datetime, datetime, datetime]]

    def period_of(
        self, instant: sa.ColumnElement[datetime], resource_id: sa.ColumnElement[int]
    ) -> sa.ColumnElement[int | None]:
        """0 for an instant in the period, 1 in the one before, NULL outside, in the zone
        of the resource's venue."""

        def which(bounds: tuple[datetime, datetime, datetime]) -> sa.ColumnElement[int | None]:
            before, start, end = bounds
            return sa.case(
                (sa.and_(instant >= start, instant < end), 0),
                (sa.and_(instant >= before, instant < start), 1),
                else_=sa.null(),
            )

        if len(self.bounds) == 1:
            return which(next(iter(self.bounds.values())))
        return sa.case(
            *(
                (resource_id.in_(self.resources.get(zone, [])), which(bounds))
                for zone, bounds in self.bounds.items()
            ),
            else_=sa.null(),
        )

    def reservations(self, resource_id: sa.ColumnElement[int]) -> sa.ColumnElement[bool]:
        """Rows of these resources, each with the slices of its venue's zone."""
        sl = self.slices
        if len(self.resources) == 1:  # the usual case: the slices are all of that zone
            return resource_id.in_(next(iter(self.resources.values())))
        return sa.or_(
            *(
                sa.and_(sl.c.zone == zone, resource_id.in_(ids))
                for zone, ids in self.resources.items()
            )
        )

    def overlapping(self) -> sa.ColumnElement[bool]:
        """Reservations that meet a slice: a range of the index on their resource and start."""
        sl = self.slices
        return sa.and_(
            self.reservations(Reservation.resource_id),
            *Reservation.overlapping(
                sl.c.starts_at, sl.c.ends_at, with_buffer=False, earliest=sl.c.earliest
            ),
        )

    def starting(self) -> sa.ColumnElement[bool]:
        """Reservations that start in a slice."""
        sl = self.slices
        return sa.and_(
            self.reservations(Reservation.resource_id),
            Reservation.starts_at >= sl.c.starts_at,
            Reservation.starts_at < sl.c.ends_at,
        )

    def joined(self, on: sa.ColumnElement[bool]) -> sa.Select:
        """The slices, then for each one a range of the reservations' index on status and
        start. SQLite is told to take that index: the other one (resource and start) would
        read the table in no order at all, and cost twice as much."""
        return (
            sa.select()
            .select_from(self.slices)
            .join(Reservation, on)
            .with_hint(Reservation, "INDEXED BY ix_reservation_status_starts", "sqlite")
        )


# --- the queries --------------------------------------------------------------------------


def _use(session: Session, scope: Scope) -> list[sa.Row]:
    """By resource, period, bar of the timeline and status: the seat-seconds of confirmed
    bookings inside each slice, and the reservations that start there. One pass."""
    sl = scope.slices
    start = greatest(Reservation.starts_at, sl.c.starts_at)
    end = least(Reservation.ends_at, sl.c.ends_at)
    seconds = sa.case(
        (
            Reservation.status == Status.CONFIRMED,
            Reservation.seats * (epoch(end) - epoch(start)),
        ),
        else_=0,
    )
    started = sa.case((Reservation.starts_at >= sl.c.starts_at, 1), else_=0)
    return session.execute(
        scope.joined(scope.overlapping())
        .where(Reservation.status.in_(list(Status)))
        .add_columns(
            Reservation.resource_id,
            sl.c.period,
            sl.c.bucket,
            Reservation.status,
            sa.func.sum(seconds),
            sa.func.sum(started),
        )
        .group_by(Reservation.resource_id, sl.c.period, sl.c.bucket, Reservation.status)
    ).all()


def _people(session: Session, scope: Scope) -> list[sa.Row]:
    """Different people with a confirmed booking starting in each period; and how many of
    them had none in these venues before the period (their first time).

    The people are found first (one row per person and period); only then is each
    one's history looked up, through the index on member and start.
    """
    sl = scope.slices
    people = (
        scope.joined(scope.starting())
        .where(Reservation.status == Status.CONFIRMED)
        .add_columns(
            sl.c.period.label("period"),
            Reservation.user_id.label("user_id"),
            sa.func.min(sl.c.period_starts_at).label("since"),
        )
        .group_by(sl.c.period, Reservation.user_id)
        .subquery("people")
    )
    earlier = aliased(Reservation)
    first_time = ~sa.exists().where(
        earlier.user_id == people.c.user_id,
        earlier.status == Status.CONFIRMED,
        earlier.starts_at < people.c.since,
        sa.or_(*(earlier.resource_id.in_(ids) for ids in scope.resources.values())),
    )
    return session.execute(
        sa.select(
            people.c.period, sa.func.count(), sa.func.sum(sa.case((first_time, 1), else_=0))
        ).group_by(people.c.period)
    ).all()


def _decision_times(
    scope: Scope, start: datetime, end: datetime, venue_ids: Sequence[int]
) -> sa.Select:
    """Each answer given in the periods, with its period and the seconds it took.

    The answers are read through the index on the log's venue and time (only these
    venues' log, however large the network), each with its reservation by its key
    (materialized, so that SQLite does not go through every reservation of the
    resources instead).
    """
    answers = (
        sa.select(
            scope.period_of(AuditEvent.created_at, Reservation.resource_id).label("period"),
            (epoch(AuditEvent.created_at) - epoch(Reservation.created_at)).label("seconds"),
            Reservation.resource_id.label("resource_id"),
        )
        .select_from(AuditEvent)
        .join(Reservation, Reservation.id == AuditEvent.reservation_id)
        .where(
            AuditEvent.venue_id.in_(list(venue_ids)),
            AuditEvent.action.in_(DECISIONS),
            AuditEvent.created_at >= start,
            AuditEvent.created_at < end,
        )
        .cte("answers")
        .prefix_with("MATERIALIZED")
    )
    return sa.select(answers.c.period, answers.c.seconds).where(
        answers.c.period.is_not(None),
        sa.or_(*(answers.c.resource_id.in_(ids) for ids in scope.resources.values())),
    )


def _decisions(
    session: Session, scope: Scope, start: datetime, end: datetime, venue_ids: Sequence[int]
) -> tuple[dict[int, int], dict[int, float]]:
    """How many answers were given in each period, and the median time they took (seconds).

    PostgreSQL computes the median itself (``percentile_cont``); SQLite has no such
    aggregate, so it counts first, then reads the middle row (or the two middle
    ones) of an ordered query: one more statement per period.
    """
    times = _decision_times(scope, start, end, venue_ids).subquery("times")
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(
            sa.select(
                times.c.period,
                sa.func.count(),
                sa.func.percentile_cont(0.5).within_group(times.c.seconds),
            ).group_by(times.c.period)
        ).all()
        return {p: n for p, n, _ in rows}, {p: float(m) for p, _, m in rows if m is not None}
    counts = dict(
        session.execute(sa.select(times.c.period, sa.func.count()).group_by(times.c.period))
        .tuples()
        .all()
    )
    medians = {}
    for period, count in counts.items():
        middle = session.scalars(
            sa.select(times.c.seconds)
            .where(times.c.period == period)
            .order_by(times.c.seconds)
            .offset((count - 1) // 2)
            .limit(2 - count % 2)
        ).all()
        medians[period] = sum(middle) / len(middle)
    return counts, medians


def _heatmap(session: Session, scope: Scope) -> list[list[int]]:
    """Seat-minutes booked in the period by local weekday and hour.

    Each part of a booking within a slice has one UTC offset: its local start,
    as minutes into the week, and its length are grouped (a few thousand rows
    at most), then spread over the hours they cover by a recursive query.
    """
    sl = scope.slices
    start = greatest(Reservation.starts_at, sl.c.starts_at)
    end = least(Reservation.ends_at, sl.c.ends_at)
    local_minutes = (epoch(start) + sl.c.offset_s) // 60
    into_week = ((local_minutes + EPOCH_WEEKDAY_MINUTES) % WEEK_MINUTES).label("into_week")
    length = ((epoch(end) - epoch(start)) // 60).label("length")
    parts = (
        scope.joined(scope.overlapping())
        .where(Reservation.status == Status.CONFIRMED, sl.c.period == 0)
        .add_columns(into_week, length, sa.func.sum(Reservation.seats).label("seats"))
        .group_by(into_week, length)
        .cte("parts")
    )
    hours = sa.select(
        parts.c.into_week, parts.c.length, parts.c.seats, (parts.c.into_week // 60).label("hour")
    ).cte("hours", recursive=True)
    hours = hours.union_all(
        sa.select(hours.c.into_week, hours.c.length, hours.c.seats, hours.c.hour + 1).where(
            (hours.c.hour + 1) * 60 < hours.c.into_week + hours.c.length
        )
    )
    covered = least((hours.c.hour + 1) * 60, hours.c.into_week + hours.c.length) - greatest(
        hours.c.hour * 60, hours.c.into_week
    )
    cell = (hours.c.hour % WEEK_HOURS).label("cell")
    grid = [[0] * 24 for _ in range(7)]
    for index, minutes in session.execute(
        sa.select(cell, sa.func.sum(hours.c.seats * covered)).group_by(cell)
    ).tuples():
        grid[index // 24][index % 24] = int(minutes or 0)
    return grid


def _trainings(
    session: Session, venue_ids: Sequence[int], period: Period, before: Period
) -> list[TrainingCount]:
    in_period = sa.case((QualificationGrant.granted_on >= period.first, 0), else_=1)
    rows = session.execute(
        sa.select(Qualification.id, Qualification.name, Venue.name, in_period, sa.func.count())
        .join(QualificationGrant, QualificationGrant.qualification_id == Qualification.id)
        .join(Venue, Venue.id == Qualification.venue_id)
        .where(
            Qualification.venue_id.in_(venue_ids),
            QualificationGrant.granted_on >= before.first,
            QualificationGrant.granted_on <= period.last,
        )
        .group_by(Qualification.id, Qualification.name, Venue.name, in_period)
    ).all()
    counts: dict[tuple[int, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for training_id, name, venue_name, which, count in rows:
        counts[(training_id, name, venue_name)][which] = count
    return [
        TrainingCount(name, venue_name, Compared(now, then))
        for (_, name, venue_name), (now, then) in sorted(
            counts.items(), key=lambda item: (item[0][2], item[0][1])
        )
    ]


# --- the time open ------------------------------------------------------------------------


def _openables(session: Session, venues: Sequence[Venue]) -> tuple[list[Resource], list[Openable]]:
    venue_ids = [v.id for v in venues]
    resources = list(
        session.scalars(
            sa.select(Resource)
            .where(Resource.venue_id.in_(venue_ids))
            .order_by(Resource.venue_id, Resource.name)
        )
    )
    zones = {v.id: v.timezone for v in venues}
    own: dict[int, list[tuple[int, object, object]]] = defaultdict(list)
    general: dict[int, list[tuple[int, object, object]]] = defaultdict(list)
    for venue_id, resource_id, weekday, opens, closes in session.execute(
        sa.select(
            OpeningPeriod.venue_id,
            OpeningPeriod.resource_id,
            OpeningPeriod.weekday,
            OpeningPeriod.opens_at,
            OpeningPeriod.closes_at,
        ).where(
            sa.or_(
                OpeningPeriod.venue_id.in_(venue_ids),
                OpeningPeriod.resource_id.in_([r.id for r in resources]),
            )
        )
    ):
        if resource_id is not None:
            own[resource_id].append((weekday, opens, closes))
        else:
            general[venue_id].append((weekday, opens, closes))
    openables = [
        Openable(
            r.id,
            r.venue_id,
            Hours(zones[r.venue_id], tuple(sorted(own.get(r.id) or general.get(r.venue_id, [])))),  # type: ignore[arg-type]
        )
        for r in resources
    ]
    return resources, openables


def _closures(
    session: Session, venue_ids: Sequence[int], start: datetime, end: datetime
) -> list[tuple[int, int | None, datetime, datetime]]:
    return [
        tuple(row)
        for row in session.execute(
            sa.select(
                Closure.venue_id, Closure.resource_id, Closure.starts_at, Closure.ends_at
            ).where(Closure.venue_id.in_(venue_ids), *Closure.overlapping(start, end))
        )
    ]


# --- the report ---------------------------------------------------------------------------


def activity_report(session: Session, venues: Sequence[Venue], period: Period) -> Report:
    """The report of ``venues`` over ``period``, with the period before it beside."""
    before = period.previous()
    venue_ids = [v.id for v in venues]
    names = {v.id: v.name for v in venues}
    zones = {v.id: v.timezone for v in venues}
    start, end = window(venues, period, before)
    resources, openables = _openables(session, venues)
    by_zone: dict[str, list[int]] = defaultdict(list)
    for resource in resources:
        by_zone[zones[resource.venue_id]].append(resource.id)
    scope = Scope(
        dict(by_zone) or {venues[0].timezone: []},
        slice_table(venues, period, before),
        {v.timezone: (*before.bounds(v.zone)[:1], *period.bounds(v.zone)) for v in venues},
    )

    booked: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    counted: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    statuses = {status: [0, 0] for status in Status}
    buckets = period.buckets()
    timeline = [0] * len(buckets)
    for resource_id, which, bucket, status, seconds, started in _use(session, scope):
        booked[resource_id][which] += int(seconds or 0)
        statuses[Status(status)][which] += int(started or 0)
        if status == Status.CONFIRMED:
            counted[resource_id][which] += int(started or 0)
        if which == 0:
            timeline[bucket] += int(seconds or 0)

    opened = time_open(openables, _closures(session, venue_ids, start, end), [period, before])
    uses = [
        ResourceUse(
            resource_id=r.id,
            name=r.name,
            venue_name=names[r.venue_id],
            capacity=r.capacity,
            is_active=r.is_active,
            booked_minutes=Compared(booked[r.id][0] // 60, booked[r.id][1] // 60),
            open_minutes=Compared(
                opened[r.id][0] * r.capacity if r.is_active else 0,
                opened[r.id][1] * r.capacity if r.is_active else 0,
            ),
            bookings=Compared(counted[r.id][0], counted[r.id][1]),
        )
        for r in resources
        # A retired resource shows while it has bookings to account for.
        if r.is_active or any(booked[r.id])
    ]

    people = {which: (count, new) for which, count, new in _people(session, scope)}
    decided, medians = _decisions(session, scope, start, end, venue_ids)

    def pair(values: dict[int, int]) -> Compared:
        return Compared(values.get(0, 0), values.get(1, 0))

    return Report(
        venues=list(venues),
        period=period,
        before=before,
        resources=uses,
        statuses={status: Compared(*counts) for status, counts in statuses.items()},
        people=pair({which: count for which, (count, _) in people.items()}),
        newcomers=pair({which: new for which, (_, new) in people.items()}),
        decisions=pair(decided),
        median_decision_minutes=Compared(
            medians[0] / 60 if 0 in medians else None, medians[1] / 60 if 1 in medians else None
        ),
        heatmap=_heatmap(session, scope),
        timeline=[(day, seconds // 60) for day, seconds in zip(buckets, timeline, strict=True)],
        trainings=_trainings(session, venue_ids, period, before),
    )


# --- the reservations themselves --------------------------------------------------------


def reservations_in(session: Session, venues: Sequence[Venue], period: Period) -> Iterator[sa.Row]:
    """Every reservation of the venues starting in the period, whatever its status, with
    what an export shows of it; read from the database a thousand at a time."""
    by_zone: dict[str, list[int]] = defaultdict(list)
    for venue in venues:
        by_zone[venue.timezone].append(venue.id)
    in_period = sa.or_(
        *(
            sa.and_(
                Resource.venue_id.in_(ids),
                Reservation.starts_at >= period.bounds(ZoneInfo(zone))[0],
                Reservation.starts_at < period.bounds(ZoneInfo(zone))[1],
            )
            for zone, ids in by_zone.items()
        )
    )
    query = (
        sa.select(
            Reservation.id,
            Venue.name.label("venue"),
            Venue.timezone.label("zone"),
            Resource.name.label("resource"),
            User.display_name.label("person"),
            User.email,
            Reservation.starts_at,
            Reservation.ends_at,
            ((epoch(Reservation.ends_at) - epoch(Reservation.starts_at)) // 60).label("minutes"),
            Reservation.seats,
            Reservation.status,
            Reservation.created_at,
            Reservation.decided_at,
            Reservation.purpose,
        )
        .join(Resource, Resource.id == Reservation.resource_id)
        .join(Venue, Venue.id == Resource.venue_id)
        .join(User, User.id == Reservation.user_id)
        .where(in_period)
        .order_by(Reservation.starts_at, Reservation.id)
        .execution_options(yield_per=1000)
    )
    yield from session.execute(query)


def count_reservations(session: Session, venues: Sequence[Venue], period: Period) -> int:
    """How many rows ``reservations_in`` gives (to say when a spreadsheet would be too big)."""
    return sum(
        session.scalar(
            sa.select(sa.func.count())
            .select_from(Reservation)
            .join(Resource, Resource.id == Reservation.resource_id)
            .where(
                Resource.venue_id.in_([v.id for v in venues if v.timezone == zone]),
                Reservation.starts_at >= period.bounds(ZoneInfo(zone))[0],
                Reservation.starts_at < period.bounds(ZoneInfo(zone))[1],
            )
        )
        or 0
        for zone in {v.timezone for v in venues}
    )
