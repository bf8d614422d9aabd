"""Changing a booking, on SQLite and PostgreSQL: judged by every rule like a new booking,
never against itself, atomic, the same reservation afterwards; the approval path (the
booking keeps its slot until a manager accepts); managers' changes; a series' later dates."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from booking.extensions import db
from booking.models import AuditEvent, OutboxMessage, Reservation, Series, Status, User
from booking.services import (
    BookingError,
    ChangeRequest,
    LocalMoment,
    NotAllowedError,
    Outcome,
    Recurrence,
    SeriesRequest,
    TransitionError,
    approve,
    book_series,
    cancel,
    change,
    change_following,
    expire_pending,
    preview_following,
    refuse,
    withdraw_change,
)
from booking.services.booking.lifecycle import decide_series
from booking.services.booking.queue import cards

from .conftest import PARIS, Factory, book_as, paris

pytestmark = pytest.mark.postgres

NOW = paris(2026, 6, 1, 8, 0)  # a Monday morning
TUESDAY, WEDNESDAY, THURSDAY = date(2026, 6, 2), date(2026, 6, 3), date(2026, 6, 4)


def at(day: date, hour: int, minute: int = 0) -> LocalMoment:
    return LocalMoment(day, time(hour, minute))


def move(reservation_id, actor, day, start, end, *, now=NOW, **fields) -> object:
    """Change a booking to ``day``, ``start``–``end`` (hours, or (hour, minute) pairs)."""
    start = start if isinstance(start, tuple) else (start,)
    end = end if isinstance(end, tuple) else (end,)
    return change(
        ChangeRequest(reservation_id, actor.id, at(day, *start), at(day, *end), **fields), now
    )


def refused(reservation_id, actor, day, start, end, **fields) -> list[str]:
    with pytest.raises(BookingError) as caught:
        move(reservation_id, actor, day, start, end, **fields)
    return sorted(v.code for v in caught.value.violations)


def row(reservation_id: int) -> tuple:
    """Everything stored about a reservation."""
    db.session.expire_all()
    found = db.session.get(Reservation, reservation_id)
    columns = sa.inspect(Reservation).column_attrs
    return tuple(getattr(found, c.key) for c in columns)


def written() -> tuple[int, int, int]:
    """How many reservations, audit events and messages are stored."""
    return tuple(  # type: ignore[return-value]
        db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (Reservation, AuditEvent, OutboxMessage)
    )


def local(instant: datetime) -> tuple[date, time]:
    moment = instant.astimezone(PARIS)
    return moment.date(), moment.time()


@pytest.fixture
def place(make: Factory) -> dict:
    venue = make.venue(hours=[(d, time(8), time(20)) for d in range(7)])
    return {
        "venue": venue,
        "laser": make.resource(venue, name="Laser", buffer_minutes=30),
        "kitchen": make.resource(venue, name="Cuisine", requires_approval=True),
        "cowork": make.resource(venue, name="Co-working", capacity=2),
        "manager": make.manager(venue, display_name="Marie"),
        "amina": make.user(venue, display_name="Amina"),
        "samir": make.user(venue, display_name="Samir"),
    }


# --- one booking, moved at once ---------------------------------------------------------


def test_a_change_keeps_the_reservation_its_uid_and_bumps_its_sequence(place):
    booked = book_as(
        place["laser"],
        place["amina"],
        starts_at=paris(2026, 6, 2, 10),
        ends_at=paris(2026, 6, 2, 11),
        now=NOW,
        purpose="Découpe",
    )
    uid, later = booked.uid, NOW + timedelta(minutes=5)
    done = move(booked.id, place["amina"], THURSDAY, 14, 16, now=later, purpose="Gravure")
    assert done.outcome == Outcome.MOVED and done.reservation_id == booked.id
    db.session.expire_all()
    moved = db.session.get(Reservation, booked.id)
    assert moved.uid == uid
    assert moved.sequence == 1 and moved.updated_at == later.astimezone(UTC)
    assert local(moved.starts_at) == (THURSDAY, time(14))
    assert local(moved.ends_at) == (THURSDAY, time(16))
    assert local(moved.blocked_until) == (THURSDAY, time(16, 30))  # the buffer follows
    assert moved.purpose == "Gravure" and moved.status == Status.CONFIRMED
    assert db.session.scalar(sa.select(sa.func.count(Reservation.id))) == 1
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "changed")).one()
    assert event.reservation_id == booked.id and event.actor_id == place["amina"].id
    detail = json.loads(event.detail)
    assert detail["from"]["starts_at"] == paris(2026, 6, 2, 10).astimezone(UTC).isoformat()
    assert detail["to"]["starts_at"] == paris(2026, 6, 4, 14).astimezone(UTC).isoformat()
    assert (detail["from"]["purpose"], detail["to"]["purpose"]) == ("Découpe", "Gravure")


def test_the_booking_never_counts_against_itself(place, make):
    amina = place["amina"]
    # Its own buffer: 10–11 holds the laser until 11:30; moving to 11:00 is fine.
    laser = book_as(
        place["laser"],
        amina,
        starts_at=paris(2026, 6, 2, 10),
        ends_at=paris(2026, 6, 2, 11),
        now=NOW,
    )
    move(laser.id, amina, TUESDAY, 11, 12)
    # Its own seats: both seats of the co-working, moved half an hour later.
    desks = book_as(
        place["cowork"],
        amina,
        starts_at=paris(2026, 6, 2, 10),
        ends_at=paris(2026, 6, 2, 12),
        now=NOW,
        seats=2,
    )
    move(desks.id, amina, TUESDAY, (10, 30), (12, 30))
    # Its own weekly time: two hours of a two-hour quota, moved to another day.
    limited = make.resource(place["venue"], weekly_quota_minutes=120)
    quota = book_as(
        limited, amina, starts_at=paris(2026, 6, 2, 9), ends_at=paris(2026, 6, 2, 11), now=NOW
    )
    move(quota.id, amina, WEDNESDAY, 9, 11)
    # But what is someone else's still counts, and so does the member's other booking.
    book_as(
        place["laser"],
        place["samir"],
        starts_at=paris(2026, 6, 2, 14),
        ends_at=paris(2026, 6, 2, 15),
        now=NOW,
    )
    assert refused(laser.id, amina, TUESDAY, 14, 15) == ["capacity"]
    other = book_as(
        limited,
        amina,
        starts_at=paris(2026, 6, 5, 9),
        ends_at=paris(2026, 6, 5, 10),
        now=NOW,
        overrides=frozenset({"quota"}),
        actor=place["manager"],
    )
    assert other.status == Status.CONFIRMED
    assert refused(quota.id, amina, WEDNESDAY, 9, 11) == ["unchanged"]
    assert refused(quota.id, amina, WEDNESDAY, 9, (11, 30)) == ["quota"]


RULES = [
    # (what the resource is, the new version, the rule that refuses it)
    ({}, (TUESDAY, (10, 10), 11), ["off_grid"]),
    ({"min_duration_minutes": 60}, (TUESDAY, 10, (10, 30)), ["too_short"]),
    ({"max_duration_minutes": 60}, (TUESDAY, 10, 12), ["too_long"]),
    ({}, (TUESDAY, 6, 7), ["outside_hours"]),
    ({}, (TUESDAY, 12, 10), ["end_before_start"]),
    ({"min_notice_minutes": 48 * 60}, (TUESDAY, 14, 15), ["notice"]),
    ({"horizon_days": 5}, (date(2026, 6, 10), 10, 11), ["horizon"]),
    ({"capacity": 2}, (TUESDAY, 10, 11), ["capacity", "seats_over_capacity"]),
]


@pytest.mark.parametrize(("settings", "version", "codes"), RULES)
def test_a_change_is_judged_by_every_rule_and_refused_moves_nothing(
    place, make, settings, version, codes
):
    resource = make.resource(place["venue"], **settings)
    amina = place["amina"]
    start = (
        paris(2026, 6, 4, 10) if not settings.get("min_notice_minutes") else paris(2026, 6, 5, 10)
    )
    booked = book_as(
        resource,
        amina,
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        now=NOW,
        **({"seats": 1} if settings.get("capacity") else {}),
    )
    before, counts = row(booked.id), written()
    day, begin, end = version
    extra = {"seats": 3} if settings.get("capacity") else {}
    assert refused(booked.id, amina, day, begin, end, **extra) == codes
    assert row(booked.id) == before
    assert written() == counts


def test_closures_trainings_the_past_and_the_account_are_rules_too(place, make):
    venue, amina = place["venue"], place["amina"]
    training = make.qualification("Sécurité laser", venue)
    machine = make.resource(venue, qualification_id=training.id)
    make.grant(amina, training, expires_on=WEDNESDAY)
    booked = book_as(
        machine, amina, starts_at=paris(2026, 6, 2, 10), ends_at=paris(2026, 6, 2, 11), now=NOW
    )
    make.closure(venue, paris(2026, 6, 3, 0), paris(2026, 6, 3, 12))
    assert refused(booked.id, amina, WEDNESDAY, 9, 10) == ["closed"]
    assert refused(booked.id, amina, THURSDAY, 9, 10) == ["qualification"]  # expired by then
    assert refused(booked.id, amina, date(2026, 5, 30), 9, 10) == ["in_past"]
    db.session.get(User, amina.id).active = False
    db.session.commit()
    assert refused(booked.id, amina, TUESDAY, 14, 15) == ["account_inactive"]


def test_a_time_that_does_not_exist_is_refused_on_its_field(make):
    venue = make.venue(hours=[(d, time(0), time(23, 30)) for d in range(7)])
    resource = make.resource(venue)
    member = make.user(venue)
    now = paris(2026, 3, 20, 9)
    booked = book_as(
        resource,
        member,
        starts_at=paris(2026, 3, 28, 10),
        ends_at=paris(2026, 3, 28, 11),
        now=now,
    )
    with pytest.raises(BookingError) as caught:
        change(
            ChangeRequest(
                booked.id, member.id, at(date(2026, 3, 29), 2, 30), at(date(2026, 3, 29), 4)
            ),
            now,
        )
    assert [(v.code, v.field) for v in caught.value.violations] == [
        ("nonexistent_time", "starts_at")
    ]


def test_what_has_started_or_ended_cannot_change(place):
    amina = place["amina"]
    booked = book_as(
        place["laser"],
        amina,
        starts_at=paris(2026, 6, 2, 10),
        ends_at=paris(2026, 6, 2, 11),
        now=NOW,
    )
    with pytest.raises(TransitionError) as started:
        move(booked.id, amina, THURSDAY, 10, 11, now=paris(2026, 6, 2, 10, 30))
    assert started.value.code == "change_started"
    cancel(booked.id, amina.id, "", NOW)
    with pytest.raises(TransitionError) as gone:
        move(booked.id, amina, THURSDAY, 10, 11)
    assert gone.value.code == "change_cancelled"


def test_only_its_member_or_a_manager_of_its_venue_changes_a_booking(place, make):
    booked = book_as(
        place["laser"],
        place["amina"],
        starts_at=paris(2026, 6, 2, 10),
        ends_at=paris(2026, 6, 2, 11),
        now=NOW,
    )
    stranger = make.manager(make.venue())
    for someone in (place["samir"], stranger):
        with pytest.raises(NotAllowedError):
            move(booked.id, someone, THURSDAY, 10, 11, reason="Parce que")
    with pytest.raises(NotAllowedError):  # a member cannot set rules aside
        move(booked.id, place["amina"], THURSDAY, 10, 11, overrides=frozenset({"hours"}))


# --- a manager's change ---------------------------------------------------------------------


def test_a_manager_changes_a_booking_with_a_reason_and_may_set_soft_rules_aside(place):
    amina, manager = place["amina"], place["manager"]
    booked = book_as(
        place["kitchen"],
        amina,
        actor=manager,
        starts_at=paris(2026, 6, 2, 10),
        ends_at=paris(2026, 6, 2, 11),
        now=NOW,
    )
    # The member deserves to know why: a reason is required.
    assert refused(booked.id, manager, THURSDAY, 10, 11) == ["change_reason"]
    # Outside the hours, set aside explicitly; on a resource needing approval, at once.
    done = move(
        booked.id,
        manager,
        THURSDAY,
        20,
        21,
        reason="Atelier du matin",
        overrides=frozenset({"hours"}),
    )
    assert done.outcome == Outcome.MOVED
    db.session.expire_all()
    moved = db.session.get(Reservation, booked.id)
    assert local(moved.starts_at) == (THURSDAY, time(20)) and moved.overrides == "hours"
    detail = json.loads(
        db.session.scalar(sa.select(AuditEvent.detail).where(AuditEvent.action == "changed"))
    )
    assert detail["reason"] == "Atelier du matin" and detail["overrides"] == ["hours"]
    message = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.kind == "changed")
    ).one()
    assert message.recipient_id == amina.id
    assert message.payload["reason"] == "Atelier du matin"


def test_capacity_is_never_set_aside(place):
    amina, manager = place["amina"], place["manager"]
    booked = book_as(
        place["laser"],
        amina,
        starts_at=paris(2026, 6, 2, 10),
        ends_at=paris(2026, 6, 2, 11),
        now=NOW,
    )
    book_as(
        place["laser"],
        place["samir"],
        starts_at=paris(2026, 6, 4, 10),
        ends_at=paris(2026, 6, 4, 11),
        now=NOW,
    )
    every_soft_rule = frozenset({"hours", "notice", "horizon", "quota", "qualification"})
    assert refused(
        booked.id, manager, THURSDAY, 10, 11, reason="Place", overrides=every_soft_rule
    ) == ["capacity"]
    with pytest.raises(NotAllowedError):
        move(booked.id, manager, THURSDAY, 10, 11, reason="x", overrides=frozenset({"capacity"}))


# --- approval: the booking keeps its slot until a manager accepts the change ---------------


@pytest.fixture
def confirmed(place) -> Reservation:
    booked = book_as(
        place["kitchen"],
        place["amina"],
        starts_at=paris(2026, 6, 2, 10),
        ends_at=paris(2026, 6, 2, 12),
        now=NOW,
    )
    approve(booked.id, place["manager"].id, NOW)
    db.session.expire_all()
    return db.session.get(Reservation, booked.id)


def test_a_change_on_a_resource_needing_approval_waits_and_holds_both_slots(place, confirmed):
    amina, samir = place["amina"], place["samir"]
    before = row(confirmed.id)
    done = move(confirmed.id, amina, THURSDAY, 14, 16)
    assert done.outcome == Outcome.ASKED and done.change_id is not None
    assert row(confirmed.id) == before  # confirmed, where it was, until a manager accepts
    asked = db.session.get(Reservation, done.change_id)
    assert asked.status == Status.PENDING and asked.replaces_id == confirmed.id
    assert asked.user_id == amina.id and local(asked.starts_at) == (THURSDAY, time(14))
    # Nobody else takes either slot meanwhile.
    for start in (paris(2026, 6, 2, 10), paris(2026, 6, 4, 14)):
        with pytest.raises(BookingError) as caught:
            book_as(
                place["kitchen"],
                samir,
                starts_at=start,
                ends_at=start + timedelta(hours=1),
                now=NOW,
            )
        assert [v.code for v in caught.value.violations] == ["capacity"]
    # The managers are asked, with both times; the queue shows it as a change.
    message = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.kind == "change_to_decide")
    ).one()
    assert message.recipient_id == place["manager"].id
    (card,) = cards(db.session, place["manager"], NOW)
    assert card.is_change and card.first.replaces.id == confirmed.id
    # Asking again changes the change: still one waiting.
    again = move(confirmed.id, amina, THURSDAY, 15, 17)
    assert again.change_id == done.change_id
    assert (
        db.session.scalar(
            sa.select(sa.func.count(Reservation.id)).where(Reservation.replaces_id.is_not(None))
        )
        == 1
    )
    assert local(db.session.get(Reservation, done.change_id).starts_at) == (THURSDAY, time(15))
    assert [
        a
        for (a,) in db.session.execute(
            sa.select(AuditEvent.action)
            .where(AuditEvent.reservation_id == confirmed.id)
            .order_by(AuditEvent.id)
        )
    ] == ["created", "approved", "change_requested", "change_requested"]


def test_an_accepted_change_moves_the_booking_itself(place, confirmed):
    uid = confirmed.uid
    done = move(confirmed.id, place["amina"], THURSDAY, 14, 16, purpose="Couscous")
    booking = approve(done.change_id, place["manager"].id, NOW + timedelta(hours=1))
    assert booking.id == confirmed.id
    db.session.expire_all()
    moved = db.session.get(Reservation, confirmed.id)
    assert (moved.uid, moved.status, moved.sequence) == (uid, Status.CONFIRMED, 2)
    assert local(moved.starts_at) == (THURSDAY, time(14)) and moved.purpose == "Couscous"
    assert db.session.get(Reservation, done.change_id) is None
    assert db.session.scalar(sa.select(sa.func.count(Reservation.id))) == 1
    # The old slot is free again; the member is told, with the updated event.
    book_as(
        place["kitchen"],
        place["samir"],
        starts_at=paris(2026, 6, 2, 10),
        ends_at=paris(2026, 6, 2, 11),
        now=NOW,
    )
    told = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "changed")).one()
    assert told.recipient_id == place["amina"].id and told.payload["accepted"] is True


def test_a_refused_expired_or_withdrawn_change_leaves_the_booking_as_it_was(place, confirmed):
    amina, manager = place["amina"], place["manager"]
    before = row(confirmed.id)[:-1]  # all but updated_at... which is unchanged anyway
    done = move(confirmed.id, amina, THURSDAY, 14, 16)
    refuse(done.change_id, manager.id, "La cuisine est prise", NOW)
    assert row(confirmed.id)[:-1] == before
    assert db.session.get(Reservation, done.change_id) is None
    refused_message = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.kind == "change_refused")
    ).one()
    assert refused_message.payload["reason"] == "La cuisine est prise"

    done = move(confirmed.id, amina, date(2026, 6, 1), 18, 19)  # today, this evening
    assert expire_pending(paris(2026, 6, 1, 18, 5)) == 1
    assert row(confirmed.id)[:-1] == before
    assert db.session.get(Reservation, done.change_id) is None
    assert (
        db.session.scalar(sa.select(sa.func.count()).where(OutboxMessage.kind == "change_expired"))
        == 1
    )

    done = move(confirmed.id, amina, THURSDAY, 14, 16)
    withdraw_change(confirmed.id, amina.id, NOW)
    assert row(confirmed.id)[:-1] == before
    with pytest.raises(TransitionError):
        withdraw_change(confirmed.id, amina.id, NOW)
    actions = db.session.scalars(
        sa.select(AuditEvent.action)
        .where(AuditEvent.reservation_id == confirmed.id)
        .order_by(AuditEvent.id)
    ).all()
    assert actions[-6:] == [
        "change_requested",
        "change_refused",
        "change_requested",
        "change_expired",
        "change_requested",
        "change_withdrawn",
    ]


def test_cancelling_a_booking_takes_its_waiting_change_with_it(place, confirmed):
    done = move(confirmed.id, place["amina"], THURSDAY, 14, 16)
    cancel(confirmed.id, place["amina"].id, "", NOW)
    assert db.session.get(Reservation, done.change_id) is None
    book_as(
        place["kitchen"],
        place["samir"],
        starts_at=paris(2026, 6, 4, 14),
        ends_at=paris(2026, 6, 4, 15),
        now=NOW,
    )


def test_changing_a_request_still_waiting_changes_the_request(place):
    asked = book_as(
        place["kitchen"],
        place["amina"],
        starts_at=paris(2026, 6, 2, 10),
        ends_at=paris(2026, 6, 2, 12),
        now=NOW,
    )
    done = move(asked.id, place["amina"], THURSDAY, 9, 10)
    assert done.outcome == Outcome.REQUEST_CHANGED and done.change_id is None
    db.session.expire_all()
    request = db.session.get(Reservation, asked.id)
    assert request.status == Status.PENDING and request.sequence == 1
    assert local(request.starts_at) == (THURSDAY, time(9))
    assert db.session.scalar(sa.select(sa.func.count(Reservation.id))) == 1
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).where(OutboxMessage.kind == "request_to_decide")
        )
        == 2
    )


# --- a date of a series and every later one ----------------------------------------------


def tuesdays(place, resource, count=4, actor=None) -> list[Reservation]:
    result = book_series(
        SeriesRequest(
            resource_id=resource.id,
            member_id=place["amina"].id,
            actor_id=(actor or place["amina"]).id,
            recurrence=Recurrence("weekly", TUESDAY, count=count),
            local_start=time(14),
            local_end=time(16),
            purpose="Atelier",
        ),
        NOW,
    )
    return result.booked


def later_ones(reservation, actor, day, start, end, **fields) -> ChangeRequest:
    return ChangeRequest(reservation.id, actor.id, at(day, start), at(day, end), **fields)


def test_this_date_and_all_later_ones_move_together_and_taken_ones_stay(place):
    amina = place["amina"]
    dates = tuesdays(place, place["laser"])
    # Samir holds the third Thursday at 10:00.
    book_as(
        place["laser"],
        place["samir"],
        starts_at=paris(2026, 6, 18, 10),
        ends_at=paris(2026, 6, 18, 11),
        now=NOW,
    )
    wanted = later_ones(dates[1], amina, date(2026, 6, 11), 9, 11)
    preview = preview_following(wanted, NOW)
    assert [m.is_free for m in preview.moves] == [True, False, True]
    assert [v.code for v in preview.moves[1].violations] == ["capacity"]
    assert [local(m.starts_at)[0] for m in preview.free] == [date(2026, 6, 11), date(2026, 6, 25)]
    result = change_following(wanted, NOW)
    assert result.count(Outcome.MOVED) == 2 and len(result.left_aside) == 1
    db.session.expire_all()
    stored = [db.session.get(Reservation, r.id) for r in dates]
    assert [local(r.starts_at) for r in stored] == [
        (date(2026, 6, 2), time(14)),  # before the date changed: untouched
        (date(2026, 6, 11), time(9)),
        (date(2026, 6, 16), time(14)),  # left as it was: Thursday is taken
        (date(2026, 6, 25), time(9)),
    ]
    assert [r.uid for r in stored] == [r.uid for r in dates]
    assert [r.sequence for r in stored] == [0, 1, 0, 1]
    # The moved dates are a series of their own, with their own words.
    first, moved = stored[0].series, stored[1].series
    assert moved.id != first.id and stored[3].series_id == moved.id
    assert (moved.starts_on, moved.local_start, moved.local_end) == (
        date(2026, 6, 11),
        time(9),
        time(11),
    )
    assert moved.weekdays == ""  # the weekday of its first day: Thursday
    assert stored[2].series_id == first.id


def test_a_whole_series_moved_keeps_its_series_with_new_words(place):
    dates = tuesdays(place, place["laser"], count=3)
    change_following(later_ones(dates[0], place["amina"], WEDNESDAY, 10, 12), NOW)
    db.session.expire_all()
    series = db.session.get(Series, dates[0].series_id)
    assert (series.starts_on, series.local_start, series.local_end) == (
        WEDNESDAY,
        time(10),
        time(12),
    )
    assert all(db.session.get(Reservation, r.id).series_id == series.id for r in dates)


def test_a_series_change_with_nothing_free_moves_nothing(place):
    dates = tuesdays(place, place["laser"], count=2)
    for day in (4, 11):  # both Thursdays the Tuesdays would move to
        book_as(
            place["laser"],
            place["samir"],
            starts_at=paris(2026, 6, day, 10),
            ends_at=paris(2026, 6, day, 11),
            now=NOW,
        )
    before, counts = [row(r.id) for r in dates], written()
    with pytest.raises(BookingError) as caught:
        change_following(later_ones(dates[0], place["amina"], date(2026, 6, 4), 10, 11), NOW)
    assert [v.code for v in caught.value.violations] == ["series_taken"]
    assert [row(r.id) for r in dates] == before and written() == counts


def test_later_dates_needing_approval_wait_as_one_series_card(place):
    amina, manager = place["amina"], place["manager"]
    dates = tuesdays(place, place["kitchen"], count=3)
    decide_series(dates[0].series_id, manager.id, NOW, approve=True)
    result = change_following(later_ones(dates[0], amina, THURSDAY, 9, 11), NOW)
    assert result.count(Outcome.ASKED) == 3
    (card,) = cards(db.session, manager, NOW)
    assert card.is_change and card.series.id == dates[0].series_id
    assert len(card.reservations) == 3
    # The message to managers is one, about the three dates.
    (message,) = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.kind == "change_to_decide")
    ).all()
    assert len(message.payload["reservations"]) == 3
    decisions = decide_series(dates[0].series_id, manager.id, NOW, approve=True)
    assert len(decisions.done) == 3
    db.session.expire_all()
    assert [local(db.session.get(Reservation, r.id).starts_at) for r in dates] == [
        (date(2026, 6, 4), time(9)),
        (date(2026, 6, 11), time(9)),
        (date(2026, 6, 18), time(9)),
    ]
    assert (
        db.session.scalar(
            sa.select(sa.func.count(Reservation.id)).where(Reservation.replaces_id.is_not(None))
        )
        == 0
    )
    # One message tells the member of the three, not three.
    assert db.session.scalar(sa.select(sa.func.count()).where(OutboxMessage.kind == "changed")) == 1


def test_the_database_lets_a_booking_and_its_change_overlap_and_nothing_else(place, confirmed):
    """PostgreSQL's exclusion constraint is the last word: a booking and its own pending
    change may overlap (one booking), another booking may not, written past the engine."""
    done = move(confirmed.id, place["amina"], TUESDAY, 11, 13)  # overlaps 10–12 itself
    assert done.outcome == Outcome.ASKED
    if db.engine.dialect.name != "postgresql":
        return
    asked = db.session.get(Reservation, done.change_id)
    intruder = {
        c.key: getattr(asked, c.key) for c in sa.inspect(Reservation).column_attrs if c.key != "id"
    }
    intruder.update(uid="00000000-0000-0000-0000-000000000001", replaces_id=None)
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(sa.insert(Reservation).values(**intruder))
    db.session.rollback()


def test_a_change_whose_time_came_undecided_is_not_revived_by_the_next(place, confirmed):
    """Its time passed before anyone looked (no expiry ran yet): asking again expires it
    and asks anew, rather than moving the lapsed change to the new time."""
    amina = place["amina"]
    lapsed = move(confirmed.id, amina, date(2026, 6, 1), 18, 19).change_id
    lapsed_uid = db.session.get(Reservation, lapsed).uid
    later = paris(2026, 6, 1, 18, 30)
    done = move(confirmed.id, amina, THURSDAY, 14, 16, now=later)
    assert done.outcome == Outcome.ASKED
    db.session.expire_all()
    (waiting,) = db.session.scalars(
        sa.select(Reservation).where(Reservation.replaces_id == confirmed.id)
    ).all()
    assert waiting.uid != lapsed_uid and local(waiting.starts_at) == (THURSDAY, time(14))
    assert (
        db.session.scalar(sa.select(sa.func.count()).where(OutboxMessage.kind == "change_expired"))
        == 1
    )
