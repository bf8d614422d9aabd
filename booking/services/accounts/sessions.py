"""Login sessions: opened at login, closed at logout, the others closed when the password
changes, all of them when the account is switched off; ended by time.

Each browser that logs in gets a random token, kept in its (signed) session
and remember cookies; the database keeps only the token's digest. A copy of
a cookie is therefore worth nothing once its session is closed, and one
place, the database, says who is logged in (several app servers agree).

How long a session lasts depends on "stay logged in": without it (a shared
computer at the social centre), a session ends after ``IDLE`` unused and at the
latest ``ABSOLUTE`` after the login; with it, it ends after the remember
cookie's duration whether used or not (an absolute limit too), so that a lost
phone does not stay logged in for ever.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ...database import run_write
from ...extensions import db
from ...models import LoginSession, User

# "Stay logged in": at most this long after the login (the remember cookie lasts as long).
DEFAULT_LIFETIME = timedelta(days=30)
# Without it: this long unused, and this long after the login at the latest.
IDLE = timedelta(hours=4)
ABSOLUTE = timedelta(hours=24)
# last_seen_at is written at most this often: a read should not cost a write.
TOUCH_EVERY = timedelta(minutes=10)


def is_alive(
    created_at: datetime,
    last_seen_at: datetime,
    remembered: bool,
    now: datetime,
    lifetime: timedelta = DEFAULT_LIFETIME,
) -> bool:
    """Whether a session opened at ``created_at`` and last used at ``last_seen_at`` still
    holds at ``now``."""
    if remembered:
        return now < created_at + lifetime
    return now < last_seen_at + IDLE and now < created_at + ABSOLUTE


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(
    user_id: int,
    user_agent: str,
    now: datetime,
    lifetime: timedelta = DEFAULT_LIFETIME,
    *,
    remembered: bool = False,
) -> str:
    """A new session for ``user_id``; returns its token (only its digest is stored)."""
    token = secrets.token_urlsafe(32)

    def work(session: Session) -> None:
        session.execute(
            sa.delete(LoginSession).where(
                LoginSession.user_id == user_id, LoginSession.created_at < now - lifetime
            )
        )
        session.add(
            LoginSession(
                user_id=user_id,
                token_digest=digest(token),
                created_at=now,
                last_seen_at=now,
                user_agent=user_agent[:200],
                remembered=remembered,
            )
        )

    run_write(work)
    return token


def user_for_session(
    token: str, now: datetime, lifetime: timedelta = DEFAULT_LIFETIME
) -> User | None:
    """The active account of an open session, in one query; None for any other token."""
    if not token or len(token) > 100:
        return None
    row = db.session.execute(
        sa.select(
            User,
            LoginSession.id,
            LoginSession.created_at,
            LoginSession.last_seen_at,
            LoginSession.remembered,
        )
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(LoginSession.token_digest == digest(token))
    ).one_or_none()
    if row is None:
        return None
    user, session_id, created, last_seen, remembered = row
    if not user.active or not is_alive(created, last_seen, remembered, now, lifetime):
        return None
    if now - last_seen > TOUCH_EVERY:
        db.session.execute(
            sa.update(LoginSession).where(LoginSession.id == session_id).values(last_seen_at=now)
        )
        db.session.commit()
    user.session_token = token
    return user


def close_session(token: str | None) -> None:
    if not token:
        return
    run_write(
        lambda session: session.execute(
            sa.delete(LoginSession).where(LoginSession.token_digest == digest(token))
        )
    )


def close_all_sessions(session: Session, user_id: int) -> int:
    """Log ``user_id`` out everywhere, in the caller's transaction (an account switched off)."""
    return (
        session.execute(sa.delete(LoginSession).where(LoginSession.user_id == user_id)).rowcount
        or 0
    )


def close_other_sessions(user_id: int, keep_token: str | None) -> int:
    """Log ``user_id`` out of every browser but the one holding ``keep_token``."""

    def work(session: Session) -> int:
        statement = sa.delete(LoginSession).where(LoginSession.user_id == user_id)
        if keep_token:
            statement = statement.where(LoginSession.token_digest != digest(keep_token))
        return session.execute(statement).rowcount or 0

    return run_write(work)


def sessions_of(user_id: int) -> list[LoginSession]:
    return list(
        db.session.scalars(
            sa.select(LoginSession)
            .where(LoginSession.user_id == user_id)
            .order_by(LoginSession.last_seen_at.desc())
        )
    )
