"""Find a free slot across resources and venues: a form read from the query string, and the
answer below it. Open to visitors (public resources, no names), tailored to members."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from .. import clock
from ..extensions import db
from ..forms.base import has_control_characters
from ..forms.search import SearchForm
from ..services import reads_only
from ..services.availability.search import SearchQuery, SearchResult, find_free_slots
from ..services.venues.directory import venue_choices
from . import access
from .kit import today_at

bp = Blueprint("search", __name__)

DEFAULTS = {"when": "today", "part": "any", "minutes": "60", "seats": "1"}


def _today() -> date:
    return today_at(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Europe/Paris")


@bp.route("/search")
@access.public
def index() -> tuple[str, int]:
    reads_only()
    # The places to choose from (the person's own, and the one asked for): never a list
    # of the whole network; other places are found by their name.
    user_id = current_user.id if current_user.is_authenticated else None
    asked_venue = request.args.get("venue", "")[:80]
    if has_control_characters(asked_venue):
        asked_venue = ""  # the form says so, next to the field
    venues = venue_choices(db.session, user_id, asked_venue)
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
            result = find_free_slots(db.session, query, user_id, clock.now())
        else:
            status = 422
    return render_template("search/index.html", form=form, result=result), status
