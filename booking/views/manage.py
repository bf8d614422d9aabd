"""Venue managers: the requests waiting for a decision."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from .. import clock
from ..extensions import db
from ..forms.reservations import RefuseForm
from ..models import Reservation, Resource, Status
from ..permissions import managed_venue_ids_query
from ..presentation.messages import transition_message
from ..services import NotAllowedError, TransitionError, approve, refuse
from . import access

bp = Blueprint("manage", __name__, url_prefix="/manage")


def _index(forms: dict[int, RefuseForm] | None = None, status: int = 200) -> tuple[str, int]:
    pending = list(
        db.session.scalars(
            sa.select(Reservation)
            .join(Resource)
            .where(
                Resource.venue_id.in_(managed_venue_ids_query(current_user)),
                Reservation.status == Status.PENDING,
            )
            .order_by(Reservation.starts_at)
            .options(
                selectinload(Reservation.resource).selectinload(Resource.venue),
                selectinload(Reservation.user),
            )
        )
    )
    forms = forms or {}
    for reservation in pending:
        forms.setdefault(reservation.id, RefuseForm(prefix=f"r{reservation.id}"))
    return render_template("manage/index.html", pending=pending, forms=forms), status


def _decide(decision: Callable[[], object], success: str) -> Response:
    """Run a decision; a stale one (already decided, expired) is explained, not an error."""
    try:
        decision()
    except NotAllowedError:
        abort(404)
    except TransitionError as error:
        flash(transition_message(error), "error")
    else:
        flash(success, "success")
    return redirect(url_for("manage.index"))


@bp.route("/")
@access.manager
def index() -> tuple[str, int]:
    return _index()


@bp.route("/reservations/<int:reservation_id>/approve", methods=["POST"], endpoint="approve")
@access.manager
def approve_view(reservation_id: int) -> Response:
    # CSRFProtect has already checked the token of this POST-only button.
    return _decide(
        lambda: approve(reservation_id, current_user.id, clock.now()),
        _("Request approved. The member can see it in their bookings."),
    )


@bp.route("/reservations/<int:reservation_id>/refuse", methods=["POST"], endpoint="refuse")
@access.manager
def refuse_view(reservation_id: int) -> Response | tuple[str, int]:
    form = RefuseForm(prefix=f"r{reservation_id}")
    if form.validate_on_submit():
        return _decide(
            lambda: refuse(reservation_id, current_user.id, form.reason.data, clock.now()),
            _("Request refused. The member will see your reason."),
        )
    return _index({reservation_id: form}, 422)
