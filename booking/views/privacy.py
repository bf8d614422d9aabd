"""Personal data: the privacy page, a copy of one's data, and deleting an account."""

from __future__ import annotations

import json
from datetime import timedelta

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from .. import clock
from ..extensions import db
from ..forms.privacy import DeleteOwnAccountForm, EraseAccountForm
from ..models import User
from ..permissions import can_handle_account
from ..services.accounts import privacy, sessions
from . import access

bp = Blueprint("privacy", __name__)


@bp.route("/privacy")
@access.public
def page() -> str:
    return render_template(
        "privacy/page.html",
        sent_mail_days=privacy.SENT_MAIL_DAYS,
        closed_request_days=privacy.CLOSED_REQUEST_DAYS,
        session_hours={
            "idle": sessions.IDLE // timedelta(hours=1),
            "most": sessions.ABSOLUTE // timedelta(hours=1),
        },
        remembered_days=current_app.config["REMEMBER_COOKIE_DURATION"] // timedelta(days=1),
        contact=current_app.config.get("PRIVACY_CONTACT", ""),
    )


def _download(user: User) -> Response:
    body = json.dumps(privacy.export_person(user.id), ensure_ascii=False, indent=2)
    response = Response(body, content_type="application/json; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="mes-donnees-{user.id}.json"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/profile/data.json")
@access.member
def my_data() -> Response:
    return _download(current_user)


@bp.route("/profile/delete", methods=["GET", "POST"])
@access.member
def delete_mine() -> ResponseReturnValue:
    form = DeleteOwnAccountForm()
    if form.validate_on_submit():
        if not current_user.check_password(form.password.data or ""):
            form.password.errors = [_("This is not your password.")]
        else:
            user_id, token = current_user.id, current_user.session_token
            privacy.erase_person(user_id, user_id, clock.now())
            sessions.close_session(token)
            logout_user()
            flash(
                _(
                    "Your account is deleted. Your past bookings stay in the venues' figures, "
                    "without your name."
                ),
                "success",
            )
            return redirect(url_for("public.home"))
    status = 422 if form.is_submitted() else 200
    return render_template("privacy/delete_mine.html", form=form), status


def _person(user_id: int) -> User:
    """Someone whose data the manager may hand over or erase on their request; else 404."""
    user = db.session.get(User, user_id)
    if user is None or user.id == current_user.id or not can_handle_account(current_user, user):
        abort(404)
    return user


@bp.route("/people/<int:user_id>/data.json")
@access.manager
def their_data(user_id: int) -> Response:
    return _download(_person(user_id))


@bp.route("/people/<int:user_id>/delete", methods=["GET", "POST"])
@access.manager
def delete_theirs(user_id: int) -> ResponseReturnValue:
    user = _person(user_id)
    form = EraseAccountForm()
    if form.validate_on_submit():
        name = user.display_name
        privacy.erase_person(user.id, current_user.id, clock.now())
        flash(_("The account of %(name)s is deleted.", name=name), "success")
        return redirect(url_for("manage.index"))
    status = 422 if form.is_submitted() else 200
    return render_template("privacy/delete_theirs.html", form=form, person=user), status
