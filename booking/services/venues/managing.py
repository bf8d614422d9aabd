"""Who may change a venue's settings: the venue or resource asked for, and a manager of it.

Every use case of the managers' screens starts here, inside its transaction:
what does not exist and what the person may not manage are the same refusal
(``NotAllowedError``), which views turn into a 404.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from ...models import Resource, User, Venue
from ...permissions import can_manage
from ..booking.lifecycle import lock_resources
from ..errors import NotAllowedError


def manager_of(session: Session, venue_id: int, actor_id: int) -> User:
    """The person acting, if they manage the venue."""
    actor = session.get(User, actor_id)
    if actor is None or not can_manage(actor, venue_id):
        raise NotAllowedError("manage")
    return actor


def managed_venue(session: Session, venue_id: int, actor_id: int) -> tuple[Venue, User]:
    venue = session.get(Venue, venue_id)
    if venue is None:
        raise NotAllowedError("not_found")
    return venue, manager_of(session, venue.id, actor_id)


def locked_resource(session: Session, resource_id: int, actor_id: int) -> tuple[Resource, User]:
    """A resource of a venue the person manages, its row locked first (the writers' order)."""
    lock_resources(session, [resource_id])
    resource = session.get(Resource, resource_id)
    if resource is None:
        raise NotAllowedError("not_found")
    return resource, manager_of(session, resource.venue_id, actor_id)
