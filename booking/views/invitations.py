"""Invitations: managers invite people to their venue; the invited choose their password."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from .. import clock
from ..extensions import db
from ..forms.accounts import AcceptInvitationForm, AcceptWithAccountForm, InviteForm
from ..models import Invitation, Role, Venue
from ..permissions import can_manage
from ..presentation.messages import transition_message
from ..security.links import LinkError, read_invitation_link
from ..services import NotAllowedError, TransitionError, accounts
from . import access
from .auth import link_problem

bp = Blueprint("invitations", __name__)


def managed_venue(slug: str) -> Venue:
    """The venue of a manager's page: 404 for a venue this person does not manage."""
    venue = db.session.scalar(sa.select(Venue).where(Venue.slug == slug))
    if venue is None or not can_manage(current_user, venue):
        abort(404)
    return venue


def act(action: Callable[[], str], back: str) -> Response:
    """A manager's action on one object of their venue, then back to the list.

    ``action`` returns what to say when it worked; a stale action (already
    decided, already accepted) is explained; another venue's object is a 404.
    """
    try:
        done = action()
    except NotAllowedError:
        abort(404)
    except TransitionError as error:
        flash(transition_message(error), "error")
    else:
        flash(done, "success")
    return redirect(back)


def _valid_for() -> timedelta:
    return timedelta(days=int(current_app.config["INVITATION_DAYS"]))


def _page(venue: Venue, form: InviteForm, status: int = 200) -> ResponseReturnValue:
    invitations = list(
        db.session.scalars(
            sa.select(Invitation)
            .where(Invitation.venue_id == venue.id)
            .order_by(Invitation.created_at.desc(), Invitation.id.desc())
            .limit(100)
        )
    )
    return render_template(
        "invitations/manage.html",
        venue=venue,
        form=form,
        invitations=invitations,
        now=clock.now(),
    ), status


def send_invitation(venue: Venue, form: InviteForm) -> None:
    """Invite the person the form names and say so; the words are the same whether the
    address has an account or not, so that nobody learns who has one."""
    result = accounts.invite(
        venue_id=venue.id,
        actor_id=current_user.id,
        email=form.email.data or "",
        name=form.display_name.data or "",
        role=Role(form.role.data),
        locale=str(get_locale() or "fr"),
        now=clock.now(),
        valid_for=_valid_for(),
    )
    email = accounts.normal_email(form.email.data or "")
    if result.outcome == "invited":
        flash(
            _(
                "Invitation sent to %(email)s: they join %(venue)s once they accept it.",
                email=email,
                venue=venue.name,
            ),
            "success",
        )
    else:
        flash(
            _(
                "%(email)s is already part of %(venue)s: change their role from their page.",
                email=email,
                venue=venue.name,
            ),
            "info",
        )


@bp.route("/manage/venues/<slug>/invitations", methods=["GET", "POST"])
@access.manager
def manage(slug: str) -> ResponseReturnValue:
    venue = managed_venue(slug)
    form = InviteForm()
    if not form.validate_on_submit():
        return _page(venue, form, 422 if form.is_submitted() else 200)
    send_invitation(venue, form)
    return redirect(url_for("invitations.manage", slug=venue.slug))


@bp.route(
    "/manage/venues/<slug>/invitations/<int:invitation_id>/resend",
    methods=["POST"],
    endpoint="resend",
)
@access.manager
def resend_view(slug: str, invitation_id: int) -> ResponseReturnValue:
    venue = managed_venue(slug)

    def resend() -> str:
        invitation = accounts.resend_invitation(
            invitation_id, venue.id, current_user.id, clock.now(), _valid_for()
        )
        return _("Invitation sent again to %(email)s.", email=invitation.email)

    return act(resend, url_for("invitations.manage", slug=venue.slug))


@bp.route(
    "/manage/venues/<slug>/invitations/<int:invitation_id>/revoke",
    methods=["POST"],
    endpoint="revoke",
)
@access.manager
def revoke_view(slug: str, invitation_id: int) -> ResponseReturnValue:
    venue = managed_venue(slug)

    def revoke() -> str:
        accounts.revoke_invitation(invitation_id, venue.id, current_user.id, clock.now())
        return _("Invitation withdrawn: its link no longer works.")

    return act(revoke, url_for("invitations.manage", slug=venue.slug))


@bp.route("/invitations/<token>", methods=["GET", "POST"])
@access.public
def accept(token: str) -> ResponseReturnValue:
    now = clock.now()
    try:
        # The signature's own limit is a safety net: the invitation's expiry decides.
        claim = read_invitation_link(token, _valid_for() * 2, now)
        invitation = accounts.open_invitation(db.session, claim.invitation_id, claim.nonce, now)
    except LinkError as error:
        return link_problem(error, "invitation")
    if accounts.invited_account(db.session, invitation) is not None:
        return _join_with_account(invitation, claim.nonce, token)
    form = AcceptInvitationForm()
    form.about_person(invitation.display_name, invitation.email)
    if request.method == "GET":
        form.display_name.data = invitation.display_name
    if form.validate_on_submit():
        try:
            accepted = accounts.accept_invitation(
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
        flash(_("Welcome to %(venue)s! You can book now.", venue=accepted.venue.name), "success")
        return redirect(url_for("public.venue", slug=accepted.venue.slug))
    status = 422 if request.method == "POST" else 200
    return render_template("invitations/accept.html", form=form, invitation=invitation), status


def _join_with_account(invitation: Invitation, nonce: str, token: str) -> ResponseReturnValue:
    """The address has an account: its owner accepts logged in, with their usual password."""
    here = url_for("invitations.accept", token=token)
    is_theirs = current_user.is_authenticated and current_user.email == invitation.email
    form = AcceptWithAccountForm()
    if request.method == "POST" and is_theirs and form.validate_on_submit():
        try:
            accepted = accounts.accept_invitation(
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
        flash(_("You joined %(venue)s. You can book now.", venue=accepted.venue.name), "success")
        return redirect(url_for("public.venue", slug=accepted.venue.slug))
    status = 403 if request.method == "POST" else 200
    return render_template(
        "invitations/join.html",
        invitation=invitation,
        form=form,
        is_theirs=is_theirs,
        login_url=url_for("auth.login", next=here),
    ), status
