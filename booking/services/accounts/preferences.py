"""A person's own settings: the language of the switch, the e-mails they chose to receive."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ...database import run_write
from ...models import User
from ..errors import NotAllowedError

LANGUAGES = ("fr", "en")


def save_language(user_id: int, code: str) -> None:
    """Keep the language chosen with the switch on the account: e-mails and later visits
    on other devices speak it too."""
    if code not in LANGUAGES:
        raise ValueError(f"unknown language {code!r}")

    def work(session: Session) -> None:
        session.execute(sa.update(User).where(User.id == user_id).values(locale=code))

    run_write(work)


def save_email_choices(
    user_id: int,
    *,
    remind_day_before: bool,
    remind_training_expiry: bool,
    notify_new_requests: bool | None,
    notify_confirmations: bool,
) -> None:
    """The e-mails a person chose to receive (``None``: the choice is not theirs to make)."""

    def work(session: Session) -> None:
        user = session.get(User, user_id)
        if user is None:
            raise NotAllowedError("not_found")
        user.remind_day_before = remind_day_before
        user.remind_training_expiry = remind_training_expiry
        user.notify_confirmations = notify_confirmations
        if notify_new_requests is not None:
            user.notify_new_requests = notify_new_requests

    run_write(work)
