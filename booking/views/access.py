"""Who may open which page: the login wiring and every route's declared access rule.

Each view carries one rule, given by one of the decorators below; a route
without one is refused (and ``tests/test_access.py`` fails). The rules say
who may reach a page at all; what a person may do to one venue or one
reservation is asked of ``booking.permissions`` inside the view or service.
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, Response, abort, current_app, g, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user

from .. import clock
from ..extensions import login_manager
from ..models import User
from ..permissions import can_administer, can_manage_any
from ..services.accounts import sessions

F = TypeVar("F", bound=Callable[..., Any])

ATTRIBUTE = "access_rule"


class Access(enum.StrEnum):
    PUBLIC = "public"  # anyone, logged in or not
    SECRET_LINK = "secret-link"  # anyone holding a secret URL (private feeds)
    MEMBER = "member"  # a logged-in account
    MANAGER = "manager"  # a manager of at least one venue, or an administrator
    ADMIN = "admin"  # an administrator


# Endpoints that Flask itself provides.
FRAMEWORK_RULES = {"static": Access.PUBLIC}

# Pages behind a login show someone's bookings, members, messages or reports: no
# browser, proxy or "back" button may keep a copy once that person has left the
# computer (the social centre's, a library's). A public page rendered for someone
# logged in carries their name and bookings too; public pages and feeds that say
# how they may be cached (the feeds, robots.txt) keep that.
NOT_STORED = "private, no-store"
LOGGED_IN_RULES = frozenset({Access.MEMBER, Access.MANAGER, Access.ADMIN})


def _declare(rule: Access) -> Callable[[F], F]:
    def mark(view: F) -> F:
        setattr(view, ATTRIBUTE, rule)
        return view

    return mark


public = _declare(Access.PUBLIC)
secret_link = _declare(Access.SECRET_LINK)


def member(view: F) -> F:
    return _declare(Access.MEMBER)(login_required(view))


def manager(view: F) -> F:
    @wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not can_manage_any(current_user):
            abort(403)
        return view(*args, **kwargs)

    return _declare(Access.MANAGER)(wrapped)  # type: ignore[return-value]


def admin(view: F) -> F:
    @wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not can_administer(current_user):
            abort(403)
        return view(*args, **kwargs)

    return _declare(Access.ADMIN)(wrapped)  # type: ignore[return-value]


def rule_of(app: Flask, endpoint: str) -> Access | None:
    if endpoint in FRAMEWORK_RULES:
        return FRAMEWORK_RULES[endpoint]
    view = app.view_functions.get(endpoint)
    return getattr(view, ATTRIBUTE, None)


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"

    @login_manager.user_loader
    def load_user(token: str) -> User | None:
        # The cookies hold a login session's token, not the account's id:
        # closing the session (logout, new password) makes copies useless.
        user = sessions.user_for_session(token, clock.now(), app.config["REMEMBER_COOKIE_DURATION"])
        g.viewer_logged_in = user is not None
        return user

    @app.before_request
    def _refuse_undeclared() -> None:
        # Fail closed: a route added without its rule is refused, not served.
        if request.endpoint is not None and rule_of(app, request.endpoint) is None:
            logging.getLogger(__name__).error("no access rule for %s", request.endpoint)
            abort(403)

    @app.after_request
    def _personal_pages_are_not_stored(response: Response) -> Response:
        if request.endpoint is None or request.endpoint == "static":
            return response
        rule = rule_of(app, request.endpoint)
        # The viewer as this request loaded them (never loaded again here: with the
        # database away, this answer is the "try again" page).
        shown_to_someone = g.get("viewer_logged_in", False)
        if rule in LOGGED_IN_RULES or (
            rule == Access.PUBLIC and shown_to_someone and "Cache-Control" not in response.headers
        ):
            response.headers["Cache-Control"] = NOT_STORED
        return response


def log_in(user: User, remember: bool = False) -> None:
    """Open a login session for ``user`` in this browser (the cookies carry its token)."""
    user.session_token = sessions.open_session(
        user.id,
        request.user_agent.string,
        clock.now(),
        current_app.config["REMEMBER_COOKIE_DURATION"],
        remembered=remember,
    )
    login_user(user, remember=remember)


# What a local path and its query may hold, as a browser sends them: printable ASCII
# without spaces. A control character (a line break would end the Location header) or
# a space is never part of a link the site made; nor is a backslash, which browsers
# read as a slash ("/\\evil.example" is another site).
_SAFE_NEXT = re.compile(r"/(?![/\\])[\x21-\x5b\x5d-\x7e]*")
MAX_NEXT_LENGTH = 2048


def is_safe_next(target: str | None) -> bool:
    """Whether ``target`` (a ``next`` from the address or a form) is a path of this site.

    Every redirect to a ``next`` asks this first and falls back to a page of its own:
    a login link must not send people to another site, nor break the answer."""
    if not target or len(target) > MAX_NEXT_LENGTH or not _SAFE_NEXT.fullmatch(target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc
