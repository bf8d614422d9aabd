"""feed state: what each iCal feed last served, so Last-Modified never goes backwards

Revision ID: 5f0c2a9d7e41
Revises: eb600afcfe3b
Create Date: 2026-11-26 14:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5f0c2a9d7e41'
down_revision = 'eb600afcfe3b'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('feed_state',
    sa.Column('scope', sa.String(length=40), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('last_modified', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('scope', name=op.f('pk_feed_state'))
    )


def downgrade():
    op.drop_table('feed_state')
