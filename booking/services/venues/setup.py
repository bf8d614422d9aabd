"""Venues: created and described by administrators; what a new venue still needs.

A cooperative joining the network is set up in the browser: an administrator
creates the venue and invites its manager in one step; the manager then gives it
hours, resources, trainings and people (``setup_steps`` says which of these are
still missing).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.orm import Session

from ...database import run_write
from ...models import (
    Invitation,
    Membership,
    PromisedTraining,
    Qualification,
    QualificationGrant,
    Resource,
    Role,
    User,
    Venue,
)
from ...permissions import can_administer
from ...rules import Violation
from ..accounts.common import checked_email
from ..accounts.invitations import invite_in
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


@dataclass(frozen=True)
class FirstManager:
    """Who will run a new venue: invited with it, they set it up once they accept."""

    name: str
    email: str
    locale: str = "fr"
    valid_for: timedelta = field(default=timedelta(days=14))


def _checked_manager(manager: FirstManager | None) -> FirstManager | None:
    if manager is None or not (manager.name.strip() or manager.email.strip()):
        return None
    violations = []
    email = checked_email(manager.email)
    if not manager.email.strip():
        violations.append(Violation("required", "manager_email"))
    elif email is None:
        violations.append(Violation("invalid_email", "manager_email"))
    if not manager.name.strip():
        violations.append(Violation("required", "manager_name"))
    elif len(manager.name.strip()) > 120:
        violations.append(Violation("too_long_text", "manager_name", {"max": 120}))
    if violations:
        raise SettingsError(violations)
    return FirstManager(manager.name.strip(), email or "", manager.locale, manager.valid_for)


def create_venue(
    settings: VenueSettings,
    actor_id: int,
    now: datetime,
    manager: FirstManager | None = None,
) -> Venue:
    """Create a venue; with ``manager``, invite its manager in the same step (they set it
    up once they accept)."""
    settings = _clean(settings)
    manager = _checked_manager(manager)

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
        if manager is not None:
            invite_in(
                session,
                venue,
                actor,
                manager.email,
                manager.name,
                Role.MANAGER,
                manager.locale,
                now,
                manager.valid_for,
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
    """What a venue has of what it needs to take bookings, and what its set-up still
    lacks: each step a screen of its own."""

    hours: int  # days open in the week
    resources: int
    trainings: int
    managers: int
    members: int
    managers_invited: int = 0  # invitations to manage it, not answered yet
    members_invited: int = 0
    # Trainings a resource requires that nobody holds or is promised: nobody can book it.
    unheld: tuple[str, ...] = ()
    needed_trainings: int = 0  # trainings that resources require

    @property
    def complete(self) -> bool:
        """Members can book: hours, a resource and a manager."""
        return bool(self.hours and self.resources and self.managers)

    @property
    def trainings_ready(self) -> bool:
        return not self.unheld

    @property
    def people(self) -> int:
        return self.members + self.members_invited

    @property
    def left(self) -> list[str]:
        """The steps still to do, in the checklist's order."""
        steps = {
            "hours": bool(self.hours),
            "resources": bool(self.resources),
            "trainings": self.trainings_ready,
            "manager": bool(self.managers),
            "people": bool(self.people),
        }
        return [step for step, done in steps.items() if not done]

    @property
    def finished(self) -> bool:
        """Set up: bookable, every training a resource needs held by someone, people
        invited."""
        return not self.left


def setup_steps(session: Session, venue: Venue, now: datetime) -> SetupSteps:
    return setup_steps_of(session, [venue], now)[venue.id]


def setup_steps_of(
    session: Session, venues: Sequence[Venue], now: datetime
) -> dict[int, SetupSteps]:
    """The set-up steps of each venue of a page (by id, their hours loaded): grouped
    queries, as many whatever the number of venues (one more per time zone among them)."""
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

    def by_role(venue_id: sa.ColumnElement[int], role: sa.ColumnElement, *where) -> dict:
        return {
            (venue, Role(name)): count
            for venue, name, count in session.execute(
                sa.select(venue_id, role, sa.func.count())
                .where(venue_id.in_(ids), *where)
                .group_by(venue_id, role)
            ).tuples()
        }

    pending = (
        Invitation.accepted_at.is_(None),
        Invitation.revoked_at.is_(None),
        Invitation.expires_at > now,
    )
    resources = counted(Resource.venue_id, Resource.is_active)
    trainings = counted(Qualification.venue_id)
    roles = by_role(Membership.venue_id, Membership.role)
    invited = by_role(Invitation.venue_id, Invitation.role, *pending)
    required = (
        sa.select(Resource.id)
        .where(Resource.qualification_id == Qualification.id, Resource.is_active)
        .exists()
    )
    promised = (
        sa.select(PromisedTraining.id)
        .join(Invitation, Invitation.id == PromisedTraining.invitation_id)
        .where(PromisedTraining.qualification_id == Qualification.id, *pending)
        .exists()
    )
    # Trainings the venues' resources require, each with whether nobody holds it on the
    # venue's own day nor is promised it: one query per time zone among the venues.
    needed: dict[int, list[tuple[str, bool]]] = {venue_id: [] for venue_id in ids}
    zones: dict[str, list[int]] = {}
    for venue in venues:
        zones.setdefault(venue.timezone, []).append(venue.id)
    for timezone, zone_ids in zones.items():
        today = now.astimezone(ZoneInfo(timezone)).date()
        held = (
            sa.select(QualificationGrant.id)
            .where(
                QualificationGrant.qualification_id == Qualification.id,
                sa.or_(
                    QualificationGrant.expires_on.is_(None), QualificationGrant.expires_on >= today
                ),
            )
            .exists()
        )
        for venue_id, name, lacking in session.execute(
            sa.select(Qualification.venue_id, Qualification.name, sa.and_(~held, ~promised))
            .where(Qualification.venue_id.in_(zone_ids), required)
            .order_by(Qualification.name)
        ).tuples():
            needed[venue_id].append((name, lacking))
    return {
        venue.id: SetupSteps(
            hours=len({p.weekday for p in venue.opening_periods}),
            resources=resources.get(venue.id, 0),
            trainings=trainings.get(venue.id, 0),
            managers=roles.get((venue.id, Role.MANAGER), 0),
            members=roles.get((venue.id, Role.MEMBER), 0),
            managers_invited=invited.get((venue.id, Role.MANAGER), 0),
            members_invited=invited.get((venue.id, Role.MEMBER), 0),
            unheld=tuple(name for name, lacking in needed[venue.id] if lacking),
            needed_trainings=len(needed[venue.id]),
        )
        for venue in venues
    }
