"""A resource's prices, set by its venue's managers (who pays the outside rate is a
person's place at the venue: ``booking.services.venues.members.set_rate``).

A price applies from a day on (in the venue's time zone) until the next one.
A change is a new price from today or a later day: what bookings already
cost is never rewritten, so a statement made again says the same. A price
that has not started yet may be withdrawn; one that has, may not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ...database import run_write
from ...localtime import to_local
from ...models import MAX_PRICE_CENTS, PriceUnit, Resource, Tariff
from ...rules import Violation
from ..audit import record_admin
from ..errors import NotAllowedError, SettingsError
from .managing import locked_resource


@dataclass(frozen=True)
class PriceRequest:
    valid_from: date
    unit: PriceUnit
    member_cents: int
    outside_cents: int


def prices_of(session: Session, resource_id: int) -> list[Tariff]:
    """Every price of the resource, oldest first."""
    return list(
        session.scalars(
            sa.select(Tariff).where(Tariff.resource_id == resource_id).order_by(Tariff.valid_from)
        )
    )


def price_on(prices: list[Tariff], day: date) -> Tariff | None:
    """The price that applies on ``day`` (``prices`` oldest first), if any."""
    current = None
    for price in prices:
        if price.valid_from <= day:
            current = price
    return current


def current_prices(session: Session, resource_ids: list[int], day: date) -> dict[int, Tariff]:
    """The price of each resource on ``day``, for those that have one: one query."""
    if not resource_ids:
        return {}
    latest = (
        sa.select(Tariff.resource_id, sa.func.max(Tariff.valid_from).label("valid_from"))
        .where(Tariff.resource_id.in_(resource_ids), Tariff.valid_from <= day)
        .group_by(Tariff.resource_id)
        .subquery()
    )
    return {
        tariff.resource_id: tariff
        for tariff in session.scalars(
            sa.select(Tariff).join(
                latest,
                sa.and_(
                    Tariff.resource_id == latest.c.resource_id,
                    Tariff.valid_from == latest.c.valid_from,
                ),
            )
        )
    }


def _today(resource: Resource, now: datetime) -> date:
    return to_local(now, resource.venue.zone).date()


def _audited(price: Tariff | PriceRequest) -> list[list[object]]:
    return [
        ["valid_from", None, price.valid_from.isoformat()],
        ["unit", None, price.unit.value],
        ["member_cents", None, price.member_cents],
        ["outside_cents", None, price.outside_cents],
    ]


def add_price(resource_id: int, request: PriceRequest, actor_id: int, now: datetime) -> Tariff:
    """A new price for the resource from ``request.valid_from`` (today at the earliest)."""

    def work(session: Session) -> Tariff:
        resource, actor = locked_resource(session, resource_id, actor_id)
        violations = []
        if request.valid_from < _today(resource, now):
            violations.append(Violation("price_in_past", "valid_from"))
        elif session.scalar(
            sa.select(Tariff.id).where(
                Tariff.resource_id == resource.id, Tariff.valid_from == request.valid_from
            )
        ):
            violations.append(Violation("price_same_day", "valid_from"))
        for field_name, cents in (
            ("member_price", request.member_cents),
            ("outside_price", request.outside_cents),
        ):
            if not 0 <= cents <= MAX_PRICE_CENTS:
                violations.append(Violation("price_range", field_name, {"max": MAX_PRICE_CENTS}))
        if violations:
            raise SettingsError(violations)
        price = Tariff(
            resource_id=resource.id,
            valid_from=request.valid_from,
            unit=request.unit,
            member_cents=request.member_cents,
            outside_cents=request.outside_cents,
            created_by_id=actor.id,
            created_at=now,
        )
        session.add(price)
        session.flush()
        record_admin(
            session,
            "price.added",
            venue_id=resource.venue_id,
            actor_id=actor.id,
            now=now,
            label=resource.name,
            subject_id=price.id,
            resource_id=resource.id,
            changes=_audited(request),
        )
        return price

    return run_write(work)


def remove_price(tariff_id: int, venue_id: int, actor_id: int, now: datetime) -> Tariff:
    """Withdraw a price that has not started yet (one that has is history)."""

    def work(session: Session) -> Tariff:
        price = session.get(Tariff, tariff_id)
        if price is None:
            raise NotAllowedError("not_found")
        resource, actor = locked_resource(session, price.resource_id, actor_id)
        if resource.venue_id != venue_id:
            raise NotAllowedError("not_found")
        if price.valid_from <= _today(resource, now):
            raise SettingsError([Violation("price_started", None)])
        record_admin(
            session,
            "price.removed",
            venue_id=resource.venue_id,
            actor_id=actor.id,
            now=now,
            label=resource.name,
            subject_id=price.id,
            resource_id=resource.id,
            changes=[[name, after, None] for name, _, after in _audited(price)],
        )
        session.delete(price)
        return price

    return run_write(work)
