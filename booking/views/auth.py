"""Logging in and out."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from werkzeug.security import check_password_hash, generate_password_hash

from .. import clock
from ..extensions import db
from ..forms.auth import LoginForm
from ..models import User
from ..services import sessions
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
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(_next_page() or url_for("public.home"))
    form = LoginForm()
    failed = False
    if form.validate_on_submit():
        user = _authenticate(form.email.data or "", form.password.data or "")
        if user is not None:
            user.session_token = sessions.open_session(
                user.id,
                request.user_agent.string,
                clock.now(),
                current_app.config["REMEMBER_COOKIE_DURATION"],
            )
            login_user(user, remember=bool(form.remember.data))
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
