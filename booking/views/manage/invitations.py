"""Invitations: a manager invites people to the venue by e-mail (trainings they already
have included), sees who accepted, sends again or withdraws, one by one or the ticked
ones together."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload

from ... import clock
from ...extensions import db
from ...forms.accounts import InvitationsTickedForm, InviteForm
from ...models import Invitation, PromisedTraining, Qualification, Role, Venue
from ...services.accounts import invitations
from ...services.accounts.common import normal_email
from ...services.accounts.invitations import TrainingPromise
from .. import access
from .common import Attempt, act, attempt, bp, managed_venue

STATES = ("waiting", "accepted", "expired", "revoked")


def valid_for() -> timedelta:
    """How long an invitation's link works."""
    return timedelta(days=int(current_app.config["INVITATION_DAYS"]))


def venue_trainings(venue: Venue) -> list[tuple[int, str]]:
    """The venue's trainings, to tick those someone invited already has."""
    return list(
        db.session.execute(
            sa.select(Qualification.id, Qualification.name)
            .where(Qualification.venue_id == venue.id)
            .order_by(sa.func.lower(Qualification.name))
        ).tuples()
    )


def invite_form(venue: Venue, fresh: bool = False) -> InviteForm:
    form = InviteForm(formdata=None) if fresh else InviteForm()
    form.configure(venue_trainings(venue))
    return form


def _state_filter() -> str | None:
    state = request.args.get("state", "")
    return state if state in STATES else None


def _state_clause(state: str | None) -> sa.ColumnElement[bool]:
    now = clock.now()
    match state:
        case "accepted":
            return Invitation.accepted_at.is_not(None)
        case "revoked":
            return sa.and_(Invitation.accepted_at.is_(None), Invitation.revoked_at.is_not(None))
        case "waiting":
            return sa.and_(
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > now,
            )
        case "expired":
            return sa.and_(
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at <= now,
            )
    return sa.true()


def _counts(venue: Venue) -> dict[str, int]:
    """How many invitations are in each state, in one query."""
    now = clock.now()
    state = sa.case(
        (Invitation.accepted_at.is_not(None), "accepted"),
        (Invitation.revoked_at.is_not(None), "revoked"),
        (Invitation.expires_at > now, "waiting"),
        else_="expired",
    )
    rows = db.session.execute(
        sa.select(state, sa.func.count()).where(Invitation.venue_id == venue.id).group_by(state)
    ).all()
    return {name: count for name, count in rows}


def _page(
    venue: Venue,
    form: InviteForm,
    status: int = 200,
    ticked: InvitationsTickedForm | None = None,
) -> ResponseReturnValue:
    state = _state_filter()
    sent = list(
        db.session.scalars(
            sa.select(Invitation)
            .where(Invitation.venue_id == venue.id, _state_clause(state))
            .options(selectinload(Invitation.trainings).joinedload(PromisedTraining.qualification))
            .order_by(Invitation.created_at.desc(), Invitation.id.desc())
            .limit(200)
        )
    )
    return render_template(
        "manage/invitations.html",
        venue=venue,
        form=form,
        ticked=ticked or InvitationsTickedForm(formdata=None),
        invitations=sent,
        counts=_counts(venue),
        state=state,
        now=clock.now(),
    ), status


def send_invitation(venue: Venue, form: InviteForm) -> Attempt[invitations.InviteResult]:
    """Invite the person the form names and say so; the words are the same whether the
    address has an account or not, so that nobody learns who has one."""
    expires_on = form.training_expires_on.data
    sent = attempt(
        form,
        lambda: invitations.invite(
            venue_id=venue.id,
            actor_id=current_user.id,
            email=form.email.data or "",
            name=form.display_name.data or "",
            role=Role(form.role.data),
            locale=str(get_locale() or "fr"),
            now=clock.now(),
            valid_for=valid_for(),
            trainings=[TrainingPromise(tid, expires_on) for tid in form.trainings.data or []],
        ),
    )
    if sent.result is None:
        return sent
    email = normal_email(form.email.data or "")
    if sent.result.outcome == "invited":
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
    return sent


@bp.route("/venues/<slug>/invitations", methods=["GET", "POST"], endpoint="invitations")
@access.manager
def invitations_view(slug: str) -> ResponseReturnValue:
    venue = managed_venue(slug)
    form = invite_form(venue)
    if not form.validate_on_submit():
        return _page(venue, form, 422 if form.is_submitted() else 200)
    sent = send_invitation(venue, form)
    if not sent.done:
        return _page(venue, form, sent.status)
    return redirect(url_for("manage.invitations", slug=venue.slug))


@bp.route("/venues/<slug>/invitations/ticked", methods=["POST"], endpoint="ticked_invitations")
@access.manager
def ticked_view(slug: str) -> ResponseReturnValue:
    """The ticked invitations sent again, or withdrawn, together."""
    venue = managed_venue(slug)
    ticked = InvitationsTickedForm()
    action = request.form.get("action")
    if not ticked.validate_on_submit() or action not in ("resend", "revoke"):
        if action not in ("resend", "revoke"):
            ticked.ids.errors = [*ticked.ids.errors, _("Choose what to do with them.")]
        return _page(venue, invite_form(venue, fresh=True), 422, ticked)
    ids = ticked.ids.data or []
    done = attempt(
        ticked,
        lambda: (
            invitations.resend_many(ids, venue.id, current_user.id, clock.now(), valid_for())
            if action == "resend"
            else invitations.revoke_many(ids, venue.id, current_user.id, clock.now())
        ),
    )
    if done.result is not None:
        if action == "resend":
            message = ngettext(
                "%(num)d invitation sent again.",
                "%(num)d invitations sent again.",
                done.result.done,
            )
        else:
            message = ngettext(
                "%(num)d invitation withdrawn: its link no longer works.",
                "%(num)d invitations withdrawn: their links no longer work.",
                done.result.done,
            )
        if done.result.skipped:
            message += " " + ngettext(
                "%(num)d was left as it was (accepted, or withdrawn already).",
                "%(num)d were left as they were (accepted, or withdrawn already).",
                done.result.skipped,
            )
        flash(message, "success")
    return redirect(url_for("manage.invitations", slug=venue.slug, state=_state_filter()))


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
