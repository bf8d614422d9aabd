"""Following a calendar the venue keeps elsewhere (the social centre's own room calendar,
a shared Google or Nextcloud calendar) as busy time.

Its events are read from its iCal address (``security.fetching``: public addresses only,
unless the administrator allows a host; a size and a time limit), expanded
(``calendar_files``) over the days anyone may book, merged where they overlap, and
written as ``Closure`` rows of the calendar (``calendar_id``) that hold nothing but the
calendar's label: the engine refuses bookings there, and the weeks, the search, the
schedule and the feeds show them as "busy — <label>", never what the events were.

``refresh`` asks conditionally (``If-None-Match``/``If-Modified-Since``): a calendar that
did not change costs one request answered 304 and writes nothing; one answered 200 with
the same content writes nothing either. Otherwise only the busy times that changed are
deleted or inserted, so that the feeds' stamps move only when something did. A calendar
that cannot be read keeps its last busy times, and the manager's screen says since when
and why (``last_error``). The background worker refreshes calendars every
``REFRESH_EVERY``; ``flask refresh-calendars`` does it from cron.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from ...database import run_write
from ...extensions import db
from ...localtime import local_day_bounds, to_local
from ...models import Closure, FollowedCalendar, Resource, Venue
from ...rules import Violation
from ...security.fetching import FetchError, FetchPolicy, check_url, fetch
from ..audit import record_admin
from ..booking.lifecycle import lock_resources
from ..errors import NotAllowedError, SettingsError
from .calendar_files import CalendarFileError, busy_spans, digest, read_calendar
from .managing import managed_venue
from .validation import MAX_HORIZON_DAYS

REFRESH_EVERY = timedelta(minutes=15)
MAX_LABEL = 80
# Busy times are written over the longest horizon of the resources concerned, at least
# this many days, and read in full again once these days have moved on.
MIN_DAYS = 30
REEXPAND_AFTER = timedelta(days=7)


@dataclass(frozen=True)
class FollowRequest:
    venue_id: int
    resource_id: int | None  # None: the whole venue
    label: str
    url: str


@dataclass(frozen=True)
class Outcome:
    """What a refresh did: requests sent, busy times written or removed, and whether it
    wrote at all (a calendar unchanged writes nothing)."""

    requests: int = 0
    added: int = 0
    removed: int = 0
    wrote: bool = False
    error: str = ""


def _checked(request: FollowRequest) -> list[Violation]:
    violations = []
    label = " ".join(request.label.split())
    if not label:
        violations.append(Violation("label_required", "label"))
    elif len(label) > MAX_LABEL:
        violations.append(Violation("too_long_text", "label", {"max": MAX_LABEL}))
    try:
        check_url(request.url)
    except FetchError as error:
        violations.append(Violation("calendar_" + error.code, "url", {"detail": error.detail}))
    return violations


def _days(session: Session, venue_id: int, resource_id: int | None) -> int:
    """How many days ahead busy times matter: the longest horizon of the resources."""
    query = sa.select(sa.func.max(Resource.horizon_days)).where(Resource.venue_id == venue_id)
    if resource_id is not None:
        query = query.where(Resource.id == resource_id)
    longest = session.scalar(query) or MIN_DAYS
    return min(max(int(longest), MIN_DAYS), MAX_HORIZON_DAYS) + 1


def _window(zone_name: str, days: int, now: datetime) -> tuple[datetime, datetime, date]:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(zone_name)
    today = to_local(now, zone).date()
    last = today + timedelta(days=days)
    return local_day_bounds(today, zone)[0], local_day_bounds(last, zone)[1], last


def _read(body: bytes, zone_name: str, start: datetime, end: datetime) -> list:
    from zoneinfo import ZoneInfo

    return busy_spans(read_calendar(body, ZoneInfo(zone_name), start, end))


def follow(request: FollowRequest, actor_id: int, now: datetime, policy: FetchPolicy) -> int:
    """Follow a calendar once it can be read; its busy times are written at once. Returns
    the new calendar's id. Nothing is kept when the address cannot be read."""
    session = db.session
    venue, _ = managed_venue(session, request.venue_id, actor_id)
    violations = _checked(request)
    if request.resource_id is not None and (
        session.scalar(
            sa.select(Resource.id).where(
                Resource.id == request.resource_id, Resource.venue_id == venue.id
            )
        )
        is None
    ):
        violations.append(Violation("unknown_resource", "resource"))
    if violations:
        raise SettingsError(violations)
    zone = venue.timezone
    start, end, last = _window(zone, _days(session, venue.id, request.resource_id), now)
    session.rollback()  # nothing held open while the network answers
    try:
        fetched = fetch(request.url.strip(), policy)
        assert fetched.body is not None
        spans = _read(fetched.body, zone, start, end)
    except FetchError as error:
        raise SettingsError(
            [Violation("calendar_" + error.code, "url", {"detail": error.detail})]
        ) from None
    except CalendarFileError as error:
        raise SettingsError(
            [Violation("calendar_" + error.code, "url", {"detail": error.detail})]
        ) from None

    def work(session: Session) -> int:
        venue, actor = managed_venue(session, request.venue_id, actor_id)
        calendar = FollowedCalendar(
            venue_id=venue.id,
            resource_id=request.resource_id,
            label=" ".join(request.label.split()),
            url=request.url.strip(),
            etag=fetched.etag[:200],
            last_modified=fetched.last_modified[:100],
            digest=digest(fetched.body.decode("latin-1")),  # type: ignore[union-attr]
            last_success_at=now,
            expanded_until=last,
            created_by_id=actor.id,
            created_at=now,
        )
        session.add(calendar)
        session.flush()
        _apply(session, calendar, spans, start, now)
        record_admin(
            session,
            "calendar.followed",
            venue_id=venue.id,
            actor_id=actor.id,
            now=now,
            label=calendar.label,
            subject_id=calendar.id,
            resource_id=calendar.resource_id,
            # The address may hold a secret (Google's private addresses): its host only.
            changes=[["host", None, check_url(calendar.url)[1]], ["busy", None, len(spans)]],
            detail=calendar.label,
        )
        return calendar.id

    return run_write(work)


def _apply(
    session: Session,
    calendar: FollowedCalendar,
    spans: list[tuple[datetime, datetime]],
    start: datetime,
    now: datetime,
) -> tuple[int, int]:
    """Make the calendar's busy times from ``start`` on be ``spans``: only those that
    changed are deleted or inserted. The resources are locked first (the writers'
    order). Returns (added, removed)."""
    existing = {
        (s, e): cid
        for cid, s, e in session.execute(
            sa.select(Closure.id, Closure.starts_at, Closure.ends_at).where(
                Closure.calendar_id == calendar.id, Closure.ends_at > start
            )
        )
    }
    wanted = set(spans)
    gone = [cid for span, cid in existing.items() if span not in wanted]
    new = sorted(wanted - set(existing))
    if gone or new:
        ids = [calendar.resource_id] if calendar.resource_id is not None else None
        if ids is None:
            ids = list(
                session.scalars(
                    sa.select(Resource.id).where(Resource.venue_id == calendar.venue_id)
                )
            )
        lock_resources(session, ids)
    for position in range(0, len(gone), 500):
        session.execute(sa.delete(Closure).where(Closure.id.in_(gone[position : position + 500])))
    if new:
        session.execute(
            sa.insert(Closure),
            [
                {
                    "uid": str(uuid.uuid4()),
                    "venue_id": calendar.venue_id,
                    "resource_id": calendar.resource_id,
                    "starts_at": s,
                    "ends_at": e,
                    "reason": calendar.label,
                    "reason_public": True,
                    "created_by_id": None,
                    "created_at": now,
                    "updated_at": now,
                    "sequence": 0,
                    "calendar_id": calendar.id,
                }
                for s, e in new
            ],
        )
    calendar.busy_count = len(wanted)
    return len(new), len(gone)


_STATE = (
    sa.select(
        FollowedCalendar.id,
        FollowedCalendar.url,
        FollowedCalendar.etag,
        FollowedCalendar.last_modified,
        FollowedCalendar.digest,
        FollowedCalendar.last_error,
        FollowedCalendar.expanded_until,
        FollowedCalendar.venue_id,
        FollowedCalendar.resource_id,
        Venue.timezone,
    )
    .join(Venue, Venue.id == FollowedCalendar.venue_id)
    .where(FollowedCalendar.id == sa.bindparam("calendar_id"))
)


def refresh(calendar_id: int, now: datetime, policy: FetchPolicy) -> Outcome:
    """Read the calendar again and bring its busy times up to date."""
    session = db.session
    row = session.execute(_STATE, {"calendar_id": calendar_id}).one_or_none()
    if row is None:
        raise NotAllowedError("not_found")
    _, url, etag, modified, seen, last_error, expanded, venue_id, resource_id, zone = row
    days = _days(session, venue_id, resource_id)
    start, end, last = _window(zone, days, now)
    # Once the days it should cover have moved on, read it in full to expand further.
    stale = expanded is None or last - expanded >= REEXPAND_AFTER
    session.rollback()  # no transaction open while the network answers
    try:
        fetched = fetch(
            url, policy, etag="" if stale else etag, last_modified="" if stale else modified
        )
    except FetchError as error:
        return _failed(calendar_id, now, error.code, error.detail, 1)
    if fetched.not_modified:
        if last_error:
            _cleared(calendar_id, now)
            return Outcome(fetched.requests, wrote=True)
        return Outcome(fetched.requests)
    assert fetched.body is not None
    body_digest = digest(fetched.body.decode("latin-1"))
    if body_digest == seen and not stale and not last_error:
        return Outcome(fetched.requests)
    try:
        spans = _read(fetched.body, zone, start, end)
    except CalendarFileError as error:
        return _failed(calendar_id, now, error.code, error.detail, fetched.requests)

    def work(session: Session) -> tuple[int, int]:
        calendar = session.get(FollowedCalendar, calendar_id)
        if calendar is None:  # unfollowed meanwhile
            return 0, 0
        added, removed = _apply(session, calendar, spans, start, now)
        calendar.etag = fetched.etag[:200]
        calendar.last_modified = fetched.last_modified[:100]
        calendar.digest = body_digest
        calendar.expanded_until = last
        calendar.last_success_at = now
        calendar.last_error = calendar.last_error_detail = ""
        calendar.last_error_at = calendar.failing_since = None
        return added, removed

    added, removed = run_write(work)
    return Outcome(fetched.requests, added, removed, wrote=True)


def _failed(calendar_id: int, now: datetime, code: str, detail: str, requests: int) -> Outcome:
    """Keep the busy times already known, and say why and since when it cannot be read."""

    def work(session: Session) -> None:
        calendar = session.get(FollowedCalendar, calendar_id)
        if calendar is None:
            return
        calendar.last_error = code[:40]
        calendar.last_error_detail = detail[:200]
        calendar.last_error_at = now
        calendar.failing_since = calendar.failing_since or now

    run_write(work)
    return Outcome(requests, wrote=True, error=code)


def _cleared(calendar_id: int, now: datetime) -> None:
    def work(session: Session) -> None:
        calendar = session.get(FollowedCalendar, calendar_id)
        if calendar is not None:
            calendar.last_error = calendar.last_error_detail = ""
            calendar.last_error_at = calendar.failing_since = None
            calendar.last_success_at = now

    run_write(work)


def refresh_by(calendar_id: int, actor_id: int, now: datetime, policy: FetchPolicy) -> Outcome:
    """A manager's "read it now": the calendar of a venue they manage, refreshed."""
    calendar = db.session.get(FollowedCalendar, calendar_id)
    if calendar is None:
        raise NotAllowedError("not_found")
    managed_venue(db.session, calendar.venue_id, actor_id)
    return refresh(calendar_id, now, policy)


def refresh_all(
    now: datetime,
    policy: FetchPolicy,
    *,
    due: Callable[[int], bool] = lambda _id: True,
    report: Callable[[int, Outcome], None] | None = None,
) -> list[Outcome]:
    """Refresh every followed calendar that ``due`` says is due, one after the other."""
    ids = list(db.session.scalars(sa.select(FollowedCalendar.id).order_by(FollowedCalendar.id)))
    db.session.rollback()
    outcomes = []
    for calendar_id in ids:
        if not due(calendar_id):
            continue
        try:
            outcome = refresh(calendar_id, now, policy)
        except NotAllowedError:
            continue  # unfollowed meanwhile
        outcomes.append(outcome)
        if report is not None:
            report(calendar_id, outcome)
    return outcomes


def unfollow(calendar_id: int, actor_id: int, now: datetime) -> FollowedCalendar:
    """Stop following a calendar: its busy times go with it, past ones included."""

    def work(session: Session) -> FollowedCalendar:
        calendar = session.get(FollowedCalendar, calendar_id)
        if calendar is None:
            raise NotAllowedError("not_found")
        venue, actor = managed_venue(session, calendar.venue_id, actor_id)
        removed = session.execute(sa.delete(Closure).where(Closure.calendar_id == calendar.id))
        record_admin(
            session,
            "calendar.unfollowed",
            venue_id=venue.id,
            actor_id=actor.id,
            now=now,
            label=calendar.label,
            subject_id=calendar.id,
            resource_id=calendar.resource_id,
            changes=[["busy", int(removed.rowcount or 0), None]],
            detail=calendar.label,
        )
        session.delete(calendar)
        return calendar

    return run_write(work)


def venue_calendars(session: Session, venue_id: int) -> list[FollowedCalendar]:
    return list(
        session.scalars(
            sa.select(FollowedCalendar)
            .where(FollowedCalendar.venue_id == venue_id)
            .options(joinedload(FollowedCalendar.resource))
            .order_by(FollowedCalendar.label, FollowedCalendar.id)
        )
    )
