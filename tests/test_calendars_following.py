"""Following a calendar the venue keeps elsewhere: real Google, Nextcloud and Outlook
exports served from a local HTTP server, their events blocking bookings as "busy" with
the calendar's label only, refreshed with conditional requests (an unchanged calendar:
one request answered 304, no write), and hostile addresses refused, on SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from booking.extensions import db
from booking.models import AdminEvent, Closure, FeedStamp, FollowedCalendar
from booking.security.fetching import FetchError, FetchPolicy, fetch
from booking.services import BookingError
from booking.services.errors import SettingsError
from booking.services.venues.following import FollowRequest, follow, refresh, unfollow

from .conftest import PASSWORD, Factory, book_as, paris
from .support.calendar_server import CalendarServer, calendar_server, fixture
from .support.sql import statements

pytestmark = [pytest.mark.postgres]

NOW = paris(2026, 3, 2, 9, 0)
LOCAL = FetchPolicy(frozenset({"127.0.0.1"}), 5 * 1024 * 1024, 5.0)
DEFAULT = FetchPolicy()


@pytest.fixture
def server() -> Iterator[CalendarServer]:
    with calendar_server() as running:
        running.routes["/google.ics"] = fixture("google.ics")
        running.routes["/nextcloud.ics"] = fixture("nextcloud.ics")
        running.routes["/outlook.ics"] = fixture("outlook.ics")
        yield running


@pytest.fixture
def place(make: Factory) -> dict:
    venue = make.venue(slug="moulins", name="KPA Moulins")
    return {
        "venue": venue,
        "kitchen": make.resource(venue, slug="cuisine", name="Cuisine"),
        "laser": make.resource(venue, slug="laser", name="Découpeuse laser"),
        "member": make.user(venue, email="amina@example.org", display_name="Amina Haddad"),
        "manager": make.manager(venue, email="nadia@example.org", display_name="Nadia Benali"),
    }


def _follow(place: dict, url: str, policy: FetchPolicy = LOCAL, whole: bool = False) -> int:
    request = FollowRequest(
        place["venue"].id,
        None if whole else place["kitchen"].id,
        "agenda du centre social",
        url,
    )
    return follow(request, place["manager"].id, NOW, policy)


def _busy(calendar_id: int) -> list[tuple]:
    db.session.expire_all()
    return [
        (s.astimezone(NOW.tzinfo), e.astimezone(NOW.tzinfo), reason)
        for s, e, reason in db.session.execute(
            sa.select(Closure.starts_at, Closure.ends_at, Closure.reason)
            .where(Closure.calendar_id == calendar_id)
            .order_by(Closure.starts_at)
        )
    ]


def test_a_google_export_blocks_its_events_recurrences_and_exceptions_included(
    place: dict, server: CalendarServer
) -> None:
    calendar_id = _follow(place, server.url("/google.ics"))
    busy = _busy(calendar_id)
    starts = [start for start, _, _ in busy]
    # Every Tuesday 14:00–16:00 from 3 March: 10 March left out (EXDATE), 17 March moved
    # to 15:00 (RECURRENCE-ID), summer time from 29 March on; the all-day party on 5 March
    # takes the whole local day; the event marked free holds nothing.
    assert starts[:4] == [
        paris(2026, 3, 3, 14),
        paris(2026, 3, 5, 0),
        paris(2026, 3, 17, 15),
        paris(2026, 3, 24, 14),
    ]
    assert busy[1][1] == paris(2026, 3, 6, 0)
    assert paris(2026, 3, 31, 14) in starts and paris(2026, 3, 10, 14) not in starts
    assert paris(2026, 3, 6, 10) not in starts
    assert {reason for *_, reason in busy} == {"agenda du centre social"}

    with pytest.raises(BookingError) as refused:
        book_as(
            place["kitchen"],
            place["member"],
            starts_at=paris(2026, 3, 24, 15),
            ends_at=paris(2026, 3, 24, 17),
            now=NOW,
        )
    assert [v.code for v in refused.value.violations] == ["closed"]
    assert refused.value.violations[0].params["busy"] is True
    # The laser is not the kitchen: the calendar was followed for the kitchen only.
    book_as(
        place["laser"],
        place["member"],
        starts_at=paris(2026, 3, 24, 15),
        ends_at=paris(2026, 3, 24, 17),
        now=NOW,
    )
    logged = db.session.scalars(
        sa.select(AdminEvent).where(AdminEvent.action == "calendar.followed")
    )
    assert [event.changes[0] for event in logged] == [["host", None, "127.0.0.1"]]


def test_nextcloud_and_outlook_exports_read_in_their_own_time_zones(
    place: dict, server: CalendarServer
) -> None:
    nextcloud = _busy(_follow(place, server.url("/nextcloud.ics")))
    assert [(s, e) for s, e, _ in nextcloud] == [
        (paris(2026, 3, 4, 10), paris(2026, 3, 4, 12)),
        (paris(2026, 3, 18, 10), paris(2026, 3, 18, 12)),  # 11 March: EXDATE
        (paris(2026, 3, 25, 14), paris(2026, 3, 25, 16)),  # moved to the afternoon
        (paris(2026, 4, 1, 10), paris(2026, 4, 1, 12)),
    ]  # the cancelled event of 7 March holds nothing
    outlook = _busy(_follow(place, server.url("/outlook.ics"), whole=True))
    assert [(s, e) for s, e, _ in outlook] == [
        (paris(2026, 3, 9, 9), paris(2026, 3, 9, 11, 30)),  # "Romance Standard Time"
        (paris(2026, 3, 28, 0), paris(2026, 3, 30, 0)),  # two days, across the clock change
    ]


def test_pages_and_feeds_say_busy_with_the_label_and_nothing_of_the_events(
    client: FlaskClient, auth, place: dict, server: CalendarServer, clock
) -> None:
    clock.set(NOW)
    _follow(place, server.url("/google.ics"))
    week = client.get("/resources/cuisine?week=2026-03-23").get_data(as_text=True)
    assert "Occupé de 14:00 à 16:00 — agenda du centre social" in week
    feed = client.get("/feeds/resources/cuisine.ics").get_data(as_text=True)
    assert "Occupé — agenda du centre social" in feed
    for private in ("Atelier couture", "Benali", "06 12 34 56 78", "Fête de quartier"):
        assert private not in week and private not in feed
    assert auth.login("nadia@example.org", PASSWORD).status_code == 302
    schedule = client.get("/manage/venues/moulins/schedule?day=2026-03-24").get_data(as_text=True)
    assert "Occupé" in schedule and "agenda du centre social" in schedule
    form = client.post(
        "/reservations/new?resource=cuisine",
        data={"day": "2026-03-24", "start": "14:30", "end": "15:30"},
    )
    assert form.status_code == 422
    assert "Occupé" in form.get_data(as_text=True)


def test_an_unchanged_calendar_costs_one_request_answered_304_and_no_write(
    client: FlaskClient, place: dict, server: CalendarServer
) -> None:
    calendar_id = _follow(place, server.url("/google.ics"))
    stamps = db.session.execute(sa.select(FeedStamp.kind, FeedStamp.version)).all()
    feed = client.get("/feeds/resources/cuisine.ics").headers["ETag"]
    server.requests.clear()
    server.answers.clear()
    with statements() as seen:
        outcome = refresh(calendar_id, NOW + timedelta(minutes=15), LOCAL)
    assert outcome.requests == 1 and not outcome.wrote
    assert server.answers == [304]
    assert server.requests[0][1]["If-None-Match"].startswith('"')
    writes = [s for s in seen if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    assert writes == []
    assert db.session.execute(sa.select(FeedStamp.kind, FeedStamp.version)).all() == stamps
    again = client.get("/feeds/resources/cuisine.ics", headers={"If-None-Match": feed})
    assert again.status_code == 304


def test_a_changed_calendar_writes_only_what_changed(place: dict, server: CalendarServer) -> None:
    calendar_id = _follow(place, server.url("/nextcloud.ics"))
    before = _busy(calendar_id)
    ids = set(db.session.scalars(sa.select(Closure.id).where(Closure.calendar_id == calendar_id)))
    server.routes["/nextcloud.ics"] = fixture("nextcloud.ics").replace(
        b"EXDATE;TZID=Europe/Paris:20260311T100000", b"EXDATE;TZID=Europe/Paris:20260318T100000"
    )
    outcome = refresh(calendar_id, NOW + timedelta(minutes=15), LOCAL)
    assert (outcome.added, outcome.removed) == (1, 1)
    after = _busy(calendar_id)
    assert (paris(2026, 3, 11, 10), paris(2026, 3, 11, 12), "agenda du centre social") in after
    assert len(after) == len(before)
    kept = set(db.session.scalars(sa.select(Closure.id).where(Closure.calendar_id == calendar_id)))
    assert len(ids & kept) == len(before) - 1  # the others untouched


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "localhost", "169.254.169.254", "10.1.2.3", "[::1]", "[::ffff:127.0.0.1]"],
)
def test_loopback_private_and_link_local_addresses_are_refused_by_default(
    place: dict, server: CalendarServer, address: str
) -> None:
    url = f"http://{address}:{server.port}/google.ics"
    with pytest.raises(SettingsError) as refused:
        _follow(place, url, DEFAULT)
    assert [v.code for v in refused.value.violations] == ["calendar_refused_address"]
    assert server.requests == []  # not even asked
    assert db.session.scalar(sa.select(sa.func.count(FollowedCalendar.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(Closure.id))) == 0


def test_a_redirect_to_a_private_address_is_refused(place: dict, server: CalendarServer) -> None:
    server.routes["/moved.ics"] = ("redirect", "http://169.254.169.254/latest/meta-data/")
    with pytest.raises(FetchError) as refused:
        fetch(server.url("/moved.ics"), LOCAL)
    assert refused.value.code == "refused_address"
    server.routes["/moved-home.ics"] = ("redirect", server.url("/google.ics"))
    assert fetch(server.url("/moved-home.ics"), LOCAL).body == fixture("google.ics")


@pytest.mark.parametrize(
    ("route", "code"),
    [
        (("huge", 50 * 1024 * 1024), "calendar_too_large"),
        (("huge", 50 * 1024 * 1024, "no length said"), "calendar_too_large"),
        (fixture("broken.ics"), "calendar_broken_event"),
        (fixture("unknown_zone.ics"), "calendar_unknown_zone"),
        (b"<html><body>Connexion requise</body></html>", "calendar_not_ical"),
        (("redirect", "ftp://example.org/agenda.ics"), "calendar_scheme"),
    ],
)
def test_hostile_calendars_are_refused_with_nothing_written(
    place: dict, server: CalendarServer, route: object, code: str
) -> None:
    server.routes["/hostile.ics"] = route
    with pytest.raises(SettingsError) as refused:
        _follow(place, server.url("/hostile.ics"))
    assert [v.code for v in refused.value.violations] == [code]
    assert db.session.scalar(sa.select(sa.func.count(FollowedCalendar.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(Closure.id))) == 0


def test_the_manager_sees_why_a_calendar_cannot_be_read_and_its_busy_times_stay(
    client: FlaskClient, auth, place: dict, server: CalendarServer, clock
) -> None:
    calendar_id = _follow(place, server.url("/google.ics"))
    before = _busy(calendar_id)
    del server.routes["/google.ics"]
    outcome = refresh(calendar_id, NOW + timedelta(hours=1), LOCAL)
    assert outcome.error == "http_status"
    assert _busy(calendar_id) == before
    clock.set(NOW + timedelta(hours=1))
    assert auth.login("nadia@example.org", PASSWORD).status_code == 302
    page = client.get("/manage/venues/moulins/calendars").get_data(as_text=True)
    assert "Illisible depuis le lundi 2 mars 2026, 10:00" in page
    assert "Aucun calendrier à cette adresse (erreur 404)" in page
    assert "lu le lundi 2 mars 2026, 09:00" in page
    # It comes back: the next read clears the error.
    server.routes["/google.ics"] = fixture("google.ics")
    refresh(calendar_id, NOW + timedelta(hours=2), LOCAL)
    page = client.get("/manage/venues/moulins/calendars").get_data(as_text=True)
    assert "Illisible" not in page and "À jour" in page


def test_following_and_unfollowing_through_the_screen(
    app: Flask, client: FlaskClient, auth, place: dict, server: CalendarServer, clock
) -> None:
    clock.set(NOW)
    app.config["CALENDAR_ALLOWED_HOSTS"] = "127.0.0.1"
    assert auth.login("nadia@example.org", PASSWORD).status_code == 302
    refused = client.post(
        "/manage/venues/moulins/calendars",
        data={"label": "Agenda", "url": "http://169.254.169.254/agenda.ics", "resource": "0"},
    )
    assert refused.status_code == 422
    assert "réseau privé" in refused.get_data(as_text=True)
    done = client.post(
        "/manage/venues/moulins/calendars",
        data={
            "label": "agenda du centre social",
            "url": server.url("/google.ics"),
            "resource": "0",
        },
        follow_redirects=True,
    )
    assert done.status_code == 200
    assert "Calendrier suivi" in done.get_data(as_text=True)
    calendar = db.session.scalars(sa.select(FollowedCalendar)).one()
    assert calendar.resource_id is None and calendar.busy_count == 8
    gone = client.post(
        f"/manage/venues/moulins/calendars/{calendar.id}/remove", follow_redirects=True
    )
    assert "ne sont plus" in gone.get_data(as_text=True) or gone.status_code == 200
    assert db.session.scalar(sa.select(sa.func.count(Closure.id))) == 0


def test_the_command_reads_every_calendar_for_cron(
    app: Flask, place: dict, server: CalendarServer, clock
) -> None:
    calendar_id = _follow(place, server.url("/google.ics"))
    app.config["CALENDAR_ALLOWED_HOSTS"] = "127.0.0.1"
    clock.set(NOW + timedelta(minutes=30))
    result = app.test_cli_runner().invoke(args=["refresh-calendars"])
    assert result.exit_code == 0, result.output
    assert f"Calendar {calendar_id}" in result.output or "calendrier" in result.output.lower()
    assert server.answers[-1] == 304


def test_unfollowing_removes_its_busy_times(place: dict, server: CalendarServer) -> None:
    calendar_id = _follow(place, server.url("/google.ics"))
    unfollow(calendar_id, place["manager"].id, NOW)
    assert db.session.scalar(sa.select(sa.func.count(Closure.id))) == 0
