"""Requests to join: a visitor asks from the venue's page; the venue's managers decide."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_login import current_user

from .. import clock
from ..extensions import db
from ..forms.accounts import JoinForm
from ..models import Venue
from ..security.limits import signup_limit
from ..services.accounts import joining
from . import access

bp = Blueprint("signups", __name__)


def _public_venue(slug: str) -> Venue:
    venue = db.session.scalar(sa.select(Venue).where(Venue.slug == slug, Venue.is_active))
    if venue is None:
        abort(404)
    return venue


@bp.route("/venues/<slug>/join", methods=["GET", "POST"])
@access.public
@signup_limit
def join(slug: str) -> ResponseReturnValue:
    venue = _public_venue(slug)
    form = JoinForm()
    if not form.is_submitted() and current_user.is_authenticated:
        # Someone with an account elsewhere: the team will add this venue to it.
        form.display_name.data = current_user.display_name
        form.email.data = current_user.email
    if form.validate_on_submit():
        joining.request_to_join(
            venue_id=venue.id,
            email=form.email.data or "",
            name=form.display_name.data or "",
            message=form.message.data or "",
            locale=str(get_locale() or "fr"),
            now=clock.now(),
        )
        # The same answer whoever asks: it must not tell who has an account.
        return redirect(url_for("signups.sent", slug=venue.slug))
    status = 422 if form.is_submitted() else 200
    return render_template("signups/join.html", venue=venue, form=form), status


@bp.route("/venues/<slug>/join/sent")
@access.public
def sent(slug: str) -> ResponseReturnValue:
    return render_template("signups/sent.html", venue=_public_venue(slug))
