"""A venue's settings, changed through the services: hours, resources and their rules,
trainings, roles, the venue itself; each change refused when it makes no sense, and logged
with its values before and after."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
import sqlalchemy as sa

from booking.extensions import db
from booking.forms.manage import parse_duration
from booking.models import (
    AdminEvent,
    Membership,
    QualificationGrant,
    Reservation,
    Resource,
    ResourceKind,
    Role,
    Status,
    User,
    Venue,
)
from booking.rules import Period
from booking.services import BookingError
from booking.services.errors import ChangedMeanwhileError, NotAllowedError, SettingsError
from booking.services.venues import hours as hours_service
from booking.services.venues.members import remove_member, set_account_active, set_role
from booking.services.venues.resources import (
    ResourceSettings,
    create_resource,
    restore_resource,
    retire_resource,
    update_resource,
)
from booking.services.venues.setup import VenueSettings, create_venue, setup_steps, update_venue
from booking.services.venues.trainings import (
    create_training,
    expiring,
    grant_training,
    remove_training,
    revoke_training,
)
from booking.services.venues.validation import RuleValues, check_periods, check_rules

from .conftest import Factory, book_as, paris

pytestmark = pytest.mark.postgres

NOW = paris(2026, 3, 2, 9, 0)
WEEKDAYS = [(d, time(9), time(12, 30)) for d in range(5)] + [
    (d, time(13, 30), time(19)) for d in range(5)
]


@pytest.fixture
def place(make: Factory) -> dict:
    venue = make.venue(slug="moulins", name="KPA Moulins", hours=WEEKDAYS)
    return {
        "venue": venue,
        "kitchen": make.resource(venue, slug="cuisine", name="Cuisine", kind=ResourceKind.SPACE),
        "member": make.user(venue, display_name="Amina Haddad", email="amina@example.org"),
        "manager": make.manager(venue, display_name="Nadia Benali", email="nadia@example.org"),
        "outsider": make.manager(make.venue(), display_name="Claire Dubois"),
        "admin": make.user(is_admin=True, display_name="Administratrice"),
    }


def codes(error: pytest.ExceptionInfo) -> list[tuple[str, str | None]]:
    return [(v.code, v.field) for v in error.value.violations]


def logged(action: str) -> AdminEvent:
    return db.session.scalar(
        sa.select(AdminEvent).where(AdminEvent.action == action).order_by(AdminEvent.id.desc())
    )


# --- pure checks ----------------------------------------------------------------------


def values(**fields) -> RuleValues:
    base = {
        "capacity": 1,
        "slot_minutes": 30,
        "min_duration_minutes": 60,
        "max_duration_minutes": 240,
        "min_notice_minutes": 0,
        "horizon_days": 30,
        "buffer_minutes": 0,
        "weekly_quota_minutes": None,
    }
    return RuleValues(**{**base, **fields})


PERIODS = [Period(0, time(9), time(12, 30)), Period(0, time(13, 30), time(19))]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, []),
        ({"max_duration_minutes": 30}, [("max_below_min", "max_duration_minutes")]),
        ({"min_duration_minutes": 45}, [("duration_off_grid", "min_duration_minutes")]),
        ({"slot_minutes": 60}, [("hours_off_grid", "slot_minutes")]),  # 12 h 30 is off a 1 h grid
        ({"slot_minutes": 7}, [("slot_invalid", "slot_minutes")]),
        ({"min_notice_minutes": 31 * 24 * 60}, [("notice_beyond_horizon", "min_notice_minutes")]),
        ({"weekly_quota_minutes": 30}, [("quota_below_min", "weekly_quota_minutes")]),
        (
            {"min_duration_minutes": 360, "max_duration_minutes": 360},
            [("min_longer_than_hours", "min_duration_minutes")],
        ),
        (
            {"max_duration_minutes": 20160, "buffer_minutes": 30},
            [("hold_too_long", "max_duration_minutes")],
        ),
        ({"capacity": 0}, [("capacity_range", "capacity")]),
    ],
)
def test_inconsistent_rules_are_refused(fields: dict, expected: list) -> None:
    found = check_rules(values(**fields), PERIODS, "Cuisine")
    assert [(v.code, v.field) for v in found] == expected


def test_periods_must_be_in_order_and_apart() -> None:
    reversed_period = [Period(1, time(12), time(9))]
    overlapping = [Period(2, time(9), time(13)), Period(2, time(12), time(18))]
    back_to_back = [Period(3, time(9), time(12)), Period(3, time(12), time(18))]
    assert [v.code for v in check_periods(reversed_period)] == ["period_reversed"]
    assert [(v.code, v.field) for v in check_periods(overlapping)] == [("periods_overlap", "day2")]
    assert check_periods(back_to_back) == []


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("90", 90),
        ("90 min", 90),
        ("1 h 30", 90),
        ("1h30", 90),
        ("1:30", 90),
        ("2 heures", 120),
        ("1 jour", 1440),
        ("2 j", 2880),
        ("1 h", 60),
        ("0", 0),
        ("1\u00a0h\u00a030", 90),
        ("", None),
        ("-1", None),
        ("1 h 30 min 2", None),
        ("trois heures", None),
        ("99999999999", None),
        ("1:75", None),
    ],
)
def test_durations_are_read_as_people_write_them(text: str, minutes: int | None) -> None:
    assert parse_duration(text) == minutes


# --- hours ------------------------------------------------------------------------------


def test_new_hours_list_the_bookings_they_leave_out(place: dict) -> None:
    inside = book_as(
        place["kitchen"],
        place["member"],
        starts_at=paris(2026, 3, 3, 17),
        ends_at=paris(2026, 3, 3, 18),
        now=NOW,
    )
    morning = book_as(
        place["kitchen"],
        place["member"],
        starts_at=paris(2026, 3, 4, 9),
        ends_at=paris(2026, 3, 4, 10),
        now=NOW,
    )
    shorter = [Period(d, time(10), time(17)) for d in range(6)]
    preview = hours_service.preview(place["venue"].id, None, shorter, place["manager"].id, NOW)
    assert [res.id for res in preview] == [inside.id, morning.id]
    outside = hours_service.set_hours(place["venue"].id, None, shorter, place["manager"].id, NOW)
    assert [res.id for res in outside] == [inside.id, morning.id]
    # They stay booked: listed, not cancelled.
    assert {db.session.get(Reservation, i).status for i in (inside.id, morning.id)} == {
        Status.CONFIRMED
    }
    event = logged("hours.changed")
    assert event.changes[0][0] == "hours"
    assert event.changes[0][1].startswith("0 09:00-12:30 13:30-19:00")
    assert event.changes[0][2].startswith("0 10:00-17:00|1 10:00-17:00")
    # Saturday now opens: the engine takes bookings then.
    book_as(
        place["kitchen"],
        place["member"],
        starts_at=paris(2026, 3, 7, 10),
        ends_at=paris(2026, 3, 7, 11),
        now=NOW,
    )


def test_hours_off_the_grid_of_a_resource_are_refused(place: dict, make: Factory) -> None:
    make.resource(place["venue"], name="Salle", slot_minutes=60, min_duration_minutes=60)
    with pytest.raises(SettingsError) as refused:
        hours_service.set_hours(
            place["venue"].id, None, [Period(0, time(9), time(12, 30))], place["manager"].id, NOW
        )
    assert codes(refused) == [("hours_off_grid", "day0")]
    assert refused.value.violations[0].params["resource"] == "Salle"
    with pytest.raises(SettingsError) as empty:
        hours_service.set_hours(place["venue"].id, None, [], place["manager"].id, NOW)
    assert codes(empty) == [("no_hours", "day0")]


def test_a_resource_gets_hours_of_its_own_then_the_venues_again(place: dict) -> None:
    kitchen = place["kitchen"]
    own = [Period(2, time(14), time(18))]
    hours_service.set_hours(place["venue"].id, kitchen.id, own, place["manager"].id, NOW)
    with pytest.raises(BookingError):
        book_as(
            kitchen,
            place["member"],
            starts_at=paris(2026, 3, 3, 14),
            ends_at=paris(2026, 3, 3, 15),
            now=NOW,
        )
    hours_service.set_hours(place["venue"].id, kitchen.id, None, place["manager"].id, NOW)
    book_as(
        kitchen,
        place["member"],
        starts_at=paris(2026, 3, 3, 14),
        ends_at=paris(2026, 3, 3, 15),
        now=NOW,
    )
    assert db.session.get(Resource, kitchen.id).own_opening_periods == []


def test_hours_of_another_venue_are_out_of_reach(place: dict) -> None:
    with pytest.raises(NotAllowedError):
        hours_service.set_hours(
            place["venue"].id, None, [Period(0, time(9), time(12))], place["outsider"].id, NOW
        )


# --- resources ----------------------------------------------------------------------------

LASER = ResourceSettings(
    name="Découpeuse laser",
    kind=ResourceKind.EQUIPMENT,
    slot_minutes=30,
    min_duration_minutes=30,
    max_duration_minutes=180,
    buffer_minutes=15,
    buffer_reason="le refroidissement de la machine",
    weekly_quota_minutes=360,
)


def test_a_resource_is_created_with_every_rule_and_logged(place: dict) -> None:
    laser = create_resource(place["venue"].id, LASER, place["manager"].id, NOW)
    assert laser.slug == "decoupeuse-laser"
    assert (laser.max_duration_minutes, laser.buffer_minutes, laser.buffer_reason) == (
        180,
        15,
        "le refroidissement de la machine",
    )
    event = logged("resource.created")
    assert event.resource_id == laser.id and ["buffer_minutes", None, 15] in event.changes
    # Another of the same name elsewhere gets a slug of its own.
    other = create_resource(
        db.session.scalar(sa.select(Venue.id).where(Venue.slug != "moulins")),
        LASER,
        place["outsider"].id,
        NOW,
    )
    assert other.slug == "decoupeuse-laser-2"


def test_changing_rules_logs_each_value_before_and_after(place: dict) -> None:
    training = create_training(place["venue"].id, "Sécurité cuisine", "", place["manager"].id, NOW)
    kitchen = place["kitchen"]
    settings = ResourceSettings.of(db.session.get(Resource, kitchen.id))
    changed = ResourceSettings(
        **{
            **settings.__dict__,
            "max_duration_minutes": 360,
            "requires_approval": True,
            "qualification_id": training.id,
        }
    )
    update_resource(kitchen.id, changed, place["manager"].id, NOW)
    event = logged("resource.updated")
    assert sorted(map(tuple, event.changes)) == [
        ("max_duration_minutes", 480, 360),
        ("requires_approval", False, True),
        ("training", None, "Sécurité cuisine"),
    ]


def test_inconsistent_or_foreign_settings_are_refused_and_nothing_changes(
    place: dict, make: Factory
) -> None:
    kitchen = place["kitchen"]
    foreign = make.qualification("Formation d'ailleurs")
    bad = ResourceSettings(
        **{
            **LASER.__dict__,
            "name": "Cuisine",
            "max_duration_minutes": 20,
            "qualification_id": foreign.id,
        }
    )
    with pytest.raises(SettingsError) as refused:
        update_resource(
            make.resource(place["venue"], name="Autre").id, bad, place["manager"].id, NOW
        )
    assert sorted(codes(refused)) == [
        ("max_below_min", "max_duration_minutes"),
        ("name_taken", "name"),
        ("unknown_training", "qualification_id"),
    ]
    assert db.session.scalar(sa.select(sa.func.count(AdminEvent.id))) == 0
    with pytest.raises(NotAllowedError):
        update_resource(kitchen.id, LASER, place["outsider"].id, NOW)


def test_retiring_cancels_what_is_to_come_and_keeps_the_history(place: dict, client) -> None:
    kitchen = place["kitchen"]
    past = book_as(
        kitchen,
        place["member"],
        starts_at=paris(2026, 2, 27, 14),
        ends_at=paris(2026, 2, 27, 15),
        now=paris(2026, 2, 26, 9),
    )
    coming = book_as(
        kitchen,
        place["member"],
        starts_at=paris(2026, 3, 5, 10),
        ends_at=paris(2026, 3, 5, 11),
        now=NOW,
    )
    with pytest.raises(SettingsError) as no_reason:
        retire_resource(kitchen.id, place["manager"].id, "", NOW, frozenset({coming.id}))
    assert codes(no_reason) == [("reason_required", "reason")]
    with pytest.raises(ChangedMeanwhileError):
        retire_resource(kitchen.id, place["manager"].id, "Travaux", NOW, frozenset())
    cancelled = retire_resource(
        kitchen.id, place["manager"].id, "Travaux", NOW, frozenset({coming.id})
    )
    assert [res.id for res in cancelled] == [coming.id]
    assert db.session.get(Reservation, coming.id).decision_reason == "Travaux"
    assert db.session.get(Reservation, past.id).status == Status.CONFIRMED
    assert client.get("/resources/cuisine").status_code == 404
    assert client.get("/feeds/resources/cuisine.ics").status_code == 404
    restore_resource(kitchen.id, place["manager"].id, NOW)
    assert client.get("/feeds/resources/cuisine.ics").status_code == 200
    assert [
        e.action for e in db.session.scalars(sa.select(AdminEvent).order_by(AdminEvent.id))
    ] == [
        "resource.retired",
        "resource.restored",
    ]


# --- trainings ----------------------------------------------------------------------------


def test_a_training_is_granted_renewed_and_withdrawn(place: dict) -> None:
    training = create_training(
        place["venue"].id, "Hygiène en cuisine", "HACCP", place["manager"].id, NOW
    )
    amina = place["member"]
    grant_training(
        training.id, amina.id, date(2026, 3, 1), date(2026, 3, 20), place["manager"].id, NOW
    )
    soon = expiring(db.session, place["venue"].id, date(2026, 3, 2))
    assert [(g.user_id, g.expires_on) for g in soon] == [(amina.id, date(2026, 3, 20))]
    event = logged("training.granted")
    assert event.member_id == amina.id and event.actor_id == place["manager"].id
    assert ["expires_on", None, "2026-03-20"] in event.changes
    # Granting again renews: one grant, the new dates, both logged.
    grant_training(training.id, amina.id, date(2026, 3, 2), None, place["manager"].id, NOW)
    grants = db.session.scalars(
        sa.select(QualificationGrant).where(QualificationGrant.user_id == amina.id)
    ).all()
    assert [(g.granted_on, g.expires_on) for g in grants] == [(date(2026, 3, 2), None)]
    assert ["expires_on", "2026-03-20", None] in logged("training.granted").changes
    with pytest.raises(SettingsError) as in_use:
        remove_training(training.id, place["manager"].id, NOW)
    assert codes(in_use) == [("training_in_use", None)]
    revoke_training(training.id, amina.id, place["manager"].id, NOW)
    assert db.session.scalar(sa.select(sa.func.count(QualificationGrant.id))) == 0
    remove_training(training.id, place["manager"].id, NOW)


def test_grants_are_checked(place: dict, make: Factory) -> None:
    training = create_training(
        place["venue"].id, "Hygiène en cuisine", "", place["manager"].id, NOW
    )
    stranger = make.user()
    with pytest.raises(SettingsError) as refused:
        grant_training(
            training.id, stranger.id, date(2026, 3, 5), date(2026, 3, 1), place["manager"].id, NOW
        )
    assert codes(refused) == [
        ("not_a_member", "member"),
        ("date_in_future", "granted_on"),
        ("expiry_before_training", "expires_on"),
    ]
    with pytest.raises(SettingsError) as taken:
        create_training(place["venue"].id, "hygiène en CUISINE", "", place["manager"].id, NOW)
    assert codes(taken) == [("name_taken", "name")]
    with pytest.raises(NotAllowedError):
        grant_training(
            training.id, place["member"].id, date(2026, 3, 1), None, place["outsider"].id, NOW
        )


# --- members ------------------------------------------------------------------------------


def test_roles_are_changed_and_removed(place: dict, make: Factory) -> None:
    lea = make.user(place["venue"], display_name="Léa Martin", email="lea@example.org")
    set_role(place["venue"].id, lea.id, Role.MANAGER, place["manager"].id, NOW)
    assert [
        e.action for e in db.session.scalars(sa.select(AdminEvent).order_by(AdminEvent.id))
    ] == ["role.changed"]
    assert logged("role.changed").changes == [["role", "member", "manager"]]
    with pytest.raises(SettingsError) as own:
        set_role(place["venue"].id, place["manager"].id, Role.MEMBER, place["manager"].id, NOW)
    assert codes(own) == [("own_role", "role")]


def test_a_manager_never_changes_an_administrators_role(place: dict, make: Factory) -> None:
    """An administrator with a role at the venue stays out of its managers' reach: only
    another administrator changes or removes it."""
    admin = make.user(place["venue"], role=Role.MANAGER, is_admin=True, email="boss@example.org")
    other_admin = make.user(is_admin=True, email="root@example.org")
    for attempt in (
        lambda: set_role(place["venue"].id, admin.id, Role.MEMBER, place["manager"].id, NOW),
        lambda: remove_member(
            place["venue"].id,
            admin.id,
            place["manager"].id,
            NOW,
            seen_ids=frozenset(),
            cancel=False,
        ),
    ):
        with pytest.raises(SettingsError) as refused:
            attempt()
        assert codes(refused) == [("administrator_role", "role")]
    db.session.expire_all()
    assert db.session.get(User, admin.id).memberships[0].role == Role.MANAGER
    set_role(place["venue"].id, admin.id, Role.MEMBER, other_admin.id, NOW)
    db.session.expire_all()
    assert db.session.get(User, admin.id).memberships[0].role == Role.MEMBER


def test_removing_a_role_may_cancel_the_bookings_to_come(place: dict) -> None:
    amina = place["member"]
    coming = book_as(
        place["kitchen"],
        amina,
        starts_at=paris(2026, 3, 5, 10),
        ends_at=paris(2026, 3, 5, 11),
        now=NOW,
    )
    with pytest.raises(SettingsError) as no_reason:
        remove_member(
            place["venue"].id,
            amina.id,
            place["manager"].id,
            NOW,
            seen_ids=frozenset({coming.id}),
            cancel=True,
        )
    assert codes(no_reason) == [("reason_required", "reason")]
    cancelled = remove_member(
        place["venue"].id,
        amina.id,
        place["manager"].id,
        NOW,
        seen_ids=frozenset({coming.id}),
        cancel=True,
        reason="Départ de la coopérative",
    )
    assert [res.id for res in cancelled] == [coming.id]
    assert db.session.scalar(sa.select(Membership).where(Membership.user_id == amina.id)) is None
    event = logged("role.removed")
    assert (event.member_id, event.detail) == (amina.id, "Départ de la coopérative")
    # Without a role, no more bookings here.
    with pytest.raises(BookingError):
        book_as(
            place["kitchen"],
            amina,
            starts_at=paris(2026, 3, 6, 10),
            ends_at=paris(2026, 3, 6, 11),
            now=NOW,
        )


def test_administrators_switch_accounts_off_and_on(place: dict) -> None:
    amina = place["member"]
    coming = book_as(
        place["kitchen"],
        amina,
        starts_at=paris(2026, 3, 5, 10),
        ends_at=paris(2026, 3, 5, 11),
        now=NOW,
    )
    with pytest.raises(NotAllowedError):
        set_account_active(amina.id, False, place["manager"].id, NOW)
    with pytest.raises(SettingsError) as own:
        set_account_active(place["admin"].id, False, place["admin"].id, NOW)
    assert codes(own) == [("own_account", "reason")]
    set_account_active(
        amina.id,
        False,
        place["admin"].id,
        NOW,
        seen_ids=frozenset({coming.id}),
        cancel=True,
        reason="Compte fermé",
    )
    assert not db.session.get(User, amina.id).active
    assert db.session.get(Reservation, coming.id).status == Status.CANCELLED
    set_account_active(amina.id, True, place["admin"].id, NOW)
    assert db.session.get(User, amina.id).active
    assert [
        e.action for e in db.session.scalars(sa.select(AdminEvent).order_by(AdminEvent.id))
    ] == [
        "account.deactivated",
        "account.reactivated",
    ]


# --- venues -------------------------------------------------------------------------------


def test_administrators_create_and_describe_venues(place: dict) -> None:
    settings = VenueSettings(
        name="Les Ateliers du Sud",
        address="12 rue de la Paix, 59000 Lille",
        phone="03 20 00 00 04",
        email="Contact@Ateliers.example.org",
        timezone="Europe/Paris",
        description="Un nouveau tiers-lieu.",
    )
    with pytest.raises(NotAllowedError):
        create_venue(settings, place["manager"].id, NOW)
    venue = create_venue(settings, place["admin"].id, NOW)
    assert (venue.slug, venue.email) == ("les-ateliers-du-sud", "contact@ateliers.example.org")
    steps = setup_steps(db.session, venue, NOW)
    assert (steps.hours, steps.resources, steps.managers, steps.complete) == (0, 0, 0, False)
    with pytest.raises(SettingsError) as refused:
        update_venue(
            venue.id,
            VenueSettings(
                name="KPA Moulins", timezone="Mars/Olympus", email="pas une adresse", phone="abc"
            ),
            place["admin"].id,
            NOW,
        )
    assert sorted(codes(refused)) == [
        ("invalid_email", "email"),
        ("invalid_phone", "phone"),
        ("unknown_timezone", "timezone"),
    ]
    update_venue(
        venue.id,
        VenueSettings(**{**settings.__dict__, "phone": "03 20 99 99 99"}),
        place["admin"].id,
        NOW,
    )
    assert logged("venue.updated").changes == [["phone", "03 20 00 00 04", "03 20 99 99 99"]]


# --- what the managers' pages read, on both engines -----------------------------------


def test_the_managers_pages_read_alike_on_both_engines(place: dict, make: Factory) -> None:
    from booking.services.audit import LogFilter, venue_log
    from booking.services.booking.queue import cards
    from booking.services.booking.schedule import venue_schedule
    from booking.services.venues.members import member_rows
    from booking.services.venues.trainings import venue_trainings

    kitchen = db.session.get(Resource, place["kitchen"].id)
    kitchen.requires_approval = True
    db.session.commit()
    training = create_training(place["venue"].id, "Hygiène", "", place["manager"].id, NOW)
    an_hour_ago = NOW - timedelta(hours=1)
    grant_training(
        training.id, place["member"].id, date(2026, 3, 1), None, place["manager"].id, an_hour_ago
    )
    waiting = book_as(
        kitchen,
        place["member"],
        starts_at=paris(2026, 3, 3, 10),
        ends_at=paris(2026, 3, 3, 12),
        now=NOW,
    )
    manager = db.session.get(User, place["manager"].id)

    found = cards(db.session, manager, NOW)
    assert [card.first.id for card in found] == [waiting.id] and found[0].history.is_new
    plan = venue_schedule(db.session, db.session.get(Venue, place["venue"].id), date(2026, 3, 2), 7)
    cell = next(row for row in plan.rows if row.resource.id == kitchen.id).cells[1]
    assert [b.reservation.id for b in cell.bookings] == [waiting.id] and cell.peak_seats == 1
    rows = member_rows(db.session, place["venue"].id, NOW, "amina")
    assert [(row.user.id, row.upcoming) for row in rows] == [(place["member"].id, 1)]
    summary = venue_trainings(db.session, place["venue"].id, date(2026, 3, 2))
    assert [(t.training.name, t.holders, t.expired) for t in summary] == [("Hygiène", 1, 0)]
    entries, more = venue_log(
        db.session,
        db.session.get(Venue, place["venue"].id),
        LogFilter(member_id=place["member"].id),
    )
    assert [e.action for e in entries] == ["created", "training.granted"] and not more
