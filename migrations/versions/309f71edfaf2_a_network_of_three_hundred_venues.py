"""a network of three hundred venues: names the search matches in SQL, the venue of the log

- resource.search_key, venue.search_key: each name folded as the search reads it
  (lower case, no accents, punctuation or spaces), kept beside it by the models
  (booking.models.names), so that the database finds the words asked for instead of
  every resource of the network being read to look for them. Filled here for the
  names that exist.
- audit_event.venue_id, and an index on it and the time: a venue's log and the
  decisions its report counts are a range of that index, instead of the whole
  network's log read newest first until enough of the venue's turn up. A trigger
  (booking.models.reservations.audit_venue_ddl, installed with the feed-stamp
  triggers after every migration run) fills it for each new row; filled here for the
  rows that exist.
- The nightly jobs' indexes: sessions by when last seen, e-mails by when written
  (the purges), trainings by their last day (the reminders of those ending).
- ix_user_name: the administrators' list of accounts by name, a page at a time
  (PostgreSQL only: SQLite sorts its few people itself).
- ix_reservation_pending: the requests waiting for a manager, by resource (a partial
  index: a few among millions), which every manager's page counts, without reading
  the venue's whole history to find them.

Revision ID: 309f71edfaf2
Revises: e7b4c2a9d610
Create Date: 2026-12-07 09:00:00.000000

"""
import unicodedata

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '309f71edfaf2'
down_revision = 'e7b4c2a9d610'
branch_labels = None
depends_on = None


JOB_INDEXES = (
    ("login_session", "last_seen_at"),
    ("outbox_message", "created_at"),
    ("qualification_grant", "expires_on"),
)


def _search_key(name: str) -> str:
    """As booking.models.names.search_key was when this migration was written."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    kept = "".join(c for c in decomposed if c.isalnum() or c.isspace())
    return "".join(kept.split())


def upgrade():
    connection = op.get_bind()
    for table in ("resource", "venue"):
        op.add_column(
            table, sa.Column("search_key", sa.String(length=160), server_default="", nullable=False)
        )
        rows = connection.execute(sa.text(f"SELECT id, name FROM {table}")).all()
        if rows:
            connection.execute(
                sa.text(f"UPDATE {table} SET search_key = :key WHERE id = :id"),
                [{"id": row_id, "key": _search_key(name)} for row_id, name in rows],
            )
    op.add_column("audit_event", sa.Column("venue_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE audit_event SET venue_id = (SELECT resource.venue_id FROM reservation "
        "JOIN resource ON resource.id = reservation.resource_id "
        "WHERE reservation.id = audit_event.reservation_id) WHERE reservation_id IS NOT NULL"
    )
    op.create_index(
        "ix_audit_event_venue_created", "audit_event", ["venue_id", "created_at"], unique=False
    )
    if connection.dialect.name == "postgresql":
        op.create_index(
            "ix_user_name", "user", [sa.text("lower(display_name)"), "id"], unique=False
        )
    # What the nightly jobs look for, by the index of its time.
    for table, column in JOB_INDEXES:
        op.create_index(f"ix_{table}_{column}", table, [column], unique=False)
    op.create_index(
        "ix_reservation_pending",
        "reservation",
        ["resource_id", "starts_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    )


def downgrade():
    for table, column in JOB_INDEXES:
        op.drop_index(f"ix_{table}_{column}", table_name=table)
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_user_name", table_name="user")
    op.drop_index("ix_reservation_pending", table_name="reservation")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_event_venue ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_venue()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_event_venue")
    op.drop_index("ix_audit_event_venue_created", table_name="audit_event")
    op.drop_column("audit_event", "venue_id")
    for table in ("venue", "resource"):
        op.drop_column(table, "search_key")
