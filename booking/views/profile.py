"""A member's own page: name, language, password."""

from __future__ import annotations

from flask import Blueprint, flash, make_response, redirect, render_template, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext, refresh
from flask_login import current_user

from .. import clock
from ..extensions import db
from ..forms.accounts import NotificationsForm
from ..forms.profile import PasswordForm, ProfileForm
from ..permissions import can_manage_any
from ..services.accounts import sessions
from ..services.accounts.passwords import change_password
from ..services.accounts.preferences import save_email_choices
from . import access
from .feeds import protect_secret_page, secret_links

bp = Blueprint("profile", __name__, url_prefix="/profile")


def _notifications_form(formdata: bool = False) -> NotificationsForm:
    form = (
        NotificationsForm()
        if formdata
        else NotificationsForm(
            formdata=None,
            notify_confirmations=current_user.notify_confirmations,
            remind_day_before=current_user.remind_day_before,
            remind_training_expiry=current_user.remind_training_expiry,
            notify_new_requests=current_user.notify_new_requests,
        )
    )
    if not can_manage_any(current_user):
        del form.notify_new_requests
    return form


def _page(
    profile_form: ProfileForm | None = None,
    password_form: PasswordForm | None = None,
    notifications_form: NotificationsForm | None = None,
) -> ResponseReturnValue:
    refused = any(form is not None for form in (profile_form, password_form, notifications_form))
    feed_links = secret_links(current_user)
    if refused:
        # A refused form changes nothing (the links' digests were recorded when the
        # page was first opened, which is how one reaches its forms).
        db.session.rollback()
    else:
        db.session.commit()  # the links' digests, recorded when first shown
    page = render_template(
        "profile/index.html",
        profile_form=profile_form
        or ProfileForm(
            formdata=None, display_name=current_user.display_name, locale=current_user.locale
        ),
        password_form=password_form or PasswordForm(formdata=None),
        feed_links=feed_links,
        login_sessions=sessions.sessions_of(current_user.id),
        current_digest=sessions.digest(current_user.session_token or ""),
        notifications_form=notifications_form or _notifications_form(),
    )
    # The page shows the secret feed links.
    return protect_secret_page(make_response(page, 422 if refused else 200))


@bp.route("")
@access.member
def index() -> ResponseReturnValue:
    return _page()


@bp.route("", methods=["POST"])
@access.member
def update() -> ResponseReturnValue:
    form = ProfileForm()
    if not form.validate_on_submit():
        return _page(profile_form=form)
    current_user.display_name = (form.display_name.data or "").strip()
    current_user.locale = form.locale.data
    db.session.commit()
    # The browser's choice wins over the account's (booking.i18n.select_locale):
    # update it too, so that the new language shows at once.
    session["lang"] = current_user.locale
    refresh()
    flash(_("Your profile is saved."), "success")
    return redirect(url_for("profile.index"))


@bp.route("/password", methods=["POST"])
@access.member
def password() -> ResponseReturnValue:
    form = PasswordForm()
    form.about_person(current_user.display_name, current_user.email)
    if not form.validate_on_submit():
        return _page(password_form=form)
    if not current_user.check_password(form.current_password.data or ""):
        form.current_password.errors = [_("This is not your current password.")]
        return _page(password_form=form)
    change_password(current_user.id, form.new_password.data or "", clock.now())
    # Whoever had this account open elsewhere (a lost phone, a stolen cookie) is out.
    sessions.close_other_sessions(current_user.id, current_user.session_token)
    flash(_("Your password is changed. Your other devices are logged out."), "success")
    return redirect(url_for("profile.index"))


@bp.route("/log-out-elsewhere", methods=["POST"])
@access.member
def log_out_elsewhere() -> ResponseReturnValue:
    count = sessions.close_other_sessions(current_user.id, current_user.session_token)
    flash(
        ngettext(
            "%(num)d other device is logged out.", "%(num)d other devices are logged out.", count
        ),
        "success",
    )
    return redirect(url_for("profile.index") + "#devices")


@bp.route("/notifications", methods=["POST"])
@access.member
def notifications() -> ResponseReturnValue:
    form = _notifications_form(formdata=True)
    if not form.validate_on_submit():
        return _page(notifications_form=form)
    save_email_choices(
        current_user.id,
        remind_day_before=bool(form.remind_day_before.data),
        remind_training_expiry=bool(form.remind_training_expiry.data),
        notify_confirmations=bool(form.notify_confirmations.data),
        notify_new_requests=bool(form.notify_new_requests.data)
        if "notify_new_requests" in form
        else None,
    )
    flash(_("Your e-mail choices are saved."), "success")
    return redirect(url_for("profile.index") + "#notifications")
