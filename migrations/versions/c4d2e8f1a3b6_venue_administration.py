"""venue administration: closures by date and time, trainings per venue, the administrative log

- closure: a half-open range of instants (was: whole days), a reason that
  may be public, a stable UID, and feed-stamp triggers (closures show in the
  public and managers' feeds);
- qualification: belongs to a venue (existing trainings go to the venue of a
  resource that requires them, else to La Cape, else to the first venue);
  names are unique per venue;
- qualification_grant: the day the training was taken;
- resource: the wording of its buffer; venue: a contact phone and e-mail;
- admin_event: what managers and administrators changed, before and after.

The SQL is written out here, not imported, so that this migration stays what
it was when it ran.

Revision ID: c4d2e8f1a3b6
Revises: c4d2b8e6f013
Create Date: 2026-11-29 18:00:00.000000

"""
import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4d2e8f1a3b6'
down_revision = 'c4d2b8e6f013'
branch_labels = None
depends_on = None

SQLITE_NOW = "(strftime('%Y-%m-%d %H:%M:%f', 'now') || '000')"
POSTGRES_NOW = "now()"

INSTANT = sa.DateTime(timezone=True)


def _bump(select, dialect):
    latest = "max" if dialect == "sqlite" else "greatest"
    return (
        "INSERT INTO feed_stamp (kind, subject_id, version, changed_at) "
        f"{select} "
        "ON CONFLICT (kind, subject_id) DO UPDATE SET "
        "version = feed_stamp.version + 1, "
        f"changed_at = {latest}(feed_stamp.changed_at, excluded.changed_at)"
    )


def _closure(row, at, only_if="true"):
    # A closure shows in its resource's public feed (every resource's feed
    # when the whole venue closes), its venue's public feed and the managers'.
    return [
        f"SELECT 'r', {row}.resource_id, 1, {at} "
        f"WHERE {row}.resource_id IS NOT NULL AND ({only_if})",
        f"SELECT 'r', id, 1, {at} FROM resource "
        f"WHERE {row}.resource_id IS NULL AND venue_id = {row}.venue_id AND ({only_if})",
        f"SELECT 'v', {row}.venue_id, 1, {at} WHERE {only_if}",
        f"SELECT 'm', {row}.venue_id, 1, {at} WHERE {only_if}",
    ]


def _triggers(now):
    moved = "OLD.venue_id <> NEW.venue_id OR OLD.resource_id IS NOT NEW.resource_id"
    moved_pg = "OLD.venue_id <> NEW.venue_id OR OLD.resource_id IS DISTINCT FROM NEW.resource_id"
    return [
        ("feed_stamp_closure_insert", "closure", "INSERT", _closure("NEW", "NEW.updated_at")),
        ("feed_stamp_closure_update", "closure", "UPDATE",
         _closure("NEW", "NEW.updated_at")
         + _closure("OLD", now, moved if now == SQLITE_NOW else moved_pg)),
        ("feed_stamp_closure_delete", "closure", "DELETE", _closure("OLD", now)),
    ]


def _create_triggers(dialect):
    now = SQLITE_NOW if dialect == "sqlite" else POSTGRES_NOW
    for name, table, event, selects in _triggers(now):
        body = "; ".join(_bump(s, dialect) for s in selects)
        if dialect == "sqlite":
            op.execute(
                f'CREATE TRIGGER {name} AFTER {event} ON "{table}" FOR EACH ROW '
                f"BEGIN {body}; END"
            )
        else:
            op.execute(
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN {body}; RETURN NULL; END $$"
            )
            op.execute(
                f'CREATE TRIGGER {name} AFTER {event} ON "{table}" FOR EACH ROW '
                f"EXECUTE FUNCTION {name}()"
            )


def _drop_triggers(dialect):
    for name, table, _event, _selects in _triggers(SQLITE_NOW):
        if dialect == "sqlite":
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        else:
            op.execute(f'DROP TRIGGER IF EXISTS {name} ON "{table}"')
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")


def _utc(value, dialect):
    value = value.astimezone(UTC)
    # SQLite keeps naive UTC text (the application's UTCDateTime type).
    return value.replace(tzinfo=None) if dialect == "sqlite" else value


def _aware(value):
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _reset_sequence(table, dialect):
    if dialect == "postgresql":
        op.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
        )


def _foreign_keys(dialect, enforced):
    """SQLite rebuilds a table to change its constraints: with foreign keys enforced,
    dropping the old copy would delete (ON DELETE CASCADE) or refuse the rows that
    point at it. The pragma only takes effect between transactions (SQLite's DDL is
    not transactional for Alembic anyway), so the one open is committed first."""
    if dialect != "sqlite":
        return
    raw = op.get_bind().connection.dbapi_connection
    reopen = raw.in_transaction
    if reopen:
        raw.execute("COMMIT")
    raw.execute(f"PRAGMA foreign_keys={'ON' if enforced else 'OFF'}")
    if reopen:
        raw.execute("BEGIN")
    if enforced:
        broken = raw.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"foreign keys broken by the migration: {broken}")


def _drop_column(table, column, dialect):
    # SQLite drops a column in place (3.35+): rebuilding the table would lose
    # the feed-stamp triggers declared on it.
    if dialect == "sqlite":
        op.execute(f'ALTER TABLE "{table}" DROP COLUMN {column}')
    else:
        op.drop_column(table, column)


# --- closures ---------------------------------------------------------------------


def _create_closure_table():
    op.create_table('closure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.String(length=36), nullable=False),
    sa.Column('venue_id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=True),
    sa.Column('starts_at', INSTANT, nullable=False),
    sa.Column('ends_at', INSTANT, nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('reason_public', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', INSTANT, nullable=False),
    sa.Column('updated_at', INSTANT, nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_closure_ends_after_starts')),
    sa.CheckConstraint('sequence >= 0', name=op.f('ck_closure_sequence_nonnegative')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_closure_created_by_id_user')),
    sa.ForeignKeyConstraint(['resource_id'], ['resource.id'], name=op.f('fk_closure_resource_id_resource'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['venue_id'], ['venue.id'], name=op.f('fk_closure_venue_id_venue'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_closure')),
    sa.UniqueConstraint('uid', name=op.f('uq_closure_uid'))
    )
    with op.batch_alter_table('closure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_closure_resource_id'), ['resource_id'], unique=False)
        batch_op.create_index('ix_closure_venue_ends', ['venue_id', 'ends_at'], unique=False)


def _create_old_closure_table():
    op.create_table('closure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('venue_id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=True),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.CheckConstraint('ends_on >= starts_on', name=op.f('ck_closure_ends_after_starts')),
    sa.ForeignKeyConstraint(['resource_id'], ['resource.id'], name=op.f('fk_closure_resource_id_resource'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['venue_id'], ['venue.id'], name=op.f('fk_closure_venue_id_venue'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_closure'))
    )
    with op.batch_alter_table('closure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_closure_resource_id'), ['resource_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_closure_venue_id'), ['venue_id'], unique=False)


def _zones(bind):
    return {
        venue_id: ZoneInfo(timezone or "Europe/Paris")
        for venue_id, timezone in bind.execute(sa.text("SELECT id, timezone FROM venue"))
    }


def _closures_to_instants(bind, dialect):
    """Whole days [starts_on, ends_on] become [local midnight, local midnight after ends_on)."""
    zones = _zones(bind)
    rows = bind.execute(
        sa.text("SELECT id, venue_id, resource_id, starts_on, ends_on, reason FROM closure")
    ).all()
    with op.batch_alter_table('closure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_closure_venue_id'))
        batch_op.drop_index(batch_op.f('ix_closure_resource_id'))
    op.drop_table('closure')
    _create_closure_table()
    now = datetime.now(UTC)
    table = sa.table(
        'closure', sa.column('id'), sa.column('uid'), sa.column('venue_id'),
        sa.column('resource_id'), sa.column('starts_at', INSTANT), sa.column('ends_at', INSTANT),
        sa.column('reason'), sa.column('reason_public'), sa.column('created_at', INSTANT),
        sa.column('updated_at', INSTANT), sa.column('sequence'),
    )
    values = []
    for closure_id, venue_id, resource_id, starts_on, ends_on, reason in rows:
        if isinstance(starts_on, str):
            starts_on, ends_on = (datetime.fromisoformat(d).date() for d in (starts_on, ends_on))
        zone = zones.get(venue_id, ZoneInfo("Europe/Paris"))
        start = datetime.combine(starts_on, time(0), tzinfo=zone)
        end = datetime.combine(ends_on + timedelta(days=1), time(0), tzinfo=zone)
        values.append({
            "id": closure_id, "uid": str(uuid.uuid4()), "venue_id": venue_id,
            "resource_id": resource_id, "starts_at": _utc(start, dialect),
            "ends_at": _utc(end, dialect), "reason": reason or "",
            # Closures so far were shown with their reason on the venue's page.
            "reason_public": True, "created_at": _utc(now, dialect),
            "updated_at": _utc(now, dialect), "sequence": 0,
        })
    if values:
        op.bulk_insert(table, values)
    _reset_sequence('closure', dialect)


def _closures_to_days(bind, dialect):
    zones = _zones(bind)
    rows = bind.execute(
        sa.text("SELECT id, venue_id, resource_id, starts_at, ends_at, reason FROM closure")
    ).all()
    with op.batch_alter_table('closure', schema=None) as batch_op:
        batch_op.drop_index('ix_closure_venue_ends')
        batch_op.drop_index(batch_op.f('ix_closure_resource_id'))
    op.drop_table('closure')
    _create_old_closure_table()
    table = sa.table(
        'closure', sa.column('id'), sa.column('venue_id'), sa.column('resource_id'),
        sa.column('starts_on', sa.Date()), sa.column('ends_on', sa.Date()), sa.column('reason'),
    )
    values = []
    for closure_id, venue_id, resource_id, starts_at, ends_at, reason in rows:
        zone = zones.get(venue_id, ZoneInfo("Europe/Paris"))
        first = _aware(starts_at).astimezone(zone).date()
        last = (_aware(ends_at) - timedelta(microseconds=1)).astimezone(zone).date()
        values.append({
            "id": closure_id, "venue_id": venue_id, "resource_id": resource_id,
            "starts_on": first, "ends_on": max(first, last), "reason": reason or "",
        })
    if values:
        op.bulk_insert(table, values)
    _reset_sequence('closure', dialect)


# --- trainings ----------------------------------------------------------------------


def _trainings_to_venues(bind):
    # The venue of a resource that requires the training; else La Cape (the
    # demo's laser training); else the first venue. With no venue at all, a
    # training has nowhere to belong: it goes, with its grants.
    op.execute(
        "UPDATE qualification SET venue_id = (SELECT min(resource.venue_id) FROM resource "
        "WHERE resource.qualification_id = qualification.id)"
    )
    fallback = bind.execute(
        sa.text("SELECT id FROM venue WHERE slug = 'la-cape' UNION ALL "
                "SELECT min(id) FROM venue")
    ).scalars().first()
    if fallback is not None:
        op.execute(
            sa.text("UPDATE qualification SET venue_id = :venue WHERE venue_id IS NULL")
            .bindparams(venue=fallback)
        )
    else:
        op.execute("DELETE FROM qualification_grant WHERE qualification_id IN "
                   "(SELECT id FROM qualification WHERE venue_id IS NULL)")
        op.execute("DELETE FROM qualification WHERE venue_id IS NULL")


def _grant_days(bind, dialect):
    rows = bind.execute(sa.text("SELECT id, granted_at FROM qualification_grant")).all()
    for grant_id, granted_at in rows:
        op.execute(
            sa.text("UPDATE qualification_grant SET granted_on = :day WHERE id = :id")
            .bindparams(day=_aware(granted_at).astimezone(ZoneInfo("Europe/Paris")).date(),
                        id=grant_id)
        )


def upgrade():
    bind = op.get_bind()
    dialect = bind.dialect.name
    _foreign_keys(dialect, False)

    with op.batch_alter_table('venue', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone', sa.String(length=40), server_default='', nullable=False))
        batch_op.add_column(sa.Column('email', sa.String(length=254), server_default='', nullable=False))

    with op.batch_alter_table('resource', schema=None) as batch_op:
        batch_op.add_column(sa.Column('buffer_reason', sa.String(length=120), server_default='', nullable=False))

    with op.batch_alter_table('qualification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('venue_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('created_at', INSTANT, nullable=True))
    _trainings_to_venues(bind)
    op.execute(
        sa.text("UPDATE qualification SET created_at = :now")
        .bindparams(sa.bindparam("now", _utc(datetime.now(UTC), dialect), type_=INSTANT))
    )
    with op.batch_alter_table('qualification', schema=None) as batch_op:
        batch_op.alter_column('venue_id', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('created_at', existing_type=INSTANT, nullable=False)
        batch_op.drop_constraint(batch_op.f('uq_qualification_name'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_qualification_venue_id'), ['venue_id', 'name'])
        batch_op.create_foreign_key(batch_op.f('fk_qualification_venue_id_venue'), 'venue', ['venue_id'], ['id'], ondelete='CASCADE')

    with op.batch_alter_table('qualification_grant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('granted_on', sa.Date(), nullable=True))
    _grant_days(bind, dialect)
    with op.batch_alter_table('qualification_grant', schema=None) as batch_op:
        batch_op.alter_column('granted_on', existing_type=sa.Date(), nullable=False)

    _closures_to_instants(bind, dialect)

    op.create_table('admin_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('venue_id', sa.Integer(), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=True),
    sa.Column('label', sa.String(length=300), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=True),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('created_at', INSTANT, nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user.id'], name=op.f('fk_admin_event_actor_id_user')),
    sa.ForeignKeyConstraint(['member_id'], ['user.id'], name=op.f('fk_admin_event_member_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['resource_id'], ['resource.id'], name=op.f('fk_admin_event_resource_id_resource'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['venue_id'], ['venue.id'], name=op.f('fk_admin_event_venue_id_venue'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admin_event'))
    )
    with op.batch_alter_table('admin_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_admin_event_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_admin_event_member_id'), ['member_id'], unique=False)
        batch_op.create_index('ix_admin_event_venue_created', ['venue_id', 'created_at'], unique=False)

    _create_triggers(dialect)
    # Feeds now show closures: every feed's stamp moves, so that calendars
    # holding an old copy fetch the new one.
    op.execute("UPDATE feed_stamp SET version = version + 1")
    _foreign_keys(dialect, True)


def downgrade():
    bind = op.get_bind()
    dialect = bind.dialect.name
    _foreign_keys(dialect, False)
    _drop_triggers(dialect)

    with op.batch_alter_table('admin_event', schema=None) as batch_op:
        batch_op.drop_index('ix_admin_event_venue_created')
        batch_op.drop_index(batch_op.f('ix_admin_event_member_id'))
        batch_op.drop_index(batch_op.f('ix_admin_event_created_at'))
    op.drop_table('admin_event')

    _closures_to_days(bind, dialect)

    with op.batch_alter_table('qualification_grant', schema=None) as batch_op:
        batch_op.drop_column('granted_on')

    # Names were unique per venue; they must be unique again.
    op.execute(
        "UPDATE qualification SET name = name || ' (' || venue_id || ')' WHERE id NOT IN "
        "(SELECT min(id) FROM qualification GROUP BY name)"
    )
    with op.batch_alter_table('qualification', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_qualification_venue_id_venue'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_qualification_venue_id'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_qualification_name'), ['name'])
        batch_op.drop_column('created_at')
        batch_op.drop_column('venue_id')

    _drop_column('resource', 'buffer_reason', dialect)
    _drop_column('venue', 'email', dialect)
    _drop_column('venue', 'phone', dialect)
    _foreign_keys(dialect, True)
