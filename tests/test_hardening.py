"""Findings of the security probe, each held by a test that fails without its fix."""

from __future__ import annotations

import logging
import sqlite3
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask, url_for
from flask.testing import FlaskClient

from booking import create_app
from booking.config import ConfigurationError
from booking.extensions import db
from booking.models import LoginSession, Reservation, User
from booking.security import logmask
from booking.views.access import Access, rule_of

from .conftest import PASSWORD, Factory, IsolatedClient, base_config
from .support.world import EMAILS, World, requests_of, world_fixture  # noqa: F401

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


# Who reaches each kind of page: the member their own, a manager their venue's.
REACHES = {Access.MEMBER: "member", Access.MANAGER: "manager", Access.ADMIN: "admin"}


def test_no_page_behind_a_login_is_kept_by_a_browser_or_a_proxy(
    app: Flask, client: FlaskClient, auth, world: World
) -> None:
    """Every route of the URL map that needs a login, asked by someone who may open it:
    its answer says no-store, so that the back button on a shared computer shows nothing
    once its user has left. Public pages keep their caching (none for pages, minutes
    for the public feeds) for visitors."""
    kept = []
    for access, role in REACHES.items():
        assert auth.login(EMAILS[role]).status_code == 302
        for rule, method in requests_of(app):
            if rule_of(app, rule.endpoint) != access:
                continue
            with app.test_request_context():
                url = url_for(rule.endpoint, **world.url_values(rule))
            data = world.form_values(rule) if method == "POST" else None
            response = client.open(url, method=method, data=data)
            if "no-store" not in response.headers.get("Cache-Control", ""):
                kept.append(f"{method} {url} as {role}: {response.status_code}")
            response.close()
        auth.logout()
    assert kept == []

    home = client.get("/")
    assert "Cache-Control" not in home.headers
    feed = client.get(f"/feeds/venues/{world.slugs['venue']}.ics")
    assert feed.headers["Cache-Control"] == "public, max-age=300"
    auth.login(EMAILS["member"])
    # The home page of someone logged in lists their bookings: not kept either.
    assert "no-store" in client.get("/").headers["Cache-Control"]
    feed = client.get(f"/feeds/venues/{world.slugs['venue']}.ics")
    assert feed.headers["Cache-Control"] == "public, max-age=300"


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


EXAMPLE = Path(__file__).resolve().parents[1] / "deploy" / "booking.env.example"


def example_settings() -> dict[str, str]:
    settings = {}
    for line in EXAMPLE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, value = line.split("=", 1)
            settings[key] = value.strip('"')
    return settings


def test_the_example_secrets_are_refused(tmp_path, monkeypatch) -> None:
    """deploy/booking.env.example is public: a site started with its secret key lets anyone
    forge sessions and compute a manager's private calendar link. Each of its secret-like
    values is refused, with what to do instead."""
    settings = example_settings()
    secret_like = {
        key: value
        for key, value in settings.items()
        if any(word in key for word in ("SECRET", "PASSWORD", "TOKEN", "KEY"))
        or urlsplit(value).password
    }
    assert {"SECRET_KEY", "SMTP_PASSWORD"} <= set(secret_like)
    good = {
        "SECRET_KEY": STRONG_KEY,
        "ALLOWED_HOSTS": "resa.example.org",
        "EXTERNAL_URL": "https://resa.example.org",
    }
    for key, value in secret_like.items():
        name = key if not urlsplit(value).password else f"password in {key}"
        with pytest.raises(ConfigurationError, match=f"{name} is still the example value"):
            _production(tmp_path, **{**good, key: value})
    # A site that copied the whole file and changed nothing is told about the key first.
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigurationError) as refused:
        create_app({"INSTANCE_PATH": str(tmp_path)})
    assert "SECRET_KEY" in str(refused.value) and "secrets.token_hex" in str(refused.value)


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


def test_a_forwarded_prefix_moves_no_link(tmp_path, monkeypatch, make: Factory) -> None:
    """nginx sets no X-Forwarded-Prefix: one sent by a client must not turn redirects,
    page links and the public feeds (cached for minutes) into links to another site."""
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
        venue = make.venue(slug="moulins")
        make.resource(venue, slug="laser")
    browser = app.test_client()
    headers = {
        "Host": "resa.example.org",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Prefix": "//evil.example",
    }
    answers = [
        browser.get(url, headers=headers, base_url="http://resa.example.org")
        for url in ("/profile", "/login", "/venues/moulins", "/feeds/venues/moulins.ics")
    ]
    assert [a.status_code for a in answers] == [302, 200, 200, 200]
    assert answers[0].headers["Location"].startswith("/login")
    for answer in answers:
        assert "evil.example" not in answer.headers.get("Location", "")
        assert "evil.example" not in answer.get_data(as_text=True)


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


# --- where a "next" leads ---------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "/%0A",
        "/%0D%0ASet-Cookie:%20stolen=1",
        "/%09/evil.example",
        "/%E2%80%A8",
        "/%C3%A9",
        "/%20",
        "//evil.example",
        "/%5Cevil.example",
        "https://evil.example/",
    ],
)
def test_an_unsafe_next_falls_back_to_the_home_page(
    client: FlaskClient, make: Factory, target: str
) -> None:
    language = client.get(f"/lang/fr?next={target}")
    assert (language.status_code, language.headers["Location"]) == (302, "/")
    user = make.user()
    login = client.post(f"/login?next={target}", data={"email": user.email, "password": PASSWORD})
    assert (login.status_code, login.headers["Location"]) == (302, "/")
    again = client.get(f"/login?next={target}")  # already logged in: straight on
    assert (again.status_code, again.headers["Location"]) == (302, "/")


def test_a_next_of_the_site_is_followed(client: FlaskClient, make: Factory) -> None:
    target = "/venues/lieu?week=2026-03-02"
    assert client.get(f"/lang/en?next={quote(target)}").headers["Location"] == target
    user = make.user()
    login = client.post(
        f"/login?next={quote(target)}", data={"email": user.email, "password": PASSWORD}
    )
    assert login.headers["Location"] == target


# --- logs ----------------------------------------------------------------------------


def test_every_secret_in_a_path_is_masked_in_logs(app: Flask) -> None:
    """Every route that takes a token in its path (the feeds, invitations, password and
    welcome links) has it masked, whatever the characters of a signed link; the
    managers' pages about one invitation keep their number."""
    secret = "eyJ1IjoxfQ.aB-c_9.Zz"
    routes = [rule for rule in app.url_map.iter_rules() if "token" in rule.arguments]
    assert {rule.endpoint for rule in routes} >= {
        "feeds.member",
        "feeds.manager",
        "invitations.accept",
        "auth.reset_password",
        "auth.welcome",
    }
    for rule in routes:
        token = secret.replace(".", "") if rule.rule.endswith(".ics") else secret
        path = rule.rule.replace("<token>", token)
        for line in (f"GET {path} HTTP/1.1", f'"https://resa.example.org{path}?x=1"'):
            masked = logmask.mask_secret_paths(line)
            assert token not in masked and "[secret]" in masked, masked
    kept = "POST /manage/venues/lieu/invitations/12/resend HTTP/1.1"
    assert logmask.mask_secret_paths(kept) == kept


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
