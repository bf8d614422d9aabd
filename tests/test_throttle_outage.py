"""Redis, which counts failed logins for every app server, stops under a running site:
logging in and asking for a password link go on, guessing is still stopped, the log
says what happened, and the counts go back to Redis once it answers again."""

from __future__ import annotations

import time as clock

import pytest
import redis
import requests

from booking.security.limits import LOGIN_FAILURES_PER_EMAIL

from .conftest import PASSWORD, Factory
from .support.gunicorn import Server, gunicorn
from .support.http_clients import csrf_token
from .support.redis_server import running_redis

pytestmark = pytest.mark.slow

WORKERS = 2
LIMIT = int(LOGIN_FAILURES_PER_EMAIL.split()[0])


def post_form(site: Server, path: str, data: dict[str, str]) -> int:
    session = requests.Session()
    token = csrf_token(session.get(f"{site}{path}", timeout=30).text)
    response = session.post(
        f"{site}{path}", data={**data, "csrf_token": token}, allow_redirects=False, timeout=30
    )
    return response.status_code


def log_in(site: Server, email: str, password: str = PASSWORD) -> int:
    return post_form(site, "/login", {"email": email, "password": password})


def counted_in(store: redis.Redis, email: str) -> bool:
    return any(email.encode() in key for key in store.keys("*"))


def test_logging_in_goes_on_while_redis_is_away(database_url: str, make: Factory) -> None:
    member, guessed = make.user(), make.user()
    env = {"MAIL_SEND_IN_BACKGROUND": "0"}
    with running_redis() as store_server:
        env["RATELIMIT_STORAGE_URI"] = store_server.url
        with gunicorn(database_url, workers=WORKERS, env=env) as site:
            store = redis.Redis.from_url(store_server.url)
            assert log_in(site, guessed.email, "wrong guess") == 200
            assert counted_in(store, guessed.email)

            store_server.stop()
            assert log_in(site, member.email) == 302
            assert post_form(site, "/password/forgot", {"email": member.email}) == 200
            # Each worker counts in its own memory now: one more guess than all of them
            # let through together is refused by one at least.
            attempts = WORKERS * LIMIT + 1
            statuses = [log_in(site, guessed.email, "wrong guess") for _ in range(attempts)]
            assert set(statuses) <= {200, 429} and 429 in statuses
            assert statuses.count(200) <= WORKERS * LIMIT
            assert "counting in this process's memory" in site.log()
            assert "Traceback" not in site.log()

            # Redis is back, empty: each worker finds it again within a minute or so.
            store_server.start()
            deadline = clock.monotonic() + 120
            while not counted_in(store, "later") and clock.monotonic() < deadline:
                # A new address each time: a worker still counting alone must not refuse it.
                email = f"later{int(clock.monotonic() * 1000)}@example.org"
                assert log_in(site, email, "wrong guess") in (200, 429)
                clock.sleep(0.5)
            assert counted_in(store, "later"), "the counts never went back to Redis"
            assert "answers again: counting there" in site.log()
            store.close()
