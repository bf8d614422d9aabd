"""No double booking under real concurrency: gunicorn with 4 workers, 40 clients at once,
booking a slot, or moving their own booking into one."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import partial
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from booking import create_app
from booking.extensions import db
from booking.models import (
    HOLDING_STATUSES,
    Membership,
    OpeningPeriod,
    Reservation,
    Resource,
    ResourceKind,
    User,
    Venue,
)
from booking.rules import Hold, peak_seats
from booking.services import book

from .conftest import PARIS, PASSWORD, base_config
from .support.gunicorn import gunicorn
from .support.http_clients import all_at_once, csrf_token, logged_in

# 40 clients against 4 gunicorn workers: in the process that runs the deployment site,
# so that the two loads never share the machine at once.
pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.xdist_group("servers")]

CLIENTS = 40


@pytest.fixture(params=["sqlite", "postgresql"])
def race_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_server").create_database("booking_race")
    else:
        url = f"sqlite:///{tmp_path / 'race.sqlite3'}"
    app = create_app(base_config(tmp_path, url))
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        venue = Venue(slug="fabrica", name="Mons Fabrica", address="Mons-en-Barœul")
        venue.opening_periods = [
            OpeningPeriod(weekday=d, opens_at=time(0), closes_at=time(23, 30)) for d in range(7)
        ]
        db.session.add_all(
            [
                Resource(venue=venue, slug="laser", name="Laser", kind=ResourceKind.EQUIPMENT),
                Resource(
                    venue=venue,
                    slug="coworking",
                    name="Co-working",
                    kind=ResourceKind.SPACE,
                    capacity=8,
                ),
            ]
        )
        for i in range(CLIENTS):
            user = User(email=f"member{i}@example.org", display_name=f"Membre {i}")
            user.set_password(PASSWORD)
            user.memberships = [Membership(venue=venue)]
            db.session.add(user)
        db.session.commit()
        db.engine.dispose()
    return url


def book_slot(session: requests.Session, base: str, slug: str, token: str, day: str) -> int:
    response = session.post(
        f"{base}/reservations/new?resource={slug}",
        data={"csrf_token": token, "day": day, "start": "10:00", "end": "11:00", "seats": "1"},
        allow_redirects=False,
        timeout=60,
    )
    return response.status_code


def holds_in_database(url: str, tmp_path: Path, slug: str) -> list[Hold]:
    app = create_app(base_config(tmp_path, url))
    with app.app_context():
        rows = db.session.execute(
            sa.select(Reservation.starts_at, Reservation.blocked_until, Reservation.seats)
            .join(Resource)
            .where(Resource.slug == slug, Reservation.status.in_(HOLDING_STATUSES))
        ).all()
        db.session.remove()
        db.engine.dispose()
    return [Hold(*row) for row in rows]


def test_forty_clients_racing_for_one_slot(race_database: str, tmp_path: Path) -> None:
    day = (datetime.now(PARIS) + timedelta(days=2)).date().isoformat()
    with gunicorn(race_database, workers=4) as base:
        sessions = [logged_in(base, f"member{i}@example.org", PASSWORD) for i in range(CLIENTS)]
        for slug, capacity in (("laser", 1), ("coworking", 8)):
            tokens = [
                csrf_token(s.get(f"{base}/reservations/new?resource={slug}", timeout=30).text)
                for s in sessions
            ]
            tasks = [
                partial(book_slot, s, base, slug, token, day)
                for s, token in zip(sessions, tokens, strict=True)
            ]
            statuses = all_at_once(tasks)
            assert sorted(statuses) == [302] * capacity + [409] * (CLIENTS - capacity), slug
            holds = holds_in_database(race_database, tmp_path, slug)
            assert len(holds) == capacity
            start = min(h.starts_at for h in holds)
            end = max(h.blocked_until for h in holds)
            assert peak_seats(holds, start, end) == capacity


def move_into(
    session: requests.Session, base: str, reservation_id: int, token: str, day: str
) -> int:
    response = session.post(
        f"{base}/reservations/{reservation_id}/change",
        data={
            "csrf_token": token,
            "day": day,
            "start": "10:00",
            "end": "11:00",
            "seats": "1",
            "action": "save",
        },
        allow_redirects=False,
        timeout=60,
    )
    return response.status_code


def own_bookings(url: str, tmp_path: Path, slug: str, day: date) -> dict[str, tuple]:
    """Each member's own booking on ``slug``, one hour each, made before the race: by
    e-mail, (id, uid, starts_at)."""
    app = create_app(base_config(tmp_path, url))
    found = {}
    with app.app_context():
        resource = db.session.scalar(sa.select(Resource).where(Resource.slug == slug))
        members = db.session.scalars(sa.select(User).order_by(User.id)).all()
        for i, member in enumerate(members):
            start = datetime.combine(day + timedelta(days=i // 20), time(i % 20), PARIS)
            booked = book(
                resource_id=resource.id,
                member_id=member.id,
                actor_id=member.id,
                starts_at=start,
                ends_at=start + timedelta(hours=1),
                now=datetime.now(PARIS),
            )
            found[member.email] = (booked.id, booked.uid, booked.starts_at)
        db.session.remove()
        db.engine.dispose()
    return found


def bookings_now(url: str, tmp_path: Path, ids: list[int]) -> dict[int, tuple]:
    app = create_app(base_config(tmp_path, url))
    with app.app_context():
        rows = db.session.execute(
            sa.select(
                Reservation.id, Reservation.uid, Reservation.starts_at, Reservation.status
            ).where(Reservation.id.in_(ids))
        ).all()
        db.session.remove()
        db.engine.dispose()
    return {row[0]: tuple(row[1:]) for row in rows}


def test_members_moving_into_one_free_slot_at_once(race_database: str, tmp_path: Path) -> None:
    """Every member moves their own booking into the same free slot at the same moment:
    as many as the resource has room for win, and every other keeps their booking as it
    was (the change is atomic), on both databases, through gunicorn's workers."""
    today = datetime.now(PARIS).date()
    target = (today + timedelta(days=2)).isoformat()
    for slug, capacity in (("laser", 1), ("coworking", 8)):
        own = own_bookings(race_database, tmp_path, slug, today + timedelta(days=4))
        with gunicorn(race_database, workers=4) as base:
            sessions = {email: logged_in(base, email, PASSWORD) for email in own}
            tokens = {
                email: csrf_token(
                    s.get(f"{base}/reservations/{own[email][0]}/change", timeout=30).text
                )
                for email, s in sessions.items()
            }

            statuses = all_at_once(
                [
                    partial(move_into, sessions[email], base, own[email][0], tokens[email], target)
                    for email in own
                ]
            )
        assert sorted(statuses) == [302] * capacity + [409] * (CLIENTS - capacity), slug
        after = bookings_now(race_database, tmp_path, [i for i, _, _ in own.values()])
        moved = [email for email, (rid, uid, start) in own.items() if after[rid][1] != start]
        assert len(moved) == capacity, slug
        for email, (rid, uid, start) in own.items():
            assert after[rid][0] == uid, "the same reservation, moved or not"
            if email not in moved:
                assert after[rid][1] == start, "a member who lost keeps their booking"
        holds = holds_in_database(race_database, tmp_path, slug)
        assert len(holds) == CLIENTS
        start = min(h.starts_at for h in holds)
        end = max(h.blocked_until for h in holds)
        assert peak_seats(holds, start, end) <= capacity
