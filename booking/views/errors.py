"""Error pages in plain words, in the visitor's language.

A database that is down, restarting or locked by another process answers a
"try again" page (503, with Retry-After): the transaction is rolled back, so
nothing is half-written, and the next request opens a fresh connection.
"""

from __future__ import annotations

import logging

from flask import Flask, current_app, g, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.sansio.utils import host_is_trusted

from ..extensions import db, login_manager
from ..presentation.formatting import format_duration
from ..security.limits import retry_after

HANDLED = (400, 403, 404, 405, 413, 503)
RETRY_AFTER_SECONDS = 5


def _messages(code: int) -> tuple[str, str]:
    messages = {
        400: (
            _("Something went wrong with this form"),
            _(
                "The page was open for a long time or was sent twice. Go back, reload it and "
                "try again."
            ),
        ),
        403: (
            _("This page is not for you"),
            _("Your account cannot open this page. If you think it should, ask the venue's team."),
        ),
        404: (
            _("We cannot find this page"),
            _("The link may be old, or the page was removed. Start again from the home page."),
        ),
        405: (
            _("This action is not possible here"),
            _("Use the buttons of the page rather than typing the address."),
        ),
        413: (
            _("This is too much to send at once"),
            _("What you sent is larger than the site accepts. Shorten the text and try again."),
        ),
        500: (
            _("Something went wrong on our side"),
            _("This is not your fault. Please try again in a few minutes."),
        ),
        503: (
            _("The site is busy for a moment"),
            _("Nothing was lost: what you were doing was not saved. Try again in a few seconds."),
        ),
    }
    return messages.get(code, messages[500])


def render_error(code: int, message: str | None = None) -> ResponseReturnValue:
    title, default = _messages(code)
    template = f"errors/{code}.html" if code in (400, 403, 404, 405, 500) else "errors/_error.html"
    return render_template(template, code=code, title=title, message=message or default), code


def _unknown_host() -> bool:
    """A Host header the site does not answer to: no page, no link may name it."""
    trusted = current_app.config.get("TRUSTED_HOSTS")
    host = request.environ.get("HTTP_HOST") or request.environ.get("SERVER_NAME", "")
    return bool(trusted) and not host_is_trusted(host, trusted)


def _forget_user() -> None:
    """Render the page as a visitor: loading the account would need the database."""
    g._login_user = login_manager.anonymous_user()


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> ResponseReturnValue:
        return render_error(400)

    for code in HANDLED:

        @app.errorhandler(code)
        def http_error(error: HTTPException) -> ResponseReturnValue:
            code = error.code or 500
            if code == 400 and _unknown_host():
                return "Unknown host.\n", 400, {"Content-Type": "text/plain; charset=utf-8"}
            body, code = render_error(code)
            # Keep what the response must say: the methods allowed on a 405,
            # when to come back on a 429 or 503.
            headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
            return body, code, headers

    # The database is down, restarting or locked: not a data error (those are bugs,
    # and stay 500s that tests catch).
    @app.errorhandler(OperationalError)
    def database_unavailable(error: OperationalError) -> ResponseReturnValue:
        logging.getLogger(__name__).warning("database unavailable: %s", error.orig)
        db.session.rollback()
        if error.connection_invalidated:
            db.engine.dispose()
        _forget_user()
        body, code = render_error(503)
        return body, code, {"Retry-After": str(RETRY_AFTER_SECONDS)}

    @app.errorhandler(429)
    def too_many(error: HTTPException) -> ResponseReturnValue:
        # Say when, in words: the form works again then.
        minutes = max(1, -(-retry_after() // 60))
        body = render_template(
            "errors/429.html",
            code=429,
            title=_("Too many tries in a short time"),
            message=_(
                "For everyone's safety, this form is paused for you. Try again in %(wait)s.",
                wait=format_duration(minutes),
            ),
        )
        return body, 429, {"Retry-After": str(retry_after())}

    @app.errorhandler(500)
    def server_error(error: Exception) -> ResponseReturnValue:
        # Whatever failed may have left the transaction broken; the page
        # itself (current user, menu) needs a usable session.
        db.session.rollback()
        return render_error(500)
