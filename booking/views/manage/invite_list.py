"""Inviting many people at once: a list pasted or a spreadsheet's file, each line checked
and shown (ready, a wrong address, twice, already part of the venue), then everyone ready
invited in one step, with the trainings they already have."""

from __future__ import annotations

from collections.abc import Sequence

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user

from ... import clock
from ...extensions import db
from ...forms.accounts import InviteManyForm
from ...models import Venue
from ...presentation.manage import roster_error_message
from ...services.accounts import invitations
from ...services.accounts.invitations import TrainingPromise
from ...services.accounts.roster import (
    Reviewed,
    RosterError,
    RosterLine,
    read_file,
    read_text,
    review,
)
from .. import access
from .common import attempt, bp, managed_venue
from .invitations import valid_for, venue_trainings

# What a file may weigh (the request itself is refused above 1 MiB).
MAX_FILE = 1024 * 1024


def _lines(form: InviteManyForm) -> list[RosterLine]:
    """The list: the file chosen, else the text pasted. A file's lines are put back in the
    text area, so that sending after the preview needs no file again."""
    upload = form.upload.data
    if upload is not None and getattr(upload, "filename", ""):
        lines = read_file(upload.filename or "", upload.read(MAX_FILE + 1)[:MAX_FILE])
        form.people.data = "\n".join(line.as_text() for line in lines)
        return lines
    return read_text(form.people.data or "")


def _trained(form: InviteManyForm) -> dict[str, list[TrainingPromise]]:
    """The trainings ticked, by address ("3:nadia@example.org" for training 3)."""
    trained: dict[str, list[TrainingPromise]] = {}
    expires_on = form.training_expires_on.data
    for value in form.trained.data or []:
        training, _sep, email = value.partition(":")
        if training.isdigit() and len(training) < 10 and email:
            trained.setdefault(email, []).append(TrainingPromise(int(training), expires_on))
    return trained


def _page(
    venue: Venue,
    form: InviteManyForm,
    reviewed: Sequence[Reviewed] | None = None,
    general: Sequence[str] = (),
    status: int = 200,
) -> ResponseReturnValue:
    sendable = [line for line in reviewed or [] if line.sendable]
    return render_template(
        "manage/invite_many.html",
        venue=venue,
        form=form,
        reviewed=reviewed,
        sendable=len(sendable),
        trainings=venue_trainings(venue),
        ticked=set(form.trained.data or []),
        general=general,
    ), status


@bp.route("/venues/<slug>/invitations/list", methods=["GET", "POST"], endpoint="invite_many")
@access.manager
def invite_many_view(slug: str) -> ResponseReturnValue:
    venue = managed_venue(slug)
    form = InviteManyForm()
    if request.method == "GET":
        return _page(venue, form)
    if not form.validate_on_submit():
        return _page(venue, form, status=422)
    try:
        lines = _lines(form)
    except RosterError as error:
        form.upload.errors = [*form.upload.errors, roster_error_message(error)]
        return _page(venue, form, status=422)
    if not lines:
        form.people.errors = [*form.people.errors, _("Nobody in this list: one person a line.")]
        return _page(venue, form, status=422)
    now = clock.now()
    if request.form.get("action") != "send":
        return _page(venue, form, review(db.session, venue.id, lines, now))
    sent = attempt(
        form,
        lambda: invitations.invite_many(
            venue_id=venue.id,
            actor_id=current_user.id,
            lines=lines,
            trained=_trained(form),
            locale=str(get_locale() or "fr"),
            now=now,
            valid_for=valid_for(),
        ),
    )
    if sent.result is None or not sent.result.sent:
        general = list(sent.general)
        if sent.result is not None:
            general.append(_("Nobody in this list can be invited: see each line below."))
        reviewed = review(db.session, venue.id, lines, now)
        return _page(venue, form, reviewed, general, 422)
    message = ngettext(
        "%(num)d invitation sent: each person joins once they accept.",
        "%(num)d invitations sent: each person joins once they accept.",
        len(sent.result.sent),
    )
    if sent.result.left_out:
        message += " " + ngettext(
            "%(num)d line was left out (already part of the venue, twice in the list, or "
            "an address that does not look right).",
            "%(num)d lines were left out (already part of the venue, twice in the list, or "
            "an address that does not look right).",
            len(sent.result.left_out),
        )
    flash(message, "success")
    return redirect(url_for("manage.invitations", slug=venue.slug))
