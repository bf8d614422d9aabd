"""Feed stamps: what changed, for the iCal feeds that calendar apps poll.

A calendar app asks every few minutes whether a feed changed. Answering must
cost one indexed query, so every change that a feed shows bumps a stamp in
the same transaction, by database triggers (a row written by hand in psql
counts too). A stamp is a row per subject and kind:

- ``r`` a resource's public feed: its reservations, its closures, its name, its
  venue's name, address and time zone; and its page, which also shows its rules, its
  hours, its training and its venue's details, so changes to these bump it too;
- ``v`` what a venue's public feed and week page show besides its resources' rows:
  the venue's details and hours, resources added, moved or removed;
- ``m`` what the venue's managers' feed shows besides its resources' rows: the names
  and e-mail addresses of the members who booked there;
- ``u`` a member's own feed: their reservations, and the names of the
  resources and venues these are at.

A venue's stamp is never a row of its own that every booking rewrites: that row
would stay locked until each booking's COMMIT, and bookings of different
resources of a venue would queue behind each other. A booking bumps the rows of
its resource and of its member only; a venue's stamp is read as its own row (``v``
or ``m``) with the rows of its resources, in one indexed aggregate (the sum of
their versions, their latest change: ``booking.services.booking.feeds``). Each
row's version only grows, and a resource leaving the venue bumps the venue's own
row (carrying its latest change along), so that the pair read never comes back to
an earlier value and the time of the last change never goes backwards.

The triggers are code, not data: ``_triggers`` below is their one current
definition, and ``install_triggers`` (re)creates them after every migration
run (``migrations/env.py``), like a repeatable migration. That also repairs
them on SQLite, where altering a table rebuilds it and drops its triggers.
The one trigger that is not about feeds, the venue of each audit row
(``models.reservations.audit_venue_ddl``), is installed with them.
``tests/test_schema.py`` checks that a migrated database has every one.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .reservations import AUDIT_VENUE_TRIGGER, audit_venue_ddl
from .types import UTCDateTime


class Audience(enum.StrEnum):
    """Who reads a feed, which decides what its events tell."""

    PUBLIC = "public"  # anyone: a slot is taken, nothing about who
    MEMBER = "member"  # the member's own reservations, in full
    MANAGER = "manager"  # a manager's venues: who booked, and what for


RESOURCE = "r"
VENUE = "v"
MANAGED = "m"
MEMBER = "u"


class FeedStamp(db.Model):
    __tablename__ = "feed_stamp"

    kind: Mapped[str] = mapped_column(sa.String(1), primary_key=True)
    subject_id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=1)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<FeedStamp {self.kind}:{self.subject_id} v{self.version}>"


# --- triggers -----------------------------------------------------------------------
#
# Each trigger runs "bumps": an upsert of the stamps that a query over NEW or
# OLD selects. The time of a reservation's change is its updated_at (the
# services' clock); other changes take the database's clock.

_NOW = {
    "sqlite": "(strftime('%Y-%m-%d %H:%M:%f', 'now') || '000')",
    "postgresql": "now()",
}
# A time before any change: bumping with it leaves a stamp's changed_at as it was.
_NEVER = {
    "sqlite": "'1970-01-01 00:00:00.000000'",
    "postgresql": "'epoch'::timestamptz",
}


def _reservation(row: str, at: str, only_if: str = "true") -> list[str]:
    """A reservation shows in its resource's feed, its venue's public and managers'
    feeds, and its member's feed: the venue's read its resources' rows, so that two
    bookings of different resources never write the same row."""
    return [
        f"SELECT '{RESOURCE}', {row}.resource_id, 1, {at} WHERE {only_if}",
        f"SELECT '{MEMBER}', {row}.user_id, 1, {at} WHERE {only_if}",
    ]


def _closure(row: str, at: str, only_if: str = "true") -> list[str]:
    """A closure shows in its resource's public feed (every resource's feed when the whole
    venue closes), its venue's public feed and the managers'."""
    return [
        f"SELECT '{RESOURCE}', {row}.resource_id, 1, {at} "
        f"WHERE {row}.resource_id IS NOT NULL AND ({only_if})",
        f"SELECT '{RESOURCE}', id, 1, {at} FROM resource "
        f"WHERE {row}.resource_id IS NULL AND venue_id = {row}.venue_id AND ({only_if})",
        f"SELECT '{VENUE}', {row}.venue_id, 1, {at} WHERE {only_if}",
        f"SELECT '{MANAGED}', {row}.venue_id, 1, {at} WHERE {only_if}",
    ]


def _opening(row: str, at: str) -> list[str]:
    """Opening hours show on the week and resource pages: a resource's own hours on its
    page and its venue's week; a venue's hours on the pages of every resource it has."""
    return [
        f"SELECT '{RESOURCE}', {row}.resource_id, 1, {at} WHERE {row}.resource_id IS NOT NULL",
        f"SELECT '{VENUE}', venue_id, 1, {at} FROM resource WHERE id = {row}.resource_id",
        f"SELECT '{VENUE}', {row}.venue_id, 1, {at} WHERE {row}.venue_id IS NOT NULL",
        f"SELECT '{RESOURCE}', id, 1, {at} FROM resource WHERE venue_id = {row}.venue_id",
    ]


def _triggers(now: str, dialect: str = "sqlite") -> list[tuple[str, str, str, list[str]]]:
    """(name, table, event, bumps) of every feed-stamp trigger."""
    moved = "OLD.resource_id <> NEW.resource_id OR OLD.user_id <> NEW.user_id"
    differs = "IS NOT" if dialect == "sqlite" else "IS DISTINCT FROM"
    never = _NEVER[dialect]
    closure_moved = f"OLD.venue_id <> NEW.venue_id OR OLD.resource_id {differs} NEW.resource_id"
    of_reservations = "FROM reservation JOIN resource ON resource.id = reservation.resource_id"
    return [
        (
            "feed_stamp_reservation_insert",
            "reservation",
            "INSERT",
            _reservation("NEW", "NEW.updated_at"),
        ),
        (
            "feed_stamp_reservation_update",
            "reservation",
            "UPDATE",
            _reservation("NEW", "NEW.updated_at") + _reservation("OLD", now, moved),
        ),
        ("feed_stamp_reservation_delete", "reservation", "DELETE", _reservation("OLD", now)),
        ("feed_stamp_closure_insert", "closure", "INSERT", _closure("NEW", "NEW.updated_at")),
        (
            "feed_stamp_closure_update",
            "closure",
            "UPDATE",
            _closure("NEW", "NEW.updated_at") + _closure("OLD", now, closure_moved),
        ),
        ("feed_stamp_closure_delete", "closure", "DELETE", _closure("OLD", now)),
        (
            "feed_stamp_resource_update",
            "resource",
            "UPDATE OF name, show_purpose, is_active, venue_id",
            [
                f"SELECT '{RESOURCE}', NEW.id, 1, {now} WHERE true",
                f"SELECT '{VENUE}', NEW.venue_id, 1, {now} WHERE true",
                f"SELECT '{MANAGED}', NEW.venue_id, 1, {now} WHERE true",
                f"SELECT '{VENUE}', OLD.venue_id, 1, {now} WHERE OLD.venue_id <> NEW.venue_id",
                f"SELECT '{MANAGED}', OLD.venue_id, 1, {now} WHERE OLD.venue_id <> NEW.venue_id",
                f"SELECT DISTINCT '{MEMBER}', user_id, 1, {now} FROM reservation "
                "WHERE resource_id = NEW.id",
            ],
        ),
        (
            "feed_stamp_venue_update",
            "venue",
            "UPDATE OF name, address, timezone, is_active",
            [
                f"SELECT '{VENUE}', NEW.id, 1, {now} WHERE true",
                f"SELECT '{MANAGED}', NEW.id, 1, {now} WHERE true",
                f"SELECT '{RESOURCE}', id, 1, {now} FROM resource WHERE venue_id = NEW.id",
                f"SELECT DISTINCT '{MEMBER}', reservation.user_id, 1, {now} {of_reservations} "
                "WHERE resource.venue_id = NEW.id",
            ],
        ),
        # The public pages (a venue's week, a resource's page) show every rule and
        # detail of the resources and venues, kept while these two stamps stay the same
        # (booking.presentation.fragments): any change bumps them, not only the feeds'.
        # These bumps leave the time of the last change alone (the feeds' Last-Modified):
        # what they are about does not show in a feed.
        (
            "feed_stamp_resource_insert",
            "resource",
            "INSERT",
            [
                f"SELECT '{RESOURCE}', NEW.id, 1, {never} WHERE true",
                f"SELECT '{VENUE}', NEW.venue_id, 1, {never} WHERE true",
            ],
        ),
        (
            "feed_stamp_resource_details_update",
            "resource",
            "UPDATE",
            [
                f"SELECT '{RESOURCE}', NEW.id, 1, {never} WHERE true",
                f"SELECT '{VENUE}', NEW.venue_id, 1, {never} WHERE true",
            ],
        ),
        (
            # The venue's feeds no longer read the resource's row: its own rows carry
            # the resource's latest change, so that their time never goes backwards.
            "feed_stamp_resource_delete",
            "resource",
            "DELETE",
            [
                f"SELECT '{kind}', OLD.venue_id, 1, coalesce((SELECT changed_at FROM "
                f"feed_stamp WHERE kind = '{RESOURCE}' AND subject_id = OLD.id), {never}) "
                "WHERE true"
                for kind in (VENUE, MANAGED)
            ],
        ),
        (
            "feed_stamp_venue_details_update",
            "venue",
            "UPDATE",
            [
                f"SELECT '{VENUE}', NEW.id, 1, {never} WHERE true",
                f"SELECT '{RESOURCE}', id, 1, {never} FROM resource WHERE venue_id = NEW.id",
            ],
        ),
        ("feed_stamp_opening_insert", "opening_period", "INSERT", _opening("NEW", never)),
        (
            "feed_stamp_opening_update",
            "opening_period",
            "UPDATE",
            _opening("NEW", never) + _opening("OLD", never),
        ),
        ("feed_stamp_opening_delete", "opening_period", "DELETE", _opening("OLD", never)),
        (
            "feed_stamp_qualification_update",
            "qualification",
            "UPDATE OF name",
            [
                f"SELECT '{RESOURCE}', id, 1, {never} FROM resource "
                "WHERE qualification_id = NEW.id",
                f"SELECT '{VENUE}', NEW.venue_id, 1, {never} WHERE true",
            ],
        ),
        (
            # Managers' feeds show members' names and e-mail addresses.
            "feed_stamp_user_update",
            "user",
            "UPDATE OF display_name, email",
            [
                f"SELECT DISTINCT '{MANAGED}', resource.venue_id, 1, {now} {of_reservations} "
                "WHERE reservation.user_id = NEW.id",
            ],
        ),
    ]


TRIGGER_NAMES = [name for name, *_ in _triggers("")] + [AUDIT_VENUE_TRIGGER]


def _bump(select: str, dialect: str) -> str:
    latest = "max" if dialect == "sqlite" else "greatest"
    return (
        "INSERT INTO feed_stamp (kind, subject_id, version, changed_at) "
        f"{select} "
        "ON CONFLICT (kind, subject_id) DO UPDATE SET "
        "version = feed_stamp.version + 1, "
        f"changed_at = {latest}(feed_stamp.changed_at, excluded.changed_at)"
    )


def trigger_ddl(dialect: str) -> list[str]:
    """Statements that drop and create every feed-stamp trigger on ``dialect``."""
    statements = []
    for name, table, event, selects in _triggers(_NOW[dialect], dialect):
        body = "; ".join(_bump(select, dialect) for select in selects)
        if dialect == "sqlite":
            statements += [
                f"DROP TRIGGER IF EXISTS {name}",
                f'CREATE TRIGGER {name} AFTER {event} ON "{table}" FOR EACH ROW BEGIN {body}; END',
            ]
        else:
            statements += [
                f'DROP TRIGGER IF EXISTS {name} ON "{table}"',
                f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN {body}; RETURN NULL; END $$",
                f'CREATE TRIGGER {name} AFTER {event} ON "{table}" FOR EACH ROW '
                f"EXECUTE FUNCTION {name}()",
            ]
    return statements


def install_triggers(connection: Connection) -> bool:
    """(Re)create the feed-stamp triggers, if the schema has stamps yet, and the audit
    rows' venue one. Returns whether it did."""
    if not sa.inspect(connection).has_table(FeedStamp.__tablename__):
        return False
    dialect = connection.dialect.name
    for statement in trigger_ddl(dialect) + audit_venue_ddl(dialect):
        connection.exec_driver_sql(statement)
    return True
