"""The audit log: who did what to which reservation, and what managers changed at a venue.

Reservation moves are ``AuditEvent`` rows; administrative changes (hours,
rules, closures, trainings, roles, the venue, accounts) are ``AdminEvent``
rows with their values before and after. ``venue_log`` reads both as one
list, newest first, for a venue's log page.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from ..localtime import local_day_bounds
from ..models import AdminEvent, AuditEvent, Reservation, Resource, User, Venue


def audit_row(
    action: str,
    reservation_id: int | None,
    series_id: int | None,
    actor_id: int | None,
    now: datetime,
    detail: str = "",
) -> dict[str, Any]:
    """One audit event as a row, for services that write many in one statement."""
    return {
        "reservation_id": reservation_id,
        "series_id": series_id,
        "actor_id": actor_id,
        "action": action,
        "detail": detail,
        "created_at": now,
    }


def record(
    session: Session,
    action: str,
    reservation: Reservation,
    actor_id: int | None,
    now: datetime,
    detail: str = "",
) -> None:
    session.add(
        AuditEvent(
            **audit_row(action, reservation.id, reservation.series_id, actor_id, now, detail)
        )
    )


# --- administrative changes ---------------------------------------------------------


def changes_between(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[list[Any]]:
    """[[field, before, after], ...] for the fields whose value changed, in ``after``'s order."""
    return [
        [name, before.get(name), value]
        for name, value in after.items()
        if before.get(name) != value
    ]


def record_admin(
    session: Session,
    action: str,
    *,
    venue_id: int | None,
    actor_id: int | None,
    now: datetime,
    label: str = "",
    subject_id: int | None = None,
    resource_id: int | None = None,
    member_id: int | None = None,
    changes: Iterable[list[Any]] = (),
    detail: str = "",
) -> AdminEvent:
    """Write one administrative change in the caller's transaction."""
    event = AdminEvent(
        venue_id=venue_id,
        actor_id=actor_id,
        action=action,
        subject_id=subject_id,
        label=label[:300],
        resource_id=resource_id,
        member_id=member_id,
        changes=[list(change) for change in changes],
        detail=detail,
        created_at=now,
    )
    session.add(event)
    return event


# --- a venue's log ----------------------------------------------------------------------

# Groups of actions a manager filters by; each group lists the codes of both tables.
ACTION_GROUPS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "requested": (("created",), ()),
    "approved": (("approved",), ()),
    "refused": (("refused",), ()),
    "cancelled": (("cancelled", "withdrawn", "cancelled_by_closure"), ()),
    "expired": (("expired",), ()),
    "changed": (
        (
            "changed",
            "change_requested",
            "change_accepted",
            "change_refused",
            "change_withdrawn",
            "change_expired",
        ),
        (),
    ),
    "closures": (
        (),
        (
            "closure.created",
            "closure.removed",
            "closure.rule_created",
            "closure.rule_removed",
            "calendar.followed",
            "calendar.unfollowed",
            "import.done",
        ),
    ),
    "hours": ((), ("hours.changed",)),
    "resources": (
        (),
        (
            "resource.created",
            "resource.updated",
            "resource.retired",
            "resource.restored",
            "price.added",
            "price.removed",
        ),
    ),
    "trainings": (
        (),
        (
            "training.created",
            "training.updated",
            "training.removed",
            "training.granted",
            "training.revoked",
            "training.promised",
            "training.unpromised",
        ),
    ),
    "roles": (
        (),
        (
            "role.granted",
            "role.changed",
            "role.removed",
            "account.deactivated",
            "account.reactivated",
            "rate.changed",
        ),
    ),
    "venue": ((), ("venue.created", "venue.updated")),
}


@dataclass(frozen=True)
class LogFilter:
    since: date | None = None
    until: date | None = None  # included
    member_id: int | None = None
    resource_id: int | None = None
    group: str | None = None


@dataclass(frozen=True)
class LogEntry:
    """One line of a venue's log: a reservation's move, or an administrative change."""

    at: datetime
    action: str
    actor: str | None  # None: the system (an expiry)
    detail: str
    # A reservation's move
    reservation_id: int | None = None
    reservation_start: datetime | None = None
    member: str | None = None
    resource: str | None = None
    # An administrative change
    label: str = ""
    changes: tuple[tuple[str, Any, Any], ...] = ()


def _bounds(filters: LogFilter, zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    start = local_day_bounds(filters.since, zone)[0] if filters.since else None
    end = local_day_bounds(filters.until, zone)[1] if filters.until else None
    return start, end


def _where(
    query: sa.Select,
    filters: LogFilter,
    bounds: tuple[datetime | None, datetime | None],
    actions: tuple[str, ...],
    columns: tuple[Any, Any, Any, Any],
) -> sa.Select:
    """The filters of the log on one of its two tables: ``columns`` are that table's
    action, time, member and resource."""
    action, created_at, member, resource = columns
    start, end = bounds
    conditions = [
        action.in_(actions) if actions else None,
        created_at >= start if start is not None else None,
        created_at < end if end is not None else None,
        member == filters.member_id if filters.member_id is not None else None,
        resource == filters.resource_id if filters.resource_id is not None else None,
    ]
    return query.where(*(c for c in conditions if c is not None))


def venue_log(
    session: Session, venue: Venue, filters: LogFilter, *, offset: int = 0, limit: int = 50
) -> tuple[list[LogEntry], bool]:
    """A page of the venue's log, newest first, and whether older entries remain.

    Two queries (reservation moves, administrative changes), each bounded by
    ``offset + limit + 1`` rows from the newest, merged here.
    """
    bounds = _bounds(filters, venue.zone)
    wanted = offset + limit + 1
    reservation_actions, admin_actions = ACTION_GROUPS.get(filters.group or "", (None, None))
    member, actor = aliased(User), aliased(User)

    entries: list[LogEntry] = []
    if reservation_actions is None or reservation_actions:
        query = (
            sa.select(
                AuditEvent.created_at,
                AuditEvent.action,
                actor.display_name,
                AuditEvent.detail,
                Reservation.id,
                Reservation.starts_at,
                member.display_name,
                Resource.name,
            )
            .join(Reservation, Reservation.id == AuditEvent.reservation_id)
            .join(Resource, Resource.id == Reservation.resource_id)
            .join(member, member.id == Reservation.user_id)
            .outerjoin(actor, actor.id == AuditEvent.actor_id)
            # The venue the move happened at: a range of the log's index on venue and time.
            .where(AuditEvent.venue_id == venue.id)
            .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
            .limit(wanted)
        )
        columns = (
            AuditEvent.action,
            AuditEvent.created_at,
            Reservation.user_id,
            Reservation.resource_id,
        )
        for at, action, who, detail, rid, starts_at, name, resource in session.execute(
            _where(query, filters, bounds, reservation_actions or (), columns)
        ):
            entries.append(
                LogEntry(at, action, who, detail, rid, starts_at, member=name, resource=resource)
            )

    if admin_actions is None or admin_actions:
        query = (
            sa.select(
                AdminEvent.created_at,
                AdminEvent.action,
                actor.display_name,
                AdminEvent.detail,
                AdminEvent.label,
                AdminEvent.changes,
                member.display_name,
                Resource.name,
            )
            .outerjoin(actor, actor.id == AdminEvent.actor_id)
            .outerjoin(member, member.id == AdminEvent.member_id)
            .outerjoin(Resource, Resource.id == AdminEvent.resource_id)
            .where(AdminEvent.venue_id == venue.id)
            .order_by(AdminEvent.created_at.desc(), AdminEvent.id.desc())
            .limit(wanted)
        )
        columns = (
            AdminEvent.action,
            AdminEvent.created_at,
            AdminEvent.member_id,
            AdminEvent.resource_id,
        )
        for at, action, who, detail, label, changes, name, resource in session.execute(
            _where(query, filters, bounds, admin_actions or (), columns)
        ):
            entries.append(
                LogEntry(
                    at,
                    action,
                    who,
                    detail,
                    member=name,
                    resource=resource,
                    label=label,
                    changes=tuple(tuple(change) for change in changes or ()),
                )
            )

    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[offset : offset + limit], len(entries) > offset + limit


def reservation_history(
    session: Session, reservation_id: int
) -> list[tuple[AuditEvent, str | None]]:
    """Every move of one reservation, oldest first, with who made it (None: the system)."""
    return [
        (event, name)
        for event, name in session.execute(
            sa.select(AuditEvent, User.display_name)
            .outerjoin(User, User.id == AuditEvent.actor_id)
            .where(AuditEvent.reservation_id == reservation_id)
            .order_by(AuditEvent.created_at, AuditEvent.id)
        ).tuples()
    ]
