"""what a waiting-list entry is for

- waitlist_entry.purpose: what the member typed the slot is for when they asked
  to wait for it; the one-step booking from the "slot freed" e-mail keeps it.

Added in place (plain ADD COLUMN on SQLite too): no table is rebuilt.

Revision ID: b7e4c2a9d815
Revises: fafb81c6cb28
Create Date: 2026-12-08 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7e4c2a9d815'
down_revision = 'fafb81c6cb28'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'waitlist_entry', sa.Column('purpose', sa.Text(), server_default='', nullable=False)
    )


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        # In place (3.35+): a rebuild would drop the triggers and cascade.
        op.execute("ALTER TABLE waitlist_entry DROP COLUMN purpose")
    else:
        op.drop_column('waitlist_entry', 'purpose')
