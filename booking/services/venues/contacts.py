"""Whom to ask at a venue: its managers, for a training, a role or any question."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from ...extensions import db
from ...models import Membership, User
from ...permissions import managerships


def managers_of(venue_ids: Iterable[int]) -> dict[int, list[tuple[str, str]]]:
    """The names and e-mail addresses of each venue's active managers, in one query."""
    wanted = sorted(set(venue_ids))
    contacts: dict[int, list[tuple[str, str]]] = {}
    if not wanted:
        return contacts
    managers = managerships().where(Membership.venue_id.in_(wanted)).subquery()
    rows = db.session.execute(
        sa.select(managers.c.venue_id, User.display_name, User.email)
        .join(User, User.id == managers.c.user_id)
        .where(User.active)
        .order_by(User.display_name)
    )
    for venue_id, name, email in rows:
        contacts.setdefault(venue_id, []).append((name, email))
    return contacts
