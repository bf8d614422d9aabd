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
from zoneinfo import available_timezones

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
    def count(query: sa.Select) -> int:
        return session.scalar(query) or 0

    roles = dict(
        session.execute(
            sa.select(Membership.role, sa.func.count())
            .where(Membership.venue_id == venue.id)
            .group_by(Membership.role)
        ).all()
    )
    invited = dict(
        session.execute(
            sa.select(Invitation.role, sa.func.count())
            .where(
                Invitation.venue_id == venue.id,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > now,
            )
            .group_by(Invitation.role)
        ).all()
    )
    today = now.astimezone(venue.zone).date()
    required = (
        sa.select(Resource.id)
        .where(Resource.qualification_id == Qualification.id, Resource.is_active)
        .exists()
    )
    held = (
        sa.select(QualificationGrant.id)
        .where(
            QualificationGrant.qualification_id == Qualification.id,
            sa.or_(QualificationGrant.expires_on.is_(None), QualificationGrant.expires_on >= today),
        )
        .exists()
    )
    promised = (
        sa.select(PromisedTraining.id)
        .join(Invitation, Invitation.id == PromisedTraining.invitation_id)
        .where(
            PromisedTraining.qualification_id == Qualification.id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )
        .exists()
    )
    needed = session.execute(
        sa.select(Qualification.name, sa.and_(sa.not_(held), sa.not_(promised)))
        .where(Qualification.venue_id == venue.id, required)
        .order_by(Qualification.name)
    ).all()
    return SetupSteps(
        hours=len({p.weekday for p in venue.opening_periods}),
        resources=count(
            sa.select(sa.func.count(Resource.id)).where(
                Resource.venue_id == venue.id, Resource.is_active
            )
        ),
        trainings=count(
            sa.select(sa.func.count(Qualification.id)).where(Qualification.venue_id == venue.id)
        ),
        managers=roles.get(Role.MANAGER, 0),
        members=roles.get(Role.MEMBER, 0),
        managers_invited=invited.get(Role.MANAGER, 0),
        members_invited=invited.get(Role.MEMBER, 0),
        unheld=tuple(name for name, lacking in needed if lacking),
        needed_trainings=len(needed),
    )


def setup_steps_of(
    session: Session, venues: Sequence[Venue], now: datetime
) -> dict[int, SetupSteps]:
    """The set-up steps of each venue of a page (by id): a fixed number of queries per
    venue, and a page holds a fixed number of venues whatever the network's size."""
    return {venue.id: setup_steps(session, venue, now) for venue in venues}
