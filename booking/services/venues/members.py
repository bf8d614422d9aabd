"""The people of a venue: their roles, and accounts switched off.

People join by invitation (``accounts.invite``), never added silently; a role is changed or
removed (the person's reservations still to come at the venue are listed and
may be cancelled with a reason, in the same transaction); administrators
deactivate and reactivate accounts. Every change is in the log with the
person concerned, so that they can be told (``AdminEvent.member_id``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from ...database import run_write
from ...models import (
    HOLDING_STATUSES,
    MAX_HOLD,
    Membership,
    Rate,
    Reservation,
    Resource,
    Role,
    Status,
    User,
    Venue,
)
from ...permissions import (
    can_administer,
    can_change_place,
    can_change_role,
    can_switch_account,
)
from ...rules import Violation
from .. import outbox
from ..accounts.sessions import close_all_sessions
from ..audit import record_admin
from ..booking.lifecycle import cancel_held, lock_resources
from ..errors import ChangedMeanwhileError, NotAllowedError, SettingsError
from .managing import managed_venue

MAX_REASON = 500


def _log(
    session: Session,
    action: str,
    venue_id: int | None,
    actor: User,
    person: User,
    now: datetime,
    changes: list[list[object]],
    detail: str = "",
) -> None:
    """A change to someone's place in the network, with them as the person concerned."""
    record_admin(
        session,
        action,
        venue_id=venue_id,
        actor_id=actor.id,
        now=now,
        label=person.display_name,
        subject_id=person.id,
        member_id=person.id,
        changes=changes,
        detail=detail,
    )


def _changeable(session: Session, venue: Venue, user_id: int, actor: User) -> Membership:
    """Someone's role at the venue, if the person acting may change it."""
    membership = _membership(session, venue.id, user_id)
    if membership is None:
        raise NotAllowedError("not_found")
    if not can_change_role(actor, venue, membership.user):
        code = "own_role" if actor.id == user_id else "administrator_role"
        raise SettingsError([Violation(code, "role")])
    return membership


def _membership(session: Session, venue_id: int, user_id: int) -> Membership | None:
    return session.scalar(
        sa.select(Membership).where(Membership.venue_id == venue_id, Membership.user_id == user_id)
    )


def set_role(venue_id: int, user_id: int, role: Role, actor_id: int, now: datetime) -> Membership:
    def work(session: Session) -> Membership:
        venue, actor = managed_venue(session, venue_id, actor_id)
        membership = _changeable(session, venue, user_id, actor)
        if membership.role != role:
            changes = [["role", membership.role.value, role.value]]
            _log(session, "role.changed", venue.id, actor, membership.user, now, changes)
            if role == Role.MANAGER:
                outbox.tell(
                    session, now, "role_granted", user_id=user_id, venue_id=venue.id, role=role
                )
            else:  # no longer a manager, still a member
                outbox.tell(
                    session,
                    now,
                    "role_removed",
                    user_id=user_id,
                    venue_id=venue.id,
                    role=membership.role,
                )
            membership.role = role
        return membership

    return run_write(work)


def set_rate(venue_id: int, user_id: int, rate: Rate, actor_id: int, now: datetime) -> Membership:
    """Whether the person pays the member rate or the outside rate at the venue (an
    association renting the kitchen, say): any manager decides, for anyone but an
    administrator, themselves included, since it changes no one's access."""

    def work(session: Session) -> Membership:
        venue, actor = managed_venue(session, venue_id, actor_id)
        membership = _membership(session, venue.id, user_id)
        if membership is None:
            raise NotAllowedError("not_found")
        if not can_change_place(actor, venue, membership.user):
            raise SettingsError([Violation("administrator_role", "rate")])
        if membership.rate != rate:
            changes = [["rate", membership.rate.value, rate.value]]
            _log(session, "rate.changed", venue.id, actor, membership.user, now, changes)
            membership.rate = rate
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
        raise SettingsError([Violation("reason_required", "reason")])
    if len(reason) > MAX_REASON:
        raise SettingsError([Violation("too_long_text", "reason", {"max": MAX_REASON})])
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
        venue, actor = managed_venue(session, venue_id, actor_id)
        membership = _changeable(session, venue, user_id, actor)
        found = upcoming_at(session, venue.id, user_id, now)
        cancelled = _cancel_seen(session, found, seen_ids, cancel, reason, actor.id, now)
        changes = [["role", membership.role.value, None], ["cancelled", None, len(cancelled)]]
        _log(session, "role.removed", venue.id, actor, membership.user, now, changes, reason)
        outbox.tell(
            session,
            now,
            "role_removed",
            user_id=user_id,
            venue_id=venue.id,
            role=membership.role,
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
        if not can_switch_account(actor, user.id):
            if not can_administer(actor):
                raise NotAllowedError("admin")
            raise SettingsError([Violation("own_account", "reason")])
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
        if not active:
            # Its cookies must not work again if the account is switched back on.
            close_all_sessions(session, user.id)
        venues = [m.venue_id for m in user.memberships] or [None]
        for venue_id in venues:
            action = "account.reactivated" if active else "account.deactivated"
            _log(
                session,
                action,
                venue_id,
                actor,
                user,
                now,
                [["active", not active, active]],
                reason,
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
    rate: Rate = Rate.MEMBER


def member_rows(
    session: Session,
    venue_id: int,
    now: datetime,
    search: str = "",
    role: Role | None = None,
    *,
    offset: int = 0,
    limit: int = 200,
) -> list[MemberRow]:
    """The people of a venue (``limit`` of them from ``offset``, by name) with their role,
    their last booking there and how many are to come; two queries whatever their number,
    each reading what it shows: each person's last booking through the index on member and
    start (newest first, the first one at the venue), the bookings to come from now on."""
    venue_resources = sa.select(Resource.id).where(Resource.venue_id == venue_id)
    last_booking = (
        sa.select(Reservation.starts_at)
        .where(
            Reservation.user_id == User.id,
            Reservation.resource_id.in_(venue_resources),
            Reservation.status == Status.CONFIRMED,
            Reservation.starts_at <= now,
        )
        .order_by(Reservation.starts_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    query = (
        sa.select(User, Membership.role, Membership.rate, last_booking)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.venue_id == venue_id)
        .order_by(sa.func.lower(User.display_name), User.id)
        .offset(offset)
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
    ids = [user.id for user, *_ in people]
    upcoming: dict[int, int] = {}
    if ids:
        upcoming = dict(
            session.execute(
                sa.select(Reservation.user_id, sa.func.count())
                .where(
                    Reservation.user_id.in_(ids),
                    Reservation.resource_id.in_(venue_resources),
                    Reservation.holding(),
                    # Those still to come: nothing holds longer than MAX_HOLD.
                    Reservation.starts_at >= now - MAX_HOLD,
                    Reservation.ends_at > now,
                )
                .group_by(Reservation.user_id)
            )
            .tuples()
            .all()
        )
    return [
        MemberRow(user, role_, last, upcoming.get(user.id, 0), rate=rate)
        for user, role_, rate, last in people
    ]
