"""Logging in and out; a forgotten password, and the first password of a new account."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from werkzeug.security import check_password_hash, generate_password_hash

from .. import clock
from ..extensions import db
from ..forms.accounts import ForgotPasswordForm
from ..forms.auth import LoginForm
from ..forms.profile import FirstPasswordForm, NewPasswordForm
from ..models import User, Venue
from ..security.limits import login_limit, reset_limit
from ..security.links import (
    LinkError,
    LinkProblem,
    LinkPurpose,
    read_password_link,
    still_unused,
)
from ..services.accounts import passwords, sessions
from ..services.accounts.common import normal_email
from . import access
from .access import is_safe_next

bp = Blueprint("auth", __name__)

# Checked against when the e-mail is unknown, so that a wrong address takes as
# long to refuse as a wrong password and timing does not reveal who has an account.
_NOBODY_HASH = generate_password_hash("no account has this password")


def _authenticate(email: str, password: str) -> User | None:
    user = db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    if user is None:
        check_password_hash(_NOBODY_HASH, password)
        return None
    if not user.check_password(password) or not user.active:
        return None
    return user


def _next_page() -> str | None:
    target = request.args.get("next") or request.form.get("next")
    return target if is_safe_next(target) else None


@bp.route("/login", methods=["GET", "POST"])
@access.public
@login_limit
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(_next_page() or url_for("public.home"))
    form = LoginForm()
    failed = False
    if form.validate_on_submit():
        user = _authenticate(form.email.data or "", form.password.data or "")
        if user is not None:
            access.log_in(user, remember=bool(form.remember.data))
            flash(_("Hello %(name)s, you are logged in.", name=user.display_name), "success")
            return redirect(_next_page() or url_for("public.home"))
        # One message whatever went wrong: it must not tell a stranger which
        # e-mail addresses have an account, or which accounts are disabled.
        failed = True
    return render_template("auth/login.html", form=form, failed=failed, next=_next_page())


@bp.route("/logout", methods=["POST"])
@access.public
def logout() -> ResponseReturnValue:
    if current_user.is_authenticated:
        sessions.close_session(current_user.session_token)
    logout_user()
    flash(_("You are logged out. See you soon!"), "info")
    return redirect(url_for("public.home"))


def link_problem(error: LinkError, kind: str) -> ResponseReturnValue:
    """A link that does not work, said in words, with the way forward (404 or 410)."""
    status = 404 if error.problem == LinkProblem.INVALID else 410
    return render_template("auth/link_problem.html", problem=error.problem.value, kind=kind), status


@bp.route("/password/forgot", methods=["GET", "POST"])
@access.public
@reset_limit
def forgot_password() -> ResponseReturnValue:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        passwords.request_password_reset(form.email.data or "", clock.now())
        # The same page whether the address has an account or not.
        return render_template(
            "auth/forgot_sent.html",
            email=normal_email(form.email.data or ""),
            hours=current_app.config["PASSWORD_RESET_HOURS"],
        )
    if request.method == "GET" and request.args.get("email"):
        form.email.data = request.args["email"][:254]
    status = 422 if form.is_submitted() else 200
    return render_template("auth/forgot.html", form=form), status


def _choose_password(token: str, purpose: LinkPurpose, max_age: timedelta) -> ResponseReturnValue:
    """The page a password link opens: check the link, then set the password once."""
    now = clock.now()
    kind = purpose.value
    try:
        claim = read_password_link(token, purpose, max_age, now)
        user = db.session.get(User, claim.user_id)
        if not still_unused(claim, user):
            raise LinkError(LinkProblem.USED)
    except LinkError as error:
        return link_problem(error, kind)
    assert user is not None
    form = FirstPasswordForm() if purpose == LinkPurpose.WELCOME else NewPasswordForm()
    form.about_person(user.display_name, user.email)
    if form.validate_on_submit():
        try:
            user = passwords.set_password_from_link(
                claim,
                form.new_password.data or "",
                now,
                is_reset=purpose == LinkPurpose.RESET,
            )
        except LinkError as error:
            return link_problem(error, kind)
        # A new password: whoever had the account open elsewhere is out.
        sessions.close_other_sessions(user.id, None)
        access.log_in(user)
        venue = db.session.get(Venue, claim.venue_id) if claim.venue_id else None
        if purpose == LinkPurpose.WELCOME and venue is not None:
            flash(_("Your password is chosen. Welcome to %(venue)s!", venue=venue.name), "success")
            return redirect(url_for("public.venue", slug=venue.slug))
        flash(_("Your new password is saved. You are logged in."), "success")
        return redirect(url_for("public.home"))
    status = 422 if form.is_submitted() else 200
    return render_template("auth/choose_password.html", form=form, user=user, kind=kind), status


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@access.public
def reset_password(token: str) -> ResponseReturnValue:
    hours = int(current_app.config["PASSWORD_RESET_HOURS"])
    return _choose_password(token, LinkPurpose.RESET, timedelta(hours=hours))


@bp.route("/welcome/<token>", methods=["GET", "POST"])
@access.public
def welcome(token: str) -> ResponseReturnValue:
    days = int(current_app.config["WELCOME_LINK_DAYS"])
    return _choose_password(token, LinkPurpose.WELCOME, timedelta(days=days))
