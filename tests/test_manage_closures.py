"""Closures: ranges of local dates and times, the bookings inside cancelled all or nothing,
shown as busy in the public feeds, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from booking.extensions import db
from booking.models import AdminEvent, AuditEvent, Closure, Reservation, Status
from booking.rules import Violation
from booking.services import BookingError, LocalMoment
from booking.services.errors import ChangedMeanwhileError, NotAllowedError, SettingsError
from booking.services.venues.closures import ClosureRequest, close, preview, reopen

from .conftest import Factory, book_as, paris
from .support.icalcheck import FeedClock, read_everywhere
from .test_feed_stamps import changed, etags, urls

pytestmark = pytest.mark.postgres

ALL_DAY = [(d, time(0), time(23, 30)) for d in range(7)]
NOW = paris(2026, 3, 2, 9, 0)


@pytest.fixture
def place(make: Factory) -> dict:
    venue = make.venue(slug="moulins", name="KPA Moulins", hours=ALL_DAY)
    return {
        "venue": venue,
        "laser": make.resource(venue, slug="laser", name="Découpeuse laser"),
        "kitchen": make.resource(venue, slug="cuisine", name="Cuisine", requires_approval=True),
        "member": make.user(venue, display_name="Amina Haddad", email="amina@example.org"),
        "other": make.user(venue, display_name="Karim Mansouri", email="karim@example.org"),
        "manager": make.manager(venue, display_name="Nadia Benali", email="nadia@example.org"),
    }


def holidays(place: dict, first: date, last: date, **fields) -> ClosureRequest:
    values = {
        "venue_id": place["venue"].id,
        "resource_id": place["kitchen"].id,
        "starts": LocalMoment(first, time(0)),
        "ends": LocalMoment(last + timedelta(days=1), time(0)),
        "reason": "Vacances de printemps",
        "reason_public": True,
    }
    return ClosureRequest(**{**values, **fields})


def book(place: dict, who: str, start: datetime, hours: int = 2, resource: str = "kitchen"):
    return book_as(
        place[resource],
        place[who],
        starts_at=start,
        ends_at=start + timedelta(hours=hours),
        now=NOW,
    )


def test_closing_cancels_the_ticked_bookings_with_the_reason(place: dict) -> None:
    inside = book(place, "member", paris(2026, 4, 7, 10))
    kept = book(place, "other", paris(2026, 4, 9, 14))
    outside = book(place, "member", paris(2026, 4, 20, 10))
    on_the_laser = book(place, "other", paris(2026, 4, 8, 10), resource="laser")
    spec = holidays(place, date(2026, 4, 6), date(2026, 4, 12))

    shown = preview(spec, place["manager"].id, NOW)
    assert [res.id for res in shown.reservations] == [inside.id, kept.id]
    assert shown.starts_at == paris(2026, 4, 6, 0) and shown.ends_at == paris(2026, 4, 13, 0)

    result = close(
        spec,
        place["manager"].id,
        NOW,
        seen_ids=frozenset({inside.id, kept.id}),
        cancel_ids=frozenset({inside.id}),
    )
    assert [res.id for res in result.cancelled] == [inside.id]
    cancelled = db.session.get(Reservation, inside.id)
    assert cancelled.status == Status.CANCELLED
    assert cancelled.decision_reason == "Vacances de printemps"
    assert cancelled.decided_by_id == place["manager"].id and cancelled.sequence == 1
    # What a notification will need: the move, who made it, why.
    event = db.session.scalar(
        sa.select(AuditEvent)
        .where(AuditEvent.reservation_id == inside.id)
        .order_by(AuditEvent.id.desc())
    )
    assert (event.action, event.actor_id, event.detail) == (
        "cancelled_by_closure",
        place["manager"].id,
        "Vacances de printemps",
    )
    assert db.session.get(Reservation, kept.id).status == Status.PENDING  # unticked: kept
    assert db.session.get(Reservation, outside.id).status == Status.PENDING
    assert db.session.get(Reservation, on_the_laser.id).status == Status.CONFIRMED
    logged = db.session.scalar(sa.select(AdminEvent).where(AdminEvent.action == "closure.created"))
    assert logged.label == "Cuisine" and ["cancelled", None, 1] in logged.changes


def test_a_booking_made_after_the_preview_stops_the_closure(place: dict) -> None:
    first = book(place, "member", paris(2026, 4, 7, 10))
    spec = holidays(place, date(2026, 4, 6), date(2026, 4, 12))
    seen = frozenset(res.id for res in preview(spec, place["manager"].id, NOW).reservations)
    late = book(place, "other", paris(2026, 4, 8, 10))
    with pytest.raises(ChangedMeanwhileError):
        close(spec, place["manager"].id, NOW, seen_ids=seen, cancel_ids=seen)
    # All or nothing: no closure, nobody cancelled.
    assert db.session.scalar(sa.select(sa.func.count(Closure.id))) == 0
    for res in (first, late):
        assert db.session.get(Reservation, res.id).status == Status.PENDING


def test_nothing_is_half_written_when_the_closure_is_refused(place: dict) -> None:
    first = book(place, "member", paris(2026, 4, 7, 10))
    spec = holidays(place, date(2026, 4, 6), date(2026, 4, 12), reason="  ")
    with pytest.raises(SettingsError) as refused:
        close(
            spec,
            place["manager"].id,
            NOW,
            seen_ids=frozenset({first.id}),
            cancel_ids=frozenset({first.id}),
        )
    assert [v.code for v in refused.value.violations] == ["reason_required"]
    assert db.session.get(Reservation, first.id).status == Status.PENDING
    assert db.session.scalar(sa.select(sa.func.count(AdminEvent.id))) == 0


def test_closure_times_are_checked(place: dict) -> None:
    backwards = holidays(
        place, date(2026, 4, 6), date(2026, 4, 6), ends=LocalMoment(date(2026, 4, 6), time(0))
    )
    past = holidays(place, date(2026, 2, 1), date(2026, 2, 2))
    # 29 March 2026, 2:30 does not exist in Paris.
    gap = holidays(
        place,
        date(2026, 3, 29),
        date(2026, 3, 29),
        starts=LocalMoment(date(2026, 3, 29), time(2, 30)),
    )
    for spec, code, field in (
        (backwards, "end_before_start", "ends"),
        (past, "closure_past", "ends"),
        (gap, "nonexistent_time", "starts"),
    ):
        with pytest.raises(SettingsError) as refused:
            preview(spec, place["manager"].id, NOW)
        assert [(v.code, v.field) for v in refused.value.violations] == [(code, field)]


def test_only_the_venues_managers_may_close_it(place: dict, make: Factory) -> None:
    elsewhere = make.manager(make.venue())
    for person in (place["member"], elsewhere):
        with pytest.raises(NotAllowedError):
            close(
                holidays(place, date(2026, 4, 6), date(2026, 4, 6)),
                person.id,
                NOW,
                seen_ids=frozenset(),
                cancel_ids=frozenset(),
            )
    assert db.session.scalar(sa.select(sa.func.count(Closure.id))) == 0


def test_a_closure_refuses_bookings_for_its_hours_only(place: dict) -> None:
    spec = holidays(
        place,
        date(2026, 4, 8),
        date(2026, 4, 8),
        resource_id=None,
        starts=LocalMoment(date(2026, 4, 8), time(14)),
        ends=LocalMoment(date(2026, 4, 8), time(18)),
        reason="Assemblée générale",
    )
    close(spec, place["manager"].id, NOW, seen_ids=frozenset(), cancel_ids=frozenset())
    with pytest.raises(BookingError) as refused:
        book(place, "member", paris(2026, 4, 8, 13), resource="laser")
    assert [v.code for v in refused.value.violations] == ["closed"]
    assert refused.value.violations[0].params["reason"] == "Assemblée générale"
    book(place, "member", paris(2026, 4, 8, 11), resource="laser")  # ends at 13:00
    book(place, "member", paris(2026, 4, 8, 18), resource="laser")


def test_a_private_reason_stays_private(place: dict) -> None:
    spec = holidays(
        place, date(2026, 4, 6), date(2026, 4, 6), reason="Dégât des eaux", reason_public=False
    )
    close(spec, place["manager"].id, NOW, seen_ids=frozenset(), cancel_ids=frozenset())
    with pytest.raises(BookingError) as refused:
        book(place, "member", paris(2026, 4, 6, 10))
    assert refused.value.violations[0].params["reason"] == ""


def test_reopening_removes_the_closure_and_logs_it(place: dict) -> None:
    result = close(
        holidays(place, date(2026, 4, 6), date(2026, 4, 6)),
        place["manager"].id,
        NOW,
        seen_ids=frozenset(),
        cancel_ids=frozenset(),
    )
    reopen(result.closure.id, place["manager"].id, NOW)
    book(place, "member", paris(2026, 4, 6, 10))
    actions = db.session.scalars(sa.select(AdminEvent.action).order_by(AdminEvent.id)).all()
    assert actions == ["closure.created", "closure.removed"]


# --- the feeds ------------------------------------------------------------------------


def test_public_feeds_show_closures_as_busy_with_a_stable_uid(
    client: FlaskClient, place: dict, clock: FeedClock
) -> None:
    close(
        holidays(place, date(2026, 3, 9), date(2026, 3, 13)),
        place["manager"].id,
        clock.now,
        seen_ids=frozenset(),
        cancel_ids=frozenset(),
    )
    close(
        holidays(
            place,
            date(2026, 3, 10),
            date(2026, 3, 10),
            resource_id=None,
            starts=LocalMoment(date(2026, 3, 10), time(14)),
            ends=LocalMoment(date(2026, 3, 10), time(16)),
            reason="Réunion du bureau",
            reason_public=False,
        ),
        place["manager"].id,
        clock.now,
        seen_ids=frozenset(),
        cancel_ids=frozenset(),
    )
    kitchen = read_everywhere(client.get("/feeds/resources/cuisine.ics").data)
    summaries = sorted(e.summary for e in kitchen.events)
    assert summaries == ["Cuisine — Fermé (Vacances de printemps)", "KPA Moulins — Fermé"]
    week = next(e for e in kitchen.events if "Vacances" in e.summary)
    assert week.start == paris(2026, 3, 9, 0) and week.end == paris(2026, 3, 14, 0)
    assert week.status == "CONFIRMED"
    # The laser closes with the venue only; the private reason never shows publicly.
    laser = read_everywhere(client.get("/feeds/resources/laser.ics").data)
    assert [e.summary for e in laser.events] == ["KPA Moulins — Fermé"]
    venue_body = client.get("/feeds/venues/moulins.ics").data.decode()
    assert "Réunion du bureau" not in venue_body
    # The managers' feed tells them why.
    manager = client.get(urls(place)["manager"]).data.decode()
    assert "Réunion du bureau" in manager
    # A UID for the closure's whole life: the same on every fetch.
    again = read_everywhere(client.get("/feeds/resources/cuisine.ics").data)
    assert {e.uid for e in again.events} == {e.uid for e in kitchen.events}
    assert db.session.scalar(
        sa.select(Closure.uid).where(Closure.reason == "Vacances de printemps")
    ) in {e.uid for e in kitchen.events}


def test_closure_changes_move_exactly_the_feeds_that_show_them(
    client: FlaskClient, place: dict, clock: FeedClock
) -> None:
    feeds = urls(place)
    before = etags(client, feeds)
    kitchen_only = close(
        holidays(place, date(2026, 3, 9), date(2026, 3, 9)),
        place["manager"].id,
        clock.now,
        seen_ids=frozenset(),
        cancel_ids=frozenset(),
    )
    # The kitchen closes: not the laser's feed, nor any member's.
    assert feeds["resource"].endswith("laser.ics")
    assert changed(client, feeds, before) == {"venue", "manager"}
    before = etags(client, feeds)
    whole = close(
        holidays(place, date(2026, 3, 10), date(2026, 3, 10), resource_id=None),
        place["manager"].id,
        clock.now,
        seen_ids=frozenset(),
        cancel_ids=frozenset(),
    )
    # The whole venue closing shows in every resource's feed (the laser's here).
    assert changed(client, feeds, before) == {"resource", "venue", "manager"}
    before = etags(client, feeds)
    reopen(whole.closure.id, place["manager"].id, clock.now)
    assert changed(client, feeds, before) == {"resource", "venue", "manager"}
    before = etags(client, feeds)
    reopen(kitchen_only.closure.id, place["manager"].id, clock.now)
    assert changed(client, feeds, before) == {"venue", "manager"}
    # An unchanged feed still answers 304 to the ETag it gave.
    after = etags(client, feeds)
    assert changed(client, feeds, after) == set()


def test_the_closure_message_says_when_in_local_time(app, place: dict) -> None:
    from booking.presentation.messages import violation_message

    violation = Violation(
        "closed",
        "starts_at",
        {
            "from": paris(2026, 4, 8, 14),
            "to": paris(2026, 4, 8, 18),
            "reason": "Assemblée générale",
        },
    )
    with app.test_request_context():
        text = violation_message(violation).replace("\u00a0", " ")
    assert text == (
        "Fermé le mercredi 8 avril 2026 de 14 h à 18 h (Assemblée générale). "
        "Choisissez un autre moment."
    )
