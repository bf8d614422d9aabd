"""Error pages in plain words, in the visitor's language."""

from __future__ import annotations

from flask import Flask, render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ..extensions import db
from ..presentation.formatting import format_duration
from ..security.limits import retry_after


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
        500: (
            _("Something went wrong on our side"),
            _("This is not your fault. Please try again in a few minutes."),
        ),
    }
    return messages.get(code, messages[500])


def render_error(code: int) -> ResponseReturnValue:
    title, message = _messages(code)
    return render_template(
        f"errors/{code}.html" if code in (400, 403, 404, 405, 500) else "errors/500.html",
        code=code,
        title=title,
        message=message,
    ), code


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> ResponseReturnValue:
        return render_error(400)

    for code in (400, 403, 404, 405):

        @app.errorhandler(code)
        def http_error(error: HTTPException) -> ResponseReturnValue:
            body, code = render_error(error.code or 500)
            # Keep what the response must say, such as the methods allowed on a 405.
            headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
            return body, code, headers

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
