"""Who may do what: the one vocabulary that views, services and templates ask.

Every answer is a plain predicate over loaded models (a user with their
memberships, a reservation with its resource), so that a page, a service and a
test ask the same question and get the same answer. Administrators manage
every venue, everywhere. A state question ("is this request still pending?")
is not a permission: services check states themselves and say why a move is
impossible; these predicates only say who may try.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from .models import HOLDING_STATUSES, Membership, Reservation, Role, Status, User, Venue


def role_at(user: User, venue_id: int) -> Role | None:
    for membership in user.memberships:
        if membership.venue_id == venue_id:
            return membership.role
    return None


def can_manage(user: User, venue: Venue | int) -> bool:
    """Decide requests, book for members and set soft rules aside at this venue."""
    venue_id = venue if isinstance(venue, int) else venue.id
    return user.is_admin or role_at(user, venue_id) == Role.MANAGER


def can_manage_any(user: User) -> bool:
    """Whether the manager's pages have anything for this person."""
    return user.is_admin or any(m.role == Role.MANAGER for m in user.memberships)


def can_administer(user: User) -> bool:
    """Create and describe venues, switch accounts off: the network's administrators."""
    return bool(user.is_admin)


def can_change_place(actor: User, venue: Venue | int, person: User) -> bool:
    """Change someone's place at a venue (the rate they pay there): its managers, for anyone
    but an administrator (whom only administrators change); administrators for anyone."""
    return can_manage(actor, venue) and (actor.is_admin or not person.is_admin)


def can_change_role(actor: User, venue: Venue | int, person: User) -> bool:
    """Change or take away someone's role at a venue: as ``can_change_place``, except for
    one's own role (a slip would lock a manager out)."""
    return can_change_place(actor, venue, person) and (actor.is_admin or actor.id != person.id)


def can_handle_account(actor: User, person: User) -> bool:
    """Read a whole account's data or erase it: the person themself; an administrator; or a
    manager of every venue where the person has a role. Never a manager for an
    administrator, nor for an account with no role anywhere or with a role at a venue
    they do not manage (that account is not theirs to hand over)."""
    if actor.id == person.id or actor.is_admin:
        return True
    if person.is_admin:
        return False
    venues = {membership.venue_id for membership in person.memberships}
    return bool(venues) and all(role_at(actor, venue_id) == Role.MANAGER for venue_id in venues)


def can_switch_account(actor: User, person_id: int) -> bool:
    """Deactivate or reactivate an account: administrators, never their own."""
    return bool(actor.is_admin) and actor.id != person_id


def can_book_at(user: User, venue: Venue | int) -> bool:
    """Book for oneself: an active account with a role at the venue."""
    venue_id = venue if isinstance(venue, int) else venue.id
    return user.active and role_at(user, venue_id) is not None


def can_act_for_others(actor: User, venue: Venue | int) -> bool:
    """Book for someone else, or set soft rules aside: the venue's managers."""
    return can_manage(actor, venue)


def is_own(user: User, reservation: Reservation) -> bool:
    return user.id == reservation.user_id


def can_view(user: User, reservation: Reservation) -> bool:
    return is_own(user, reservation) or can_manage(user, reservation.resource.venue_id)


def can_decide(user: User, reservation: Reservation) -> bool:
    """Accept or refuse: a manager of the venue, while the request waits."""
    return reservation.status == Status.PENDING and can_manage(user, reservation.resource.venue_id)


def may_cancel(user: User, reservation: Reservation) -> bool:
    """Who may try to cancel, whatever the reservation's state: its member and managers."""
    return can_view(user, reservation)


def can_cancel(user: User, reservation: Reservation, now: datetime) -> bool:
    """Whether the page offers to cancel: allowed, still holding and not over."""
    return (
        reservation.status in HOLDING_STATUSES
        and reservation.ends_at > now
        and may_cancel(user, reservation)
    )


def may_change(user: User, reservation: Reservation) -> bool:
    """Who may try to change a booking, whatever its state: its member and the venue's
    managers (administrators included)."""
    return can_view(user, reservation)


def can_change(user: User, reservation: Reservation, now: datetime) -> bool:
    """Whether the page offers to change: allowed, a booking (not a pending change of
    one), still holding its slot and not yet started."""
    return (
        reservation.replaces_id is None
        and reservation.status in HOLDING_STATUSES
        and reservation.starts_at > now
        and may_change(user, reservation)
    )


def managerships() -> sa.Select[tuple[int, int]]:
    """Who manages which venue, as (venue_id, user_id) rows: the one query behind "the
    managers of a venue" and "the venues a person manages" (``can_manage`` in SQL, but for
    administrators, whom each caller treats as its question needs)."""
    return sa.select(Membership.venue_id, Membership.user_id).where(Membership.role == Role.MANAGER)


def managers_of(venue_id: Any) -> sa.Select[tuple[int]]:
    """The ids of the venue's managers (``venue_id`` a value or a column), as a query."""
    return (
        managerships().where(Membership.venue_id == venue_id).with_only_columns(Membership.user_id)
    )


def venues_managed_by(user_id: Any) -> sa.Select[tuple[int]]:
    """The ids of the venues a person manages (``user_id`` a value or a column)."""
    return (
        managerships().where(Membership.user_id == user_id).with_only_columns(Membership.venue_id)
    )


def managed_venue_ids_query(user: User) -> sa.Select[tuple[int]]:
    """The ids of the venues ``user`` manages, as a query: every venue for administrators."""
    query = sa.select(Venue.id).order_by(Venue.id)
    if can_administer(user):
        return query
    return query.where(Venue.id.in_(venues_managed_by(user.id)))
