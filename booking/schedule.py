"""Free/busy laid out by local day, for pages that show availability."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy.orm import Session

from . import rules as r
from .models import Resource, Venue
from .services.availability import busy_by_resource, closures_for


@dataclass
class Slot:
    start: datetime  # local, aware
    end: datetime
    held_until: datetime
    seats: int
    pending: bool


@dataclass
class Day:
    day: date
    periods: list[tuple[time, time]]
    closed_reason: str | None
    slots: list[Slot] = field(default_factory=list)


@dataclass
class ResourceWeek:
    resource: Resource
    days: list[Day]


def week_of(
    session: Session, venue: Venue, resources: list[Resource], first_day: date, days: int = 7
) -> list[ResourceWeek]:
    """Every resource's week in two queries (reservations, closures), whatever the history."""
    zone = venue.zone
    start, _ = r.local_day_bounds(first_day, zone)
    _, end = r.local_day_bounds(first_day + timedelta(days=days - 1), zone)
    busy = busy_by_resource(session, [res.id for res in resources], start, end)
    closures = closures_for(session, venue.id, first_day, first_day + timedelta(days=days - 1))
    weeks = []
    for resource in resources:
        by_day: list[Day] = []
        periods = resource.opening_periods
        for offset in range(days):
            day = first_day + timedelta(days=offset)
            closure = next(
                (c for c in closures if c.covers(day) and c.resource_id in (None, resource.id)),
                None,
            )
            by_day.append(
                Day(
                    day,
                    [(p.opens_at, p.closes_at) for p in periods if p.weekday == day.weekday()],
                    (closure.reason or "") if closure else None,
                )
            )
        for busy_slot in busy.get(resource.id, []):
            local_start = busy_slot.starts_at.astimezone(zone)
            slot = Slot(
                local_start,
                busy_slot.ends_at.astimezone(zone),
                busy_slot.blocked_until.astimezone(zone),
                busy_slot.seats,
                busy_slot.pending,
            )
            index = (local_start.date() - first_day).days
            if 0 <= index < days:
                by_day[index].slots.append(slot)
        weeks.append(ResourceWeek(resource, by_day))
    return weeks
