"""Blueprints, one per area; what every request goes through."""

from __future__ import annotations

from flask import Flask, request

from .. import clock
from ..services import OverdueWatch


def register_blueprints(app: Flask) -> None:
    from . import access, auth, errors, feeds, manage, profile, public, reservations, search

    access.init_app(app)
    for module in (public, search, auth, profile, reservations, manage, feeds):
        app.register_blueprint(module.bp)
    errors.init_app(app)

    # The one place where undecided requests whose start has passed expire
    # (besides the command for cron): before any page or feed is answered.
    watch = OverdueWatch()

    @app.before_request
    def _expire_overdue_requests() -> None:
        if request.endpoint != "static":
            watch.run(clock.now())
