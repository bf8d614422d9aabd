"""Invitations: a manager invites people to the venue by e-mail, sends again, withdraws."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from ... import clock
from ...extensions import db
from ...forms.accounts import InviteForm
from ...models import Invitation, Role, Venue
from ...services.accounts import invitations
from ...services.accounts.common import normal_email
from .. import access
from .common import act, bp, managed_venue


def valid_for() -> timedelta:
    """How long an invitation's link works."""
    return timedelta(days=int(current_app.config["INVITATION_DAYS"]))


def _page(venue: Venue, form: InviteForm, status: int = 200) -> ResponseReturnValue:
    sent = list(
        db.session.scalars(
            sa.select(Invitation)
            .where(Invitation.venue_id == venue.id)
            .order_by(Invitation.created_at.desc(), Invitation.id.desc())
            .limit(100)
        )
    )
    return render_template(
        "manage/invitations.html",
        venue=venue,
        form=form,
        invitations=sent,
        now=clock.now(),
    ), status


def send_invitation(venue: Venue, form: InviteForm) -> None:
    """Invite the person the form names and say so; the words are the same whether the
    address has an account or not, so that nobody learns who has one."""
    result = invitations.invite(
        venue_id=venue.id,
        actor_id=current_user.id,
        email=form.email.data or "",
        name=form.display_name.data or "",
        role=Role(form.role.data),
        locale=str(get_locale() or "fr"),
        now=clock.now(),
        valid_for=valid_for(),
    )
    email = normal_email(form.email.data or "")
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


@bp.route("/venues/<slug>/invitations", methods=["GET", "POST"], endpoint="invitations")
@access.manager
def invitations_view(slug: str) -> ResponseReturnValue:
    venue = managed_venue(slug)
    form = InviteForm()
    if not form.validate_on_submit():
        return _page(venue, form, 422 if form.is_submitted() else 200)
    send_invitation(venue, form)
    return redirect(url_for("manage.invitations", slug=venue.slug))


@bp.route(
    "/venues/<slug>/invitations/<int:invitation_id>/resend",
    methods=["POST"],
    endpoint="resend_invitation",
)
@access.manager
def resend_view(slug: str, invitation_id: int) -> ResponseReturnValue:
    venue = managed_venue(slug)

    def resend() -> str:
        invitation = invitations.resend_invitation(
            invitation_id, venue.id, current_user.id, clock.now(), valid_for()
        )
        return _("Invitation sent again to %(email)s.", email=invitation.email)

    return act(resend, url_for("manage.invitations", slug=venue.slug))


@bp.route(
    "/venues/<slug>/invitations/<int:invitation_id>/revoke",
    methods=["POST"],
    endpoint="revoke_invitation",
)
@access.manager
def revoke_view(slug: str, invitation_id: int) -> ResponseReturnValue:
    venue = managed_venue(slug)

    def revoke() -> str:
        invitations.revoke_invitation(invitation_id, venue.id, current_user.id, clock.now())
        return _("Invitation withdrawn: its link no longer works.")

    return act(revoke, url_for("manage.invitations", slug=venue.slug))
