"""outbox: messages held after a restore, and the mail server a message waits on

- outbox_message.status may be 'held': a message that was being sent when the
  restored backup was taken waits for an administrator to send or drop it;
- outbox_message.waiting_on: the mail server that could not be reached at the
  message's last try, so that the first message it accepts again sends the
  others waiting on it at once.

A CHECK constraint is changed by rebuilding the table on SQLite. The outbox
may be rebuilt: no table refers to it and no trigger watches it (the brief
forbids rebuilding tables that others refer to, whose rows a rebuild with
foreign keys on would cascade away).

Revision ID: 576e604afc2d
Revises: 9eeb11ee391e
Create Date: 2026-11-30 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '576e604afc2d'
down_revision = '9eeb11ee391e'
branch_labels = None
depends_on = None

STATUSES_BEFORE = ('pending', 'sending', 'sent', 'failed', 'dropped')
STATUSES = (*STATUSES_BEFORE, 'held')
CHECK_NAME = 'ck_outbox_message_outbox_message_status'


def _enum(values):
    return sa.Enum(
        *values, name='outbox_message_status', native_enum=False, create_constraint=True, length=20
    )


def _check(values):
    return "status IN (" + ", ".join(f"'{value}'" for value in values) + ")"


def upgrade():
    waiting_on = sa.Column('waiting_on', sa.String(length=200), nullable=True)
    if op.get_bind().dialect.name == 'sqlite':
        with op.batch_alter_table('outbox_message', recreate='always') as batch_op:
            batch_op.add_column(waiting_on)
            batch_op.alter_column(
                'status',
                existing_type=_enum(STATUSES_BEFORE),
                type_=_enum(STATUSES),
                existing_nullable=False,
            )
    else:
        op.add_column('outbox_message', waiting_on)
        op.drop_constraint(op.f(CHECK_NAME), 'outbox_message', type_='check')
        op.create_check_constraint(op.f(CHECK_NAME), 'outbox_message', _check(STATUSES))


def downgrade():
    # What was held goes back to the administrators as failed, which the old schema knows.
    op.execute("UPDATE outbox_message SET status = 'failed' WHERE status = 'held'")
    if op.get_bind().dialect.name == 'sqlite':
        with op.batch_alter_table('outbox_message', recreate='always') as batch_op:
            batch_op.alter_column(
                'status',
                existing_type=_enum(STATUSES),
                type_=_enum(STATUSES_BEFORE),
                existing_nullable=False,
            )
            batch_op.drop_column('waiting_on')
    else:
        op.drop_constraint(op.f(CHECK_NAME), 'outbox_message', type_='check')
        op.create_check_constraint(
            op.f(CHECK_NAME), 'outbox_message', _check(STATUSES_BEFORE)
        )
        op.drop_column('outbox_message', 'waiting_on')
