"""Rate limits: the one place where the application says how often a request may come.

Flask-Limiter counts requests in this process's memory unless
``RATELIMIT_STORAGE_URI`` names a shared storage (Redis, Memcached), which
several workers or servers need to count together. Failed logins are limited
per e-mail address typed and per client address. Forms that send e-mail to
an address someone types (joining a venue, a forgotten password) are limited
twice: per client address, and per e-mail address typed, so that neither one
attacker nor many can flood a mailbox. A refusal answers 429 and says when to
try again (``retry_after``); the page is ``booking.views.errors``'.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

F = TypeVar("F", bound=Callable[..., Any])

limiter = Limiter(key_func=get_remote_address)

# Logging in: failed attempts only (a success is never counted), so that
# guessing a password is slow while someone who knows theirs is never stopped
# by their own earlier typos once they get it right in time.
LOGIN_FAILURES_PER_EMAIL = "10 per 15 minutes"
LOGIN_FAILURES_PER_ADDRESS = "30 per 15 minutes"
# Asking to join a venue, and asking for a password link.
SIGNUP_PER_ADDRESS = "5 per hour"
SIGNUP_PER_EMAIL = "3 per day"
RESET_PER_ADDRESS = "10 per hour"
RESET_PER_EMAIL = "3 per hour"


def typed_email() -> str:
    """The e-mail address typed in the form, as the limit per e-mail counts it."""
    return "email:" + (request.form.get("email") or "").strip().lower()[:254]


def _limited(per_address: str, per_email: str) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        view = limiter.limit(per_email, key_func=typed_email, methods=["POST"])(view)
        return limiter.limit(per_address, methods=["POST"])(view)  # type: ignore[return-value]

    return decorate


def _failed(response: Any) -> bool:
    """A login that did not redirect: wrong password, unknown or inactive account."""
    return response.status_code != 302


def login_limit(view: F) -> F:
    view = limiter.limit(
        LOGIN_FAILURES_PER_EMAIL, key_func=typed_email, methods=["POST"], deduct_when=_failed
    )(view)
    return limiter.limit(  # type: ignore[return-value]
        LOGIN_FAILURES_PER_ADDRESS, methods=["POST"], deduct_when=_failed
    )(view)


signup_limit = _limited(SIGNUP_PER_ADDRESS, SIGNUP_PER_EMAIL)
reset_limit = _limited(RESET_PER_ADDRESS, RESET_PER_EMAIL)


def retry_after() -> int:
    """Seconds until the limit that refused this request lets it through again."""
    limit = limiter.current_limit
    if limit is None:
        return 60
    return max(1, math.ceil(limit.reset_at - time.time()))


def init_app(app: Flask) -> None:
    limiter.init_app(app)
