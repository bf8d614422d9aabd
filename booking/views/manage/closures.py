"""Closing the venue or a resource: the bookings inside are shown before confirming."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.wrappers import Response

from ... import clock
from ...extensions import db
from ...forms.manage import ClosureForm
from ...models import Closure, Venue
from ...presentation.manage import changed_meanwhile_message
from ...services import LocalMoment, NotAllowedError
from ...services.closures import (
    ClosurePreview,
    ClosureRequest,
    close,
    preview,
    reopen,
    venue_closures,
)
from ...services.errors import ChangedMeanwhileError, SettingsError
from .. import access
from .common import bp, local_today, managed_venue, owned, place_errors


def _fields(form: ClosureForm) -> dict[str | None, str]:
    """Where the service's fields are on the form: a time when one was typed, else the day."""
    return {
        "starts": "start_time" if form.start_time.data else "first_day",
        "ends": "end_time" if form.end_time.data else "last_day",
    }


def _form(venue: Venue) -> ClosureForm:
    form = ClosureForm()
    form.configure((r.id, r.name) for r in venue.resources if r.is_active)
    return form


def _page(
    venue: Venue,
    form: ClosureForm,
    shown: ClosurePreview | None = None,
    general: list[str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    return (
        render_template(
            "manage/closures.html",
            venue=venue,
            form=form,
            preview=shown,
            general=general or [],
            closures=venue_closures(db.session, venue.id, clock.now()),
        ),
        status,
    )


def _request(venue: Venue, form: ClosureForm) -> ClosureRequest:
    (first_day, start), (end_day, end) = form.moments()
    return ClosureRequest(
        venue_id=venue.id,
        resource_id=form.resource.data or None,
        starts=LocalMoment(first_day, start),
        ends=LocalMoment(end_day, end),
        reason=form.reason.data or "",
        reason_public=bool(form.reason_public.data),
    )


@bp.route("/venues/<slug>/closures", methods=["GET", "POST"])
@access.manager
def closures(slug: str) -> Response | tuple[str, int]:
    venue = managed_venue(slug)
    form = _form(venue)
    if request.method == "GET":
        form.first_day.data = form.last_day.data = local_today(venue)
        return _page(venue, form)
    if not form.validate_on_submit():
        return _page(venue, form, status=422)
    spec = _request(venue, form)
    now = clock.now()
    try:
        if request.form.get("action") == "confirm":
            result = close(
                spec,
                current_user.id,
                now,
                seen_ids=form.seen.data or frozenset(),
                cancel_ids=frozenset(form.cancel.data or ()),
            )
            message = _("Closure saved.")
            if result.cancelled:
                message += " " + ngettext(
                    "%(num)d booking cancelled: its member can read your reason.",
                    "%(num)d bookings cancelled: their members can read your reason.",
                    len(result.cancelled),
                )
            flash(message, "success")
            return redirect(url_for("manage.closures", slug=venue.slug))
        shown = preview(spec, current_user.id, now)
    except NotAllowedError:
        abort(404)
    except SettingsError as error:
        general = place_errors(form, error.violations, _fields(form))
        return _page(venue, form, general=general, status=422)
    except ChangedMeanwhileError:
        shown = preview(spec, current_user.id, now)
        return _page(venue, _with_ticks(form, shown), shown, [changed_meanwhile_message()], 409)
    return _page(venue, _with_ticks(form, shown), shown)


def _with_ticks(form: ClosureForm, shown: ClosurePreview) -> ClosureForm:
    """The bookings inside, shown and ticked to be cancelled (the usual choice)."""
    ids = [reservation.id for reservation in shown.reservations]
    form.seen.data = frozenset(ids)
    form.cancel.choices = [(rid, str(rid)) for rid in ids]
    form.cancel.data = ids
    return form


@bp.route("/venues/<slug>/closures/<int:closure_id>/remove", methods=["POST"])
@access.manager
def remove_closure(slug: str, closure_id: int) -> Response:
    venue = managed_venue(slug)
    owned(db.session.get(Closure, closure_id), venue)
    try:
        reopen(closure_id, current_user.id, clock.now())
    except NotAllowedError:
        abort(404)
    flash(_("Closure removed: bookings are possible again at that time."), "success")
    return redirect(url_for("manage.closures", slug=venue.slug))
