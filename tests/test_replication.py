"""PostgreSQL's own streaming replication, as the README's deployment section sets it up: a
primary and a synchronous hot standby (tests/support/replication.py).

The standby takes over: the primary is killed while members book, the standby is
promoted, and the app, given both servers in one URL, finds the new primary by itself;
no booking it confirmed is lost. And public pages and feeds read from the standby when
it is named as a replica, members and writes from the primary.
"""

from __future__ import annotations

import itertools
import re
import threading
import time as clock
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from flask_migrate import upgrade

from booking import create_app
from booking.extensions import db
from booking.models import (
    AuditEvent,
    Membership,
    OpeningPeriod,
    Reservation,
    Resource,
    ResourceKind,
    Series,
    Status,
    User,
    Venue,
)
from booking.rules import Hold, peak_seats

from .conftest import PARIS, PASSWORD, base_config
from .support.gunicorn import gunicorn
from .support.http_clients import csrf_token, logged_in
from .support.replication import ReplicatedPostgres

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

DATABASE = "booking_replication"
MEMBERS = 8
SERIES_RESOURCES = 2
# The app as deployed, minus the mail sender's thread (no mail server here).
ENV = {"MAIL_SEND_IN_BACKGROUND": "false"}
DEADLINE = 30


@dataclass
class Pair:
    servers: ReplicatedPostgres
    folder: Path

    def read(self, query):  # type: ignore[no-untyped-def]
        """Rows from the current primary, through the app's models."""
        app = create_app(base_config(self.folder, self.servers.primary.url(DATABASE)))
        with app.app_context():
            try:
                return db.session.execute(query).all()
            finally:
                db.session.remove()
                db.engine.dispose()


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    servers = ReplicatedPostgres()
    try:
        servers.start()
        servers.create_database(DATABASE)
        folder = tmp_path_factory.mktemp("replication")
        app = create_app(base_config(folder, servers.primary.url(DATABASE)))
        with app.app_context():
            upgrade()
            venue = Venue(slug="relais", name="Le Relais", address="Dunkerque")
            venue.opening_periods = [
                OpeningPeriod(weekday=d, opens_at=time(0), closes_at=time(23, 30)) for d in range(7)
            ]
            slugs = ["laser", "salle", *(f"atelier{i}" for i in range(SERIES_RESOURCES))]
            db.session.add_all(
                Resource(
                    venue=venue,
                    slug=slug,
                    name=slug.capitalize(),
                    kind=ResourceKind.EQUIPMENT,
                    horizon_days=3650,
                )
                for slug in slugs
            )
            for i in range(MEMBERS):
                user = User(email=f"member{i}@example.org", display_name=f"Membre {i}")
                user.set_password(PASSWORD)
                user.memberships = [Membership(venue=venue)]
                db.session.add(user)
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
        yield Pair(servers, folder)
    finally:
        servers.stop()


def future_day(days: int) -> date:
    return (datetime.now(PARIS) + timedelta(days=days)).date()


def feed_start(day: date, hour: int) -> str:
    """How a feed writes the start of a booking made at ``hour`` in Paris on ``day``."""
    moment = datetime.combine(day, time(hour), tzinfo=PARIS).astimezone(UTC)
    return "DTSTART:" + moment.strftime("%Y%m%dT%H%M%SZ")


# --- read-only traffic off the primary ------------------------------------------------------


def test_visitors_read_the_replica_members_and_writes_the_primary(pair: Pair) -> None:
    servers = pair.servers
    env = {**ENV, "DATABASE_REPLICA_URL": servers.standby.url(DATABASE)}
    with gunicorn(servers.primary.url(DATABASE), workers=2, env=env, probe="/robots.txt") as base:
        feed = f"{base}/feeds/resources/salle.ics"
        visitor = requests.Session()  # a calendar app: no cookie, no login
        first = visitor.get(feed, timeout=30)
        assert first.status_code == 200
        member = logged_in(base, "member6@example.org", PASSWORD)
        secret = re.search(r"/feeds/u/[A-Za-z0-9_-]+\.ics", member.get(f"{base}/profile").text)[0]

        servers.replay(paused=True)  # the replica lags, for as long as it takes
        try:
            day = future_day(3)
            token = csrf_token(member.get(f"{base}/reservations/new?resource=salle").text)
            booked = member.post(
                f"{base}/reservations/new?resource=salle",
                data={
                    "csrf_token": token,
                    "day": day.isoformat(),
                    "start": "10:00",
                    "end": "11:00",
                },
                allow_redirects=False,
                timeout=30,
            )
            assert booked.status_code == 302
            shown = feed_start(day, 10)
            # The member's own pages, and their own calendar, read the primary: at once.
            page = booked.headers["Location"]  # /reservations/<id>
            assert member.get(base + page, timeout=30).status_code == 200
            assert page in member.get(f"{base}/reservations", timeout=30).text
            assert shown in requests.get(base + secret, timeout=30).text
            # The public feed, for visitors, comes from the replica: not yet.
            assert shown not in visitor.get(feed, timeout=30).text
            unchanged = visitor.get(
                feed,
                headers={
                    "If-None-Match": first.headers["ETag"],
                    "If-Modified-Since": first.headers["Last-Modified"],
                },
                timeout=30,
            )
            assert unchanged.status_code == 304  # the replica's own answer: nothing new yet

            # A person logged in reads the primary everywhere, public feeds included.
            fresh = member.get(feed, timeout=30)
            assert shown in fresh.text
            # A client that holds this newer copy never gets the replica's older one.
            for held in (
                {"If-None-Match": fresh.headers["ETag"]},
                {
                    "If-None-Match": fresh.headers["ETag"],
                    "If-Modified-Since": fresh.headers["Last-Modified"],
                },
                {"If-Modified-Since": fresh.headers["Last-Modified"]},
            ):
                again = visitor.get(feed, headers=held, timeout=30)
                assert again.status_code == 304, held  # "what you hold is current"
                assert again.headers["ETag"] == fresh.headers["ETag"]

            # What the replica does not know yet is read from the primary, not a 404.
            app = create_app(base_config(pair.folder, servers.primary.url(DATABASE)))
            with app.app_context():
                venue_id = db.session.scalar(sa.select(Venue.id).where(Venue.slug == "relais"))
                db.session.add(
                    Resource(
                        venue_id=venue_id, slug="four", name="Four", kind=ResourceKind.EQUIPMENT
                    )
                )
                db.session.commit()
                db.session.remove()
                db.engine.dispose()
            assert visitor.get(f"{base}/feeds/resources/four.ics", timeout=30).status_code == 200
            assert visitor.get(f"{base}/resources/four", timeout=30).status_code == 200
        finally:
            servers.replay(paused=False)

        # Within the replica's lag, visitors see the booking too.
        deadline = clock.monotonic() + DEADLINE
        while shown not in (latest := visitor.get(feed, timeout=30)).text:
            assert clock.monotonic() < deadline, "the replica did not catch up"
            clock.sleep(0.1)
        assert latest.headers["ETag"] == fresh.headers["ETag"]
        assert latest.headers["Last-Modified"] == fresh.headers["Last-Modified"]

        # A replica that stops leaves visitors on the primary: no error, nothing missing.
        servers.standby.stop()
        try:
            for _ in range(4):
                response = visitor.get(feed, timeout=30)
                assert response.status_code == 200 and shown in response.text
                assert visitor.get(f"{base}/venues/relais/week", timeout=30).status_code == 200
                assert visitor.get(f"{base}/resources/salle", timeout=30).status_code == 200
        finally:
            servers.standby.start()
            servers.wait_until_synchronous()


# --- a standby that takes over ---------------------------------------------------------------


@dataclass
class Answer:
    client: int
    kind: str  # "one" (a single booking), "again" (a slot confirmed earlier), "series"
    resource: str
    day: date
    hour: int
    status: int
    location: str
    retry_after: str | None
    sent_at: float


def slot(k: int) -> tuple[date, int]:
    """The k-th slot of the laser: ten hours a day, day after day."""
    return future_day(2 + k // 10), 8 + k % 10


def series_start(k: int) -> tuple[date, int]:
    """The k-th weekly series of a workshop: three weeks each, none overlapping another."""
    return future_day(2 + 21 * (k // 10)), 8 + k % 10


def test_the_standby_takes_over_and_no_confirmed_booking_is_lost(pair: Pair) -> None:
    servers = pair.servers
    single_clients, series_clients = range(0, 4), range(4, 4 + SERIES_RESOURCES)
    answers: list[Answer] = []
    confirmed: list[tuple[date, int]] = []  # laser slots answered 302
    lock = threading.Lock()
    shared = itertools.count()
    stop = threading.Event()

    with gunicorn(servers.either_url(DATABASE), workers=2, env=ENV, probe="/robots.txt") as base:
        members = [logged_in(base, f"member{i}@example.org", PASSWORD) for i in range(6)]
        tokens = [
            csrf_token(s.get(f"{base}/reservations/new?resource=laser", timeout=30).text)
            for s in members
        ]

        def post(i: int, kind: str, resource: str, day: date, hour: int) -> None:
            if kind == "series":
                url = f"{base}/reservations/series/new?resource={resource}"
                data = {
                    "starts_on": day.isoformat(),
                    "frequency": "weekly",
                    "interval": "1",
                    "count": "3",
                    "action": "book",
                }
            else:
                url = f"{base}/reservations/new?resource={resource}"
                data = {"day": day.isoformat()}
            data |= {
                "csrf_token": tokens[i],
                "start": f"{hour:02d}:00",
                "end": f"{hour + 1:02d}:00",
            }
            sent_at = clock.monotonic()
            try:
                response = members[i].post(url, data=data, allow_redirects=False, timeout=60)
                status, headers = response.status_code, response.headers
            except requests.RequestException:
                status, headers = 0, {}
            answer = Answer(
                i,
                kind,
                resource,
                day,
                hour,
                status,
                headers.get("Location", ""),
                headers.get("Retry-After"),
                sent_at,
            )
            with lock:
                answers.append(answer)
                if status == 302 and kind == "one":
                    confirmed.append((day, hour))

        def book_singles(i: int) -> None:
            for n in itertools.count():
                if stop.is_set():
                    return
                with lock:
                    taken = confirmed[n % len(confirmed)] if confirmed and n % 3 == 2 else None
                if taken:  # a slot someone was told is theirs: it must stay taken
                    post(i, "again", "laser", *taken)
                else:
                    post(i, "one", "laser", *slot(next(shared)))

        def book_series(i: int) -> None:
            for k in itertools.count():
                if stop.is_set():
                    return
                post(i, "series", f"atelier{i - 4}", *series_start(k))

        threads = [threading.Thread(target=book_singles, args=(i,)) for i in single_clients]
        threads += [threading.Thread(target=book_series, args=(i,)) for i in series_clients]
        for thread in threads:
            thread.start()
        try:
            _wait_for(lambda: len(confirmed) >= 6, "bookings before the crash")
            servers.kill_primary()
            # The site answers "try again" until the team promotes the standby.
            _wait_for(
                lambda: len({a.client for a in answers if a.status == 503}) >= 2,
                "try-again pages while no server accepts writes",
            )
            servers.promote_standby()
            promoted_at = clock.monotonic()

            def answered_again(i: int) -> bool:
                return any(
                    a.client == i and a.sent_at > promoted_at and a.status in (302, 409)
                    for a in answers
                )

            _wait_for(
                lambda: all(answered_again(i) for i in (*single_clients, *series_clients)),
                "every member answered by the new primary",
            )
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=90)

        statuses = {a.status for a in answers}
        assert statuses <= {302, 409, 503}, sorted(statuses)  # never a 500, never a hang-up
        assert all(a.retry_after for a in answers if a.status == 503)
        assert any(a.status == 302 and a.sent_at > promoted_at for a in answers)

        # A slot a member was told is theirs, before the crash or after, stays theirs.
        promised = [(a.day, a.hour) for a in answers if a.kind == "one" and a.status == 302]
        assert len(promised) == len(set(promised))
        for day, hour in promised:
            post(0, "again", "laser", day, hour)
        assert all(a.status == 409 for a in answers if a.kind == "again" and a.status != 503)
        _every_confirmed_booking_is_on_the_new_primary(pair, answers)

        # The README's last step: the old primary rebuilt as a standby of the new one.
        # The app, still running and given both servers, keeps writing to the new primary.
        servers.build_standby()
        assert servers.standby.query("SELECT pg_is_in_recovery()") == [(True,)]
        post(0, "one", "laser", *slot(next(shared)))
        assert answers[-1].status == 302

    # The nightly backup, given the same list of servers, copies the new primary.
    app = create_app(base_config(pair.folder, servers.either_url(DATABASE)))
    backups = pair.folder / "backups"
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["backup", "--to", str(backups)])
    assert result.exit_code == 0, result.output
    (copy,) = backups.iterdir()
    assert copy.stat().st_size > 0


def _wait_for(condition, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = clock.monotonic() + DEADLINE
    while not condition():
        if clock.monotonic() > deadline:
            pytest.fail(f"no {what} within {DEADLINE} seconds")
        clock.sleep(0.05)


def _every_confirmed_booking_is_on_the_new_primary(pair: Pair, answers: list[Answer]) -> None:
    emails = {i: f"member{i}@example.org" for i in range(MEMBERS)}
    rows = pair.read(
        sa.select(Reservation.id, User.email, Resource.slug, Reservation.starts_at)
        .join(User, User.id == Reservation.user_id)
        .join(Resource, Resource.id == Reservation.resource_id)
        .where(Reservation.status == Status.CONFIRMED)
    )
    held = {(email, slug, starts_at) for _, email, slug, starts_at in rows}
    by_id = {reservation_id: (email, slug, starts) for reservation_id, email, slug, starts in rows}
    for a in answers:
        if a.status != 302:
            continue
        starts_at = datetime.combine(a.day, time(a.hour), tzinfo=PARIS)
        if a.kind == "one":
            reservation_id = int(re.search(r"/reservations/(\d+)$", a.location)[1])
            assert by_id.get(reservation_id) == (emails[a.client], "laser", starts_at), a
        else:  # the whole series: three weeks
            for week in range(3):
                start = starts_at + timedelta(weeks=week)
                assert (emails[a.client], a.resource, start) in held, (a, week)

    # No overlap, no half-written series, every booking with its audit trail.
    holds = [
        Hold(*row)
        for row in pair.read(
            sa.select(Reservation.starts_at, Reservation.blocked_until, Reservation.seats)
            .where(Reservation.status == Status.CONFIRMED)
            .join(Resource)
            .where(Resource.slug == "laser")
        )
    ]
    assert (
        peak_seats(holds, min(h.starts_at for h in holds), max(h.blocked_until for h in holds)) == 1
    )
    sizes = pair.read(
        sa.select(Series.occurrences, sa.func.count(Reservation.id))
        .join(Reservation, Reservation.series_id == Series.id)
        .group_by(Series.id)
    )
    assert sizes and all(count == occurrences == 3 for occurrences, count in sizes)
    assert pair.read(
        sa.select(sa.func.count(Reservation.id)).where(
            ~sa.exists().where(AuditEvent.reservation_id == Reservation.id)
        )
    ) == [(0,)]
