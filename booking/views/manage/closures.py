"""Closing the venue or a resource, once or again and again (every week, every year, on public
holidays): the bookings inside are shown before confirming."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from ... import clock
from ...extensions import db
from ...forms.calendars import RecurringClosureForm
from ...forms.manage import ClosureForm
from ...models import Closure, ClosureRule, Venue
from ...services import LocalMoment
from ...services.venues.closures import (
    ClosurePreview,
    ClosureRequest,
    close,
    preview,
    reopen,
    venue_closures,
)
from ...services.venues.recurring import (
    RulePreview,
    RuleRequest,
    add_rule,
    preview_rule,
    region_of,
    remove_rule,
    venue_rules,
)
from .. import access
from ..kit import today_at
from .common import attempt, bp, managed_venue, owned


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
            rules=venue_rules(db.session, venue.id, clock.now()),
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
        form.first_day.data = form.last_day.data = today_at(venue.zone)
        return _page(venue, form)
    if not form.validate_on_submit():
        return _page(venue, form, status=422)
    spec = _request(venue, form)
    now = clock.now()
    general, status = [], 200
    if request.form.get("action") == "confirm":
        closed = attempt(
            form,
            lambda: close(
                spec,
                current_user.id,
                now,
                seen_ids=form.seen.data or frozenset(),
                cancel_ids=frozenset(form.cancel.data or ()),
            ),
            _fields(form),
        )
        if closed.result is not None:
            flash(_("Closure saved.") + _cancelled(closed.result.cancelled), "success")
            return redirect(url_for("manage.closures", slug=venue.slug))
        if closed.status != 409:
            return _page(venue, form, general=closed.general, status=closed.status)
        # A booking came or went meanwhile: show what is inside now.
        general, status = closed.general, closed.status
    shown = attempt(form, lambda: preview(spec, current_user.id, now), _fields(form))
    if shown.result is None:
        return _page(venue, form, general=shown.general, status=shown.status)
    return _page(venue, _with_ticks(form, shown.result), shown.result, general, status)


def _cancelled(cancelled: list) -> str:
    if not cancelled:
        return ""
    return " " + ngettext(
        "%(num)d booking cancelled: its member can read your reason.",
        "%(num)d bookings cancelled: their members can read your reason.",
        len(cancelled),
    )


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
    attempt(ClosureForm(formdata=None), lambda: reopen(closure_id, current_user.id, clock.now()))
    flash(_("Closure removed: bookings are possible again at that time."), "success")
    return redirect(url_for("manage.closures", slug=venue.slug))


# --- recurring closures -----------------------------------------------------------------


def _rule_form(venue: Venue) -> RecurringClosureForm:
    form = RecurringClosureForm()
    form.configure((r.id, r.name) for r in venue.resources if r.is_active)
    return form


def _rule_fields(form: RecurringClosureForm) -> dict[str | None, str]:
    return {
        "starts": "start_time" if form.start_time.data else "first_day",
        "ends": "end_time" if form.end_time.data else "last_day",
    }


def _rule_request(venue: Venue, form: RecurringClosureForm) -> RuleRequest:
    first, start, last, end = form.span()
    holidays = form.frequency.data == "holidays"
    return RuleRequest(
        venue_id=venue.id,
        resource_id=form.resource.data or None,
        frequency=form.frequency.data or "",
        first_day=first,
        last_day=first if holidays else last,
        start_time=None if holidays else start,
        end_time=None if holidays else end,
        until=form.until.data,
        reason=form.reason.data or "",
        reason_public=bool(form.reason_public.data),
        country="FR" if holidays else "",
        subdivision=(form.region.data or "") if holidays else "",
    )


def _rule_page(
    venue: Venue,
    form: RecurringClosureForm,
    shown: RulePreview | None = None,
    general: list[str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    return (
        render_template(
            "manage/recurring_closure.html",
            venue=venue,
            form=form,
            preview=shown,
            general=general or [],
        ),
        status,
    )


@bp.route("/venues/<slug>/closures/recurring", methods=["GET", "POST"])
@access.manager
def recurring_closure(slug: str) -> Response | tuple[str, int]:
    venue = managed_venue(slug)
    form = _rule_form(venue)
    if request.method == "GET":
        form.first_day.data = today_at(venue.zone)
        form.region.data = region_of(venue.timezone)
        return _rule_page(venue, form)
    if not form.validate_on_submit():
        return _rule_page(venue, form, status=422)
    spec = _rule_request(venue, form)
    now = clock.now()
    general, status = [], 200
    if request.form.get("action") == "confirm":
        added = attempt(
            form,
            lambda: add_rule(
                spec,
                current_user.id,
                now,
                seen_ids=form.seen.data or frozenset(),
                cancel_ids=frozenset(form.cancel.data or ()),
            ),
            _rule_fields(form),
        )
        if added.result is not None:
            flash(
                ngettext(
                    "Recurring closure saved: %(num)d closure written ahead.",
                    "Recurring closure saved: %(num)d closures written ahead.",
                    added.result.written,
                )
                + _cancelled(added.result.cancelled),
                "success",
            )
            return redirect(url_for("manage.closures", slug=venue.slug))
        if added.status != 409:
            return _rule_page(venue, form, general=added.general, status=added.status)
        general, status = added.general, added.status
    shown = attempt(form, lambda: preview_rule(spec, current_user.id, now), _rule_fields(form))
    if shown.result is None:
        return _rule_page(venue, form, general=shown.general, status=shown.status)
    ids = [reservation.id for reservation in shown.result.reservations]
    form.seen.data = frozenset(ids)
    form.cancel.choices = [SelectChoice(rid, str(rid)) for rid in ids]
    form.cancel.data = ids
    return _rule_page(venue, form, shown.result, general, status)


@bp.route("/venues/<slug>/closures/rules/<int:rule_id>/remove", methods=["POST"])
@access.manager
def remove_rule_route(slug: str, rule_id: int) -> Response:
    venue = managed_venue(slug)
    owned(db.session.get(ClosureRule, rule_id), venue)
    removed = attempt(
        ClosureForm(formdata=None), lambda: remove_rule(rule_id, current_user.id, clock.now())
    )
    flash(
        ngettext(
            "Recurring closure removed, with %(num)d closure to come.",
            "Recurring closure removed, with %(num)d closures to come.",
            removed.result or 0,
        ),
        "success",
    )
    return redirect(url_for("manage.closures", slug=venue.slug))
