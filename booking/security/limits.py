"""Rate limits: the one place where the application says how often a request may come.

Flask-Limiter counts requests in this process's memory unless
``RATELIMIT_STORAGE_URI`` names a shared storage (Redis, Memcached), which
several workers or servers need to count together. Failed logins are limited
per e-mail address typed and per client address. Forms that send e-mail to
an address someone types (joining a venue, a forgotten password) are limited
twice: per client address, and per e-mail address typed, so that neither one
attacker nor many can flood a mailbox. A refusal answers 429 and says when to
try again (``retry_after``); the page is ``booking.views.errors``'.

When the shared storage cannot be reached (Redis stopped, restarting, out of
reach), each process counts in its own memory instead of refusing everyone
with a server error, says so in the log, and goes back to the shared storage
by itself once it answers again (Flask-Limiter asks it again after 1, 2, 4 …
32 seconds, then from 1 second again). Meanwhile each worker counts alone: a
guesser gets at most as many tries as the number of workers times the limit.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, current_app, has_app_context, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

F = TypeVar("F", bound=Callable[..., Any])

limiter = Limiter(key_func=get_remote_address)
log = logging.getLogger(__name__)

# A Redis that does not answer costs a request at most this long (seconds) before
# the count moves to this process's memory; on the same network it answers in
# well under a millisecond.
STORAGE_TIMEOUT = 1.0

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
    try:
        reset_at = limit.reset_at
    except Exception:  # the storage went away since it counted: a minute is a fair guess
        log.warning("rate-limit storage unreachable while reading when a limit resets")
        return 60
    return max(1, math.ceil(reset_at - time.time()))


# What Flask-Limiter says when its storage goes away and comes back.
UNREACHABLE = "Rate limit storage unreachable"
RECOVERED = "Rate limit storage recovered"


def _only_storage_news(record: logging.LogRecord) -> bool:
    """Flask-Limiter's logger is lowered to INFO for "recovered": every other INFO record
    stays as silent as before (some carry the e-mail address typed)."""
    return record.levelno >= logging.WARNING or record.getMessage().startswith(RECOVERED)


class _StorageStateLog(logging.Handler):
    """Says in the application's log when the counts leave the shared storage and when
    they come back to it: Flask-Limiter tells only its own logger, which nobody reads."""

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith(UNREACHABLE):
            log.warning(
                "rate-limit storage %s unreachable: counting in this process's memory "
                "until it answers again",
                _storage_name(),
            )
        elif message.startswith(RECOVERED):
            log.warning("rate-limit storage %s answers again: counting there", _storage_name())
        else:  # an error the library swallowed rather than answer 500
            log.log(record.levelno, "rate limiting: %s", message, exc_info=record.exc_info)


def _storage_name() -> str:
    """The storage's address, without a password."""
    if not has_app_context():
        return ""
    parts = urlsplit(str(current_app.config.get("RATELIMIT_STORAGE_URI") or ""))
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


_STATE_LOG = _StorageStateLog(logging.INFO)


def init_app(app: Flask) -> None:
    config = app.config
    # A storage that is down must not turn a login into a server error.
    config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    config.setdefault(
        "RATELIMIT_STORAGE_OPTIONS",
        {"socket_connect_timeout": STORAGE_TIMEOUT, "socket_timeout": STORAGE_TIMEOUT},
    )
    limiter.init_app(app)
    library_log = logging.getLogger("flask-limiter")
    if _STATE_LOG not in library_log.handlers:
        library_log.addHandler(_STATE_LOG)
        library_log.addFilter(_only_storage_news)
        if library_log.getEffectiveLevel() > logging.INFO:
            library_log.setLevel(logging.INFO)
