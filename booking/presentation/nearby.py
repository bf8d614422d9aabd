"""The free times nearest to a taken one, worded for the buttons that book them."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import ngettext

from ..services.availability.nearby import Nearby
from ..services.availability.search import FreeSlot
from .formatting import venue_day
from .weeks import DASH


@dataclass(frozen=True)
class NearbyTime:
    """A free time to book instead: where, when in words, and the booking form's ``pick``."""

    resource_slug: str
    resource_name: str
    when: str  # "mardi 3 mars, 14:00–15:00"
    seats: str  # "3 seats free out of 8", or "" for a resource of one
    pick: str  # "2026-03-03T14:00/15:00"


def _worded(slot: FreeSlot) -> NearbyTime:
    start, end = slot.starts_at, slot.ends_at
    times = f"{start:%H:%M}{DASH}{end:%H:%M}"
    capacity = slot.resource.capacity
    seats = (
        ngettext(
            "%(num)d seat free out of %(capacity)d",
            "%(num)d seats free out of %(capacity)d",
            slot.free_seats,
            capacity=capacity,
        )
        if capacity > 1
        else ""
    )
    return NearbyTime(
        slot.resource.slug,
        slot.resource.name,
        f"{venue_day(start.date())}, {times}",
        seats,
        f"{start.date().isoformat()}T{start:%H:%M}/{end:%H:%M}",
    )


def nearby_times(nearby: Nearby) -> tuple[list[NearbyTime], list[NearbyTime]]:
    """The resource's own nearest free times, then those of the resources like it."""
    return [_worded(s) for s in nearby.same], [_worded(s) for s in nearby.similar]
