"""Passwords: a link to choose a new one (the answer is the same whether the address has an
account or not), setting it once from the link, changing it on the profile; the person
is told by e-mail when it changes."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ...database import run_write
from ...models import User
from ...security.links import LinkError, LinkProblem, PasswordClaim, still_unused
from .. import outbox
from ..errors import NotAllowedError
from .common import account_of, audit_line, normal_email


def request_password_reset(email: str, now: datetime) -> None:
    """Send a password link to the account of this address, if there is an active one.
    The caller answers the same either way."""
    email = normal_email(email)

    def work(session: Session) -> None:
        user = account_of(session, email)
        if user is not None and user.active:
            outbox.tell(session, now, "password_reset", user_id=user.id)

    run_write(work)


def set_password_from_link(
    claim: PasswordClaim, password: str, now: datetime, *, is_reset: bool
) -> User:
    """Set the password a link allows, once: the check and the change happen under the
    write lock, so two uses of one link cannot both succeed. A reset (not the first
    password of a new account) is told to the person by e-mail."""

    def work(session: Session) -> User:
        user = session.scalar(sa.select(User).where(User.id == claim.user_id).with_for_update())
        if not still_unused(claim, user):
            raise LinkError(LinkProblem.USED)
        assert user is not None
        user.set_password(password)
        audit_line(session, "password_set", user.id, now, "link")
        if is_reset:
            outbox.tell(session, now, "password_changed", user_id=user.id)
        return user

    return run_write(work)


def change_password(user_id: int, password: str, now: datetime) -> None:
    """The person changes their own password (they gave the current one); they are told by
    e-mail, so that a change they did not make does not go unnoticed."""

    def work(session: Session) -> None:
        user = session.get(User, user_id)
        if user is None:
            raise NotAllowedError("not_found")
        user.set_password(password)
        audit_line(session, "password_set", user.id, now, "profile")
        outbox.tell(session, now, "password_changed", user_id=user.id)

    run_write(work)
