"""trainings promised to an invitation, granted when it is accepted

A manager records that someone invited but not joined yet is already trained
("already trained on the laser", with an optional expiry): the grant is made
when they accept. A new table; no existing table is touched.

Revision ID: e7b4c2a9d610
Revises: b7e4c2a9d815
Create Date: 2027-01-12 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e7b4c2a9d610'
down_revision = 'b7e4c2a9d815'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('promised_training',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invitation_id', sa.Integer(), nullable=False),
    sa.Column('qualification_id', sa.Integer(), nullable=False),
    sa.Column('granted_on', sa.Date(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('promised_by_id', sa.Integer(), nullable=True),
    sa.Column('promised_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invitation_id'], ['invitation.id'], name=op.f('fk_promised_training_invitation_id_invitation'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['promised_by_id'], ['user.id'], name=op.f('fk_promised_training_promised_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['qualification_id'], ['qualification.id'], name=op.f('fk_promised_training_qualification_id_qualification'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promised_training')),
    sa.UniqueConstraint('invitation_id', 'qualification_id', name=op.f('uq_promised_training_invitation_id'))
    )
    with op.batch_alter_table('promised_training', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_promised_training_invitation_id'), ['invitation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_promised_training_qualification_id'), ['qualification_id'], unique=False)


def downgrade():
    with op.batch_alter_table('promised_training', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_promised_training_qualification_id'))
        batch_op.drop_index(batch_op.f('ix_promised_training_invitation_id'))
    op.drop_table('promised_training')
