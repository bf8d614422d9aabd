"""A resource's prices: from a day on, per hour or per booking, at the member and outside rates."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from ... import clock
from ...extensions import db
from ...forms.prices import PriceForm
from ...models import PriceUnit, Resource, Tariff, Venue
from ...services.venues.tariffs import PriceRequest, add_price, price_on, prices_of, remove_price
from .. import access
from ..kit import today_at
from .common import attempt, bp, managed_venue, owned


def _page(
    venue: Venue,
    resource: Resource,
    form: PriceForm,
    general: list[str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    today = today_at(venue.zone)
    prices = prices_of(db.session, resource.id)
    current = price_on(prices, today)
    return (
        render_template(
            "manage/prices.html",
            venue=venue,
            resource=resource,
            form=form,
            general=general or [],
            current=current,
            coming=[p for p in prices if p.valid_from > today],
            past=[p for p in reversed(prices) if p.valid_from <= today and p is not current],
        ),
        status,
    )


@bp.route("/venues/<slug>/resources/<int:resource_id>/prices", methods=["GET", "POST"])
@access.manager
def prices(slug: str, resource_id: int) -> Response | tuple[str, int]:
    venue = managed_venue(slug)
    resource = owned(db.session.get(Resource, resource_id), venue)
    if request.method == "GET":
        form = PriceForm(formdata=None)
        form.valid_from.data = today_at(venue.zone)
        return _page(venue, resource, form)
    form = PriceForm()
    if not form.validate_on_submit():
        return _page(venue, resource, form, status=422)
    price = PriceRequest(
        valid_from=form.valid_from.data,
        unit=PriceUnit(form.unit.data),
        member_cents=form.member_price.data or 0,
        outside_cents=form.outside_price.data or 0,
    )
    added = attempt(form, lambda: add_price(resource.id, price, current_user.id, clock.now()))
    if not added.done:
        return _page(venue, resource, form, added.general, added.status)
    flash(_("The new price of %(name)s is saved.", name=resource.name), "success")
    return redirect(url_for("manage.prices", slug=venue.slug, resource_id=resource.id))


@bp.route(
    "/venues/<slug>/resources/<int:resource_id>/prices/<int:tariff_id>/remove", methods=["POST"]
)
@access.manager
def withdraw_price(slug: str, resource_id: int, tariff_id: int) -> Response | tuple[str, int]:
    """Withdraw a price that has not started yet."""
    venue = managed_venue(slug)
    resource = owned(db.session.get(Resource, resource_id), venue)
    owned(db.session.get(Tariff, tariff_id), resource, lambda price: price.resource_id)
    form = PriceForm(formdata=None)
    removed = attempt(form, lambda: remove_price(tariff_id, venue.id, current_user.id, clock.now()))
    if not removed.done:
        return _page(venue, resource, form, removed.general, removed.status)
    flash(_("The price is withdrawn."), "success")
    return redirect(url_for("manage.prices", slug=venue.slug, resource_id=resource.id))
