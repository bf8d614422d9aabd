"""Find a free slot across resources and venues: a form read from the query string, and the
answer below it. Open to visitors (public resources, no names), tailored to members."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import Blueprint, current_app, render_template, request
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from .. import clock
from ..extensions import db
from ..forms.search import SearchForm
from ..models import Venue
from ..services import reads_only
from ..services.availability.search import SearchQuery, SearchResult, find_free_slots
from . import access
from .kit import today_at

bp = Blueprint("search", __name__)

DEFAULTS = {"when": "today", "part": "any", "minutes": "60", "seats": "1"}
_VENUE_CHOICES = sa.select(Venue.slug, Venue.name).where(Venue.is_active).order_by(Venue.name)


def _today() -> date:
    return today_at(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Europe/Paris")


@bp.route("/search")
@access.public
def index() -> tuple[str, int]:
    reads_only()
    # The places to choose from: their slugs and names are all the form needs.
    venues = db.session.execute(_VENUE_CHOICES).all()
    asked = bool(request.args)
    # A link may name only what matters ("/search?q=laser"): the rest takes its defaults.
    values = MultiDict(DEFAULTS)
    for key in request.args:
        values.setlist(key, request.args.getlist(key))
    form = SearchForm.for_viewer(venues, current_user, formdata=values if asked else None)
    result: SearchResult | None = None
    status = 200
    if asked:
        if form.validate():
            first, last = form.days(_today())
            after, before = form.window()
            query = SearchQuery(
                first_day=first,
                last_day=last,
                after=after,
                before=before,
                minutes=form.minutes.data,
                seats=form.seats.data,
                words=form.q.data or "",
                venue_slug=form.venue.data or "",
                resource_slug=form.resource.data or "",
            )
            user_id = current_user.id if current_user.is_authenticated else None
            result = find_free_slots(db.session, query, user_id, clock.now())
        else:
            status = 422
    return render_template("search/index.html", form=form, result=result), status
