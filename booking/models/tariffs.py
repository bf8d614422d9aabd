"""What a resource costs: prices that each apply from a day on, at the member or the outside rate.

A price change is a new row from a later day: the rows before it keep saying
what earlier bookings cost, so a statement made again gives the same amounts.
Money is kept in integer cents.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, str_enum, utcnow

if TYPE_CHECKING:
    from .resources import Resource

# The largest price a form accepts, in cents (10,000 €): a typing slip, not a tariff.
MAX_PRICE_CENTS = 1_000_000


class PriceUnit(enum.StrEnum):
    HOUR = "hour"  # by the hour, prorated to the minute
    BOOKING = "booking"  # once per booking, whatever its length


class Tariff(db.Model):
    """The price of one resource from ``valid_from`` (a day in the venue's time zone)
    until the day of the next price of the same resource."""

    __tablename__ = "tariff"
    __table_args__ = (
        sa.CheckConstraint(
            f"member_cents >= 0 AND member_cents <= {MAX_PRICE_CENTS}", name="member_range"
        ),
        sa.CheckConstraint(
            f"outside_cents >= 0 AND outside_cents <= {MAX_PRICE_CENTS}", name="outside_range"
        ),
        # One price a day per resource; also the lookup of a resource's prices.
        sa.Index("ix_tariff_resource_from", "resource_id", "valid_from", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(sa.ForeignKey("resource.id", ondelete="CASCADE"))
    valid_from: Mapped[date] = mapped_column(sa.Date)
    unit: Mapped[PriceUnit] = mapped_column(str_enum(PriceUnit, "price_unit"))
    # Per seat for a shared resource (a co-working desk), per booking otherwise.
    member_cents: Mapped[int] = mapped_column()
    outside_cents: Mapped[int] = mapped_column()
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    resource: Mapped[Resource] = relationship()

    def __repr__(self) -> str:
        return f"<Tariff {self.resource_id} from {self.valid_from}>"
