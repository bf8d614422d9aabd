"""message kinds without a CHECK constraint; login sessions remember whether they were "remembered"

- outbox_message.kind: the kinds of e-mail grow with the code (one class and one
  template each); the enum in booking.models.outbox still refuses unknown values,
  so the database no longer needs a migration for each new kind. On SQLite the
  table is rebuilt: nothing refers to it and no trigger watches it.
- login_session.remembered: whether the person ticked "stay logged in", which decides
  how long the session may last (booking.services.sessions).
- Names typed with line breaks or tabs before the forms refused them (they broke every
  e-mail to the person): made one line.

Revision ID: d1a7f3c9b2e5
Revises: 576e604afc2d
Create Date: 2026-12-06 21:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd1a7f3c9b2e5'
down_revision = '576e604afc2d'
branch_labels = None
depends_on = None

KIND_CHECK = 'ck_outbox_message_outbox_message_kind'
# As booking.models.outbox.MessageKind was before this migration (for the downgrade).
MESSAGE_KINDS = (
    'request_to_decide', 'signup_to_decide', 'booked_for_you', 'accepted', 'refused',
    'cancelled_by_manager', 'cancelled_by_closure', 'cancelled_by_you', 'expired', 'reminder',
    'slot_freed', 'invitation', 'welcome', 'signup_declined', 'password_reset', 'role_granted',
    'role_removed', 'training_granted', 'training_expiring',
)


# Where people's names are kept.
NAMES = (("user", "display_name"), ("invitation", "display_name"), ("signup_request", "display_name"))


def upgrade():
    for table, column in NAMES:
        cleaned = f'"{column}"'
        for character in ("char(13)", "char(10)", "char(9)") if _sqlite() else ("chr(13)", "chr(10)", "chr(9)"):
            cleaned = f"replace({cleaned}, {character}, ' ')"
        op.execute(f'UPDATE "{table}" SET "{column}" = trim({cleaned}) WHERE "{column}" <> trim({cleaned})')
    if _sqlite():
        with op.batch_alter_table('outbox_message', recreate='always') as batch_op:
            batch_op.drop_constraint(op.f(KIND_CHECK), type_='check')
        op.execute(
            "ALTER TABLE login_session ADD COLUMN remembered BOOLEAN DEFAULT 0 NOT NULL"
        )
    else:
        op.drop_constraint(op.f(KIND_CHECK), 'outbox_message', type_='check')
        op.add_column(
            'login_session',
            sa.Column('remembered', sa.Boolean(), server_default=sa.false(), nullable=False),
        )


def _sqlite():
    return op.get_bind().dialect.name == "sqlite"


def downgrade():
    kinds = ", ".join(f"'{kind}'" for kind in MESSAGE_KINDS)
    op.execute(
        "DELETE FROM outbox_message WHERE kind NOT IN (" + kinds + ")"
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE login_session DROP COLUMN remembered")
        with op.batch_alter_table('outbox_message', recreate='always') as batch_op:
            batch_op.create_check_constraint(op.f(KIND_CHECK), f"kind IN ({kinds})")
    else:
        op.drop_column('login_session', 'remembered')
        op.create_check_constraint(op.f(KIND_CHECK), 'outbox_message', f"kind IN ({kinds})")
