"""The requests waiting for a decision: one by one, a series as a whole, several at once."""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.wrappers import Response

from ... import clock
from ...extensions import db
from ...forms.manage import BulkApproveForm
from ...forms.places import PlaceForm
from ...forms.reservations import RefuseForm
from ...models import Reservation, Series
from ...permissions import can_administer, can_manage
from ...presentation.messages import transition_message
from ...services import NotAllowedError, TransitionError, approve, refuse
from ...services.accounts.joining import joining_summary
from ...services.booking.lifecycle import Decisions, decide_many, decide_series
from ...services.booking.queue import cards, managed_venues, pending_count
from ...services.venues.setup import setup_steps
from .. import access
from .common import bp, managed_venue


def _venue_filter() -> str | None:
    slug = request.args.get("venue") or None
    if slug is not None:
        managed_venue(slug)  # 404 for a venue the person does not manage
    return slug


def _back(after: str | None = None) -> Response:
    """To the queue (of the venue it was filtered on), at the card that followed."""
    url = url_for("manage.index", venue=_venue_filter())
    key = after or request.form.get("after", "")
    return redirect(url + (f"#{key}" if key.replace("-", "").isalnum() and key else ""))


def _page(
    forms: dict[str, RefuseForm] | None = None,
    bulk: BulkApproveForm | None = None,
    status: int = 200,
) -> tuple[str, int]:
    slug = _venue_filter()
    venue = managed_venue(slug) if slug else None
    found = cards(db.session, current_user, clock.now(), venue.id if venue else None)
    forms = dict(forms or {})
    for card in found:
        if card.series is not None and len(card.reservations) > 1:
            forms.setdefault(card.key, RefuseForm(prefix=f"s{card.series.id}"))
        for reservation in card.reservations:
            forms.setdefault(f"request-{reservation.id}", RefuseForm(prefix=f"r{reservation.id}"))
    page = render_template(
        "manage/index.html",
        cards=found,
        waiting_total=sum(len(card.reservations) for card in found),
        # Series whose dates are shown open: one of them was refused without a reason.
        opened={
            card.key
            for card in found
            if any(forms[f"request-{r.id}"].reason.errors for r in card.reservations)
        },
        forms=forms,
        bulk=bulk or BulkApproveForm(),
        venue=venue,
        # Administrators manage every venue: they find one in the administration's list
        # (a page at a time, searchable), never in a list of the whole network here.
        venues=[] if can_administer(current_user) else managed_venues(db.session, current_user),
        joining=joining_summary(current_user),
        place_form=PlaceForm(formdata=None),
    )
    return page, status


@bp.route("/")
@access.manager
def index() -> Response | tuple[str, int]:
    """The requests waiting; for someone who runs one venue still being set up, with no
    request waiting, its set-up checklist instead."""
    if request.args.get("venue") is None:
        venues = managed_venues(db.session, current_user)
        if (
            len(venues) == 1
            and not pending_count(db.session, current_user)
            and not setup_steps(db.session, venues[0], clock.now()).finished
        ):
            return redirect(url_for("manage.venue", slug=venues[0].slug))
    return _page()


def _check_venue(model: type[Reservation] | type[Series], object_id: int) -> None:
    """404 unless the request (or series) is at a venue this person manages."""
    found = db.session.get(model, object_id)
    if found is None or not can_manage(current_user, found.resource.venue_id):
        abort(404)


def _decided(decision: Callable[[], object], success: str) -> Response:
    """Run a decision; a stale one (already decided, expired) is explained, not an error."""
    try:
        decision()
    except NotAllowedError:
        abort(404)
    except TransitionError as error:
        flash(transition_message(error), "error")
    else:
        flash(success, "success")
    return _back()


@bp.route("/reservations/<int:reservation_id>/approve", methods=["POST"], endpoint="approve")
@access.manager
def approve_view(reservation_id: int) -> Response:
    # CSRFProtect has already checked the token of this POST-only button.
    return _decided(
        lambda: approve(reservation_id, current_user.id, clock.now()),
        _("Request approved. The member can see it in their bookings."),
    )


@bp.route("/reservations/<int:reservation_id>/refuse", methods=["POST"], endpoint="refuse")
@access.manager
def refuse_view(reservation_id: int) -> Response | tuple[str, int]:
    _check_venue(Reservation, reservation_id)
    form = RefuseForm(prefix=f"r{reservation_id}")
    if form.validate_on_submit():
        return _decided(
            lambda: refuse(reservation_id, current_user.id, form.reason.data, clock.now()),
            _("Request refused. The member will see your reason."),
        )
    return _page({f"request-{reservation_id}": form}, status=422)


def _report(decisions: Decisions, done: str) -> None:
    if decisions.done:
        flash(done, "success")
    if decisions.stale:
        flash(
            ngettext(
                "%(num)d request had already been decided, withdrawn or had expired: "
                "it was left as it is.",
                "%(num)d requests had already been decided, withdrawn or had expired: "
                "they were left as they are.",
                len(decisions.stale),
            ),
            "warning",
        )


def _series(series_id: int, approve_all: bool, reason: str = "") -> Response:
    try:
        decisions = decide_series(
            series_id, current_user.id, clock.now(), approve=approve_all, reason=reason
        )
    except NotAllowedError:
        abort(404)
    count = len(decisions.done)
    if approve_all:
        message = ngettext(
            "%(num)d date of the series accepted.", "%(num)d dates of the series accepted.", count
        )
    else:
        message = ngettext(
            "%(num)d date of the series refused. The member will see your reason.",
            "%(num)d dates of the series refused. The member will see your reason.",
            count,
        )
    _report(decisions, message)
    return _back()


@bp.route("/series/<int:series_id>/approve", methods=["POST"])
@access.manager
def approve_series(series_id: int) -> Response:
    return _series(series_id, True)


@bp.route("/series/<int:series_id>/refuse", methods=["POST"])
@access.manager
def refuse_series(series_id: int) -> Response | tuple[str, int]:
    _check_venue(Series, series_id)
    form = RefuseForm(prefix=f"s{series_id}")
    if form.validate_on_submit():
        return _series(series_id, False, form.reason.data or "")
    return _page({f"series-{series_id}": form}, status=422)


@bp.route("/approve", methods=["POST"])
@access.manager
def approve_many() -> Response | tuple[str, int]:
    form = BulkApproveForm()
    if not form.validate_on_submit():
        return _page(bulk=form, status=422)
    try:
        decisions = decide_many(
            form.ids.data, current_user.id, clock.now(), approve=True, series_ids=form.series.data
        )
    except NotAllowedError:
        abort(404)
    count = len(decisions.done)
    _report(
        decisions,
        ngettext("%(num)d request accepted.", "%(num)d requests accepted.", count),
    )
    return _back("queue")
