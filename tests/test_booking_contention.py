"""Bookings of different resources never wait for each other, and a booking of a busy
resource waits only for what must be counted under its lock (PostgreSQL's row locks).

Another transaction stands for a booking in progress: it holds what a booking holds until
its COMMIT, and a booking made meanwhile, in a thread, either goes through or waits on a
lock; ``pg_locks`` says which, so that nothing here depends on how long anything takes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import time, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from booking.extensions import db
from booking.models import Reservation
from booking.services import BookingError, LocalMoment, book

from .conftest import Factory, paris
from .support.sql import statements

# PostgreSQL only: SQLite takes its one write lock before anything is read.
pytestmark = [pytest.mark.postgres, pytest.mark.parametrize("db_backend", ["postgresql"])]

NOW = paris(2026, 3, 2, 9)
TUESDAY = NOW.date() + timedelta(days=1)


@pytest.fixture
def place(make: Factory) -> dict:
    venue = make.venue(slug="fabrique")
    ids = {
        "venue": venue.id,
        "laser": make.resource(venue, slug="laser").id,
        "printer": make.resource(venue, slug="imprimante").id,
        "amina": make.user(venue).id,
        "karim": make.user(venue).id,
    }
    db.session.remove()
    return ids


class Booking(threading.Thread):
    """A booking made in a thread of its own (its own session), as another request would."""

    def __init__(self, app: Flask, resource_id: int, member_id: int, hour: int) -> None:
        super().__init__(daemon=True)
        self.app = app
        self.args = (resource_id, member_id, hour)
        self.sent: list[str] = []
        self.error: BaseException | None = None
        self.reservation_id: int | None = None

    def run(self) -> None:
        resource_id, member_id, hour = self.args
        with self.app.app_context():
            try:
                with statements() as self.sent:
                    made = book(
                        resource_id=resource_id,
                        member_id=member_id,
                        actor_id=member_id,
                        starts_at=LocalMoment(TUESDAY, time(hour)),
                        ends_at=LocalMoment(TUESDAY, time(hour + 1)),
                        now=NOW,
                    )
                self.reservation_id = made.id
            except BaseException as error:  # handed to the test
                self.error = error
            finally:
                db.session.remove()


class InProgress:
    """Another transaction, left open: what it holds, it holds until ``commit``."""

    def __init__(self, **params: Any) -> None:
        self.params = params
        self.connection = db.engine.connect()
        self.transaction = self.connection.begin()

    def run(self, statement: str, **more: Any) -> None:
        self.connection.execute(sa.text(statement), {**self.params, **more})

    def commit(self) -> None:
        self.transaction.commit()


@contextmanager
def in_progress(*statements_sql: str, **params: Any) -> Iterator[InProgress]:
    """A transaction holding what ``statements_sql`` take until the block ends (rolled back
    then, unless the block committed it)."""
    other = InProgress(**params)
    try:
        for statement in statements_sql:
            other.run(statement)
        yield other
    finally:
        if other.transaction.is_active:
            other.transaction.rollback()
        other.connection.close()


def waits_on_a_lock(thread: threading.Thread) -> bool:
    """Whether the booking ends (False) or waits for a lock another transaction holds (True):
    asked of PostgreSQL until one or the other happens."""
    with db.engine.connect() as watcher:
        while thread.is_alive():
            waiting = watcher.execute(
                sa.text("SELECT count(*) FROM pg_locks WHERE NOT granted")
            ).scalar()
            watcher.rollback()
            if waiting:
                return True
            thread.join(0.01)
    return False


def test_a_booking_in_progress_on_one_resource_leaves_the_others_free(
    app: Flask, place: dict
) -> None:
    # The laser's booking, not committed yet, has written everything a booking writes.
    with in_progress(
        "INSERT INTO reservation (uid, resource_id, user_id, created_by_id, starts_at, ends_at, "
        "blocked_until, exclusive, seats, purpose, status, decision_reason, overrides, sequence, "
        "created_at, updated_at) VALUES ('laser-in-progress', :laser, :amina, :amina, "
        ":start, :end, :end, true, 1, '', 'confirmed', '', '', 0, :now, :now)",
        "SELECT id FROM resource WHERE id = :laser FOR UPDATE",
        laser=place["laser"],
        amina=place["amina"],
        start=paris(2026, 3, 3, 10),
        end=paris(2026, 3, 3, 11),
        now=NOW,
    ):
        printer = Booking(app, place["printer"], place["karim"], 10)
        printer.start()
        waited = waits_on_a_lock(printer)
    printer.join()
    assert not waited, "the printer's booking waited for the laser's"
    assert printer.error is None and printer.reservation_id is not None


def test_a_booking_reads_the_rules_before_the_lock_and_again_if_they_changed(
    app: Flask, place: dict
) -> None:
    """The lock is taken once the rules are read; a closure committed while the booking
    waited for it is honoured all the same."""
    with in_progress(
        "SELECT id FROM resource WHERE id = :laser FOR UPDATE", laser=place["laser"]
    ) as manager:
        laser = Booking(app, place["laser"], place["karim"], 14)
        laser.start()
        assert waits_on_a_lock(laser)
        # What it sent before waiting: the resource and the people, the hours and closures,
        # then the lock.
        assert len(laser.sent) >= 3, laser.sent
        assert "FOR UPDATE" in laser.sent[-1] and "FOR UPDATE" not in " ".join(laser.sent[:-1])
        manager.run(
            "INSERT INTO closure (uid, venue_id, resource_id, starts_at, ends_at, reason, "
            "reason_public, created_at, updated_at, sequence) VALUES ('laser-maintenance', "
            ":venue, :laser, :start, :end, 'Maintenance', true, :now, :now, 0)",
            venue=place["venue"],
            start=paris(2026, 3, 3, 13),
            end=paris(2026, 3, 3, 18),
            now=NOW,
        )
        manager.commit()
        laser.join()
    assert isinstance(laser.error, BookingError), laser.error
    assert "closed" in {v.code for v in laser.error.violations}
    assert db.session.scalar(sa.select(sa.func.count(Reservation.id))) == 0
