"""Findings of the security probe, each held by a test that fails without its fix."""

from __future__ import annotations

import logging
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from booking import create_app
from booking.config import ConfigurationError
from booking.extensions import db
from booking.models import LoginSession, Reservation, User
from booking.security import logmask

from .conftest import PASSWORD, Factory, IsolatedClient, base_config

STRONG_KEY = "a" * 16 + "strong-production-key-0123456789"


# --- headers -----------------------------------------------------------------------


def test_every_page_forbids_framing_and_sniffing(client: FlaskClient) -> None:
    for url in ("/", "/login", "/robots.txt", "/nope"):
        headers = client.get(url).headers
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], url
        assert "script-src 'self'" in headers["Content-Security-Policy"], url
        assert headers["X-Frame-Options"] == "DENY", url
        assert headers["X-Content-Type-Options"] == "nosniff", url
        assert headers["Referrer-Policy"] in ("same-origin", "no-referrer"), url
        assert "camera=()" in headers["Permissions-Policy"], url
        assert "Strict-Transport-Security" not in headers, url


def test_https_pages_ask_browsers_to_stay_on_https(client: FlaskClient) -> None:
    response = client.get("/", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


# --- configuration -------------------------------------------------------------------


def _production(tmp_path: Path, **settings: str) -> Flask:
    config = {"INSTANCE_PATH": str(tmp_path), "BOOKING_ENV": "production"}
    config.update(settings)
    return create_app(config)


def test_production_refuses_to_start_without_what_it_needs(tmp_path, monkeypatch) -> None:
    for key in ("SECRET_KEY", "ALLOWED_HOSTS", "EXTERNAL_URL", "BOOKING_ENV"):
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        _production(tmp_path)
    assert not (tmp_path / "secret_key").exists()  # no key made up behind the operator's back
    with pytest.raises(ConfigurationError, match="too weak"):
        _production(tmp_path, SECRET_KEY="dev")
    with pytest.raises(ConfigurationError, match="too weak"):
        _production(tmp_path, SECRET_KEY="short-but-not-32")
    with pytest.raises(ConfigurationError, match="ALLOWED_HOSTS"):
        _production(tmp_path, SECRET_KEY=STRONG_KEY)
    with pytest.raises(ConfigurationError, match="EXTERNAL_URL"):
        _production(tmp_path, SECRET_KEY=STRONG_KEY, ALLOWED_HOSTS="resa.example.org")
    app = _production(
        tmp_path,
        SECRET_KEY=STRONG_KEY,
        ALLOWED_HOSTS="resa.example.org",
        EXTERNAL_URL="https://resa.example.org",
    )
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]


def test_a_well_known_key_is_refused_even_in_development(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SECRET_KEY", "dev")
    with pytest.raises(ConfigurationError, match="too weak"):
        create_app({"INSTANCE_PATH": str(tmp_path)})


def test_behind_the_proxy_links_follow_its_forwarded_scheme(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = _production(
        tmp_path,
        SECRET_KEY=STRONG_KEY,
        ALLOWED_HOSTS="resa.example.org",
        EXTERNAL_URL="https://resa.example.org",
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'x.sqlite3'}",
    )
    with app.app_context():
        db.create_all()
    response = app.test_client().get(
        "/login",
        headers={"Host": "resa.example.org", "X-Forwarded-Proto": "https"},
        base_url="http://resa.example.org",
    )
    assert response.status_code == 200
    assert response.headers["Strict-Transport-Security"]  # the proxy said https
    cookie = response.headers.get("Set-Cookie", "")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_another_host_gets_no_page_and_no_links(app: Flask, client: FlaskClient, make) -> None:
    venue = make.venue(slug="moulins")
    make.resource(venue, slug="laser")
    app.config["TRUSTED_HOSTS"] = ["resa.example.org"]
    evil = client.get("/feeds/resources/laser.ics", headers={"Host": "evil.example"})
    assert evil.status_code == 400
    assert b"evil.example" not in evil.data
    good = client.get("/feeds/resources/laser.ics", headers={"Host": "resa.example.org"})
    assert good.status_code == 200


def test_a_huge_form_is_refused_before_it_is_read(client: FlaskClient) -> None:
    response = client.post("/login", data={"email": "x" * (2 * 1024 * 1024), "password": "x"})
    assert response.status_code == 413
    assert "trop" in response.get_data(as_text=True).lower()


def test_remember_cookie_is_lax_http_only_and_not_for_a_year(
    client: FlaskClient, make: Factory
) -> None:
    user = make.user()
    response = client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "remember": "y"}
    )
    cookies = [v for k, v in response.headers.items() if k == "Set-Cookie"]
    remember = next(c for c in cookies if c.startswith("remember_token="))
    assert "SameSite=Lax" in remember and "HttpOnly" in remember
    expires = remember.split("Expires=")[1].split(";")[0]
    from email.utils import parsedate_to_datetime

    assert parsedate_to_datetime(expires).date() <= date.today() + timedelta(days=31)


def test_csrf_tokens_expire(app: Flask, client: FlaskClient, monkeypatch) -> None:
    import time as real_time

    app.config["WTF_CSRF_ENABLED"] = True
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    later = real_time.time() + app.config["WTF_CSRF_TIME_LIMIT"] + 60
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: later)
    response = client.post("/login", data={"csrf_token": token, "email": "a@b.c", "password": "x"})
    assert response.status_code == 400
    assert app.config["WTF_CSRF_TIME_LIMIT"] <= 24 * 3600


# --- NUL and other control characters ----------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize(
    "url",
    [
        "/venues/a%00b",
        "/resources/a%00b",
        "/venues/a%00b/week",
        "/feeds/resources/a%00b.ics",
        "/feeds/venues/a%00b.ics",
        "/reservations/new?resource=a%00b",
    ],
)
def test_a_nul_in_the_address_is_not_found(client: FlaskClient, auth, make, url: str) -> None:
    auth.login(make.user().email)
    assert client.get(url).status_code in (400, 404)


@pytest.mark.postgres
def test_a_nul_in_a_form_is_refused_next_to_its_field(
    client: FlaskClient, auth, make: Factory
) -> None:
    login = client.post("/login", data={"email": "a\x00b@example.org", "password": "x"})
    assert login.status_code in (200, 422)
    assert "invisibles" in login.get_data(as_text=True)

    venue = make.venue()
    resource = make.resource(venue)
    member = make.user(venue)
    auth.login(member.email)
    day = (date.today() + timedelta(days=2)).isoformat()
    booking = client.post(
        f"/reservations/new?resource={resource.slug}",
        data={"day": day, "start": "10:00", "end": "11:00", "purpose": "atelier\x00"},
    )
    assert booking.status_code == 422
    assert "invisibles" in booking.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Reservation.id))) == 0

    profile = client.post("/profile", data={"display_name": "Amina\x00", "locale": "fr"})
    assert "invisibles" in profile.get_data(as_text=True)
    assert "\x00" not in db.session.get(User, member.id).display_name


# --- logs ----------------------------------------------------------------------------


def test_a_doubled_slash_does_not_let_a_token_into_the_log() -> None:
    for line in ("GET /feeds//u/SECRETtoken123.ics", "GET /feeds/m//SECRETtoken123.ics"):
        assert "SECRETtoken123" not in logmask.mask_secret_paths(line)


# --- faults ---------------------------------------------------------------------------


def test_a_database_locked_by_another_process_asks_to_try_again(
    tmp_path: Path, make: Factory, caplog
) -> None:
    """Another program holds SQLite's write lock: the booking is not written, the page says
    to try again (503), and the next request, once the lock is gone, works."""
    path = tmp_path / "locked.sqlite3"
    from .conftest import _migrate

    _migrate(f"sqlite:///{path}", tmp_path)
    config = base_config(tmp_path, f"sqlite:///{path}")
    config["SQLITE_BUSY_TIMEOUT"] = 0.2
    app = create_app(config)
    with app.app_context():
        from .conftest import Factory as Make

        maker = Make()
        venue = maker.venue()
        resource = maker.resource(venue)
        member = maker.user(venue)
        slug, email = resource.slug, member.email
        db.session.remove()
    client = app.test_client()
    client.post("/login", data={"email": email, "password": PASSWORD})
    day = (date.today() + timedelta(days=2)).isoformat()
    form = {"day": day, "start": "10:00", "end": "11:00"}

    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with caplog.at_level(logging.WARNING):
            response = client.post(f"/reservations/new?resource={slug}", data=form)
        assert response.status_code == 503
        assert response.headers["Retry-After"]
        assert "Réessayez" in response.get_data(as_text=True)
    finally:
        other.execute("ROLLBACK")
        other.close()
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Reservation.id))) == 0
    again = client.post(f"/reservations/new?resource={slug}", data=form)
    assert again.status_code == 302


# --- sessions ---------------------------------------------------------------------------


def _browsers(app: Flask, count: int) -> list[FlaskClient]:
    """Separate browsers, each request in an application context of its own."""
    app.test_client_class = IsolatedClient
    return [app.test_client() for _ in range(count)]


def _cookies(client: FlaskClient) -> dict[str, str]:
    return {cookie.key: cookie.value for cookie in client._cookies.values()}


def test_a_copied_session_cookie_is_useless_after_logout(app: Flask, make: Factory) -> None:
    user = make.user()
    (browser,) = _browsers(app, 1)
    browser.post("/login", data={"email": user.email, "password": PASSWORD, "remember": "y"})
    stolen = _cookies(browser)
    assert {"session", "remember_token"} <= set(stolen)
    browser.post("/logout")

    (thief,) = _browsers(app, 1)
    thief.set_cookie("session", stolen["session"])
    assert thief.get("/profile").status_code == 302  # to the login page
    (thief,) = _browsers(app, 1)
    thief.set_cookie("remember_token", stolen["remember_token"])
    assert thief.get("/profile").status_code == 302


def test_a_new_password_logs_every_other_device_out(app: Flask, make: Factory) -> None:
    user = make.user()
    phone, laptop = _browsers(app, 2)
    for device in (phone, laptop):
        device.post("/login", data={"email": user.email, "password": PASSWORD, "remember": "y"})
        assert device.get("/profile").status_code == 200
    response = laptop.post(
        "/profile/password",
        data={
            "current_password": PASSWORD,
            "new_password": "another long password",
            "confirm_password": "another long password",
        },
    )
    assert response.status_code == 302
    assert laptop.get("/profile").status_code == 200  # the device that changed it stays in
    assert phone.get("/profile").status_code == 302


def test_logging_out_elsewhere_from_the_profile(app: Flask, make: Factory) -> None:
    user = make.user()
    phone, laptop = _browsers(app, 2)
    for device in (phone, laptop):
        device.post("/login", data={"email": user.email, "password": PASSWORD})
    page = laptop.get("/profile").get_data(as_text=True)
    assert "Cet appareil" in page
    assert laptop.post("/profile/log-out-elsewhere").status_code == 302
    assert phone.get("/profile").status_code == 302
    assert laptop.get("/profile").status_code == 200


def test_a_deactivated_account_is_logged_out_at_once(app: Flask, make: Factory) -> None:
    user = make.user()
    (browser,) = _browsers(app, 1)
    browser.post("/login", data={"email": user.email, "password": PASSWORD})
    db.session.get(User, user.id).active = False
    db.session.commit()
    assert browser.get("/profile").status_code == 302


def test_feed_links_do_not_carry_the_account_id(app: Flask, make: Factory) -> None:
    import base64
    import struct

    from .conftest import feed_token

    for _ in range(3):
        user = make.user()
        for kind in ("u", "m"):
            token = feed_token(user, kind)
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            assert struct.pack(">I", user.id) not in raw
            assert str(user.id) not in token or len(token) == 32


# --- throttling -----------------------------------------------------------------------


def _log_in(client: FlaskClient, email: str, password: str) -> int:
    return client.post("/login", data={"email": email, "password": password}).status_code


def test_guessing_a_password_is_stopped_and_told_when_to_come_back(
    client: FlaskClient, make: Factory
) -> None:
    user, other = make.user(), make.user()
    for _ in range(10):
        assert _log_in(client, user.email, "wrong guess") == 200
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 429  # even the right password waits now
    assert int(response.headers["Retry-After"]) > 60
    assert "Réessayez dans" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(LoginSession.id))) == 0
    # Another account is not locked by someone else's guesses...
    assert _log_in(client, other.email, PASSWORD) == 302


def test_logging_in_right_is_never_counted(client: FlaskClient, make: Factory) -> None:
    user = make.user()
    for _ in range(15):
        assert _log_in(client, user.email, PASSWORD) == 302
        client.post("/logout")


def test_with_redis_the_counts_live_in_redis(
    redis_url: str, tmp_path: Path, database_url: str, make: Factory
) -> None:
    """With RATELIMIT_STORAGE_URI on Redis, the counts are in Redis, where every app server
    reads them (two gunicorn servers share them in tests/test_deployment.py)."""
    import redis

    store = redis.Redis.from_url(redis_url)
    store.flushdb()
    user = make.user()
    config = base_config(tmp_path, database_url)
    config["RATELIMIT_STORAGE_URI"] = redis_url
    server = create_app(config).test_client()
    for _ in range(10):
        assert _log_in(server, user.email, "wrong guess") == 200
    assert _log_in(server, user.email, PASSWORD) == 429
    assert any(user.email.encode() in key for key in store.keys("*"))
    store.close()
