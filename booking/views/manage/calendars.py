"""Bringing existing bookings and calendars in: calendars the venue follows as busy time
(their state, read again on demand, no longer followed), and files of existing bookings
uploaded, previewed with their mapping to resources, then imported."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from ... import clock
from ...extensions import db
from ...forms.calendars import FollowForm, ImportMappingForm, ImportUploadForm
from ...models import CalendarImport, FollowedCalendar, ImportFormat, Venue
from ...presentation.calendars_words import calendar_message, fetch_problem
from ...security.fetching import FetchPolicy
from ...services import Violation
from ...services.venues.calendar_files import CalendarFileError, read_sheet
from ...services.venues.following import (
    FollowRequest,
    follow,
    refresh_by,
    unfollow,
    venue_calendars,
)
from ...services.venues.imports import (
    SINGLE,
    ImportPreview,
    Mapping,
    preview_import,
    run_import,
    upload,
)
from .. import access
from .common import attempt, bp, managed_venue, owned

# Lines of a preview shown (the counts say the rest).
SHOWN_LINES = 300
# Room for the form's other fields around the file.
UPLOAD_MARGIN = 64 * 1024


def _policy() -> FetchPolicy:
    return FetchPolicy.from_config(current_app.config)


def _page(
    venue: Venue,
    form: FollowForm | None = None,
    upload_form: ImportUploadForm | None = None,
    general: list[str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    follow_form = form or FollowForm(formdata=None)
    follow_form.configure((r.id, r.name) for r in venue.resources if r.is_active)
    return (
        render_template(
            "manage/calendars.html",
            venue=venue,
            form=follow_form,
            upload_form=upload_form or ImportUploadForm(formdata=None),
            general=general or [],
            calendars=venue_calendars(db.session, venue.id),
            max_megabytes=current_app.config["IMPORT_MAX_BYTES"] // (1024 * 1024),
        ),
        status,
    )


@bp.route("/venues/<slug>/calendars", methods=["GET", "POST"])
@access.manager
def calendars(slug: str) -> Response | tuple[str, int]:
    venue = managed_venue(slug)
    if request.method == "GET":
        return _page(venue)
    form = FollowForm()
    form.configure((r.id, r.name) for r in venue.resources if r.is_active)
    if not form.validate_on_submit():
        return _page(venue, form, status=422)
    spec = FollowRequest(venue.id, form.resource.data or None, form.label.data, form.url.data)
    done = attempt(form, lambda: follow(spec, current_user.id, clock.now(), _policy()))
    if done.result is None:
        return _page(venue, form, general=done.general, status=done.status)
    calendar = db.session.get(FollowedCalendar, done.result)
    flash(
        ngettext(
            "Calendar followed: %(num)d busy time blocks bookings.",
            "Calendar followed: %(num)d busy times block bookings.",
            calendar.busy_count if calendar else 0,
        ),
        "success",
    )
    return redirect(url_for("manage.calendars", slug=venue.slug))


@bp.route("/venues/<slug>/calendars/<int:calendar_id>/refresh", methods=["POST"])
@access.manager
def refresh_calendar(slug: str, calendar_id: int) -> Response:
    venue = managed_venue(slug)
    owned(db.session.get(FollowedCalendar, calendar_id), venue)
    done = attempt(
        FollowForm(formdata=None),
        lambda: refresh_by(calendar_id, current_user.id, clock.now(), _policy()),
    )
    outcome = done.result
    if outcome is not None and outcome.error:
        flash(_("The calendar could not be read: see below."), "error")
    elif outcome is not None:
        flash(_("Calendar read again: its busy times are up to date."), "success")
    return redirect(url_for("manage.calendars", slug=venue.slug))


@bp.route("/venues/<slug>/calendars/<int:calendar_id>/remove", methods=["POST"])
@access.manager
def unfollow_calendar(slug: str, calendar_id: int) -> Response:
    venue = managed_venue(slug)
    owned(db.session.get(FollowedCalendar, calendar_id), venue)
    attempt(FollowForm(formdata=None), lambda: unfollow(calendar_id, current_user.id, clock.now()))
    flash(_("Calendar no longer followed: its busy times are gone."), "success")
    return redirect(url_for("manage.calendars", slug=venue.slug))


# --- imports ----------------------------------------------------------------------------


@bp.route("/venues/<slug>/imports", methods=["POST"])
@access.manager
def upload_import(slug: str) -> Response | tuple[str, int]:
    venue = managed_venue(slug)
    limit = int(current_app.config["IMPORT_MAX_BYTES"])
    # This form alone carries a file: it may be larger than the others (MAX_CONTENT_LENGTH).
    request.max_content_length = limit + UPLOAD_MARGIN
    too_large = ImportUploadForm(formdata=None)
    too_large.file.errors = [calendar_message(Violation("file_too_large", "file", {"max": limit}))]
    if (request.content_length or 0) > limit + UPLOAD_MARGIN:
        return _page(venue, upload_form=too_large, status=413)  # refused unread
    try:
        form = ImportUploadForm()
        valid = form.validate_on_submit()
    except RequestEntityTooLarge:
        return _page(venue, upload_form=too_large, status=413)
    if not valid:
        return _page(venue, upload_form=form, status=422)
    sent = form.file.data
    if sent is None or not getattr(sent, "filename", None):
        form.file.errors = [_("Choose a file to import.")]
        return _page(venue, upload_form=form, status=422)
    data = sent.stream.read(limit + 1)
    done = attempt(
        form,
        lambda: upload(venue.id, current_user.id, sent.filename or "", data, clock.now(), limit),
    )
    if done.result is None:
        return _page(venue, upload_form=form, general=done.general, status=done.status)
    return redirect(url_for("manage.import_preview", slug=venue.slug, import_id=done.result.id))


def _mapping(form: ImportMappingForm, kept: CalendarImport) -> Mapping:
    """The manager's choices, the values' resources read by their position."""
    stored = Mapping.from_json(kept.mapping)
    chosen = Mapping(
        resource_field=form.resource_field.data or stored.resource_field,
        single_resource_id=form.single_resource.data or None,
        columns=form.columns() if kept.format == ImportFormat.CSV else {},
    )
    for index in range(200):
        value = request.form.get(f"value_{index}")
        target = request.form.get(f"map_{index}", "")
        if value is None:
            break
        chosen.values[value] = int(target) if target.isdigit() and len(target) < 10 else None
    return chosen


def _import_page(
    venue: Venue,
    form: ImportMappingForm,
    shown: ImportPreview | None,
    kept: CalendarImport,
    general: list[str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    if shown is not None:
        form.expected.data = len(shown.free)
    return (
        render_template(
            "manage/import.html",
            venue=venue,
            form=form,
            preview=shown,
            kept=kept,
            lines=shown.lines[:SHOWN_LINES] if shown else [],
            general=general or [],
            single=SINGLE,
        ),
        status,
    )


@bp.route("/venues/<slug>/imports/<int:import_id>", methods=["GET", "POST"])
@access.manager
def import_preview(slug: str, import_id: int) -> Response | tuple[str, int]:
    venue = managed_venue(slug)
    kept = owned(db.session.get(CalendarImport, import_id), venue)
    for_someone = _("For %(name)s")
    form = ImportMappingForm(formdata=request.form if request.method == "POST" else None)
    header: tuple[str, ...] = ()
    if kept.imported_at is None and kept.format == ImportFormat.CSV:
        try:
            header = read_sheet(kept.content).header
        except CalendarFileError as error:
            return _import_page(
                venue, form, None, kept, [fetch_problem(error.code, error.detail)], 422
            )
    form.configure(
        ((r.id, r.name) for r in venue.resources if r.is_active),
        header,
        kept.format == ImportFormat.ICS,
    )
    if kept.imported_at is not None:
        return _import_page(venue, form, None, kept)
    if request.method == "GET":
        stored = Mapping.from_json(kept.mapping)
        form.resource_field.data = stored.resource_field
        for role, column in stored.columns.items():
            if f"col_{role}" in form:
                form[f"col_{role}"].data = column
        shown = attempt(
            form,
            lambda: preview_import(
                import_id, current_user.id, clock.now(), for_someone=for_someone
            ),
        )
        return _import_page(venue, form, shown.result, kept, shown.general, shown.status)
    if not form.validate_on_submit():
        return _import_page(venue, form, None, kept, status=422)
    mapping = _mapping(form, kept)
    now = clock.now()
    general, status = [], 200
    if request.form.get("action") == "import":
        done = attempt(
            form,
            lambda: run_import(
                import_id,
                current_user.id,
                now,
                mapping,
                expected=form.expected.data if form.expected.data is not None else -1,
                for_someone=for_someone,
            ),
        )
        if done.result is not None:
            flash(
                ngettext(
                    "%(num)d booking imported.", "%(num)d bookings imported.", done.result.imported
                ),
                "success",
            )
            return redirect(url_for("manage.import_preview", slug=venue.slug, import_id=kept.id))
        if done.status != 409:
            return _import_page(venue, form, None, kept, done.general, done.status)
        general, status = done.general, done.status
    shown = attempt(
        form,
        lambda: preview_import(import_id, current_user.id, now, mapping, for_someone=for_someone),
    )
    return _import_page(
        venue,
        form,
        shown.result,
        kept,
        general + shown.general,
        status if status != 200 else shown.status,
    )
