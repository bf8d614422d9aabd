"""Production as deployed: nginx (deploy/nginx/booking.conf) in front of two gunicorn app
servers, one PostgreSQL, the production profile. Every guarantee of one server holds across
two; links and logs are right behind the proxy; faults give a "try again" page, never a 500.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time as clock
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from email.message import EmailMessage
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
import pytest
import requests
import sqlalchemy as sa
from flask_migrate import upgrade
from gunicorn.ctl.client import ControlClient

from booking import create_app
from booking.extensions import db
from booking.models import (
    AuditEvent,
    Membership,
    OpeningPeriod,
    Reservation,
    Resource,
    ResourceKind,
    Role,
    Status,
    User,
    Venue,
)
from booking.rules import Hold, peak_seats

from .conftest import PARIS, PASSWORD, base_config
from .support.gunicorn import Server, gunicorn
from .support.http_clients import all_at_once, csrf_token
from .support.nginx import Proxy, nginx_in_front
from .support.postgres import TempPostgres
from .support.redis_server import redis_server
from .support.smtp import MailServer

# One site (nginx, two gunicorns, Redis, a mail server) for the module: one process runs
# it, and never at the same time as the other many-process load (test_concurrency).
pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.xdist_group("servers")]

KEY = "deployment-test-secret-key-0123456789abcdef-0123456789"
MEMBERS = 16


@dataclass
class Site:
    proxy: Proxy
    servers: tuple[Server, Server]
    url: str  # the database
    postgres: TempPostgres
    folder: Path
    mail: MailServer
    access_logs: tuple[Path, Path]  # gunicorn's, one per app server

    def app(self):  # type: ignore[no-untyped-def]
        return create_app(base_config(self.folder, self.url))


@pytest.fixture(scope="module")
def site(postgres_server: TempPostgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("deploy")
    url = postgres_server.create_database("booking_deploy")
    app = create_app(base_config(folder, url))
    with app.app_context():
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
                    slug="salle",
                    name="Salle",
                    kind=ResourceKind.SPACE,
                    requires_approval=True,
                ),
            ]
        )
        for i in range(MEMBERS):
            user = User(email=f"member{i}@example.org", display_name=f"Membre {i}")
            user.set_password(PASSWORD)
            user.memberships = [Membership(venue=venue)]
            db.session.add(user)
        for i in range(2):
            user = User(email=f"manager{i}@example.org", display_name=f"Gestion {i}")
            user.set_password(PASSWORD)
            user.memberships = [Membership(venue=venue, role=Role.MANAGER)]
            db.session.add(user)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    mail = MailServer().start()
    env = {
        "BOOKING_ENV": "production",
        "SECRET_KEY": KEY,
        "ALLOWED_HOSTS": "localhost,127.0.0.1",
        # Links made in a request follow the proxy's headers; this one names the
        # site in e-mails.
        "EXTERNAL_URL": "https://localhost",
        "MAIL_POLL_SECONDS": "1",
        **{key: str(value) for key, value in mail.config().items()},
    }
    logs = (folder / "first.access.log", folder / "second.access.log")
    with redis_server() as redis_url:
        env["RATELIMIT_STORAGE_URI"] = redis_url  # both servers count failed logins there
        with (
            gunicorn(url, workers=2, env=env, probe="/robots.txt", access_log=logs[0]) as first,
            gunicorn(url, workers=2, env=env, probe="/robots.txt", access_log=logs[1]) as second,
            nginx_in_front(
                [s.removeprefix("http://") for s in (first, second)], folder / "x"
            ) as proxy,
        ):
            yield Site(proxy, (first, second), url, postgres_server, folder, mail, logs)
    mail.stop()


class Browser(requests.Session):
    """Sends, as a browser does, the page it posts from: CSRF protection checks it over
    HTTPS. Trusts the proxy's self-signed certificate, and keeps the production cookies
    (Secure) when it talks to an app server directly, over HTTP, as nginx does."""

    last_page: str | None = None

    def request(self, method: str, url: str, **kwargs):  # type: ignore[no-untyped-def,override]
        headers = kwargs.setdefault("headers", {})
        if method.upper() == "POST" and self.last_page:
            headers.setdefault("Referer", self.last_page)
        if url.startswith("http://127.0.0.1") and self.cookies:
            # The Secure cookies of the production profile, over nginx's plain hop.
            headers["Cookie"] = "; ".join(f"{c.name}={c.value}" for c in self.cookies)
        response = super().request(method, url, **kwargs)
        if method.upper() == "GET" and response.status_code == 200:
            self.last_page = response.url
        return response


def browser(site: Site) -> Browser:
    session = Browser()
    session.trust_env = False  # REQUESTS_CA_BUNDLE would replace the proxy's certificate
    session.verify = str(site.proxy.certificate)
    return session


def log_in(session: requests.Session, base: str, email: str) -> requests.Session:
    token = csrf_token(session.get(f"{base}/login", timeout=30).text)
    response = session.post(
        f"{base}/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302, (email, response.status_code)
    return session


def future_day(days: int) -> str:
    return (datetime.now(PARIS) + timedelta(days=days)).date().isoformat()


def book(session: requests.Session, base: str, slug: str, day: str, start: str = "10:00") -> int:
    page = session.get(f"{base}/reservations/new?resource={slug}", timeout=30)
    if page.status_code != 200:
        return page.status_code
    end = f"{int(start[:2]) + 1:02d}{start[2:]}"
    response = session.post(
        f"{base}/reservations/new?resource={slug}",
        data={"csrf_token": csrf_token(page.text), "day": day, "start": start, "end": end},
        allow_redirects=False,
        timeout=60,
    )
    return response.status_code


# --- behind the proxy -----------------------------------------------------------------


def test_https_links_headers_and_hosts_behind_the_proxy(site: Site) -> None:
    session = browser(site)
    plain = session.get(f"{site.proxy.http}/", allow_redirects=False, timeout=10)
    assert plain.status_code == 301
    assert plain.headers["Location"].startswith("https://localhost")

    home = session.get(f"{site.proxy.https}/", timeout=10)
    assert home.status_code == 200
    assert home.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "frame-ancestors 'none'" in home.headers["Content-Security-Policy"]
    cookie = home.headers.get("Set-Cookie", "")
    assert not cookie or "Secure" in cookie

    log_in(session, site.proxy.https, "member0@example.org")
    assert book(session, site.proxy.https, "laser", future_day(20)) == 302
    feed = session.get(f"{site.proxy.https}/feeds/venues/fabrica.ics", timeout=10)
    assert feed.status_code == 200
    links = re.findall(r"^URL:(\S+)", feed.text, flags=re.M)
    assert links and all(link.startswith(f"{site.proxy.https}/reservations/") for link in links)

    evil = session.get(
        f"{site.proxy.https}/feeds/venues/fabrica.ics", headers={"Host": "evil.example"}
    )
    assert evil.status_code == 400 and b"evil.example" not in evil.content


def test_secret_feed_links_stay_out_of_the_proxy_log(site: Site) -> None:
    session = log_in(browser(site), site.proxy.https, "member1@example.org")
    profile = session.get(f"{site.proxy.https}/profile", timeout=10).text
    url = re.search(r"(https://localhost:\d+/feeds/u/[A-Za-z0-9_-]+\.ics)", profile)
    assert url, "the profile shows the member's secret feed link"
    secret = url[1].rsplit("/", 1)[1].removesuffix(".ics")
    assert session.get(url[1], timeout=10).status_code == 200
    assert session.get(url[1].replace("/feeds/u/", "/feeds//u/"), timeout=10).status_code in (
        200,
        404,
    )
    clock.sleep(0.2)
    log = site.proxy.access_log.read_text()
    assert "/feeds/u/[secret].ics" in log
    assert secret not in log


def _wait_for_mail(site: Site, before: int, to: str) -> EmailMessage:
    deadline = clock.monotonic() + 30
    while clock.monotonic() < deadline:
        for message in site.mail.messages[before:]:
            if message["To"] and to in message["To"]:
                return message
        clock.sleep(0.2)
    raise AssertionError(f"no message to {to}")


def test_signed_links_stay_out_of_the_logs(site: Site) -> None:
    """A password link (like an invitation or a welcome link) lets whoever reads it
    choose the account's password: nginx's and gunicorn's access logs mask it as they
    mask the private feeds, on every route that takes one."""
    session = browser(site)
    before = len(site.mail.messages)
    page = session.get(f"{site.proxy.https}/password/forgot", timeout=10)
    asked = session.post(
        f"{site.proxy.https}/password/forgot",
        data={"email": "member14@example.org", "csrf_token": csrf_token(page.text)},
        timeout=30,
    )
    assert asked.status_code == 200
    body = _wait_for_mail(site, before, "member14@example.org").get_body(("plain",))
    link = re.search(r"https?://\S+?(/password/reset/[\w.-]+)", body.get_content())
    assert link, "the message holds a password link"
    secrets = [link[1].rsplit("/", 1)[1]]
    assert session.get(site.proxy.https + link[1], timeout=10).status_code == 200
    for rule in site.app().url_map.iter_rules():
        if "token" in rule.arguments:
            made_up = f"MadeUp{len(secrets)}a_B-c"
            session.get(site.proxy.https + rule.rule.replace("<token>", made_up), timeout=10)
            secrets.append(made_up)
    assert len(secrets) >= 6  # two feeds, invitations, password links, welcome links

    masked = ("/password/reset/[secret]", "/invitations/[secret]", "/welcome/[secret]")

    def logs() -> tuple[str, str]:
        """nginx's, and both app servers' (each line written once its answer is sent)."""
        return (
            site.proxy.access_log.read_text(),
            "".join(log.read_text() for log in site.access_logs),
        )

    deadline = clock.monotonic() + 10
    while clock.monotonic() < deadline and not all(m in log for m in masked for log in logs()):
        clock.sleep(0.1)
    proxy_log, app_log = logs()
    for path in masked:
        assert path in proxy_log and path in app_log, path
    for secret in secrets:
        assert secret not in proxy_log and secret not in app_log, secret


def test_a_forwarded_prefix_sent_through_the_proxy_moves_no_link(site: Site) -> None:
    """Redirects, pages and the public feeds (cached for minutes by whoever fetched
    them) keep pointing at the site, whatever X-Forwarded-Prefix a client sends."""
    session = browser(site)
    evil = {"X-Forwarded-Prefix": "//evil.example", "X-Forwarded-Host": "evil.example"}
    to_login = session.get(
        f"{site.proxy.https}/profile", headers=evil, allow_redirects=False, timeout=10
    )
    assert to_login.status_code == 302
    assert to_login.headers["Location"].startswith(("/login", f"{site.proxy.https}/login"))
    for path in ("/login", "/venues/fabrica", "/feeds/venues/fabrica.ics"):
        answer = session.get(site.proxy.https + path, headers=evil, timeout=10)
        assert answer.status_code == 200, path
        assert "evil.example" not in answer.text, path


def test_the_proxy_clears_the_forwarded_headers_it_does_not_set(tmp_path: Path) -> None:
    """What the app behind nginx receives: the four X-Forwarded-* it trusts, set by nginx
    whatever the client sent, and none of the others (read by some frameworks and
    servers) that a client could use to move the site's links."""
    received: list[dict[str, str]] = []

    class Upstream(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            received.append({k.lower(): v for k, v in self.headers.items()})
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    upstream = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    thread = threading.Thread(target=upstream.serve_forever, daemon=True)
    thread.start()
    sent = {
        "X-Forwarded-Prefix": "//evil.example",
        "X-Forwarded-Host": "evil.example",
        "X-Forwarded-Proto": "gopher",
        "X-Forwarded-Port": "1",
        "X-Forwarded-Ssl": "on",
        "X-Forwarded-Protocol": "ssl",
        "X-Forwarded-Server": "evil.example",
        "X-Forwarded-Scheme": "https",
        "X-Real-IP": "203.0.113.9",
        "X-Original-URL": "/admin/",
        "X-Rewrite-URL": "/admin/",
        "Forwarded": "for=203.0.113.9;host=evil.example;proto=https",
    }
    try:
        with nginx_in_front([f"127.0.0.1:{upstream.server_port}"], tmp_path / "x") as proxy:
            answer = requests.get(
                f"{proxy.https}/login", headers=sent, verify=str(proxy.certificate), timeout=10
            )
            assert answer.status_code == 200
    finally:
        upstream.shutdown()
        thread.join()
        upstream.server_close()
    (headers,) = received
    port = proxy.https.rsplit(":", 1)[1]
    assert headers["x-forwarded-host"] == "localhost"
    assert headers["x-forwarded-proto"] == "https"
    assert headers["x-forwarded-port"] == port
    assert headers["x-forwarded-for"].endswith("127.0.0.1")
    cleared = {name.lower() for name in sent} - {
        "x-forwarded-host",
        "x-forwarded-proto",
        "x-forwarded-port",
    }
    assert cleared & set(headers) == set()


def test_two_instances_on_one_host_keep_their_own_control(site: Site, tmp_path: Path) -> None:
    """gunicorn's control socket defaults to one path per account: a second instance of
    the same account took it over, and stopping either removed it. None is opened now,
    unless GUNICORN_CONTROL_SOCKET names one for the instance."""
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "XDG_RUNTIME_DIR": "", "MAIL_SEND_IN_BACKGROUND": "0"}
    with gunicorn(site.url, workers=1, env=env), gunicorn(site.url, workers=1, env=env):
        assert not (home / ".gunicorn").exists()
    sockets = (tmp_path / "first.ctl", tmp_path / "second.ctl")
    with (
        gunicorn(site.url, workers=1, env={**env, "GUNICORN_CONTROL_SOCKET": str(sockets[0])}) as a,
        gunicorn(site.url, workers=1, env={**env, "GUNICORN_CONTROL_SOCKET": str(sockets[1])}) as b,
    ):
        for server, path in ((a, sockets[0]), (b, sockets[1])):
            deadline = clock.monotonic() + 10
            while not path.exists() and clock.monotonic() < deadline:
                clock.sleep(0.1)
            with ControlClient(str(path)) as control:
                workers = control.send_command("show workers")["workers"]
            assert [w["pid"] for w in workers] == server.worker_pids()
        assert not (home / ".gunicorn").exists()


# --- two app servers, one database ----------------------------------------------------------


def test_two_servers_never_double_book(site: Site) -> None:
    day = future_day(5)
    sessions = [
        log_in(browser(site), site.servers[i % 2], f"member{i}@example.org") for i in range(MEMBERS)
    ]
    tokens = [
        csrf_token(s.get(f"{site.servers[i % 2]}/reservations/new?resource=laser").text)
        for i, s in enumerate(sessions)
    ]

    def attempt(i: int) -> int:
        response = sessions[i].post(
            f"{site.servers[i % 2]}/reservations/new?resource=laser",
            data={"csrf_token": tokens[i], "day": day, "start": "14:00", "end": "15:00"},
            allow_redirects=False,
            timeout=60,
        )
        return response.status_code

    statuses = all_at_once([partial(attempt, i) for i in range(MEMBERS)])
    assert sorted(statuses) == [302] + [409] * (MEMBERS - 1)
    app = site.app()
    with app.app_context():
        holds = [
            Hold(*row)
            for row in db.session.execute(
                sa.select(Reservation.starts_at, Reservation.blocked_until, Reservation.seats)
                .join(Resource)
                .where(Resource.slug == "laser", Reservation.status == Status.CONFIRMED)
            )
        ]
        assert (
            peak_seats(holds, min(h.starts_at for h in holds), max(h.blocked_until for h in holds))
            == 1
        )
        db.session.remove()
        db.engine.dispose()


def test_two_managers_on_two_servers_decide_once(site: Site) -> None:
    member = log_in(browser(site), site.servers[0], "member2@example.org")
    assert book(member, site.servers[0], "salle", future_day(6)) == 302
    app = site.app()
    with app.app_context():
        pending = db.session.scalar(
            sa.select(Reservation.id).where(Reservation.status == Status.PENDING)
        )
        db.session.remove()
        db.engine.dispose()
    managers = [log_in(browser(site), site.servers[i], f"manager{i}@example.org") for i in range(2)]
    queues = [m.get(f"{site.servers[i]}/manage/").text for i, m in enumerate(managers)]

    def decide(i: int) -> int:
        action = "approve" if i == 0 else "refuse"
        data = {"csrf_token": csrf_token(queues[i])}
        if action == "refuse":
            data[f"r{pending}-reason"] = "Salle prise par une réunion"
        return (
            managers[i]
            .post(
                f"{site.servers[i]}/manage/reservations/{pending}/{action}",
                data=data,
                allow_redirects=False,
                timeout=30,
            )
            .status_code
        )

    assert all_at_once([partial(decide, 0), partial(decide, 1)]) == [302, 302]
    with app.app_context():
        reservation = db.session.get(Reservation, pending)
        decisions = db.session.scalars(
            sa.select(AuditEvent.action).where(
                AuditEvent.reservation_id == pending,
                AuditEvent.action.in_(["approved", "refused"]),
            )
        ).all()
        assert reservation.status in (Status.CONFIRMED, Status.REFUSED)
        assert decisions == [{"confirmed": "approved", "refused": "refused"}[reservation.status]]
        db.session.remove()
        db.engine.dispose()


def test_logging_out_on_one_server_logs_out_on_the_other(site: Site) -> None:
    first = log_in(browser(site), site.servers[0], "member3@example.org")
    second = browser(site)
    second.cookies.update(first.cookies)
    assert second.get(f"{site.servers[1]}/profile", allow_redirects=False).status_code == 200
    token = csrf_token(first.get(f"{site.servers[0]}/profile").text)
    first.post(f"{site.servers[0]}/logout", data={"csrf_token": token})
    assert second.get(f"{site.servers[1]}/profile", allow_redirects=False).status_code == 302


def test_new_feed_links_on_one_server_revoke_the_old_on_the_other(site: Site) -> None:
    session = log_in(browser(site), site.servers[0], "member4@example.org")
    page = session.get(f"{site.servers[0]}/profile").text
    old = re.search(r"/feeds/u/[A-Za-z0-9_-]+\.ics", page)[0]
    assert browser(site).get(site.servers[1] + old, timeout=10).status_code == 200
    regenerated = session.post(
        f"{site.servers[0]}/feeds/regenerate",
        data={"csrf_token": csrf_token(page)},
        allow_redirects=False,
    )
    assert regenerated.status_code == 302
    new = re.search(
        r"/feeds/u/[A-Za-z0-9_-]+\.ics", session.get(f"{site.servers[0]}/profile").text
    )[0]
    assert new != old
    assert browser(site).get(site.servers[1] + old, timeout=10).status_code == 404
    assert browser(site).get(site.servers[1] + new, timeout=10).status_code == 200


def test_guesses_spread_over_two_servers_add_up(site: Site) -> None:
    """Failed logins are counted in the one Redis both servers use."""
    for attempt in range(10):
        session = browser(site)
        token = csrf_token(session.get(f"{site.servers[attempt % 2]}/login").text)
        response = session.post(
            f"{site.servers[attempt % 2]}/login",
            data={"email": "member15@example.org", "password": "guess", "csrf_token": token},
            allow_redirects=False,
        )
        assert response.status_code == 200
    for server in site.servers:
        session = browser(site)
        token = csrf_token(session.get(f"{server}/login").text)
        response = session.post(
            f"{server}/login",
            data={"email": "member15@example.org", "password": PASSWORD, "csrf_token": token},
            allow_redirects=False,
        )
        assert response.status_code == 429


def test_two_servers_send_each_message_once(site: Site) -> None:
    """Both servers' senders claim from one outbox: every e-mail arrives exactly once."""
    dsn = site.url.replace("postgresql+psycopg://", "postgresql://")

    def waiting() -> int:
        with psycopg.connect(dsn, autocommit=True) as connection:
            return connection.execute(
                "SELECT count(*) FROM outbox_message WHERE status IN ('pending', 'sending')"
            ).fetchone()[0]

    deadline = clock.monotonic() + 30
    while waiting() and clock.monotonic() < deadline:  # what earlier tests left to send
        clock.sleep(0.2)
    clock.sleep(1)
    before = len(site.mail.messages)
    sessions = [
        log_in(browser(site), site.servers[i % 2], f"member{i}@example.org") for i in range(8, 14)
    ]
    for i, session in enumerate(sessions):
        assert book(session, site.servers[i % 2], "salle", future_day(40 + i)) == 302
    # Each request tells the venue's two managers: twelve messages.
    deadline = clock.monotonic() + 30
    while len(site.mail.messages) - before < 12 and clock.monotonic() < deadline:
        clock.sleep(0.2)
    clock.sleep(2)  # time for a message sent twice to arrive too
    new = site.mail.messages[before:]
    assert len(new) == 12
    assert len({message["Message-ID"] for message in new}) == 12


# --- faults ------------------------------------------------------------------------------


def _waiting_requests(site: Site) -> int:
    dsn = site.url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as connection:
        return connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        ).fetchone()[0]


def test_a_worker_killed_mid_request_writes_nothing_and_the_site_recovers(site: Site) -> None:
    session = log_in(browser(site), site.proxy.https, "member5@example.org")
    day = future_day(7)
    page = session.get(f"{site.proxy.https}/reservations/new?resource=laser").text
    dsn = site.url.replace("postgresql+psycopg://", "postgresql://")
    result: dict[str, requests.Response] = {}
    with psycopg.connect(dsn) as blocker:
        # Another transaction holds the laser: the booking waits for it.
        blocker.execute("SELECT id FROM resource WHERE slug = 'laser' FOR UPDATE")

        def post() -> None:
            result["response"] = session.post(
                f"{site.proxy.https}/reservations/new?resource=laser",
                data={"csrf_token": csrf_token(page), "day": day, "start": "09:00", "end": "10:00"},
                allow_redirects=False,
                timeout=60,
            )

        thread = threading.Thread(target=post)
        thread.start()
        deadline = clock.monotonic() + 20
        while _waiting_requests(site) == 0 and clock.monotonic() < deadline:
            clock.sleep(0.05)
        assert _waiting_requests(site) >= 1
        for server in site.servers:
            for pid in server.worker_pids():
                os.kill(pid, signal.SIGKILL)
        thread.join(timeout=60)
        blocker.rollback()
    response = result["response"]
    assert response.status_code == 502
    assert "Réessayez" in response.text
    app = site.app()
    with app.app_context():
        slot = datetime.fromisoformat(f"{day}T09:00").replace(tzinfo=PARIS)
        assert not db.session.scalar(
            sa.select(sa.func.count(Reservation.id)).where(Reservation.starts_at == slot)
        )
        db.session.remove()
        db.engine.dispose()
    # The masters start new workers: the same booking now goes through.
    deadline = clock.monotonic() + 30
    while clock.monotonic() < deadline:
        status = book(session, site.proxy.https, "laser", day, "09:00")
        if status != 502:
            break
        clock.sleep(0.5)
    assert status == 302


def test_postgresql_restarting_while_requests_run(site: Site) -> None:
    sessions = [
        log_in(browser(site), site.proxy.https, f"member{i}@example.org") for i in range(6, 12)
    ]
    statuses: list[int] = []
    stop = threading.Event()

    def keep_busy(i: int) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            try:
                if n % 3:
                    response = sessions[i].get(f"{site.proxy.https}/venues/fabrica", timeout=30)
                    statuses.append(response.status_code)
                else:
                    day = future_day(10 + n % 70)
                    statuses.append(
                        book(sessions[i], site.proxy.https, "laser", day, f"{12 + i}:00")
                    )
            except requests.RequestException:
                statuses.append(0)

    threads = [threading.Thread(target=keep_busy, args=(i,)) for i in range(len(sessions))]
    for thread in threads:
        thread.start()
    clock.sleep(1.5)
    site.postgres.restart()
    clock.sleep(2)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)

    assert 500 not in statuses and 0 not in statuses
    assert set(statuses) <= {200, 302, 409, 503}, sorted(set(statuses))
    # Without restarting anything, the site works again.
    deadline = clock.monotonic() + 30
    while clock.monotonic() < deadline:
        if sessions[0].get(f"{site.proxy.https}/venues/fabrica", timeout=30).status_code == 200:
            break
        clock.sleep(0.5)
    else:
        pytest.fail("the site did not recover after PostgreSQL restarted")
    # Nothing half-written: every reservation has its audit row.
    app = site.app()
    with app.app_context():
        orphans = db.session.scalar(
            sa.select(sa.func.count(Reservation.id)).where(
                ~sa.exists().where(AuditEvent.reservation_id == Reservation.id)
            )
        )
        assert orphans == 0
        db.session.remove()
        db.engine.dispose()
