"""Blueprints, one per area."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from . import auth, errors, feeds, formatting, manage, profile, public, reservations

    for module in (public, auth, profile, reservations, manage, feeds):
        app.register_blueprint(module.bp)
    errors.init_app(app)
    formatting.init_app(app)
