"""A venue's resources: create, change their rules, retire and restore them.

Every change is checked as a whole (``booking.services.venues.validation``) and is
logged with each rule's value before and after. Retiring keeps the history:
the resource leaves the public pages and feeds, its past reservations stay,
and its reservations still to come are cancelled with the reason given.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, replace
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ...database import run_write
from ...models import Qualification, Reservation, Resource, ResourceKind, User, Venue
from ...rules import Period, Violation
from ..audit import changes_between, record_admin
from ..booking.lifecycle import cancel_held
from ..errors import ChangedMeanwhileError, NotAllowedError, SettingsError
from .managing import locked_resource, manager_of
from .trainings import create_in
from .validation import RuleValues, check_rules


@dataclass(frozen=True)
class ResourceSettings:
    """Everything a manager sets on a resource."""

    name: str
    kind: ResourceKind
    description: str = ""
    capacity: int = 1
    requires_approval: bool = False
    qualification_id: int | None = None
    slot_minutes: int = 30
    min_duration_minutes: int = 30
    max_duration_minutes: int = 240
    min_notice_minutes: int = 0
    horizon_days: int = 90
    buffer_minutes: int = 0
    buffer_reason: str = ""
    weekly_quota_minutes: int | None = None
    show_purpose: bool = False

    @classmethod
    def of(cls, resource: Resource) -> ResourceSettings:
        return cls(**{name: getattr(resource, name) for name in cls.__dataclass_fields__})

    def audited(self) -> dict[str, object]:
        """The values as the log keeps them (plain JSON)."""
        values = asdict(self)
        values["kind"] = self.kind.value
        return values


def slugify(text: str) -> str:
    """ "Découpeuse laser" → "decoupeuse-laser"."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:70] or "ressource"


def free_slug(session: Session, model: type[Resource] | type[Venue], name: str) -> str:
    """A slug for ``name`` that no row of ``model`` uses yet."""
    base = slugify(name)
    taken = set(
        session.scalars(
            sa.select(model.slug).where(sa.or_(model.slug == base, model.slug.like(f"{base}-%")))
        )
    )
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def _audited(session: Session, settings: ResourceSettings) -> dict[str, object]:
    """The values the log keeps: the training by its name, as it is called today."""
    values = settings.audited()
    training_id = values.pop("qualification_id")
    values["training"] = (
        session.scalar(sa.select(Qualification.name).where(Qualification.id == training_id))
        if training_id is not None
        else None
    )
    return values


def _log(
    session: Session,
    action: str,
    resource: Resource,
    actor: User,
    now: datetime,
    changes: list[list[object]],
    detail: str = "",
) -> None:
    record_admin(
        session,
        action,
        venue_id=resource.venue_id,
        actor_id=actor.id,
        now=now,
        label=resource.name,
        subject_id=resource.id,
        resource_id=resource.id,
        changes=changes,
        detail=detail,
    )


def _check(
    session: Session, venue: Venue, settings: ResourceSettings, resource: Resource | None
) -> None:
    violations: list[Violation] = []
    name = settings.name.strip()
    if not name:
        violations.append(Violation("required", "name"))
    else:
        clash = session.scalar(
            sa.select(Resource.id).where(
                Resource.venue_id == venue.id,
                sa.func.lower(Resource.name) == name.lower(),
                Resource.id != (resource.id if resource else -1),
            )
        )
        if clash is not None:
            violations.append(Violation("name_taken", "name"))
    if settings.qualification_id is not None:
        training = session.get(Qualification, settings.qualification_id)
        if training is None or training.venue_id != venue.id:
            violations.append(Violation("unknown_training", "qualification_id"))
    periods = [
        Period(p.weekday, p.opens_at, p.closes_at)
        for p in (resource.opening_periods if resource else venue.opening_periods)
    ]
    values = RuleValues(
        capacity=settings.capacity,
        slot_minutes=settings.slot_minutes,
        min_duration_minutes=settings.min_duration_minutes,
        max_duration_minutes=settings.max_duration_minutes,
        min_notice_minutes=settings.min_notice_minutes,
        horizon_days=settings.horizon_days,
        buffer_minutes=settings.buffer_minutes,
        weekly_quota_minutes=settings.weekly_quota_minutes,
    )
    violations.extend(check_rules(values, periods, name))
    if violations:
        raise SettingsError(violations)


def _clean(settings: ResourceSettings) -> ResourceSettings:
    return ResourceSettings(
        **{
            **asdict(settings),
            "name": settings.name.strip(),
            "description": settings.description.strip(),
            "buffer_reason": settings.buffer_reason.strip(),
        }
    )


def _with_new_training(
    session: Session,
    venue: Venue,
    settings: ResourceSettings,
    resource: Resource | None,
    new_training: str,
    actor: User,
    now: datetime,
) -> ResourceSettings:
    """The settings checked; with a new training's name, that training created (in the same
    transaction) and required, so that a manager never leaves the form to create it."""
    name = new_training.strip()
    if name and settings.qualification_id is not None:
        raise SettingsError([Violation("training_twice", "new_training")])
    _check(session, venue, settings, resource)
    if not name:
        return settings
    training = create_in(session, venue.id, name, "", actor, now, field="new_training")
    return replace(settings, qualification_id=training.id)


def create_resource(
    venue_id: int,
    settings: ResourceSettings,
    actor_id: int,
    now: datetime,
    new_training: str = "",
) -> Resource:
    settings = _clean(settings)

    def work(session: Session) -> Resource:
        venue = session.get(Venue, venue_id)
        if venue is None:
            raise NotAllowedError("not_found")
        actor = manager_of(session, venue.id, actor_id)
        checked = _with_new_training(session, venue, settings, None, new_training, actor, now)
        resource = Resource(
            venue=venue,
            slug=free_slug(session, Resource, checked.name),
            created_at=now,
            **asdict(checked),
        )
        session.add(resource)
        session.flush()
        _log(
            session,
            "resource.created",
            resource,
            actor,
            now,
            changes_between({}, _audited(session, checked)),
        )
        return resource

    return run_write(work)


def update_resource(
    resource_id: int,
    settings: ResourceSettings,
    actor_id: int,
    now: datetime,
    new_training: str = "",
) -> Resource:
    settings = _clean(settings)

    def work(session: Session) -> Resource:
        resource, actor = locked_resource(session, resource_id, actor_id)
        before = _audited(session, ResourceSettings.of(resource))
        checked = _with_new_training(
            session, resource.venue, settings, resource, new_training, actor, now
        )
        for name, value in asdict(checked).items():
            setattr(resource, name, value)
        changes = changes_between(before, _audited(session, checked))
        if changes:
            _log(session, "resource.updated", resource, actor, now, changes)
        return resource

    return run_write(work)


def upcoming(session: Session, resource_id: int, now: datetime) -> list[Reservation]:
    """The reservations of a resource that still hold a slot to come."""
    return list(
        session.scalars(
            sa.select(Reservation)
            .where(
                Reservation.resource_id == resource_id,
                Reservation.holding(),
                Reservation.ends_at > now,
            )
            .order_by(Reservation.starts_at)
        )
    )


def retire_resource(
    resource_id: int,
    actor_id: int,
    reason: str,
    now: datetime,
    seen_ids: frozenset[int] | None = None,
) -> list[Reservation]:
    """Take a resource out of service; cancel what it still holds, with ``reason``.

    ``seen_ids``: the reservations the manager was shown; one made since
    stops the change (ChangedMeanwhileError), so that nobody is cancelled
    unseen.
    """
    reason = reason.strip()

    def work(session: Session) -> list[Reservation]:
        resource, actor = locked_resource(session, resource_id, actor_id)
        if not resource.is_active:
            return []
        held = upcoming(session, resource.id, now)
        if seen_ids is not None and {h.id for h in held} - seen_ids:
            raise ChangedMeanwhileError()
        if held and not reason:
            raise SettingsError([Violation("reason_required", "reason")])
        cancelled = cancel_held(session, held, actor.id, reason, now)
        resource.is_active = False
        _log(
            session,
            "resource.retired",
            resource,
            actor,
            now,
            [["is_active", True, False]],
            detail=reason,
        )
        return cancelled

    return run_write(work)


def restore_resource(resource_id: int, actor_id: int, now: datetime) -> Resource:
    def work(session: Session) -> Resource:
        resource, actor = locked_resource(session, resource_id, actor_id)
        if not resource.is_active:
            resource.is_active = True
            _log(session, "resource.restored", resource, actor, now, [["is_active", False, True]])
        return resource

    return run_write(work)
