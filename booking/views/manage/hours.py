"""Weekly opening hours of a venue or of one resource: checked, previewed, then saved."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.wrappers import Response

from ... import clock
from ...extensions import db
from ...forms.manage import HoursForm
from ...models import OpeningPeriod, Resource, Venue
from ...presentation import descriptions
from ...presentation.formatting import weekday_name
from ...presentation.manage import hours_pattern_label, settings_message
from ...services import NotAllowedError
from ...services.errors import SettingsError
from ...services.venues import hours as hours_service
from ...services.venues.hours import Period
from .. import access
from ..kit import today_at
from .common import bp, managed_venue, next_step, owned


def _form() -> HoursForm:
    form = HoursForm()
    form.configure((day, weekday_name(day)) for day in range(7))
    return form


def _periods(form: HoursForm) -> list[Period]:
    return [Period(weekday, opens, closes) for weekday, opens, closes in form.periods()]


def _current(venue: Venue, resource: Resource | None) -> list[OpeningPeriod]:
    return list(resource.own_opening_periods if resource else venue.opening_periods)


def _page(
    venue: Venue,
    resource: Resource | None,
    form: HoursForm,
    previewed: list[Period] | None = None,
    outside: list | None = None,
    status: int = 200,
    notice: str = "",
) -> tuple[str, int]:
    today = today_at(venue.zone)
    current = _current(venue, resource)
    effective = resource.opening_periods if resource else venue.opening_periods
    if outside is None:
        outside = hours_service.outside(
            db.session,
            venue,
            resource,
            [Period(p.weekday, p.opens_at, p.closes_at) for p in effective],
            clock.now(),
        )
    return (
        render_template(
            "manage/hours.html",
            venue=venue,
            resource=resource,
            form=form,
            has_own=bool(current) if resource else True,
            current=descriptions.opening_hours(effective, today),
            preview=descriptions.opening_hours(previewed, today) if previewed is not None else None,
            outside=outside,
            previewing=previewed is not None,
            # Each usual week with its periods as the script reads them: "0|09:00|17:00;…".
            patterns=[
                (
                    key,
                    hours_pattern_label(key),
                    ";".join(
                        f"{p.weekday}|{p.opens_at:%H:%M}|{p.closes_at:%H:%M}" for p in periods
                    ),
                )
                for key, periods in hours_service.PATTERNS.items()
            ],
            notice=notice,
        ),
        status,
    )


def _edit(venue: Venue, resource: Resource | None) -> Response | tuple[str, int]:
    form = _form()
    if request.method == "GET":
        current = _current(venue, resource) or (venue.opening_periods if resource else [])
        form.fill((p.weekday, p.opens_at, p.closes_at) for p in current)
        return _page(venue, resource, form)
    pattern = hours_service.PATTERNS.get(request.form.get("pattern", ""))
    if pattern is not None and form.validate_on_submit():
        # A usual week in one tap: the form filled in, nothing saved before the manager does.
        form.fill((p.weekday, p.opens_at, p.closes_at) for p in pattern)
        label = hours_pattern_label(request.form["pattern"])
        notice = _("Filled in with “%(pattern)s”: change what differs, then save.", pattern=label)
        return _page(venue, resource, form, notice=notice)
    action = request.form.get("action")
    resource_id = resource.id if resource else None
    now = clock.now()
    if action == "venue" and resource is not None:
        try:
            hours_service.set_hours(venue.id, resource.id, None, current_user.id, now)
        except NotAllowedError:
            abort(404)
        flash(_("%(name)s now follows the venue's hours.", name=resource.name), "success")
        return redirect(url_for("manage.resource_hours", slug=venue.slug, resource_id=resource.id))
    if not form.validate_on_submit():
        return _page(venue, resource, form, status=422)
    copied = form.copy_day()
    if action == "copy":
        notice = _("Copied: check the days, then save.") if copied else ""
        if not copied:
            form.copy_to.errors = [_("Tick the days to copy it to.")]
        return _page(venue, resource, form, status=200 if copied else 422, notice=notice)
    periods = _periods(form)
    try:
        if action == "save":
            outside = hours_service.set_hours(venue.id, resource_id, periods, current_user.id, now)
            message = _("Opening hours saved.")
            if outside:
                message += " " + ngettext(
                    "%(num)d booking to come falls outside them: it stays booked, see it below.",
                    "%(num)d bookings to come fall outside them: they stay booked, see them below.",
                    len(outside),
                )
            flash(message, "success" if not outside else "warning")
            if resource:
                back = url_for("manage.resource_hours", slug=venue.slug, resource_id=resource.id)
            elif outside:
                back = url_for("manage.hours", slug=venue.slug)  # the bookings to look at
            else:
                back = next_step(venue, url_for("manage.hours", slug=venue.slug))
            return redirect(back)
        outside = hours_service.preview(venue.id, resource_id, periods, current_user.id, now)
    except NotAllowedError:
        abort(404)
    except SettingsError as error:
        for violation in error.violations:
            weekday = int((violation.field or "day0").removeprefix("day") or 0)
            form.add_day_error(weekday, settings_message(violation))
        return _page(venue, resource, form, status=422)
    return _page(venue, resource, form, previewed=periods, outside=outside)


@bp.route("/venues/<slug>/hours", methods=["GET", "POST"])
@access.manager
def hours(slug: str) -> Response | tuple[str, int]:
    return _edit(managed_venue(slug), None)


@bp.route("/venues/<slug>/resources/<int:resource_id>/hours", methods=["GET", "POST"])
@access.manager
def resource_hours(slug: str, resource_id: int) -> Response | tuple[str, int]:
    venue = managed_venue(slug)
    resource = owned(db.session.get(Resource, resource_id), venue)
    return _edit(venue, resource)
