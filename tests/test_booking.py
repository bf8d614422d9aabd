"""The booking service on SQLite and PostgreSQL: every rule, named, through the database."""

from datetime import UTC, date, time, timedelta

import pytest
import sqlalchemy as sa

from booking.extensions import db
from booking.models import AuditEvent, OpeningPeriod, Reservation, Status
from booking.services import BookingError, NotAllowedError

from .conftest import book_as, paris

pytestmark = pytest.mark.postgres

NOW = paris(2026, 6, 1, 8, 0)  # a Monday morning


def attempt(resource, member, start, end, *, now=NOW, **kwargs):
    return book_as(resource, member, starts_at=start, ends_at=end, now=now, **kwargs)


def refused(resource, member, start, end, **kwargs) -> list[str]:
    with pytest.raises(BookingError) as caught:
        attempt(resource, member, start, end, **kwargs)
    return sorted(v.code for v in caught.value.violations)


def test_a_valid_booking_is_confirmed_stored_in_utc_and_audited(make):
    venue = make.venue()
    resource = make.resource(venue, buffer_minutes=15)
    member = make.user(venue)
    reservation = attempt(resource, member, paris(2026, 6, 2, 10), paris(2026, 6, 2, 12))
    stored = db.session.get(Reservation, reservation.id)
    assert stored.status == Status.CONFIRMED
    assert stored.starts_at == paris(2026, 6, 2, 10).astimezone(UTC)
    assert stored.starts_at.tzinfo is not None
    assert stored.blocked_until == paris(2026, 6, 2, 12, 15).astimezone(UTC)
    assert len(stored.uid) == 36
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.reservation_id == stored.id))
    assert event.action == "created" and event.actor_id == member.id


def test_every_violated_rule_is_named_at_once(make):
    venue = make.venue(hours=[(d, time(9), time(18)) for d in range(5)])
    resource = make.resource(venue, min_duration_minutes=60, min_notice_minutes=48 * 60)
    member = make.user(venue)
    # Off the grid, too short, and not enough notice, all in one request.
    codes = refused(resource, member, paris(2026, 6, 1, 10, 10), paris(2026, 6, 1, 10, 30))
    assert codes == ["notice", "off_grid", "too_short"]


def test_opening_hours_of_the_resource_replace_the_venues(make):
    venue = make.venue()
    resource = make.resource(venue)
    resource.own_opening_periods = [OpeningPeriod(weekday=1, opens_at=time(14), closes_at=time(18))]
    db.session.commit()
    member = make.user(venue)
    assert refused(resource, member, paris(2026, 6, 2, 10), paris(2026, 6, 2, 11)) == [
        "outside_hours"
    ]
    attempt(resource, member, paris(2026, 6, 2, 14), paris(2026, 6, 2, 15))


def test_closure_of_the_venue_or_of_the_resource_alone(make):
    venue = make.venue()
    laser, printer = make.resource(venue), make.resource(venue)
    make.closure(venue, paris(2026, 6, 2, 0), paris(2026, 6, 4, 0), resource=laser)
    make.closure(venue, paris(2026, 6, 5, 9), paris(2026, 6, 5, 12))
    member = make.user(venue)
    assert refused(laser, member, paris(2026, 6, 3, 10), paris(2026, 6, 3, 11)) == ["closed"]
    attempt(printer, member, paris(2026, 6, 3, 10), paris(2026, 6, 3, 11))
    # The whole venue closed for a morning: every resource, that morning only.
    assert refused(printer, member, paris(2026, 6, 5, 11), paris(2026, 6, 5, 13)) == ["closed"]
    attempt(printer, member, paris(2026, 6, 5, 12), paris(2026, 6, 5, 13))


def test_overlap_is_refused_and_back_to_back_fits_with_the_buffer(make):
    venue = make.venue()
    kitchen = make.resource(venue, buffer_minutes=30)
    amina, samir = make.user(venue), make.user(venue)
    attempt(kitchen, amina, paris(2026, 6, 2, 10), paris(2026, 6, 2, 12))
    assert refused(kitchen, samir, paris(2026, 6, 2, 12), paris(2026, 6, 2, 13)) == ["capacity"]
    attempt(kitchen, samir, paris(2026, 6, 2, 12, 30), paris(2026, 6, 2, 13, 30))


def test_a_conflict_with_ones_own_booking_points_to_it(make):
    venue = make.venue()
    kitchen = make.resource(venue, buffer_minutes=30)
    amina, karim = make.user(venue), make.user(venue)
    mine = attempt(kitchen, amina, paris(2026, 6, 2, 10), paris(2026, 6, 2, 12))
    with pytest.raises(BookingError) as caught:
        attempt(kitchen, amina, paris(2026, 6, 2, 12), paris(2026, 6, 2, 13))  # in the cleaning
    (violation,) = caught.value.violations
    assert violation.code == "own_overlap"
    assert violation.params == {"reservation_id": mine.id}
    assert caught.value.is_conflict
    # Someone else is told the slot is taken, nothing about whose it is.
    assert refused(kitchen, karim, paris(2026, 6, 2, 11), paris(2026, 6, 2, 13)) == ["capacity"]


def test_pending_requests_hold_their_slot(make):
    venue = make.venue()
    kitchen = make.resource(venue, requires_approval=True)
    amina, samir = make.user(venue), make.user(venue)
    pending = attempt(kitchen, amina, paris(2026, 6, 2, 10), paris(2026, 6, 2, 12))
    assert pending.status == Status.PENDING
    assert refused(kitchen, samir, paris(2026, 6, 2, 11), paris(2026, 6, 2, 12)) == ["capacity"]


def test_shared_space_counts_seats_at_the_busiest_moment(make):
    venue = make.venue()
    coworking = make.resource(venue, capacity=8)
    people = [make.user(venue) for _ in range(5)]
    for person in people[:4]:
        attempt(coworking, person, paris(2026, 6, 2, 9), paris(2026, 6, 2, 12), seats=2)
    # Full in the morning, free in the afternoon.
    assert refused(coworking, people[4], paris(2026, 6, 2, 11), paris(2026, 6, 2, 14)) == [
        "capacity"
    ]
    attempt(coworking, people[4], paris(2026, 6, 2, 12), paris(2026, 6, 2, 17), seats=8)


def test_qualification_required_and_expiry_honoured(make):
    venue = make.venue()
    laser_training = make.qualification()
    laser = make.resource(venue, qualification_id=laser_training.id)
    karim, lea, old_hand = make.user(venue), make.user(venue), make.user(venue)
    make.grant(karim, laser_training)
    make.grant(old_hand, laser_training, expires_on=date(2026, 6, 1))
    attempt(laser, karim, paris(2026, 6, 2, 10), paris(2026, 6, 2, 11))
    assert refused(laser, lea, paris(2026, 6, 3, 10), paris(2026, 6, 3, 11)) == ["qualification"]
    assert refused(laser, old_hand, paris(2026, 6, 3, 10), paris(2026, 6, 3, 11)) == [
        "qualification"
    ]


def test_weekly_quota_is_counted_per_member_in_the_local_week(make):
    venue = make.venue()
    laser = make.resource(venue, weekly_quota_minutes=180)
    karim, lea = make.user(venue), make.user(venue)
    attempt(laser, karim, paris(2026, 6, 1, 10), paris(2026, 6, 1, 12))
    assert refused(laser, karim, paris(2026, 6, 7, 10), paris(2026, 6, 7, 12)) == ["quota"]
    attempt(laser, lea, paris(2026, 6, 7, 10), paris(2026, 6, 7, 12))
    attempt(laser, karim, paris(2026, 6, 8, 10), paris(2026, 6, 8, 12))  # next Monday


def test_horizon_and_notice(make):
    venue = make.venue()
    resource = make.resource(venue, horizon_days=14, min_notice_minutes=120)
    member = make.user(venue)
    assert refused(resource, member, paris(2026, 6, 16, 10), paris(2026, 6, 16, 11)) == ["horizon"]
    assert refused(resource, member, paris(2026, 6, 1, 9), paris(2026, 6, 1, 10)) == ["notice"]
    later = paris(2026, 6, 1, 12)
    codes = refused(resource, member, paris(2026, 6, 1, 9), paris(2026, 6, 1, 10), now=later)
    assert codes == ["in_past"]


def test_account_must_be_active_and_belong_to_the_venue(make):
    venue, elsewhere = make.venue(), make.venue()
    resource = make.resource(venue)
    outsider = make.user(elsewhere)
    sleeping = make.user(venue, active=False)
    assert refused(resource, outsider, paris(2026, 6, 2, 10), paris(2026, 6, 2, 11)) == ["no_role"]
    assert refused(resource, sleeping, paris(2026, 6, 2, 10), paris(2026, 6, 2, 11)) == [
        "account_inactive"
    ]


def test_retired_resource_cannot_be_booked(make):
    venue = make.venue()
    resource = make.resource(venue, is_active=False)
    member = make.user(venue)
    assert refused(resource, member, paris(2026, 6, 2, 10), paris(2026, 6, 2, 11)) == [
        "resource_retired"
    ]


def test_manager_overrides_soft_rules_explicitly_and_it_is_audited(make):
    venue = make.venue(hours=[(d, time(9), time(18)) for d in range(7)])
    laser_training = make.qualification()
    laser = make.resource(
        venue,
        qualification_id=laser_training.id,
        min_notice_minutes=24 * 60,
        requires_approval=True,
    )
    manager, lea = make.manager(venue), make.user(venue)
    start, end = paris(2026, 6, 1, 18), paris(2026, 6, 1, 19)
    # Without the explicit choice the manager meets the same rules.
    assert refused(laser, lea, start, end, actor=manager) == [
        "notice",
        "outside_hours",
        "qualification",
    ]
    overrides = frozenset({"hours", "notice", "qualification"})
    reservation = attempt(laser, lea, start, end, actor=manager, overrides=overrides)
    assert reservation.status == Status.CONFIRMED  # made by a manager: no approval needed
    assert reservation.overrides == "hours,notice,qualification"
    event = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.reservation_id == reservation.id)
    )
    assert "hours,notice,qualification" in event.detail and event.actor_id == manager.id


def test_capacity_is_never_overridable(make):
    venue = make.venue()
    resource = make.resource(venue)
    manager, amina, lea = make.manager(venue), make.user(venue), make.user(venue)
    attempt(resource, amina, paris(2026, 6, 2, 10), paris(2026, 6, 2, 11))
    everything = frozenset({"hours", "notice", "horizon", "quota", "qualification"})
    codes = refused(
        resource,
        lea,
        paris(2026, 6, 2, 10),
        paris(2026, 6, 2, 11),
        actor=manager,
        overrides=everything,
    )
    assert codes == ["capacity"]


def test_members_cannot_override_or_book_for_someone_else(make):
    venue = make.venue()
    resource = make.resource(venue, min_notice_minutes=600)
    amina, lea = make.user(venue), make.user(venue)
    with pytest.raises(NotAllowedError):
        attempt(resource, lea, paris(2026, 6, 2, 10), paris(2026, 6, 2, 11), actor=amina)
    with pytest.raises(NotAllowedError):
        attempt(
            resource,
            amina,
            paris(2026, 6, 1, 9),
            paris(2026, 6, 1, 10),
            overrides=frozenset({"notice"}),
        )


def test_expired_pending_requests_stop_holding_their_slot(make):
    venue = make.venue()
    kitchen = make.resource(venue, requires_approval=True)
    amina, samir = make.user(venue), make.user(venue)
    pending = attempt(kitchen, amina, paris(2026, 6, 2, 10), paris(2026, 6, 2, 12))
    later = paris(2026, 6, 2, 10, 30)
    attempt(kitchen, samir, paris(2026, 6, 2, 11), paris(2026, 6, 2, 12), now=later)
    assert db.session.get(Reservation, pending.id).status == Status.EXPIRED


def test_refusal_writes_nothing(make):
    venue = make.venue()
    resource = make.resource(venue)
    member = make.user(venue)
    refused(resource, member, paris(2026, 6, 2, 10), paris(2026, 6, 2, 10, 15))
    assert db.session.scalar(sa.select(sa.func.count(Reservation.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == 0


# The exclusion constraint is PostgreSQL's; SQLite serialises writers instead.
@pytest.mark.parametrize("db_backend", ["postgresql"])
def test_the_database_itself_refuses_overlapping_exclusive_rows(make):
    venue = make.venue()
    resource = make.resource(venue)
    member = make.user(venue)
    first = attempt(resource, member, paris(2026, 6, 2, 10), paris(2026, 6, 2, 12))
    start = first.starts_at + timedelta(hours=1)
    db.session.add(
        Reservation(
            resource_id=resource.id,
            user_id=member.id,
            created_by_id=member.id,
            starts_at=start,
            ends_at=start + timedelta(hours=1),
            blocked_until=start + timedelta(hours=1),
            status=Status.CONFIRMED,
        )
    )
    with pytest.raises(sa.exc.IntegrityError, match="ex_reservation_no_overlap"):
        db.session.commit()
    db.session.rollback()
