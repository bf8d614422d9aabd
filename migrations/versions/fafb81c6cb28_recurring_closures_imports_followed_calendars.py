"""recurring closures, imported bookings and followed calendars

- closure_rule: a closure that comes back every week, every year or on each public
  holiday; its occurrences are closure rows (closure.rule_id) written some two years
  ahead and moved on by a periodic job, so that "what is closed then?" stays one
  indexed range query and the feed-stamp triggers of closure see each occurrence;
- followed_calendar: an iCal address a venue follows; its events are closure rows
  (closure.calendar_id) that hold the calendar's label only;
- calendar_import, imported_event: an uploaded .ics or .csv between its preview and
  its import, and the digests of what was imported, so that a second import of the
  same file adds nothing.

On SQLite the closure table is rebuilt to take its two foreign keys: no table refers
to it, and its feed-stamp triggers are reinstalled after the run.

Revision ID: fafb81c6cb28
Revises: d1a7f3c9b2e5
Create Date: 2026-12-06 21:27:41.041788

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'fafb81c6cb28'
down_revision = 'd1a7f3c9b2e5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('calendar_import',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('venue_id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('format', sa.Enum('ics', 'csv', name='import_format', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('mapping', sa.JSON(), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_calendar_import_created_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['venue_id'], ['venue.id'], name=op.f('fk_calendar_import_venue_id_venue'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_import'))
    )
    with op.batch_alter_table('calendar_import', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_import_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_calendar_import_venue_id'), ['venue_id'], unique=False)

    op.create_table('closure_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('venue_id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=True),
    sa.Column('frequency', sa.Enum('weekly', 'yearly', 'holidays', name='closure_frequency', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('start_time', sa.Time(), nullable=True),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('end_time', sa.Time(), nullable=True),
    sa.Column('until', sa.Date(), nullable=True),
    sa.Column('country', sa.String(length=2), server_default='', nullable=False),
    sa.Column('subdivision', sa.String(length=10), server_default='', nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('reason_public', sa.Boolean(), nullable=False),
    sa.Column('expanded_until', sa.Date(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('last_day >= first_day', name=op.f('ck_closure_rule_last_after_first')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_closure_rule_created_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['resource_id'], ['resource.id'], name=op.f('fk_closure_rule_resource_id_resource'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['venue_id'], ['venue.id'], name=op.f('fk_closure_rule_venue_id_venue'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_closure_rule'))
    )
    with op.batch_alter_table('closure_rule', schema=None) as batch_op:
        batch_op.create_index('ix_closure_rule_expanded', ['expanded_until'], unique=False)
        batch_op.create_index(batch_op.f('ix_closure_rule_venue_id'), ['venue_id'], unique=False)

    op.create_table('followed_calendar',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('venue_id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=True),
    sa.Column('label', sa.String(length=80), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('etag', sa.String(length=200), server_default='', nullable=False),
    sa.Column('last_modified', sa.String(length=100), server_default='', nullable=False),
    sa.Column('digest', sa.String(length=64), server_default='', nullable=False),
    sa.Column('busy_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('expanded_until', sa.Date(), nullable=True),
    sa.Column('last_success_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=40), server_default='', nullable=False),
    sa.Column('last_error_detail', sa.String(length=200), server_default='', nullable=False),
    sa.Column('last_error_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('failing_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_followed_calendar_created_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['resource_id'], ['resource.id'], name=op.f('fk_followed_calendar_resource_id_resource'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['venue_id'], ['venue.id'], name=op.f('fk_followed_calendar_venue_id_venue'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_followed_calendar'))
    )
    with op.batch_alter_table('followed_calendar', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_followed_calendar_resource_id'), ['resource_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_followed_calendar_venue_id'), ['venue_id'], unique=False)

    op.create_table('imported_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('venue_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('reservation_id', sa.Integer(), nullable=True),
    sa.Column('import_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['calendar_import.id'], name=op.f('fk_imported_event_import_id_calendar_import'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reservation_id'], ['reservation.id'], name=op.f('fk_imported_event_reservation_id_reservation'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['venue_id'], ['venue.id'], name=op.f('fk_imported_event_venue_id_venue'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_imported_event'))
    )
    with op.batch_alter_table('imported_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_imported_event_import_id'), ['import_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_imported_event_reservation_id'), ['reservation_id'], unique=False)
        batch_op.create_index('ix_imported_event_venue_key', ['venue_id', 'key'], unique=True)

    # closure is rebuilt on SQLite (a foreign key cannot be added in place there): no
    # table refers to it, and its feed-stamp triggers are reinstalled after every
    # migration run (booking.models.feeds.install_triggers).
    with op.batch_alter_table('closure', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rule_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('calendar_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_closure_calendar_starts', ['calendar_id', 'starts_at'], unique=False)
        batch_op.create_index('ix_closure_rule_starts', ['rule_id', 'starts_at'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_closure_calendar_id_followed_calendar'), 'followed_calendar', ['calendar_id'], ['id'], ondelete='CASCADE')
        batch_op.create_foreign_key(batch_op.f('fk_closure_rule_id_closure_rule'), 'closure_rule', ['rule_id'], ['id'], ondelete='SET NULL')


def downgrade():
    # The occurrences and busy times go with what made them; one-off closures stay.
    op.execute("DELETE FROM closure WHERE calendar_id IS NOT NULL OR rule_id IS NOT NULL")
    with op.batch_alter_table('closure', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_closure_rule_id_closure_rule'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_closure_calendar_id_followed_calendar'), type_='foreignkey')
        batch_op.drop_index('ix_closure_rule_starts')
        batch_op.drop_index('ix_closure_calendar_starts')
        batch_op.drop_column('calendar_id')
        batch_op.drop_column('rule_id')

    with op.batch_alter_table('imported_event', schema=None) as batch_op:
        batch_op.drop_index('ix_imported_event_venue_key')
        batch_op.drop_index(batch_op.f('ix_imported_event_reservation_id'))
        batch_op.drop_index(batch_op.f('ix_imported_event_import_id'))

    op.drop_table('imported_event')
    with op.batch_alter_table('followed_calendar', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_followed_calendar_venue_id'))
        batch_op.drop_index(batch_op.f('ix_followed_calendar_resource_id'))

    op.drop_table('followed_calendar')
    with op.batch_alter_table('closure_rule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_closure_rule_venue_id'))
        batch_op.drop_index('ix_closure_rule_expanded')

    op.drop_table('closure_rule')
    with op.batch_alter_table('calendar_import', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendar_import_venue_id'))
        batch_op.drop_index(batch_op.f('ix_calendar_import_created_at'))

    op.drop_table('calendar_import')
