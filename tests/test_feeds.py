"""The feeds over HTTP: who may read what, caching, tokens, links and logs."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time as time_module
import urllib.error
import urllib.request
from datetime import datetime, time, timedelta
from pathlib import Path
from urllib.parse import unquote
from urllib.robotparser import RobotFileParser

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.http import http_date, parse_date

from booking.demo import ACCOUNTS, seed_demo_bookings, seed_reference_data
from booking.extensions import db
from booking.localtime import to_utc
from booking.models import Reservation, Resource, User, Venue
from booking.security import logmask, tokens
from booking.services import book, cancel, refuse

from .conftest import PARIS, Factory, feed_token, paris
from .support.icalcheck import FeedClock, read_everywhere, read_everywhere_many, with_icalendar
from .support.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
ALL_DAY = [(d, time(0), time(23, 30)) for d in range(7)]


@pytest.fixture
def place(make: Factory) -> dict:
    venue = make.venue(slug="moulins", name="KPA Moulins", hours=ALL_DAY)
    return {
        "venue": venue,
        "laser": make.resource(venue, slug="laser", name="Découpeuse laser"),
        "kitchen": make.resource(
            venue, slug="cuisine", name="Cuisine", requires_approval=True, show_purpose=True
        ),
        "member": make.user(venue, display_name="Amina Haddad", email="amina@example.org"),
        "manager": make.manager(venue, display_name="Nadia Benali", email="nadia@example.org"),
    }


def _book(
    resource: Resource, user: User, local_start: datetime, hours: int, now: datetime, purpose=""
):
    start = to_utc(local_start, PARIS)
    return book(
        resource_id=resource.id,
        member_id=user.id,
        actor_id=user.id,
        starts_at=start,
        ends_at=start + timedelta(hours=hours),
        purpose=purpose,
        now=now,
    )


def token(user: User, kind: str = tokens.MEMBER) -> str:
    return feed_token(user, kind)


# --- HTTP ----------------------------------------------------------------------------------


def test_feed_headers(client: FlaskClient, place: dict, clock: FeedClock) -> None:
    _book(place["laser"], place["member"], datetime(2026, 3, 3, 10), 2, clock.now)
    response = client.get("/feeds/resources/laser.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert "Content-Disposition" not in response.headers
    etag = response.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert response.headers["Last-Modified"] == http_date(clock.now.replace(microsecond=0))
    assert "max-age" in response.headers["Cache-Control"]
    assert "Set-Cookie" not in response.headers
    head = client.head("/feeds/resources/laser.ics")
    assert head.status_code == 200 and head.data == b""
    assert head.headers["ETag"] == etag
    assert head.headers["Content-Length"] == str(len(response.data))


@pytest.mark.postgres
def test_unchanged_feed_is_identical_and_answers_304(
    client: FlaskClient, place: dict, clock: FeedClock
) -> None:
    reservation = _book(place["laser"], place["member"], datetime(2026, 3, 3, 10), 2, clock.now)
    url = "/feeds/venues/moulins.ics"
    first = client.get(url)
    clock.set(clock.now + timedelta(minutes=5))  # time passes, nothing changes
    again = client.get(url)
    assert again.data == first.data
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Last-Modified"] == first.headers["Last-Modified"]

    by_etag = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert by_etag.status_code == 304 and by_etag.data == b""
    assert by_etag.headers["ETag"] == first.headers["ETag"]
    by_date = client.get(url, headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert by_date.status_code == 304
    head = client.head(url, headers={"If-None-Match": first.headers["ETag"]})
    assert head.status_code == 304

    changed_at = clock.set(clock.now + timedelta(hours=1))
    cancel(reservation.id, place["member"].id, "", changed_at)
    after = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert after.status_code == 200
    assert after.headers["ETag"] != first.headers["ETag"]
    assert parse_date(after.headers["Last-Modified"]) > parse_date(first.headers["Last-Modified"])
    stale = client.get(url, headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert stale.status_code == 200


@pytest.mark.postgres
def test_last_modified_never_goes_backwards(
    client: FlaskClient, place: dict, clock: FeedClock
) -> None:
    """The newest change leaving the feed must still move its date forward."""
    url = "/feeds/resources/laser.ics"
    _book(place["laser"], place["member"], datetime(2026, 3, 3, 10), 1, clock.now)
    later = _book(
        place["laser"], place["member"], datetime(2026, 3, 4, 10), 1, clock.now + timedelta(hours=1)
    )
    clock.set(clock.now + timedelta(hours=2))
    dates = [parse_date(client.get(url).headers["Last-Modified"])]

    clock.set(clock.now + timedelta(hours=1))
    cancel(later.id, place["member"].id, "", clock.now)  # leaves the public feed
    dates.append(parse_date(client.get(url).headers["Last-Modified"]))

    clock.set(clock.now + timedelta(hours=1))
    first = db.session.scalar(sa.select(Reservation).where(Reservation.id != later.id))
    db.session.execute(sa.delete(Reservation).where(Reservation.id == first.id))
    db.session.commit()  # an administrator deletes a row: nothing else records it
    response = client.get(url)
    dates.append(parse_date(response.headers["Last-Modified"]))
    assert with_icalendar(response.data).events == []

    assert dates[0] < dates[1] < dates[2]
    assert dates[2] == clock.now.replace(microsecond=0)


def test_unknown_feeds_answer_404(client: FlaskClient, place: dict) -> None:
    member_token = token(place["member"])
    for url in (
        "/feeds/resources/nope.ics",
        "/feeds/venues/nope.ics",
        "/feeds/u/nope.ics",
        "/feeds/u/" + "A" * 32 + ".ics",
        f"/feeds/u/{'B' if member_token[0] != 'B' else 'C'}{member_token[1:]}.ics",  # forged
        f"/feeds/m/{member_token}.ics",  # a member token is not a manager token
        f"/feeds/m/{token(place['member'], tokens.MANAGER)}.ics",  # manages nothing
    ):
        assert client.get(url).status_code == 404, url
    assert client.get(f"/feeds/u/{member_token}.ics").status_code == 200
    assert client.get(f"/feeds/m/{token(place['manager'], tokens.MANAGER)}.ics").status_code == 200


def test_inactive_account_loses_its_feed(client: FlaskClient, place: dict) -> None:
    url = f"/feeds/u/{token(place['member'])}.ics"
    assert client.get(url).status_code == 200
    place["member"].active = False
    db.session.commit()
    assert client.get(url).status_code == 404


def test_feeds_need_no_login_or_cookie(app: Flask, place: dict) -> None:
    client = app.test_client(use_cookies=False)
    for url in (
        "/feeds/resources/laser.ics",
        "/feeds/venues/moulins.ics",
        f"/feeds/u/{token(place['member'])}.ics",
        f"/feeds/m/{token(place['manager'], tokens.MANAGER)}.ics",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "Set-Cookie" not in response.headers


def test_robots_txt_lets_calendar_services_fetch_feeds(client: FlaskClient, place: dict) -> None:
    response = client.get("/robots.txt")
    assert response.status_code == 200
    parser = RobotFileParser()
    parser.parse(response.data.decode().splitlines())
    for agent in ("Google-Calendar-Importer", "Googlebot", "*"):
        for path in ("/feeds/resources/laser.ics", "/feeds/venues/moulins.ics"):
            assert parser.can_fetch(agent, f"http://localhost{path}")
        assert parser.can_fetch(agent, f"http://localhost/feeds/u/{token(place['member'])}.ics")


def test_feed_window_is_configurable(
    app: Flask, client: FlaskClient, place: dict, clock: FeedClock
) -> None:
    booked_at = clock.now
    old = _book(place["laser"], place["member"], datetime(2026, 3, 3, 10), 1, booked_at)
    far = _book(place["laser"], place["member"], datetime(2026, 12, 1, 10), 1, booked_at)
    url = "/feeds/resources/laser.ics"

    clock.set(paris(2026, 5, 1, 9, 0))  # two months later: inside the 90 days back
    assert {e.uid for e in read_everywhere(client.get(url).data).events} == {old.uid, far.uid}

    app.config.update(FEED_DAYS_BACK=30, FEED_DAYS_AHEAD=100)
    assert read_everywhere(client.get(url).data).events == []
    app.config.update(FEED_DAYS_AHEAD=365)
    assert [e.uid for e in read_everywhere(client.get(url).data).events] == [far.uid]


@pytest.mark.postgres
def test_private_feeds_keep_ended_reservations_for_a_while(
    client: FlaskClient, place: dict, clock: FeedClock
) -> None:
    member = place["member"]
    cancelled = _book(place["laser"], member, datetime(2026, 3, 20, 10), 1, clock.now)
    refused = _book(place["kitchen"], member, datetime(2026, 3, 21, 10), 1, clock.now)
    cancel(cancelled.id, member.id, "", clock.now + timedelta(hours=1))
    refuse(refused.id, place["manager"].id, "Cuisine fermée ce jour-là", clock.now)
    urls = [f"/feeds/u/{token(member)}.ics", f"/feeds/m/{token(place['manager'], 'm')}.ics"]

    for calendar in read_everywhere_many([client.get(u).data for u in urls]):
        events = calendar.by_uid()
        assert events[cancelled.uid].status == "CANCELLED"
        assert events[refused.uid].status == "CANCELLED"
        assert "Cuisine fermée ce jour-là" in events[refused.uid].description
    assert read_everywhere(client.get("/feeds/venues/moulins.ics").data).events == []

    clock.set(clock.now + timedelta(days=32))
    for calendar in read_everywhere_many([client.get(u).data for u in urls]):
        assert calendar.events == []


def test_public_feeds_hide_people_and_purposes_unless_shown(
    client: FlaskClient, place: dict, clock: FeedClock
) -> None:
    member = place["member"]
    _book(place["laser"], member, datetime(2026, 3, 3, 10), 1, clock.now, "Gravure secrète")
    _book(place["kitchen"], member, datetime(2026, 3, 3, 10), 1, clock.now, "Couscous du jeudi")
    body = client.get("/feeds/venues/moulins.ics").data
    unfolded = body.replace(b"\r\n ", b"")
    calendar = read_everywhere(body)
    for secret in ("Amina", "Haddad", "amina@example.org", "Gravure secrète"):
        assert secret.encode() not in unfolded
    by_status = {e.status: e.summary for e in calendar.events}
    # The kitchen shows purposes; the laser only says that it is taken.
    assert "Cuisine — Couscous du jeudi" in by_status["TENTATIVE"]
    assert by_status["CONFIRMED"].startswith("Découpeuse laser — ")


def test_a_retired_resource_leaves_its_venues_feed_which_says_it_changed(
    client: FlaskClient, place: dict, clock: FeedClock
) -> None:
    from booking.services.venues.resources import retire_resource

    _book(place["laser"], place["member"], datetime(2026, 3, 2, 10), 1, clock.now)
    _book(place["kitchen"], place["member"], datetime(2026, 3, 4, 10), 1, clock.now)
    clock.set(clock.now + timedelta(hours=3))  # the laser's booking is over: history
    before = client.get("/feeds/venues/moulins.ics")
    summaries = [e.summary for e in read_everywhere(before.data).events]
    assert any(s.startswith("Découpeuse laser") for s in summaries)
    clock.set(clock.now + timedelta(hours=2))
    retire_resource(place["laser"].id, place["manager"].id, "Vendue", clock.now, frozenset())
    after = client.get(
        "/feeds/venues/moulins.ics",
        headers={
            "If-None-Match": before.headers["ETag"],
            "If-Modified-Since": before.headers["Last-Modified"],
        },
    )
    assert after.status_code == 200
    assert after.headers["ETag"] != before.headers["ETag"]
    assert parse_date(after.headers["Last-Modified"]) > parse_date(before.headers["Last-Modified"])
    summaries = [e.summary for e in read_everywhere(after.data).events]
    assert summaries and not any(s.startswith("Découpeuse laser") for s in summaries)
    assert client.get("/feeds/resources/laser.ics").status_code == 404


def test_demo_members_never_appear_in_public_feeds(app: Flask, client: FlaskClient) -> None:
    seed_reference_data()
    assert seed_demo_bookings() > 30
    people = [(email, name) for email, name, *_ in ACCOUNTS]
    retired = db.session.scalars(sa.select(Resource.slug).where(~Resource.is_active)).all()
    assert retired, "the demo has a retired resource"
    for slug in retired:
        assert client.get(f"/feeds/resources/{slug}.ics").status_code == 404
    # Nor does its past show in its venue's feed: one rule for every public feed.
    retired_names = db.session.scalars(sa.select(Resource.name).where(~Resource.is_active)).all()
    for venue_slug in db.session.scalars(sa.select(Venue.slug)):
        venue_events = read_everywhere(client.get(f"/feeds/venues/{venue_slug}.ics").data).events
        for event in venue_events:
            assert not event.summary.startswith(tuple(retired_names)), event.summary
    slugs = [
        ("resources", s)
        for s in db.session.scalars(sa.select(Resource.slug).where(Resource.is_active))
    ]
    slugs += [("venues", s) for s in db.session.scalars(sa.select(Venue.slug))]
    bodies = []
    for kind, slug in slugs:
        response = client.get(f"/feeds/{kind}/{slug}.ics")
        assert response.status_code == 200
        bodies.append(response.data)
    calendars = read_everywhere_many(bodies)
    assert sum(len(c.events) for c in calendars) > 30
    for body, calendar in zip(bodies, calendars, strict=True):
        unfolded = body.replace(b"\r\n ", b"").decode()
        texts = [unfolded] + [e.summary + e.description + e.location for e in calendar.events]
        for email, name in people:
            for text in texts:
                assert email not in text
                assert name not in text
                for part in name.split():
                    if len(part) > 3 and part not in ("Administratrice", "réseau"):
                        assert part not in text, (part, text[:200])


@pytest.mark.postgres
def test_feed_queries_do_not_grow_with_reservations(
    app: Flask, client: FlaskClient, place: dict, make: Factory, clock: FeedClock
) -> None:
    counts = []
    day = datetime(2026, 3, 3, 8)
    # The first request of a process looks for overdue requests; later ones
    # look again only once a minute (booking.services.booking.lifecycle.OverdueWatch).
    client.get("/feeds/venues/moulins.ics")
    manager_url = f"/feeds/m/{token(place['manager'], tokens.MANAGER)}.ics"
    for round_ in range(2):
        for n in range(3 if round_ == 0 else 12):
            user = make.user(place["venue"])
            resource = make.resource(place["venue"])
            _book(resource, user, day + timedelta(days=n), 1, clock.now, "x")
        for url in ("/feeds/venues/moulins.ics", manager_url):
            statements: list[str] = []

            def count(*args, statements=statements) -> None:
                statements.append(args[2])

            sa.event.listen(db.engine, "before_cursor_execute", count)
            try:
                # A fresh session, as in a real request.
                db.session.remove()
                clock.set(clock.now + timedelta(seconds=1))
                assert client.get(url).status_code == 200
            finally:
                sa.event.remove(db.engine, "before_cursor_execute", count)
            counts.append(len([s for s in statements if s.lstrip().upper().startswith("SELECT")]))
    assert counts[0] == counts[2] and counts[1] == counts[3], counts


# --- tokens ---------------------------------------------------------------------------------


def test_tokens_are_long_secret_and_not_stored(app: Flask, place: dict) -> None:
    member = place["member"]
    member_token = token(member)
    assert len(member_token) >= 32
    # 160 bits of HMAC besides the 32-bit user id.
    assert tokens._MAC_BYTES * 8 >= 128
    assert token(member) == member_token  # shown again at any time
    assert token(member, tokens.MANAGER) != member_token
    dump = "\n".join(db.session.connection().connection.driver_connection.iterdump())
    assert member_token not in dump
    # The key signs the links: another key, other links.
    app.config["SECRET_KEY"] += "-rotated"
    assert token(member) != member_token


def test_regenerating_revokes_the_old_links(
    app: Flask, client: FlaskClient, place: dict, auth
) -> None:
    manager = place["manager"]
    old_member, old_manager = token(manager), token(manager, tokens.MANAGER)
    auth.login(manager.email)
    response = client.post("/feeds/regenerate")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/profile")
    assert client.get(f"/feeds/u/{old_member}.ics").status_code == 404
    assert client.get(f"/feeds/m/{old_manager}.ics").status_code == 404
    db.session.expire_all()
    assert client.get(f"/feeds/u/{token(manager)}.ics").status_code == 200
    assert client.get(f"/feeds/m/{token(manager, tokens.MANAGER)}.ics").status_code == 200


def test_regenerating_needs_a_login_and_a_post(client: FlaskClient) -> None:
    assert client.get("/feeds/regenerate").status_code == 405
    assert client.post("/feeds/regenerate").status_code == 302  # to the login page


def test_regenerating_needs_the_csrf_token(app: Flask, place: dict, auth, client) -> None:
    auth.login(place["member"].email)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        assert client.post("/feeds/regenerate").status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


# --- the single reservation ------------------------------------------------------------------


def test_single_reservation_for_its_member_and_managers_only(
    app: Flask, client: FlaskClient, place: dict, make: Factory, auth, clock: FeedClock
) -> None:
    reservation = _book(
        place["laser"], place["member"], datetime(2026, 3, 3, 10), 2, clock.now, "Gravure"
    )
    url = f"/reservations/{reservation.id}.ics"
    assert client.get(url).status_code == 302  # log in first

    auth.login(place["member"].email)
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    (event,) = read_everywhere(response.data).events
    assert event.uid == reservation.uid
    assert event.start.astimezone(PARIS).replace(tzinfo=None) == datetime(2026, 3, 3, 10)
    assert "Gravure" in event.summary
    again = client.get(url, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304

    auth.logout()
    stranger = make.user(place["venue"])
    auth.login(stranger.email)
    assert client.get(url).status_code == 404
    auth.logout()
    auth.login(place["manager"].email)
    (event,) = read_everywhere(client.get(url).data).events
    assert "Amina Haddad" in event.summary
    assert client.get("/reservations/999999.ics").status_code == 404


# --- pages that offer feeds -------------------------------------------------------------------


def test_profile_offers_the_secret_links(
    app: Flask, client: FlaskClient, place: dict, auth
) -> None:
    manager = place["manager"]
    auth.login(manager.email)
    response = client.get("/profile")
    assert response.status_code == 200
    html = response.data.decode()
    member_url = f"http://localhost/feeds/u/{token(manager)}.ics"
    manager_url = f"http://localhost/feeds/m/{token(manager, tokens.MANAGER)}.ics"
    for url in (member_url, manager_url):
        assert url in html
        webcal = url.replace("http://", "webcal://")
        assert f'href="{webcal}"' in html
        google = f"https://calendar.google.com/calendar/r?cid={webcal}"
        assert any(
            unquote(part.split('"')[0].replace("&amp;", "&")) == google
            for part in html.split('href="')[1:]
        )
    # Other sites (Google's subscribe link) get no Referer; the page's own forms do,
    # as CSRF protection over HTTPS requires.
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert 'action="/feeds/regenerate"' in html

    auth.logout()
    auth.login(place["member"].email)
    html = client.get("/profile").data.decode()
    assert "/feeds/u/" in html and "/feeds/m/" not in html


def test_links_are_https_when_configured(app: Flask, client: FlaskClient, place: dict) -> None:
    app.config["PREFERRED_URL_SCHEME"] = "https"
    html = client.get("/resources/laser").data.decode()
    assert "https://localhost/feeds/resources/laser.ics" in html
    assert "webcal://localhost/feeds/resources/laser.ics" in html
    # Behind a TLS proxy that says so, without any configuration.
    app.config["PREFERRED_URL_SCHEME"] = "http"
    html = client.get("/venues/moulins", base_url="https://localhost").data.decode()
    assert "https://localhost/feeds/venues/moulins.ics" in html


def test_public_pages_offer_public_links(client: FlaskClient, place: dict) -> None:
    resource_page = client.get("/resources/laser")
    assert resource_page.status_code == 200
    html = resource_page.data.decode()
    assert "http://localhost/feeds/resources/laser.ics" in html
    assert "webcal://localhost/feeds/resources/laser.ics" in html
    assert "calendar.google.com/calendar/r?cid=webcal%3A%2F%2Flocalhost%2Ffeeds" in html
    # Public links may travel: the page does not get the secret pages' no-referrer.
    assert resource_page.headers["Referrer-Policy"] != "no-referrer"
    venue_html = client.get("/venues/moulins").data.decode()
    assert "http://localhost/feeds/venues/moulins.ics" in venue_html


# --- logs ------------------------------------------------------------------------------------


def test_tokens_stay_out_of_the_werkzeug_access_log(
    app: Flask, place: dict, caplog: pytest.LogCaptureFixture
) -> None:
    from werkzeug.serving import make_server

    secret = token(place["member"])
    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with caplog.at_level(logging.INFO, logger="werkzeug"):
            url = f"http://127.0.0.1:{server.server_port}/feeds/u/{secret}.ics"
            with urllib.request.urlopen(url) as response:
                assert response.status == 200
            with pytest.raises(urllib.error.HTTPError):
                urllib.request.urlopen(url.replace(secret, "A" * 32))
    finally:
        server.shutdown()
        thread.join()
    access = [rec.getMessage() for rec in caplog.records if rec.name == "werkzeug"]
    assert any("/feeds/u/" in line and " 200 " in line for line in access), access
    assert secret not in caplog.text
    assert "A" * 32 not in caplog.text


def test_mask_secret_paths() -> None:
    assert logmask.mask_secret_paths("GET /feeds/m/abc_DEF-123.ics HTTP/1.1") == (
        "GET /feeds/m/[secret].ics HTTP/1.1"
    )
    assert logmask.mask_secret_paths("/feeds/resources/laser.ics") == "/feeds/resources/laser.ics"


@pytest.mark.slow
def test_tokens_stay_out_of_the_gunicorn_access_log(
    app: Flask, place: dict, tmp_path: Path
) -> None:
    secret = token(place["member"])
    port = free_port()
    log = tmp_path / "access.log"
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": app.config["SECRET_KEY"],
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1",
        "GUNICORN_ACCESSLOG": str(log),
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [str(gunicorn), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}/feeds/u/{secret}.ics"
        deadline = time_module.monotonic() + 20
        while True:
            try:
                request = urllib.request.Request(url, headers={"Referer": url})
                with urllib.request.urlopen(request, timeout=5) as response:
                    assert response.status == 200
                break
            except (ConnectionError, urllib.error.URLError):
                if time_module.monotonic() > deadline or server.poll() is not None:
                    raise
                time_module.sleep(0.2)
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=20)
    text = log.read_text()
    assert "/feeds/u/" in text, (text, errors)
    assert secret not in text
    assert secret.encode() not in errors


@pytest.mark.postgres
def test_renaming_what_events_show_changes_the_etag(
    client: FlaskClient, place: dict, clock: FeedClock
) -> None:
    _book(place["laser"], place["member"], datetime(2026, 3, 3, 10), 1, clock.now)
    urls = ["/feeds/resources/laser.ics", f"/feeds/m/{token(place['manager'], tokens.MANAGER)}.ics"]
    etags = {url: client.get(url).headers["ETag"] for url in urls}
    place["laser"].name = "Découpeuse laser CO₂"
    db.session.commit()
    for url in urls:
        response = client.get(url, headers={"If-None-Match": etags[url]})
        assert response.status_code == 200
        assert "Découpeuse laser CO₂" in read_everywhere(response.data).events[0].summary
        etags[url] = response.headers["ETag"]
    place["member"].display_name = "Amina H."
    db.session.commit()
    public, manager = (client.get(u, headers={"If-None-Match": etags[u]}) for u in urls)
    assert public.status_code == 304  # the public feed never shows names
    assert manager.status_code == 200
    assert "Amina H." in read_everywhere(manager.data).events[0].summary


def test_concurrent_requests_after_a_change_all_succeed(
    app: Flask, place: dict, clock: FeedClock
) -> None:
    """Requests that find a feed changed all record it; none fails on the lock."""
    from concurrent.futures import ThreadPoolExecutor

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    urls = ["/feeds/resources/laser.ics", "/feeds/venues/moulins.ics"]

    def fetch(path: str) -> tuple[int, str]:
        with urllib.request.urlopen(base + path, timeout=30) as response:
            return response.status, response.headers["ETag"]

    try:
        for hour in range(3):
            _book(
                place["laser"],
                place["member"],
                datetime(2026, 3, 3, 8 + hour),
                1,
                clock.set(clock.now + timedelta(minutes=1)),
            )
            with ThreadPoolExecutor(max_workers=8) as pool:
                results = list(pool.map(fetch, urls * 6))
            assert {status for status, _ in results} == {200}
            for url in urls:
                assert (
                    len({etag for (_, etag), u in zip(results, urls * 6, strict=True) if u == url})
                    == 1
                )
    finally:
        server.shutdown()
        thread.join()
