"""Accepting an invitation: with a new account and its password, or with the account the
address already has, logged in as it."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from .. import clock
from ..extensions import db
from ..forms.accounts import AcceptInvitationForm, AcceptWithAccountForm
from ..models import Invitation
from ..permissions import can_manage
from ..security.links import LinkError, read_invitation_link
from ..services import NotAllowedError
from ..services.accounts import invitations
from . import access
from .auth import link_problem
from .manage.invitations import valid_for

bp = Blueprint("invitations", __name__)


@bp.route("/invitations/<token>", methods=["GET", "POST"])
@access.public
def accept(token: str) -> ResponseReturnValue:
    now = clock.now()
    try:
        # The signature's own limit is a safety net: the invitation's expiry decides.
        claim = read_invitation_link(token, valid_for() * 2, now)
        invitation = invitations.open_invitation(db.session, claim.invitation_id, claim.nonce, now)
    except LinkError as error:
        return link_problem(error, "invitation")
    if invitations.invited_account(db.session, invitation) is not None:
        return _join_with_account(invitation, claim.nonce, token)
    form = AcceptInvitationForm()
    form.about_person(invitation.display_name, invitation.email)
    if request.method == "GET":
        form.display_name.data = invitation.display_name
    if form.validate_on_submit():
        try:
            accepted = invitations.accept_invitation(
                invitation_id=invitation.id,
                nonce=claim.nonce,
                name=form.display_name.data or "",
                password=form.new_password.data or "",
                locale=str(get_locale() or "fr"),
                now=now,
            )
        except LinkError as error:
            return link_problem(error, "invitation")
        except NotAllowedError:  # an account with this address appeared meanwhile
            return redirect(url_for("invitations.accept", token=token))
        access.log_in(accepted.user)
        return _landing(accepted)
    status = 422 if request.method == "POST" else 200
    return render_template("invitations/accept.html", form=form, invitation=invitation), status


def _landing(accepted: invitations.Accepted) -> ResponseReturnValue:
    """A member lands on the venue's page, to book; a manager on the venue's overview,
    whose checklist says what its set-up still needs."""
    venue = accepted.venue
    if can_manage(accepted.user, venue):
        if accepted.created:
            message = _("Welcome to %(venue)s! Here is what the venue needs.", venue=venue.name)
        else:
            message = _("You now run %(venue)s. Here is what it needs.", venue=venue.name)
        flash(message, "success")
        return redirect(url_for("manage.venue", slug=venue.slug))
    if accepted.created:
        flash(_("Welcome to %(venue)s! You can book now.", venue=venue.name), "success")
    else:
        flash(_("You joined %(venue)s. You can book now.", venue=venue.name), "success")
    return redirect(url_for("public.venue", slug=venue.slug))


def _join_with_account(invitation: Invitation, nonce: str, token: str) -> ResponseReturnValue:
    """The address has an account: its owner accepts logged in, with their usual password."""
    here = url_for("invitations.accept", token=token)
    is_theirs = current_user.is_authenticated and current_user.email == invitation.email
    form = AcceptWithAccountForm()
    if request.method == "POST" and is_theirs and form.validate_on_submit():
        try:
            accepted = invitations.accept_invitation(
                invitation_id=invitation.id,
                nonce=nonce,
                name="",
                password="",
                locale=str(get_locale() or "fr"),
                now=clock.now(),
                as_user_id=current_user.id,
            )
        except LinkError as error:
            return link_problem(error, "invitation")
        except NotAllowedError:
            abort(404)
        return _landing(accepted)
    status = 403 if request.method == "POST" else 200
    return render_template(
        "invitations/join.html",
        invitation=invitation,
        form=form,
        is_theirs=is_theirs,
        login_url=url_for("auth.login", next=here),
    ), status
