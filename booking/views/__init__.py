"""Blueprints, one per area; what every request goes through."""

from __future__ import annotations

from flask import Flask, abort, request
from werkzeug.routing import IntegerConverter

from .. import clock
from ..forms.base import has_control_characters
from ..services import OverdueWatch

# Pages whose query string is a form they validate (booking.forms.base.Form).
QUERY_FORMS = frozenset(
    {
        "admin.index",
        "public.home",
        "search.index",
        "reports.report",
        "reports.report_csv",
        "reports.report_ods",
        "reports.reservations_csv",
        "reports.reservations_ods",
        "reports.statements",
        "reports.statements_csv",
        "reports.statements_ods",
    }
)

# Identifiers are 32-bit integers on both databases.
LARGEST_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """`<int:...>` bounded to what a row id can be: a larger number names
    nothing (404) instead of overflowing the database driver."""

    def __init__(self, map, fixed_digits=0, min=None, max=LARGEST_ID, signed=False) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


def register_blueprints(app: Flask) -> None:
    from . import (
        access,
        admin,
        auth,
        changes,
        errors,
        feeds,
        invitations,
        manage,
        outbox,
        privacy,
        profile,
        public,
        reports,
        reservations,
        search,
        signups,
        waitlist,
    )

    app.url_map.converters["int"] = IdConverter
    access.init_app(app)
    for module in (public, search, auth, profile, reservations, changes, manage, admin, feeds):
        app.register_blueprint(module.bp)
    for module in (invitations, signups, waitlist, outbox, privacy, reports):
        app.register_blueprint(module.bp)
    errors.init_app(app)

    @app.before_request
    def _refuse_control_characters() -> None:
        # No address with a control character names anything (and PostgreSQL
        # refuses NUL in text): refused before any view runs. Form fields are
        # checked by booking.forms.base.Form, next to the field.
        if has_control_characters(request.path):
            abort(404)
        if request.endpoint in QUERY_FORMS:
            return  # its form says what is wrong, next to the field
        if any(has_control_characters([k, *v]) for k, v in request.args.lists()):
            abort(400)

    # The one place where undecided requests whose start has passed expire
    # (besides the command for cron): before any page or feed is answered.
    watch = OverdueWatch()

    @app.before_request
    def _expire_overdue_requests() -> None:
        if request.endpoint != "static":
            watch.run(clock.now())
