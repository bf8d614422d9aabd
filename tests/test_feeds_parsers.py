"""Every feed, read back by icalendar, vobject and ical.js, shows what was booked.

The scenario lives in Paris around both 2026 DST changes (29 March and
25 October): weekly series that cross them keep their wall-clock time, and
the instants in the feeds, converted back to the venue's time, must be the
times that were booked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient

from booking.extensions import db
from booking.localtime import to_utc
from booking.models import Reservation, Status, User
from booking.rules import Recurrence
from booking.security import tokens
from booking.services import SeriesRequest, approve, book, book_series, cancel, refuse

from .conftest import Factory, feed_token, paris
from .support.icalcheck import FeedClock, ParsedCalendar, read_everywhere, read_everywhere_many

pytestmark = pytest.mark.postgres

PARIS = ZoneInfo("Europe/Paris")
ALL_DAY = [(d, time(0), time(23, 30)) for d in range(7)]


@dataclass(frozen=True)
class Booked:
    """What a member asked for, in the venue's wall-clock time."""

    uid: str
    day: date
    start: time
    end: time
    status: Status


def at(day: date, hhmm: time) -> datetime:
    return to_utc(datetime.combine(day, hhmm), PARIS)


@dataclass
class Scenario:
    member: User
    manager: User
    venue_slug: str
    resource_slug: str
    approval_slug: str
    booked: list[Booked]
    series_uids: list[str]
    pending_uid: str


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FeedClock:
    return FeedClock(monkeypatch, paris(2026, 3, 1, 9, 0))


@pytest.fixture
def scenario(app: Flask, make: Factory, clock: FeedClock) -> Scenario:
    venue = make.venue(slug="la-fabrique", name="La Fabrique", hours=ALL_DAY)
    laser = make.resource(venue, slug="laser", name="Découpeuse laser", max_duration_minutes=600)
    kitchen = make.resource(
        venue, slug="cuisine", name="Cuisine", requires_approval=True, max_duration_minutes=600
    )
    member = make.user(venue, display_name="Karim Mansouri", email="karim@example.org")
    manager = make.manager(venue, display_name="Thomas Leroy", email="thomas@example.org")
    now = clock.now
    booked: list[Booked] = []

    def one(resource_id: int, day: date, start: time, end: time, purpose: str) -> Reservation:
        reservation = book(
            resource_id=resource_id,
            member_id=member.id,
            actor_id=member.id,
            starts_at=at(day, start),
            ends_at=at(day, end),
            purpose=purpose,
            now=now,
        )
        booked.append(Booked(reservation.uid, day, start, end, reservation.status))
        return reservation

    series_uids: list[str] = []
    # Tuesdays 18:00-20:00 across the spring change, then across the autumn one.
    for first in (date(2026, 3, 17), date(2026, 10, 13)):
        result = book_series(
            SeriesRequest(
                resource_id=laser.id,
                member_id=member.id,
                actor_id=member.id,
                recurrence=Recurrence("weekly", first, weekdays=(1,), count=4),
                local_start=time(18, 0),
                local_end=time(20, 0),
                purpose="Atelier du mardi",
            ),
            now=now,
        )
        assert not result.skipped
        for reservation in result.booked:
            local = reservation.starts_at.astimezone(PARIS).date()
            booked.append(Booked(reservation.uid, local, time(18), time(20), Status.CONFIRMED))
            series_uids.append(reservation.uid)
    # On the change days themselves: after the spring gap, and across the
    # repeated autumn hour (four real hours from 01:00 to 04:00).
    one(laser.id, date(2026, 3, 29), time(3, 0), time(5, 0), "Lendemain du changement")
    one(laser.id, date(2026, 10, 25), time(1, 0), time(4, 0), "Nuit du changement")
    one(laser.id, date(2026, 3, 28), time(22, 0), time(23, 30), "Veille du changement")
    pending = one(kitchen.id, date(2026, 3, 30), time(9, 0), time(12, 0), "Repas partagé")
    refused = one(kitchen.id, date(2026, 3, 31), time(9, 0), time(12, 0), "Refusé")
    cancelled = one(laser.id, date(2026, 4, 2), time(10, 0), time(11, 0), "Annulé")
    refuse(refused.id, manager.id, "Cuisine fermée", now + timedelta(hours=1))
    cancel(cancelled.id, member.id, "", now + timedelta(hours=1))
    booked = [Booked(b.uid, b.day, b.start, b.end, _status_of(b.uid)) for b in booked]
    return Scenario(
        member, manager, "la-fabrique", "laser", "cuisine", booked, series_uids, pending.uid
    )


def _status_of(uid: str) -> Status:
    return db.session.scalar(db.select(Reservation.status).where(Reservation.uid == uid))


def _token(user: User, kind: str, app: Flask) -> str:
    with app.test_request_context():
        return feed_token(user, kind)


def _fetch(client: FlaskClient, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, url
    assert response.content_type == "text/calendar; charset=utf-8"
    return response.data


def _local(instant: datetime) -> tuple[date, time]:
    local = instant.astimezone(PARIS)
    return local.date(), local.time()


def _check_times(calendar: ParsedCalendar, expected: list[Booked]) -> None:
    events = calendar.by_uid()
    for booked in expected:
        event = events[booked.uid]
        assert _local(event.start) == (booked.day, booked.start), booked
        assert _local(event.end)[1] == booked.end, booked


def test_every_feed_gives_the_booked_local_times_in_three_parsers(
    app: Flask, client: FlaskClient, scenario: Scenario, auth
) -> None:
    auth.login(scenario.member.email)
    single_id = db.session.scalar(
        db.select(Reservation.id).where(Reservation.uid == scenario.series_uids[1])
    )
    urls = [
        f"/feeds/resources/{scenario.resource_slug}.ics",
        f"/feeds/venues/{scenario.venue_slug}.ics",
        f"/feeds/u/{_token(scenario.member, tokens.MEMBER, app)}.ics",
        f"/feeds/m/{_token(scenario.manager, tokens.MANAGER, app)}.ics",
        f"/reservations/{single_id}.ics",
    ]
    resource_feed, venue_feed, member_feed, manager_feed, single = read_everywhere_many(
        [_fetch(client, url) for url in urls]
    )
    holding = [b for b in scenario.booked if b.status in (Status.PENDING, Status.CONFIRMED)]
    laser_uids = {e.uid for e in venue_feed.events if e.summary.startswith("Découpeuse laser")}

    _check_times(venue_feed, holding)
    _check_times(resource_feed, [b for b in holding if b.uid in laser_uids])
    _check_times(member_feed, scenario.booked)
    _check_times(manager_feed, scenario.booked)
    _check_times(single, [b for b in scenario.booked if b.uid == scenario.series_uids[1]])
    assert len(single.events) == 1

    # Public feeds leave cancelled and refused reservations out; private ones keep them.
    ended = {b.uid for b in scenario.booked} - {b.uid for b in holding}
    assert len(ended) == 2
    assert {e.uid for e in venue_feed.events} == {b.uid for b in holding}
    assert ended <= {e.uid for e in member_feed.events}
    for event in member_feed.events:
        if event.uid in ended:
            assert event.status == "CANCELLED"

    # The autumn series is four local 18:00s on both sides of 25 October:
    # 16:00 UTC before it, 17:00 UTC after.
    autumn = sorted(
        (e for e in resource_feed.events if e.start.month in (10, 11)), key=lambda e: e.start
    )
    assert [e.start.hour for e in autumn if e.start.weekday() == 1] == [16, 16, 17, 17]


def test_calendar_properties_in_every_parser(
    app: Flask, client: FlaskClient, scenario: Scenario
) -> None:
    body = _fetch(client, f"/feeds/resources/{scenario.resource_slug}.ics")
    text = body.decode()
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    for line in (
        "VERSION:2.0",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
        "X-PUBLISHED-TTL:PT1H",
        "X-WR-TIMEZONE:Europe/Paris",
    ):
        assert f"\r\n{line}\r\n" in text
    assert "TZID" not in text  # UTC instants only: no time zone to resolve
    calendar = read_everywhere(body)
    assert calendar.properties["PRODID"].startswith("-//Tiers-lieux//")
    assert calendar.properties["NAME"] == calendar.properties["X-WR-CALNAME"]
    assert "Découpeuse laser" in calendar.properties["NAME"]
    for event in calendar.events:
        assert event.url.startswith("http://localhost/reservations/")
        assert event.location == "La Fabrique, 1 rue de la Coopération, 59000 Lille"
        assert event.dtstamp == event.last_modified
        assert event.created <= event.last_modified


def test_series_occurrences_are_separate_events_with_stable_uids(
    app: Flask, client: FlaskClient, scenario: Scenario
) -> None:
    url = f"/feeds/u/{_token(scenario.member, tokens.MEMBER, app)}.ics"
    first = _fetch(client, url)
    calendar = read_everywhere(first)
    uids = [e.uid for e in calendar.events]
    assert len(set(uids)) == len(uids)
    assert set(scenario.series_uids) <= set(uids)
    assert len(scenario.series_uids) == 8
    stored = set(db.session.scalars(db.select(Reservation.uid)))
    assert set(uids) == stored
    # Nothing changed: the same bytes, so clients see no change at all.
    assert _fetch(client, url) == first


def test_an_approved_request_turns_confirmed_with_a_higher_sequence(
    app: Flask, client: FlaskClient, scenario: Scenario, clock: FeedClock
) -> None:
    urls = [
        f"/feeds/resources/{scenario.approval_slug}.ics",
        f"/feeds/u/{_token(scenario.member, tokens.MEMBER, app)}.ics",
        f"/feeds/m/{_token(scenario.manager, tokens.MANAGER, app)}.ics",
    ]
    before = [
        c.by_uid()[scenario.pending_uid]
        for c in read_everywhere_many([_fetch(client, url) for url in urls])
    ]
    assert {e.status for e in before} == {"TENTATIVE"}
    assert "Karim Mansouri" in before[2].summary  # the manager sees who asks

    decided_at = clock.set(clock.now + timedelta(days=1))
    pending_id = db.session.scalar(
        db.select(Reservation.id).where(Reservation.uid == scenario.pending_uid)
    )
    approve(pending_id, scenario.manager.id, decided_at)

    after = [
        c.by_uid()[scenario.pending_uid]
        for c in read_everywhere_many([_fetch(client, url) for url in urls])
    ]
    for old, new in zip(before, after, strict=True):
        assert new.uid == old.uid
        assert new.status == "CONFIRMED"
        assert new.sequence > old.sequence
        assert new.last_modified > old.last_modified
        assert new.start == old.start and new.end == old.end


def test_an_overdue_request_is_not_shown_tentative(
    app: Flask, client: FlaskClient, scenario: Scenario, clock: FeedClock
) -> None:
    clock.set(paris(2026, 3, 30, 10, 0))  # the pending kitchen slot has started
    member = read_everywhere(
        _fetch(client, f"/feeds/u/{_token(scenario.member, tokens.MEMBER, app)}.ics")
    )
    assert member.by_uid()[scenario.pending_uid].status == "CANCELLED"
    public = read_everywhere(_fetch(client, f"/feeds/venues/{scenario.venue_slug}.ics"))
    assert scenario.pending_uid not in public.by_uid()


def test_an_empty_feed_parses_everywhere(app: Flask, client: FlaskClient, make: Factory) -> None:
    resource = make.resource(slug="rien", name="Jamais réservé")
    body = _fetch(client, f"/feeds/resources/{resource.slug}.ics")
    calendar = read_everywhere(body)
    assert calendar.events == []
    # RFC 5545 wants a component: the time zone that X-WR-TIMEZONE names.
    assert calendar.components == ["VTIMEZONE"]
