"""Administrators: the network's venues (create, describe) and accounts (switch off, on)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from .. import clock
from ..extensions import db
from ..forms.admin import AccountStateForm, NewVenueForm, VenueForm
from ..forms.places import PlaceForm
from ..models import HOLDING_STATUSES, Membership, Reservation, User, Venue
from ..permissions import can_switch_account
from ..services.venues.directory import venue_page
from ..services.venues.members import set_account_active
from ..services.venues.setup import (
    FirstManager,
    VenueSettings,
    create_venue,
    setup_steps_of,
    time_zones,
    update_venue,
)
from . import access
from .manage.common import attempt, cancelled_note
from .manage.invitations import valid_for

bp = Blueprint("admin", __name__, url_prefix="/admin")

# Offered first: the zones the network's venues use.
COMMON_ZONES = ("Europe/Paris", "Europe/Brussels", "Europe/London", "UTC")


def _zones() -> list[str]:
    return [*COMMON_ZONES, *sorted(time_zones() - set(COMMON_ZONES))]


@bp.route("/")
@access.admin
def index() -> tuple[str, int]:
    """The network's venues (retired ones too), a page at a time, found by name or town,
    each with what it still needs to take bookings."""
    asked = "place" in request.args
    form = PlaceForm(formdata=request.args if asked else None)
    status = 200
    words = ""
    if asked:
        if form.validate():
            words = form.place.data or ""
        else:
            status = 422
    places = venue_page(
        db.session,
        words,
        request.args.get("page", 1, type=int),
        with_resources=False,
        active_only=False,
    )
    venues = [listed.venue for listed in places.venues]
    steps = setup_steps_of(db.session, venues, clock.now())
    page = render_template(
        "admin/index.html",
        venues=[(venue, steps[venue.id]) for venue in venues],
        places=places,
        place_form=form,
    )
    return page, status


def _settings(form: VenueForm) -> VenueSettings:
    return VenueSettings(
        name=form.name.data or "",
        address=form.address.data or "",
        phone=form.phone.data or "",
        email=form.email.data or "",
        timezone=form.timezone.data or "",
        description=form.description.data or "",
    )


def _first_manager(form: NewVenueForm) -> FirstManager:
    return FirstManager(
        name=form.manager_name.data or "",
        email=form.manager_email.data or "",
        locale=str(get_locale() or "fr"),
        valid_for=valid_for(),
    )


def _venue_form(venue: Venue | None) -> Response | tuple[str, int]:
    if venue is None:
        form: VenueForm = NewVenueForm()
    else:
        form = VenueForm(obj=venue) if request.method == "GET" else VenueForm()
    form.configure(_zones())
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            settings, now = _settings(form), clock.now()
            if isinstance(form, NewVenueForm):
                manager = _first_manager(form)
                created = attempt(
                    form,
                    lambda: create_venue(settings, current_user.id, now, manager),
                    refused=403,
                )
                if created.result is not None:
                    if manager.email.strip():
                        message = _(
                            "%(name)s is created and %(manager)s is invited to run it: once "
                            "they accept, they find the set-up checklist below.",
                            name=created.result.name,
                            manager=manager.name.strip(),
                        )
                    else:
                        message = _(
                            "%(name)s is created. Now give it opening hours, resources "
                            "and a manager.",
                            name=created.result.name,
                        )
                    flash(message, "success")
                    return redirect(url_for("manage.venue", slug=created.result.slug))
            else:
                saved = attempt(
                    form,
                    lambda: update_venue(venue.id, settings, current_user.id, now),
                    refused=403,
                )
                if saved.result is not None:
                    flash(
                        _("The details of %(name)s are saved.", name=saved.result.name), "success"
                    )
                    return redirect(url_for("admin.index") + f"#venue-{saved.result.id}")
    return render_template("admin/venue_form.html", form=form, venue=venue), status


@bp.route("/venues/new", methods=["GET", "POST"])
@access.admin
def new_venue() -> Response | tuple[str, int]:
    return _venue_form(None)


@bp.route("/venues/<slug>", methods=["GET", "POST"])
@access.admin
def edit_venue(slug: str) -> Response | tuple[str, int]:
    venue = db.session.scalar(sa.select(Venue).where(Venue.slug == slug))
    if venue is None:
        abort(404)
    return _venue_form(venue)


@bp.route("/accounts")
@access.admin
def accounts() -> str:
    search = (request.args.get("q") or "").replace("\x00", "").strip()[:100]
    query = (
        sa.select(User)
        .options(selectinload(User.memberships).selectinload(Membership.venue))
        .order_by(sa.func.lower(User.display_name), User.id)
        .limit(200)
    )
    if search:
        pattern = (
            "%" + search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        query = query.where(
            sa.or_(
                sa.func.lower(User.display_name).like(pattern, escape="\\"),
                User.email.like(pattern, escape="\\"),
            )
        )
    return render_template(
        "admin/accounts.html", people=list(db.session.scalars(query)), search=search
    )


def _upcoming(user: User) -> list[Reservation]:
    return list(
        db.session.scalars(
            sa.select(Reservation)
            .where(
                Reservation.user_id == user.id,
                Reservation.status.in_(HOLDING_STATUSES),
                Reservation.ends_at > clock.now(),
            )
            .order_by(Reservation.starts_at)
        )
    )


@bp.route("/accounts/<int:user_id>", methods=["GET", "POST"])
@access.admin
def account(user_id: int) -> Response | tuple[str, int]:
    """Someone's account across the network; switching it off or on again (POST)."""
    person = db.session.get(User, user_id)
    if person is None:
        abort(404)
    form = AccountStateForm()
    held = _upcoming(person)
    general: list[str] = []
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            turning_on = not person.active
            switched = attempt(
                form,
                lambda: set_account_active(
                    person.id,
                    turning_on,
                    current_user.id,
                    clock.now(),
                    seen_ids=form.seen.data or frozenset(),
                    cancel=bool(form.cancel_bookings.data),
                    reason=form.reason.data or "",
                ),
                refused=403,
            )
            general, status = switched.general, switched.status
            if switched.done:
                if turning_on:
                    message = _("%(name)s can log in and book again.", name=person.display_name)
                else:
                    message = _("%(name)s can no longer log in or book.", name=person.display_name)
                flash(message + cancelled_note(switched.result or []), "success")
                return redirect(url_for("admin.account", user_id=person.id))
    form.seen.data = frozenset(r.id for r in held)
    return (
        render_template(
            "admin/account.html",
            person=person,
            form=form,
            held=held,
            general=general,
            may_switch=can_switch_account(current_user, person.id),
        ),
        status,
    )
