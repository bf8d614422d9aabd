"""changing a booking: a pending change holds its slot; confirmations by e-mail

- reservation.replaces_id: a change asked of a confirmed booking on a resource that
  needs approval is a pending row of its own, linked to the booking it would move
  (at most one per booking: a unique index, partial). It holds the slot it asks for like any
  pending request, while the booking keeps its own.
- The PostgreSQL exclusion constraint lets a booking and its pending change overlap
  (they are one booking), and nothing else: ``COALESCE(replaces_id, id) WITH <>``.
- user.notify_confirmations: whether a person wants the e-mail confirming what they
  booked or changed themself (on by default).

On SQLite the columns are added in place: "reservation" and "user" are referred to
by other tables and must not be rebuilt.

Revision ID: e7b4c2a9d013
Revises: 309f71edfaf2
Create Date: 2026-12-12 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e7b4c2a9d013'
down_revision = '309f71edfaf2'
branch_labels = None
depends_on = None

WHERE = "WHERE (exclusive AND status IN ('pending', 'confirmed'))"
RANGE = "tstzrange(starts_at, blocked_until, '[)')"


def _sqlite():
    return op.get_bind().dialect.name == "sqlite"


def upgrade():
    if _sqlite():
        op.execute(
            "ALTER TABLE reservation ADD COLUMN replaces_id INTEGER "
            "CONSTRAINT fk_reservation_replaces_id_reservation "
            "REFERENCES reservation (id)"
        )
        op.execute(
            'ALTER TABLE "user" ADD COLUMN notify_confirmations BOOLEAN DEFAULT 1 NOT NULL'
        )
    else:
        op.add_column('reservation', sa.Column('replaces_id', sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f('fk_reservation_replaces_id_reservation'), 'reservation', 'reservation',
            ['replaces_id'], ['id'],
        )
        op.add_column(
            'user',
            sa.Column('notify_confirmations', sa.Boolean(), server_default=sa.true(), nullable=False),
        )
        op.execute("ALTER TABLE reservation DROP CONSTRAINT ex_reservation_no_overlap")
        op.execute(
            "ALTER TABLE reservation ADD CONSTRAINT ex_reservation_no_overlap "
            f"EXCLUDE USING gist (resource_id WITH =, {RANGE} WITH &&, "
            f"(COALESCE(replaces_id, id)) WITH <>) {WHERE}"
        )
    # Partial: nearly every row has no change, and a planner must not take
    # "replaces_id IS NULL" for a selective condition.
    op.create_index(
        'ix_reservation_replaces_id', 'reservation', ['replaces_id'], unique=True,
        sqlite_where=sa.text('replaces_id IS NOT NULL'),
        postgresql_where=sa.text('replaces_id IS NOT NULL'),
    )


def downgrade():
    op.execute("DELETE FROM reservation WHERE replaces_id IS NOT NULL")
    op.drop_index('ix_reservation_replaces_id', table_name='reservation')
    if _sqlite():
        op.execute('ALTER TABLE "user" DROP COLUMN notify_confirmations')
        op.execute("ALTER TABLE reservation DROP COLUMN replaces_id")
    else:
        op.execute("ALTER TABLE reservation DROP CONSTRAINT ex_reservation_no_overlap")
        op.execute(
            "ALTER TABLE reservation ADD CONSTRAINT ex_reservation_no_overlap "
            f"EXCLUDE USING gist (resource_id WITH =, {RANGE} WITH &&) {WHERE}"
        )
        op.drop_column('user', 'notify_confirmations')
        op.drop_constraint(
            op.f('fk_reservation_replaces_id_reservation'), 'reservation', type_='foreignkey'
        )
        op.drop_column('reservation', 'replaces_id')
