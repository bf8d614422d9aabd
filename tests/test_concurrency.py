"""No double booking under real concurrency: gunicorn with 4 workers, 40 clients at once."""

from __future__ import annotations

from datetime import datetime, time, timedelta
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
