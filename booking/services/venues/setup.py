"""Venues: created and described by administrators; what a new venue still needs.

A cooperative joining the network is set up in the browser: the venue, then
its hours, resources, trainings and managers (``setup_steps`` says which of
these are still missing).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from functools import cache
from zoneinfo import available_timezones

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.orm import Session

from ...database import run_write
from ...models import Membership, Qualification, Resource, Role, User, Venue
from ...permissions import can_administer
from ...rules import Violation
from ..audit import changes_between, record_admin
from ..errors import NotAllowedError, SettingsError
from .resources import free_slug


@cache
def time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


@dataclass(frozen=True)
class VenueSettings:
    name: str
    address: str = ""
    phone: str = ""
    email: str = ""
    timezone: str = "Europe/Paris"
    description: str = ""

    @classmethod
    def of(cls, venue: Venue) -> VenueSettings:
        return cls(**{name: getattr(venue, name) for name in cls.__dataclass_fields__})


def _clean(settings: VenueSettings) -> VenueSettings:
    violations = []
    values = {k: v.strip() for k, v in asdict(settings).items()}
    if not values["name"]:
        violations.append(Violation("required", "name"))
    if values["timezone"] not in time_zones():
        violations.append(Violation("unknown_timezone", "timezone"))
    if values["email"]:
        try:
            values["email"] = validate_email(
                values["email"], check_deliverability=False
            ).normalized.lower()
        except EmailNotValidError:
            violations.append(Violation("invalid_email", "email"))
    if values["phone"] and not any(c.isdigit() for c in values["phone"]):
        violations.append(Violation("invalid_phone", "phone"))
    if violations:
        raise SettingsError(violations)
    return VenueSettings(**values)


def _admin(session: Session, actor_id: int) -> User:
    actor = session.get(User, actor_id)
    if actor is None or not can_administer(actor):
        raise NotAllowedError("admin")
    return actor


def _unique_name(session: Session, name: str, venue_id: int | None) -> None:
    clash = session.scalar(
        sa.select(Venue.id).where(
            sa.func.lower(Venue.name) == name.lower(), Venue.id != (venue_id or -1)
        )
    )
    if clash is not None:
        raise SettingsError([Violation("name_taken", "name")])


def create_venue(settings: VenueSettings, actor_id: int, now: datetime) -> Venue:
    settings = _clean(settings)

    def work(session: Session) -> Venue:
        actor = _admin(session, actor_id)
        _unique_name(session, settings.name, None)
        venue = Venue(
            slug=free_slug(session, Venue, settings.name), created_at=now, **asdict(settings)
        )
        session.add(venue)
        session.flush()
        record_admin(
            session,
            "venue.created",
            venue_id=venue.id,
            actor_id=actor.id,
            now=now,
            label=venue.name,
            subject_id=venue.id,
            changes=changes_between({}, asdict(settings)),
        )
        return venue

    return run_write(work)


def update_venue(venue_id: int, settings: VenueSettings, actor_id: int, now: datetime) -> Venue:
    settings = _clean(settings)

    def work(session: Session) -> Venue:
        actor = _admin(session, actor_id)
        venue = session.get(Venue, venue_id)
        if venue is None:
            raise NotAllowedError("not_found")
        _unique_name(session, settings.name, venue.id)
        changes = changes_between(asdict(VenueSettings.of(venue)), asdict(settings))
        for name, value in asdict(settings).items():
            setattr(venue, name, value)
        if changes:
            record_admin(
                session,
                "venue.updated",
                venue_id=venue.id,
                actor_id=actor.id,
                now=now,
                label=venue.name,
                subject_id=venue.id,
                changes=changes,
            )
        return venue

    return run_write(work)


@dataclass(frozen=True)
class SetupSteps:
    """What a venue has of what it needs to take bookings."""

    hours: int  # days open in the week
    resources: int
    trainings: int
    managers: int
    members: int

    @property
    def complete(self) -> bool:
        return bool(self.hours and self.resources and self.managers)


def setup_steps(session: Session, venue: Venue) -> SetupSteps:
    return setup_steps_of(session, [venue])[venue.id]


def setup_steps_of(session: Session, venues: Sequence[Venue]) -> dict[int, SetupSteps]:
    """``setup_steps`` of several venues (their hours loaded), in three grouped queries
    whatever their number."""
    ids = [venue.id for venue in venues]
    if not ids:
        return {}

    def counted(column: sa.ColumnElement[int], *where: sa.ColumnElement[bool]) -> dict:
        return dict(
            session.execute(
                sa.select(column, sa.func.count()).where(column.in_(ids), *where).group_by(column)
            )
            .tuples()
            .all()
        )

    resources = counted(Resource.venue_id, Resource.is_active)
    trainings = counted(Qualification.venue_id)
    roles: dict[tuple[int, Role], int] = {
        (venue_id, Role(role)): count
        for venue_id, role, count in session.execute(
            sa.select(Membership.venue_id, Membership.role, sa.func.count())
            .where(Membership.venue_id.in_(ids))
            .group_by(Membership.venue_id, Membership.role)
        ).tuples()
    }
    return {
        venue.id: SetupSteps(
            hours=len({p.weekday for p in venue.opening_periods}),
            resources=resources.get(venue.id, 0),
            trainings=trainings.get(venue.id, 0),
            managers=roles.get((venue.id, Role.MANAGER), 0),
            members=roles.get((venue.id, Role.MEMBER), 0),
        )
        for venue in venues
    }
