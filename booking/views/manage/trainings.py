"""A venue's trainings: define them, grant and withdraw them, see who holds them until when."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from ... import clock
from ...extensions import db
from ...forms.manage import GrantForm, TrainingForm
from ...models import Membership, Qualification, Resource, User, Venue
from ...services.venues.trainings import (
    create_training,
    expiring,
    grant_training,
    holders,
    open_invitations,
    promise_training,
    promised,
    remove_training,
    revoke_training,
    update_training,
    venue_trainings,
    withdraw_promise,
)
from .. import access
from ..kit import today_at
from .common import attempt, bp, managed_venue, owned


@bp.route("/venues/<slug>/trainings", methods=["GET", "POST"])
@access.manager
def trainings(slug: str) -> Response | tuple[str, int]:
    venue = managed_venue(slug)
    form = TrainingForm()
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            created = attempt(
                form,
                lambda: create_training(
                    venue.id,
                    form.name.data or "",
                    form.description.data or "",
                    current_user.id,
                    clock.now(),
                ),
            )
            if created.result is not None:
                flash(
                    _(
                        "Training “%(name)s” created. Grant it to members below.",
                        name=created.result.name,
                    ),
                    "success",
                )
                return redirect(
                    url_for("manage.training", slug=venue.slug, training_id=created.result.id)
                )
    today = today_at(venue.zone)
    return (
        render_template(
            "manage/trainings.html",
            venue=venue,
            form=form,
            trainings=venue_trainings(db.session, venue.id, today),
            expiring=expiring(db.session, venue.id, today),
            today=today,
        ),
        status,
    )


def _members(venue: Venue) -> list[tuple[int, str]]:
    return [
        (uid, f"{name} ({email})")
        for uid, name, email in db.session.execute(
            sa.select(User.id, User.display_name, User.email)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.venue_id == venue.id)
            .order_by(sa.func.lower(User.display_name))
        )
    ]


def _invited(venue: Venue) -> list[tuple[int, str]]:
    """People invited who have not answered yet: the training becomes theirs when they do."""
    return [
        (invitation.id, f"{invitation.display_name} ({invitation.email})")
        for invitation in open_invitations(db.session, venue.id, clock.now())
    ]


def _configure(form: GrantForm, venue: Venue) -> None:
    form.configure(_members(venue), _invited(venue))


def _training_page(
    venue: Venue,
    training: Qualification,
    grant_form: GrantForm | None = None,
    edit_form: TrainingForm | None = None,
    status: int = 200,
) -> tuple[str, int]:
    today = today_at(venue.zone)
    if grant_form is None:
        grant_form = GrantForm(formdata=None)
        grant_form.granted_on.data = today
        wanted = request.args.get("member", "")
        if wanted.isdigit() and len(wanted) < 10:
            grant_form.member.data = wanted
    _configure(grant_form, venue)
    required_by = list(
        db.session.scalars(
            sa.select(Resource.name).where(
                Resource.qualification_id == training.id, Resource.is_active
            )
        )
    )
    return (
        render_template(
            "manage/training.html",
            venue=venue,
            training=training,
            holders=holders(db.session, training.id),
            promised=promised(db.session, training.id, clock.now()),
            grant_form=grant_form,
            edit_form=edit_form or TrainingForm(formdata=None, obj=training),
            required_by=required_by,
            today=today,
        ),
        status,
    )


def _training(slug: str, training_id: int) -> tuple[Venue, Qualification]:
    venue = managed_venue(slug)
    return venue, owned(db.session.get(Qualification, training_id), venue)


@bp.route("/venues/<slug>/trainings/<int:training_id>", methods=["GET", "POST"])
@access.manager
def training(slug: str, training_id: int) -> Response | tuple[str, int]:
    """The training's holders, and granting it (POST)."""
    venue, found = _training(slug, training_id)
    if request.method == "GET":
        return _training_page(venue, found)
    form = GrantForm()
    _configure(form, venue)
    if not form.validate_on_submit():
        return _training_page(venue, found, grant_form=form, status=422)
    kind, person_id = form.person()
    if kind == "invitation":
        promise = attempt(
            form,
            lambda: promise_training(
                found.id,
                person_id,
                form.granted_on.data,
                form.expires_on.data,
                current_user.id,
                clock.now(),
            ),
        )
        if promise.result is None:
            return _training_page(venue, found, grant_form=form, status=promise.status)
        flash(
            _(
                "%(name)s will hold “%(training)s” as soon as they accept their invitation.",
                name=promise.result.invitation.display_name,
                training=found.name,
            ),
            "success",
        )
        return redirect(url_for("manage.training", slug=venue.slug, training_id=found.id))
    granted = attempt(
        form,
        lambda: grant_training(
            found.id,
            person_id,
            form.granted_on.data,
            form.expires_on.data,
            current_user.id,
            clock.now(),
        ),
    )
    if granted.result is None:
        return _training_page(venue, found, grant_form=form, status=granted.status)
    name = granted.result.user.display_name
    flash(_("%(name)s now holds “%(training)s”.", name=name, training=found.name), "success")
    return redirect(url_for("manage.training", slug=venue.slug, training_id=found.id))


@bp.route("/venues/<slug>/trainings/<int:training_id>/edit", methods=["POST"])
@access.manager
def edit_training(slug: str, training_id: int) -> Response | tuple[str, int]:
    venue, found = _training(slug, training_id)
    form = TrainingForm()
    if not form.validate_on_submit():
        return _training_page(venue, found, edit_form=form, status=422)
    saved = attempt(
        form,
        lambda: update_training(
            found.id,
            form.name.data or "",
            form.description.data or "",
            current_user.id,
            clock.now(),
        ),
    )
    if not saved.done:
        return _training_page(venue, found, edit_form=form, status=saved.status)
    flash(_("Training saved."), "success")
    return redirect(url_for("manage.training", slug=venue.slug, training_id=found.id))


@bp.route("/venues/<slug>/trainings/<int:training_id>/revoke/<int:user_id>", methods=["POST"])
@access.manager
def revoke_grant(slug: str, training_id: int, user_id: int) -> Response:
    venue, found = _training(slug, training_id)
    attempt(
        TrainingForm(formdata=None),
        lambda: revoke_training(found.id, user_id, current_user.id, clock.now()),
    )
    flash(_("Training withdrawn."), "success")
    return redirect(url_for("manage.training", slug=venue.slug, training_id=found.id))


@bp.route(
    "/venues/<slug>/trainings/<int:training_id>/unpromise/<int:invitation_id>",
    methods=["POST"],
    endpoint="withdraw_promise",
)
@access.manager
def withdraw_promise_view(slug: str, training_id: int, invitation_id: int) -> Response:
    """The training will not be granted when this person accepts their invitation."""
    venue, found = _training(slug, training_id)
    attempt(
        TrainingForm(formdata=None),
        lambda: withdraw_promise(found.id, invitation_id, current_user.id, clock.now()),
    )
    flash(_("Training withdrawn."), "success")
    return redirect(url_for("manage.training", slug=venue.slug, training_id=found.id))


@bp.route(
    "/venues/<slug>/trainings/<int:training_id>/remove",
    methods=["POST"],
    endpoint="remove_training",
)
@access.manager
def remove_training_view(slug: str, training_id: int) -> Response:
    venue, found = _training(slug, training_id)
    removed = attempt(
        TrainingForm(formdata=None), lambda: remove_training(found.id, current_user.id, clock.now())
    )
    if not removed.done:
        for message in removed.general:
            flash(message, "error")
        return redirect(url_for("manage.training", slug=venue.slug, training_id=found.id))
    flash(_("Training removed."), "success")
    return redirect(url_for("manage.trainings", slug=venue.slug))
