"""The people of a venue: their roles, and accounts switched off.

An existing account is added as member or manager; a role is changed or
removed (the person's reservations still to come at the venue are listed and
may be cancelled with a reason, in the same transaction); administrators
deactivate and reactivate accounts. Every change is in the log with the
person concerned, so that they can be told (``AdminEvent.member_id``).

Accounts are created elsewhere (invitations, sign-up requests): adding
someone here needs an account that exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from .. import rules as r
from ..database import run_write
from ..models import HOLDING_STATUSES, Membership, Reservation, Resource, Role, Status, User, Venue
from ..permissions import can_change_role, can_manage, can_switch_account
from .audit import record_admin
from .errors import ChangedMeanwhileError, NotAllowedError, SettingsError
from .lifecycle import cancel_held, lock_resources

MAX_REASON = 500


def _venue_and_actor(session: Session, venue_id: int, actor_id: int) -> tuple[Venue, User]:
    venue = session.get(Venue, venue_id)
    actor = session.get(User, actor_id)
    if venue is None or actor is None:
        raise NotAllowedError("not_found")
    if not can_manage(actor, venue):
        raise NotAllowedError("manage")
    return venue, actor


def _membership(session: Session, venue_id: int, user_id: int) -> Membership | None:
    return session.scalar(
        sa.select(Membership).where(Membership.venue_id == venue_id, Membership.user_id == user_id)
    )


def add_member(venue_id: int, email: str, role: Role, actor_id: int, now: datetime) -> Membership:
    """Give an existing account a role at the venue."""
    email = email.strip().lower()

    def work(session: Session) -> Membership:
        venue, actor = _venue_and_actor(session, venue_id, actor_id)
        user = session.scalar(sa.select(User).where(User.email == email))
        if user is None:
            raise SettingsError([r.Violation("unknown_account", "email", {"email": email})])
        existing = _membership(session, venue.id, user.id)
        if existing is not None:
            raise SettingsError(
                [
                    r.Violation(
                        "already_member",
                        "email",
                        {"name": user.display_name, "role": existing.role.value},
                    )
                ]
            )
        membership = Membership(user_id=user.id, venue_id=venue.id, role=role)
        session.add(membership)
        record_admin(
            session,
            "role.granted",
            venue_id=venue.id,
            actor_id=actor.id,
            now=now,
            label=user.display_name,
            subject_id=user.id,
            member_id=user.id,
            changes=[["role", None, role.value]],
        )
        session.flush()
        return membership

    return run_write(work)


def set_role(venue_id: int, user_id: int, role: Role, actor_id: int, now: datetime) -> Membership:
    def work(session: Session) -> Membership:
        venue, actor = _venue_and_actor(session, venue_id, actor_id)
        membership = _membership(session, venue.id, user_id)
        if membership is None:
            raise NotAllowedError("not_found")
        if not can_change_role(actor, venue, user_id):
            raise SettingsError([r.Violation("own_role", "role")])
        if membership.role != role:
            record_admin(
                session,
                "role.changed",
                venue_id=venue.id,
                actor_id=actor.id,
                now=now,
                label=membership.user.display_name,
                subject_id=user_id,
                member_id=user_id,
                changes=[["role", membership.role.value, role.value]],
            )
            membership.role = role
        return membership

    return run_write(work)


def upcoming_at(
    session: Session, venue_id: int, user_id: int | None, now: datetime
) -> list[Reservation]:
    """Reservations still to come that hold a slot at the venue (for one person, or everyone)."""
    query = (
        sa.select(Reservation)
        .join(Resource, Resource.id == Reservation.resource_id)
        .where(Resource.venue_id == venue_id, Reservation.holding(), Reservation.ends_at > now)
        .options(joinedload(Reservation.resource), joinedload(Reservation.user))
        .order_by(Reservation.starts_at)
    )
    if user_id is not None:
        query = query.where(Reservation.user_id == user_id)
    return list(session.scalars(query))


def _cancel_seen(
    session: Session,
    found: list[Reservation],
    seen_ids: frozenset[int],
    cancel: bool,
    reason: str,
    actor_id: int,
    now: datetime,
) -> list[Reservation]:
    """Cancel what the manager saw and chose to cancel; refuse if something new appeared."""
    if {res.id for res in found} - seen_ids:
        raise ChangedMeanwhileError()
    if not cancel or not found:
        return []
    if not reason:
        raise SettingsError([r.Violation("reason_required", "reason")])
    if len(reason) > MAX_REASON:
        raise SettingsError([r.Violation("too_long_text", "reason", {"max": MAX_REASON})])
    lock_resources(session, [res.resource_id for res in found])
    return cancel_held(session, found, actor_id, reason, now)


def remove_member(
    venue_id: int,
    user_id: int,
    actor_id: int,
    now: datetime,
    *,
    seen_ids: frozenset[int],
    cancel: bool,
    reason: str = "",
) -> list[Reservation]:
    """Take away someone's role at the venue; cancel their reservations to come if asked."""
    reason = reason.strip()

    def work(session: Session) -> list[Reservation]:
        venue, actor = _venue_and_actor(session, venue_id, actor_id)
        membership = _membership(session, venue.id, user_id)
        if membership is None:
            raise NotAllowedError("not_found")
        if not can_change_role(actor, venue, user_id):
            raise SettingsError([r.Violation("own_role", "role")])
        found = upcoming_at(session, venue.id, user_id, now)
        cancelled = _cancel_seen(session, found, seen_ids, cancel, reason, actor.id, now)
        record_admin(
            session,
            "role.removed",
            venue_id=venue.id,
            actor_id=actor.id,
            now=now,
            label=membership.user.display_name,
            subject_id=user_id,
            member_id=user_id,
            changes=[["role", membership.role.value, None], ["cancelled", None, len(cancelled)]],
            detail=reason,
        )
        session.delete(membership)
        return cancelled

    return run_write(work)


def set_account_active(
    user_id: int,
    active: bool,
    actor_id: int,
    now: datetime,
    *,
    seen_ids: frozenset[int] = frozenset(),
    cancel: bool = False,
    reason: str = "",
) -> list[Reservation]:
    """Switch an account off (it can no longer log in or book) or on again: administrators."""
    reason = reason.strip()

    def work(session: Session) -> list[Reservation]:
        actor = session.get(User, actor_id)
        user = session.get(User, user_id)
        if actor is None or user is None:
            raise NotAllowedError("not_found")
        if not actor.is_admin:
            raise NotAllowedError("admin")
        if not can_switch_account(actor, user.id):
            raise SettingsError([r.Violation("own_account", "reason")])
        if user.active == active:
            return []
        cancelled: list[Reservation] = []
        if not active:
            found = list(
                session.scalars(
                    sa.select(Reservation)
                    .where(
                        Reservation.user_id == user.id,
                        Reservation.status.in_(HOLDING_STATUSES),
                        Reservation.ends_at > now,
                    )
                    .order_by(Reservation.starts_at)
                )
            )
            cancelled = _cancel_seen(session, found, seen_ids, cancel, reason, actor.id, now)
        user.active = active
        venues = [m.venue_id for m in user.memberships] or [None]
        for venue_id in venues:
            record_admin(
                session,
                "account.reactivated" if active else "account.deactivated",
                venue_id=venue_id,
                actor_id=actor.id,
                now=now,
                label=user.display_name,
                subject_id=user.id,
                member_id=user.id,
                changes=[["active", not active, active]],
                detail=reason,
            )
        return cancelled

    return run_write(work)


# --- reading ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberRow:
    user: User
    role: Role
    last_booking: datetime | None
    upcoming: int


def member_rows(
    session: Session,
    venue_id: int,
    now: datetime,
    search: str = "",
    role: Role | None = None,
    limit: int = 200,
) -> list[MemberRow]:
    """The people of a venue with their role, their last booking there and how many are to come;
    two queries whatever their number."""
    query = (
        sa.select(User, Membership.role)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.venue_id == venue_id)
        .order_by(sa.func.lower(User.display_name), User.id)
        .limit(limit)
    )
    text = search.strip().lower()
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            sa.or_(
                sa.func.lower(User.display_name).like(pattern, escape="\\"),
                User.email.like(pattern, escape="\\"),
            )
        )
    if role is not None:
        query = query.where(Membership.role == role)
    people = session.execute(query).all()
    ids = [user.id for user, _ in people]
    stats: dict[int, tuple[datetime | None, int]] = {}
    if ids:
        for uid, last, upcoming in session.execute(
            sa.select(
                Reservation.user_id,
                sa.func.max(Reservation.starts_at).filter(
                    Reservation.status == Status.CONFIRMED, Reservation.starts_at <= now
                ),
                sa.func.count().filter(Reservation.holding(), Reservation.ends_at > now),
            )
            .join(Resource, Resource.id == Reservation.resource_id)
            .where(Resource.venue_id == venue_id, Reservation.user_id.in_(ids))
            .group_by(Reservation.user_id)
        ):
            stats[uid] = (last, upcoming)
    return [
        MemberRow(user, role_, *stats.get(user.id, (None, 0)))  # type: ignore[arg-type]
        for user, role_ in people
    ]
