"""Venue managers: the requests waiting for a decision."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from ..extensions import db
from ..forms.reservations import RefuseForm
from ..messages import transition_message
from ..models import Reservation, Resource, Status, Venue
from ..services import NotAllowedError, TransitionError, approve, expire_pending, refuse

bp = Blueprint("manage", __name__, url_prefix="/manage")


def manager_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not (current_user.is_admin or current_user.managed_venue_ids):
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def _managed_venue_ids() -> list[int]:
    if current_user.is_admin:
        return list(db.session.scalars(sa.select(Venue.id)))
    return sorted(current_user.managed_venue_ids)


def _index(forms: dict[int, RefuseForm] | None = None, status: int = 200) -> tuple[str, int]:
    now = datetime.now(UTC)
    expire_pending(now)
    pending = list(
        db.session.scalars(
            sa.select(Reservation)
            .join(Resource)
            .where(
                Resource.venue_id.in_(_managed_venue_ids()),
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
@manager_required
def index() -> tuple[str, int]:
    return _index()


@bp.route("/reservations/<int:reservation_id>/approve", methods=["POST"], endpoint="approve")
@manager_required
def approve_view(reservation_id: int) -> Response:
    # CSRFProtect has already checked the token of this POST-only button.
    return _decide(
        lambda: approve(reservation_id, current_user.id, datetime.now(UTC)),
        _("Request approved. The member can see it in their bookings."),
    )


@bp.route("/reservations/<int:reservation_id>/refuse", methods=["POST"], endpoint="refuse")
@manager_required
def refuse_view(reservation_id: int) -> Response | tuple[str, int]:
    form = RefuseForm(prefix=f"r{reservation_id}")
    if form.validate_on_submit():
        return _decide(
            lambda: refuse(reservation_id, current_user.id, form.reason.data, datetime.now(UTC)),
            _("Request refused. The member will see your reason."),
        )
    return _index({reservation_id: form}, 422)
