"""Accounts, their roles at each venue."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask import current_app, has_app_context
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from .types import UTCDateTime, str_enum, utcnow

if TYPE_CHECKING:
    from .resources import QualificationGrant
    from .venues import Venue


class Role(enum.StrEnum):
    MEMBER = "member"
    MANAGER = "manager"


class Rate(enum.StrEnum):
    """Which price someone pays at a venue: the members' rate, or the outside rate (an
    association renting the kitchen, say), as the venue's managers decide."""

    MEMBER = "member"
    OUTSIDE = "outside"


class User(UserMixin, db.Model):
    __tablename__ = "user"
    __table_args__ = (
        sa.CheckConstraint("locale IN ('fr', 'en')", name="locale_known"),
        sa.CheckConstraint("email = lower(email)", name="email_lowercase"),
        # PostgreSQL also has ix_user_name on (lower(display_name), id), made by the
        # migrations and left out of here (migrations/env.py, UNCOMPARED_INDEXES): the
        # administrators' list of accounts by name is a range of it, not a sort of the
        # whole network's people. SQLite sorts its few people itself, and Alembic cannot
        # read an index on an expression back from it.
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(120))
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    locale: Mapped[str] = mapped_column(sa.String(5), default="fr")
    is_admin: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    # Bumped to revoke every feed URL handed out so far (booking.security.tokens).
    feed_token_version: Mapped[int] = mapped_column(default=1)
    # Digests of the current secret feed tokens, to find their owner without
    # putting the account's id in the URL (booking.security.tokens).
    member_feed_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True, index=True)
    manager_feed_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True, index=True)
    # E-mails a person may turn off (the ones about their own bookings always go).
    remind_day_before: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    remind_training_expiry: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    notify_new_requests: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # The confirmation of what the person booked or changed themself, confirmed at once.
    notify_confirmations: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )
    qualification_grants: Mapped[list[QualificationGrant]] = relationship(
        back_populates="user",
        foreign_keys="QualificationGrant.user_id",
        cascade="all, delete-orphan",
    )

    # The login session this object was loaded through (booking.views.access):
    # Flask-Login keeps it in the session and remember cookies instead of the id,
    # so that logging out, or changing the password, revokes copies of them.
    session_token = None  # str once set; not a column

    @property
    def is_active(self) -> bool:  # Flask-Login refuses to log in inactive accounts
        return self.active

    def get_id(self) -> str:
        if self.session_token is None:
            raise RuntimeError("log in through booking.services.accounts.sessions.open_session")
        return self.session_token

    def set_password(self, password: str) -> None:
        method = (
            current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
            if has_app_context()
            else "scrypt"
        )
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class Membership(db.Model):
    """A user's role at one venue: member (may book) or manager (may also decide)."""

    __tablename__ = "membership"
    __table_args__ = (sa.UniqueConstraint("user_id", "venue_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    venue_id: Mapped[int] = mapped_column(sa.ForeignKey("venue.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(str_enum(Role, "membership_role"), default=Role.MEMBER)
    rate: Mapped[Rate] = mapped_column(
        str_enum(Rate, "membership_rate"), default=Rate.MEMBER, server_default=Rate.MEMBER.value
    )

    user: Mapped[User] = relationship(back_populates="memberships")
    venue: Mapped[Venue] = relationship(back_populates="memberships")


class LoginSession(db.Model):
    """One browser logged in to an account; deleting the row logs that browser out.

    Only a digest of the session's token is stored: the cookie alone opens it.
    """

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_digest: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Indexed: the nightly purge finds the sessions left idle too long by it.
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    user_agent: Mapped[str] = mapped_column(sa.String(200), default="")
    # "Stay logged in" was ticked: the session may last weeks rather than hours.
    remembered: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    user: Mapped[User] = relationship()
