"""login sessions that logging out revokes, and feed tokens found by digest, not by account id

Revision ID: c4d81e2a6f10
Revises: a7c3e1f09b52
Create Date: 2026-11-29 16:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4d81e2a6f10'
down_revision = 'a7c3e1f09b52'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('login_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_digest', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_agent', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_login_session_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_session')),
    sa.UniqueConstraint('token_digest', name=op.f('uq_login_session_token_digest'))
    )
    with op.batch_alter_table('login_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_session_user_id'), ['user_id'], unique=False)

    # Feed links are found by the digest of their token, recorded when the
    # profile page first shows them: links handed out before this version
    # (which carried the account's id) stop working and are shown anew.
    # Plain ALTER TABLE and unique indexes: rebuilding "user" on SQLite would
    # cascade-delete every row that refers to it (memberships, trainings).
    op.add_column('user', sa.Column('member_feed_key', sa.String(length=64), nullable=True))
    op.add_column('user', sa.Column('manager_feed_key', sa.String(length=64), nullable=True))
    op.create_index(op.f('ix_user_member_feed_key'), 'user', ['member_feed_key'], unique=True)
    op.create_index(op.f('ix_user_manager_feed_key'), 'user', ['manager_feed_key'], unique=True)


def downgrade():
    op.drop_index(op.f('ix_user_manager_feed_key'), table_name='user')
    op.drop_index(op.f('ix_user_member_feed_key'), table_name='user')
    op.drop_column('user', 'manager_feed_key')
    op.drop_column('user', 'member_feed_key')

    with op.batch_alter_table('login_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_session_user_id'))

    op.drop_table('login_session')
