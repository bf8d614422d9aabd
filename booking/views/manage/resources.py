"""A venue's resources: the list, creating and changing one with every rule, retiring it."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from ... import clock
from ...extensions import db
from ...forms.manage import ResourceForm, RetireForm
from ...models import Qualification, Resource, ResourceKind, Venue
from ...presentation import descriptions
from ...services.venues.resources import (
    ResourceSettings,
    create_resource,
    restore_resource,
    retire_resource,
    upcoming,
    update_resource,
)
from ...services.venues.tariffs import current_prices
from .. import access
from ..kit import today_at
from .common import attempt, bp, cancelled_note, managed_venue, next_step, owned


def _trainings(venue: Venue) -> list[tuple[int, str]]:
    return list(
        db.session.execute(
            sa.select(Qualification.id, Qualification.name)
            .where(Qualification.venue_id == venue.id)
            .order_by(Qualification.name)
        ).tuples()
    )


@bp.route("/venues/<slug>/resources")
@access.manager
def resources(slug: str) -> str:
    venue = managed_venue(slug)
    everything = list(
        db.session.scalars(
            sa.select(Resource).where(Resource.venue_id == venue.id).order_by(Resource.name)
        )
    )
    return render_template(
        "manage/resources.html",
        venue=venue,
        active=[r for r in everything if r.is_active],
        retired=[r for r in everything if not r.is_active],
        rules_in_words=descriptions.rules_in_words,
        prices=current_prices(db.session, [r.id for r in everything], today_at(venue.zone)),
    )


def _settings(form: ResourceForm) -> ResourceSettings:
    return ResourceSettings(
        name=form.name.data or "",
        kind=ResourceKind(form.kind.data),
        description=form.description.data or "",
        capacity=form.capacity.data,
        requires_approval=bool(form.requires_approval.data),
        qualification_id=form.qualification_id.data or None,
        slot_minutes=form.slot_minutes.data,
        min_duration_minutes=form.min_duration_minutes.data,
        max_duration_minutes=form.max_duration_minutes.data,
        min_notice_minutes=form.min_notice_minutes.data,
        horizon_days=form.horizon_days.data,
        buffer_minutes=form.buffer_minutes.data,
        buffer_reason=form.buffer_reason.data or "",
        weekly_quota_minutes=form.weekly_quota_minutes.data,
        show_purpose=bool(form.show_purpose.data),
    )


def _form_page(
    venue: Venue, form: ResourceForm, resource: Resource | None, status: int = 200
) -> tuple[str, int]:
    return (
        render_template("manage/resource_form.html", venue=venue, form=form, resource=resource),
        status,
    )


def _save(venue: Venue, resource: Resource | None) -> Response | tuple[str, int]:
    if resource is not None and request.method == "GET":
        form = ResourceForm(obj=resource)
        form.kind.data = resource.kind.value
        form.qualification_id.data = resource.qualification_id or 0
    else:
        form = ResourceForm()
    form.configure(_trainings(venue))
    if request.method == "GET":
        return _form_page(venue, form, resource)
    if not form.validate_on_submit():
        return _form_page(venue, form, resource, 422)
    settings = _settings(form)
    new_training = form.new_training.data or ""
    if resource is None:
        saved = attempt(
            form,
            lambda: create_resource(
                venue.id, settings, current_user.id, clock.now(), new_training=new_training
            ),
        )
        message = _("%(name)s is created. Members can book it now.", name=settings.name.strip())
    else:
        saved = attempt(
            form,
            lambda: update_resource(
                resource.id, settings, current_user.id, clock.now(), new_training=new_training
            ),
        )
        message = _("The rules of %(name)s are saved.", name=settings.name.strip())
    if saved.result is None:
        for general in saved.general:
            flash(general, "error")
        return _form_page(venue, form, resource, saved.status)
    if new_training.strip():
        message += " " + _(
            "The training “%(training)s” is created: grant it to the people who have it, "
            "or tick it as you invite them.",
            training=new_training.strip(),
        )
    flash(message, "success")
    if resource is None and request.form.get("action") == "another":
        return redirect(url_for("manage.new_resource", slug=venue.slug))
    listed = url_for("manage.resources", slug=venue.slug) + f"#resource-{saved.result.id}"
    return redirect(next_step(venue, listed) if resource is None else listed)


@bp.route("/venues/<slug>/resources/new", methods=["GET", "POST"])
@access.manager
def new_resource(slug: str) -> Response | tuple[str, int]:
    return _save(managed_venue(slug), None)


@bp.route("/venues/<slug>/resources/<int:resource_id>", methods=["GET", "POST"])
@access.manager
def edit_resource(slug: str, resource_id: int) -> Response | tuple[str, int]:
    venue = managed_venue(slug)
    return _save(venue, owned(db.session.get(Resource, resource_id), venue))


def _retire_page(
    venue: Venue,
    resource: Resource,
    form: RetireForm,
    general: list[str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    held = upcoming(db.session, resource.id, clock.now())
    form.seen.data = frozenset(r.id for r in held)
    return (
        render_template(
            "manage/retire.html",
            venue=venue,
            resource=resource,
            form=form,
            held=held,
            general=general or [],
        ),
        status,
    )


@bp.route("/venues/<slug>/resources/<int:resource_id>/retire", methods=["GET", "POST"])
@access.manager
def retire(slug: str, resource_id: int) -> Response | tuple[str, int]:
    venue = managed_venue(slug)
    resource = owned(db.session.get(Resource, resource_id), venue)
    form = RetireForm()
    if request.method == "GET" or not resource.is_active:
        return _retire_page(venue, resource, form)
    if not form.validate_on_submit():
        return _retire_page(venue, resource, form, status=422)
    retired = attempt(
        form,
        lambda: retire_resource(
            resource.id, current_user.id, form.reason.data or "", clock.now(), form.seen.data
        ),
    )
    if not retired.done:
        return _retire_page(venue, resource, form, retired.general, retired.status)
    message = _(
        "%(name)s is retired: it no longer shows to members. Its history is kept.",
        name=resource.name,
    )
    flash(message + cancelled_note(retired.result or []), "success")
    return redirect(url_for("manage.resources", slug=venue.slug))


@bp.route("/venues/<slug>/resources/<int:resource_id>/restore", methods=["POST"])
@access.manager
def restore(slug: str, resource_id: int) -> Response:
    venue = managed_venue(slug)
    resource = owned(db.session.get(Resource, resource_id), venue)
    attempt(
        RetireForm(formdata=None),
        lambda: restore_resource(resource.id, current_user.id, clock.now()),
    )
    flash(_("%(name)s is back in service.", name=resource.name), "success")
    return redirect(url_for("manage.resources", slug=venue.slug) + f"#resource-{resource.id}")
