"""tariffs and the outside rate

- tariff: a resource's price from a day on (per hour or per booking, a
  member rate and an outside rate, in cents); a later price is a new row, so
  the rows before it keep saying what earlier bookings cost;
- membership.rate: whether the person pays the member or the outside rate at
  the venue (member by default).

The membership column is added in place (with its CHECK on SQLite too):
rebuilding "membership" on SQLite is what the brief forbids for tables that
others may refer to.

Revision ID: 9eeb11ee391e
Revises: c4d2e8f1a3b6
Create Date: 2026-11-29 16:46:41.064268

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9eeb11ee391e'
down_revision = 'c4d2e8f1a3b6'
branch_labels = None
depends_on = None

RATE_CHECK = "rate IN ('member', 'outside')"


def upgrade():
    op.create_table('tariff',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('unit', sa.Enum('hour', 'booking', name='price_unit', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('member_cents', sa.Integer(), nullable=False),
    sa.Column('outside_cents', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('member_cents >= 0 AND member_cents <= 1000000', name=op.f('ck_tariff_member_range')),
    sa.CheckConstraint('outside_cents >= 0 AND outside_cents <= 1000000', name=op.f('ck_tariff_outside_range')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_tariff_created_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['resource_id'], ['resource.id'], name=op.f('fk_tariff_resource_id_resource'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tariff'))
    )
    op.create_index('ix_tariff_resource_from', 'tariff', ['resource_id', 'valid_from'], unique=True)

    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE membership ADD COLUMN rate VARCHAR(20) DEFAULT 'member' NOT NULL "
            f"CONSTRAINT ck_membership_membership_rate CHECK ({RATE_CHECK})"
        )
    else:
        op.add_column('membership', sa.Column('rate', sa.String(length=20), server_default='member', nullable=False))
        op.create_check_constraint(op.f('ck_membership_membership_rate'), 'membership', RATE_CHECK)


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        # In place (3.35+): a rebuild would cascade through the foreign keys.
        op.execute("ALTER TABLE membership DROP COLUMN rate")
    else:
        op.drop_constraint(op.f('ck_membership_membership_rate'), 'membership', type_='check')
        op.drop_column('membership', 'rate')
    op.drop_index('ix_tariff_resource_from', table_name='tariff')
    op.drop_table('tariff')
