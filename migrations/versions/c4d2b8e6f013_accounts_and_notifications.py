"""accounts and notifications: the outbox, invitations, sign-up requests, the waiting list

One table per new aggregate, and three e-mail preferences on each account.
The columns are added to "user" with plain ALTER TABLE (no batch copy), so
that SQLite keeps the feed-stamp triggers that watch that table.

Revision ID: c4d2b8e6f013
Revises: c4d81e2a6f10
Create Date: 2026-11-29 16:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4d2b8e6f013'
down_revision = 'c4d81e2a6f10'
branch_labels = None
depends_on = None


# As booking.models.outbox.MessageKind was when this migration was written.
MESSAGE_KINDS = (
    'request_to_decide', 'signup_to_decide', 'booked_for_you', 'accepted', 'refused',
    'cancelled_by_manager', 'cancelled_by_closure', 'cancelled_by_you', 'expired', 'reminder',
    'slot_freed', 'invitation', 'welcome', 'signup_declined', 'password_reset', 'role_granted',
    'role_removed', 'training_granted', 'training_expiring',
)


def _enum(name, *values):
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=20)


def upgrade():
    op.create_table('outbox_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', _enum('outbox_message_kind', *MESSAGE_KINDS), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=True),
    sa.Column('to_address', sa.String(length=254), nullable=True),
    sa.Column('locale', sa.String(length=5), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=120), nullable=True),
    sa.Column('status', _enum('outbox_message_status', 'pending', 'sending', 'sent', 'failed', 'dropped'), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('sent_to', sa.String(length=254), nullable=False),
    sa.Column('rendered', sa.Text(), nullable=True),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_outbox_message_attempts_nonnegative')),
    sa.CheckConstraint('recipient_id IS NOT NULL OR to_address IS NOT NULL', name=op.f('ck_outbox_message_has_recipient')),
    sa.ForeignKeyConstraint(['recipient_id'], ['user.id'], name=op.f('fk_outbox_message_recipient_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_message')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_outbox_message_dedupe_key'))
    )
    op.create_index(op.f('ix_outbox_message_recipient_id'), 'outbox_message', ['recipient_id'], unique=False)
    op.create_index('ix_outbox_message_status_due', 'outbox_message', ['status', 'due_at'], unique=False)

    op.create_table('invitation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('venue_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('display_name', sa.String(length=120), nullable=False),
    sa.Column('role', _enum('invitation_role', 'member', 'manager'), nullable=False),
    sa.Column('locale', sa.String(length=5), nullable=False),
    sa.Column('nonce', sa.String(length=32), nullable=False),
    sa.Column('invited_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('times_sent', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('email = lower(email)', name=op.f('ck_invitation_email_lowercase')),
    sa.ForeignKeyConstraint(['invited_by_id'], ['user.id'], name=op.f('fk_invitation_invited_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_invitation_user_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['venue_id'], ['venue.id'], name=op.f('fk_invitation_venue_id_venue'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitation'))
    )
    op.create_index(op.f('ix_invitation_email'), 'invitation', ['email'], unique=False)
    op.create_index(op.f('ix_invitation_venue_id'), 'invitation', ['venue_id'], unique=False)

    op.create_table('signup_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('venue_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('display_name', sa.String(length=120), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('locale', sa.String(length=5), nullable=False),
    sa.Column('status', _enum('signup_status', 'pending', 'accepted', 'declined'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('email = lower(email)', name=op.f('ck_signup_request_email_lowercase')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user.id'], name=op.f('fk_signup_request_decided_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_signup_request_user_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['venue_id'], ['venue.id'], name=op.f('fk_signup_request_venue_id_venue'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signup_request'))
    )
    op.create_index('ix_signup_request_venue_status', 'signup_request', ['venue_id', 'status'], unique=False)

    op.create_table('waitlist_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('seats', sa.Integer(), nullable=False),
    sa.Column('status', _enum('waitlist_status', 'waiting', 'booked', 'withdrawn'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('notified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reservation_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_waitlist_entry_ends_after_starts')),
    sa.CheckConstraint('seats >= 1', name=op.f('ck_waitlist_entry_seats_positive')),
    sa.ForeignKeyConstraint(['reservation_id'], ['reservation.id'], name=op.f('fk_waitlist_entry_reservation_id_reservation'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['resource_id'], ['resource.id'], name=op.f('fk_waitlist_entry_resource_id_resource'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_waitlist_entry_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist_entry'))
    )
    op.create_index('ix_waitlist_entry_resource_starts', 'waitlist_entry', ['resource_id', 'starts_at'], unique=False)
    op.create_index(op.f('ix_waitlist_entry_user_id'), 'waitlist_entry', ['user_id'], unique=False)

    for column in ('remind_day_before', 'remind_training_expiry', 'notify_new_requests'):
        op.add_column('user', sa.Column(column, sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade():
    for column in ('notify_new_requests', 'remind_training_expiry', 'remind_day_before'):
        op.drop_column('user', column)
    op.drop_index(op.f('ix_waitlist_entry_user_id'), table_name='waitlist_entry')
    op.drop_index('ix_waitlist_entry_resource_starts', table_name='waitlist_entry')
    op.drop_table('waitlist_entry')
    op.drop_index('ix_signup_request_venue_status', table_name='signup_request')
    op.drop_table('signup_request')
    op.drop_index(op.f('ix_invitation_venue_id'), table_name='invitation')
    op.drop_index(op.f('ix_invitation_email'), table_name='invitation')
    op.drop_table('invitation')
    op.drop_index('ix_outbox_message_status_due', table_name='outbox_message')
    op.drop_index(op.f('ix_outbox_message_recipient_id'), table_name='outbox_message')
    op.drop_table('outbox_message')
