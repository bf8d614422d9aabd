"""Lifecycle moves on SQLite and PostgreSQL: who may do what, and what calendars are told."""

import pytest
import sqlalchemy as sa

from booking.extensions import db
from booking.models import AuditEvent, Reservation, Status
from booking.services import (
    NotAllowedError,
    TransitionError,
    approve,
    cancel,
    expire_pending,
    refuse,
)

from .conftest import book_as, paris

pytestmark = pytest.mark.postgres

NOW = paris(2026, 6, 1, 8, 0)


@pytest.fixture
def kitchen_request(make):
    venue = make.venue()
    kitchen = make.resource(venue, requires_approval=True)
    manager, amina = make.manager(venue), make.user(venue)
    reservation = book_as(
        kitchen,
        amina,
        starts_at=paris(2026, 6, 3, 10),
        ends_at=paris(2026, 6, 3, 12),
        now=NOW,
    )
    return reservation.id, manager, amina


def actions(reservation_id: int) -> list[str]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent.action)
            .where(AuditEvent.reservation_id == reservation_id)
            .order_by(AuditEvent.id)
        )
    )


def test_approval_confirms_bumps_sequence_and_records_the_decision(kitchen_request):
    reservation_id, manager, _ = kitchen_request
    later = paris(2026, 6, 1, 9)
    approve(reservation_id, manager.id, later)
    reservation = db.session.get(Reservation, reservation_id)
    assert reservation.status == Status.CONFIRMED
    assert reservation.sequence == 1
    assert reservation.updated_at == later
    assert reservation.decided_by_id == manager.id
    assert actions(reservation_id) == ["created", "approved"]


def test_refusal_needs_a_reason(kitchen_request):
    reservation_id, manager, _ = kitchen_request
    with pytest.raises(TransitionError, match="reason_required"):
        refuse(reservation_id, manager.id, "  ", NOW)
    refuse(reservation_id, manager.id, "La cuisine est réservée pour la fête de quartier.", NOW)
    reservation = db.session.get(Reservation, reservation_id)
    assert reservation.status == Status.REFUSED
    assert reservation.decision_reason.startswith("La cuisine")


def test_members_decide_nothing(kitchen_request):
    reservation_id, _, amina = kitchen_request
    with pytest.raises(NotAllowedError):
        approve(reservation_id, amina.id, NOW)
    with pytest.raises(NotAllowedError):
        refuse(reservation_id, amina.id, "non", NOW)
    assert db.session.get(Reservation, reservation_id).status == Status.PENDING


def test_no_approving_a_cancelled_request(kitchen_request):
    reservation_id, manager, amina = kitchen_request
    cancel(reservation_id, amina.id, "", NOW)
    assert actions(reservation_id) == ["created", "withdrawn"]
    with pytest.raises(TransitionError, match="approve_cancelled"):
        approve(reservation_id, manager.id, NOW)


def test_no_cancelling_twice_or_after_the_end(kitchen_request):
    reservation_id, manager, amina = kitchen_request
    approve(reservation_id, manager.id, NOW)
    with pytest.raises(TransitionError, match="cancel_ended"):
        cancel(reservation_id, amina.id, "", paris(2026, 6, 3, 12, 30))
    cancel(reservation_id, amina.id, "Empêchement", NOW)
    with pytest.raises(TransitionError, match="cancel_cancelled"):
        cancel(reservation_id, amina.id, "", NOW)
    assert db.session.get(Reservation, reservation_id).sequence == 2


def test_a_manager_cancelling_someone_elses_booking_gives_a_reason(kitchen_request):
    reservation_id, manager, _ = kitchen_request
    with pytest.raises(TransitionError, match="reason_required"):
        cancel(reservation_id, manager.id, "", NOW)
    cancel(reservation_id, manager.id, "Fuite d'eau : cuisine fermée.", NOW)
    assert db.session.get(Reservation, reservation_id).status == Status.CANCELLED


def test_other_members_cannot_cancel(kitchen_request, make):
    reservation_id, _, _ = kitchen_request
    stranger = make.user(db.session.get(Reservation, reservation_id).resource.venue)
    with pytest.raises(NotAllowedError):
        cancel(reservation_id, stranger.id, "", NOW)


def test_undecided_requests_expire_once_their_start_passes(kitchen_request):
    reservation_id, manager, _ = kitchen_request
    assert expire_pending(paris(2026, 6, 3, 9, 59)) == 0
    assert expire_pending(paris(2026, 6, 3, 10, 0)) == 1
    reservation = db.session.get(Reservation, reservation_id)
    assert reservation.status == Status.EXPIRED and reservation.sequence == 1
    with pytest.raises(TransitionError, match="approve_expired"):
        approve(reservation_id, manager.id, paris(2026, 6, 3, 10, 5))


def test_approving_too_late_expires_instead(kitchen_request):
    reservation_id, manager, _ = kitchen_request
    with pytest.raises(TransitionError, match="approve_expired"):
        approve(reservation_id, manager.id, paris(2026, 6, 3, 10, 30))
    assert db.session.get(Reservation, reservation_id).status == Status.EXPIRED
    assert actions(reservation_id) == ["created", "expired"]


def test_expire_pending_command(kitchen_request, runner):
    result = runner.invoke(args=["expire-pending"])
    assert result.exit_code == 0
    # The request was for June 2026: long past by the real clock the command uses.
    assert "1 demande expirée" in result.output
    reservation_id, _, _ = kitchen_request
    assert db.session.get(Reservation, reservation_id).status == Status.EXPIRED
