"""A person's own settings that pages change on the way (the language of the switch)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..database import run_write
from ..models import User

LANGUAGES = ("fr", "en")


def save_language(user_id: int, code: str) -> None:
    """Keep the language chosen with the switch on the account: e-mails and later visits
    on other devices speak it too."""
    if code not in LANGUAGES:
        raise ValueError(f"unknown language {code!r}")

    def work(session: Session) -> None:
        session.execute(sa.update(User).where(User.id == user_id).values(locale=code))

    run_write(work)
