"""feed stamps: triggers record every change a feed shows, so an unchanged feed costs one query

Replaces feed_state (a fingerprint computed on each request) with feed_stamp,
kept by triggers in the same transaction as each change. The SQL is written
out here, not imported, so that this migration stays what it was when it ran.

Revision ID: a7c3e1f09b52
Revises: 5f0c2a9d7e41
Create Date: 2026-11-29 15:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7c3e1f09b52'
down_revision = '5f0c2a9d7e41'
branch_labels = None
depends_on = None

SQLITE_NOW = "(strftime('%Y-%m-%d %H:%M:%f', 'now') || '000')"
POSTGRES_NOW = "now()"


def _bump(select, dialect):
    latest = "max" if dialect == "sqlite" else "greatest"
    return (
        "INSERT INTO feed_stamp (kind, subject_id, version, changed_at) "
        f"{select} "
        "ON CONFLICT (kind, subject_id) DO UPDATE SET "
        "version = feed_stamp.version + 1, "
        f"changed_at = {latest}(feed_stamp.changed_at, excluded.changed_at)"
    )


def _reservation(row, at, only_if="true"):
    # A reservation shows in its resource's feed, its venue's public and
    # managers' feeds, and its member's feed.
    return [
        f"SELECT 'r', {row}.resource_id, 1, {at} WHERE {only_if}",
        f"SELECT 'v', venue_id, 1, {at} FROM resource WHERE id = {row}.resource_id AND ({only_if})",
        f"SELECT 'm', venue_id, 1, {at} FROM resource WHERE id = {row}.resource_id AND ({only_if})",
        f"SELECT 'u', {row}.user_id, 1, {at} WHERE {only_if}",
    ]


def _triggers(now):
    moved = "OLD.resource_id <> NEW.resource_id OR OLD.user_id <> NEW.user_id"
    return [
        ("feed_stamp_reservation_insert", "reservation", "INSERT",
         _reservation("NEW", "NEW.updated_at")),
        ("feed_stamp_reservation_update", "reservation", "UPDATE",
         _reservation("NEW", "NEW.updated_at") + _reservation("OLD", now, moved)),
        ("feed_stamp_reservation_delete", "reservation", "DELETE",
         _reservation("OLD", now)),
        ("feed_stamp_resource_update", "resource",
         "UPDATE OF name, show_purpose, is_active, venue_id", [
             f"SELECT 'r', NEW.id, 1, {now} WHERE true",
             f"SELECT 'v', NEW.venue_id, 1, {now} WHERE true",
             f"SELECT 'm', NEW.venue_id, 1, {now} WHERE true",
             f"SELECT 'v', OLD.venue_id, 1, {now} WHERE OLD.venue_id <> NEW.venue_id",
             f"SELECT 'm', OLD.venue_id, 1, {now} WHERE OLD.venue_id <> NEW.venue_id",
             f"SELECT DISTINCT 'u', user_id, 1, {now} FROM reservation "
             "WHERE resource_id = NEW.id",
         ]),
        ("feed_stamp_venue_update", "venue",
         "UPDATE OF name, address, timezone, is_active", [
             f"SELECT 'v', NEW.id, 1, {now} WHERE true",
             f"SELECT 'm', NEW.id, 1, {now} WHERE true",
             f"SELECT 'r', id, 1, {now} FROM resource WHERE venue_id = NEW.id",
             f"SELECT DISTINCT 'u', reservation.user_id, 1, {now} FROM reservation "
             "JOIN resource ON resource.id = reservation.resource_id "
             "WHERE resource.venue_id = NEW.id",
         ]),
        # Managers' feeds show members' names and e-mail addresses.
        ("feed_stamp_user_update", "user", "UPDATE OF display_name, email", [
            f"SELECT DISTINCT 'm', resource.venue_id, 1, {now} FROM reservation "
            "JOIN resource ON resource.id = reservation.resource_id "
            "WHERE reservation.user_id = NEW.id",
        ]),
    ]


def upgrade():
    op.create_table('feed_stamp',
    sa.Column('kind', sa.String(length=1), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'subject_id', name=op.f('pk_feed_stamp'))
    )
    op.drop_table('feed_state')

    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name, table, event, selects in _triggers(SQLITE_NOW):
            body = "; ".join(_bump(s, dialect) for s in selects)
            op.execute(
                f'CREATE TRIGGER {name} AFTER {event} ON "{table}" FOR EACH ROW '
                f"BEGIN {body}; END"
            )
    else:
        for name, table, event, selects in _triggers(POSTGRES_NOW):
            body = "; ".join(_bump(s, dialect) for s in selects)
            op.execute(
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN {body}; RETURN NULL; END $$"
            )
            op.execute(
                f'CREATE TRIGGER {name} AFTER {event} ON "{table}" FOR EACH ROW '
                f"EXECUTE FUNCTION {name}()"
            )

    # Stamps for what exists already, so that every feed has one.
    op.execute(
        "INSERT INTO feed_stamp (kind, subject_id, version, changed_at) "
        "SELECT 'r', resource_id, 1, max(updated_at) FROM reservation GROUP BY resource_id"
    )
    op.execute(
        "INSERT INTO feed_stamp (kind, subject_id, version, changed_at) "
        "SELECT 'u', user_id, 1, max(updated_at) FROM reservation GROUP BY user_id"
    )
    for kind in ("v", "m"):
        op.execute(
            "INSERT INTO feed_stamp (kind, subject_id, version, changed_at) "
            f"SELECT '{kind}', resource.venue_id, 1, max(reservation.updated_at) "
            "FROM reservation JOIN resource ON resource.id = reservation.resource_id "
            "GROUP BY resource.venue_id"
        )


def downgrade():
    dialect = op.get_bind().dialect.name
    for name, table, _event, _selects in _triggers(""):
        if dialect == "sqlite":
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        else:
            op.execute(f'DROP TRIGGER IF EXISTS {name} ON "{table}"')
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    op.create_table('feed_state',
    sa.Column('scope', sa.String(length=40), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('last_modified', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('scope', name=op.f('pk_feed_state'))
    )
    op.drop_table('feed_stamp')
