"""Whether a link that lets someone in, found in a kept message, still works.

The administrators' messages page shows each message as it was sent, except
for the links that let their holder in (a password to choose, an invitation to
accept): while one still works it belongs to its recipient alone, and the page
says that a link was sent instead of showing it. Once used or expired, it opens
nothing and may be shown. A link that cannot be read is treated as working:
when in doubt, it stays hidden.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app

from ..extensions import db
from ..models import User
from ..security.links import (
    LinkError,
    LinkProblem,
    LinkPurpose,
    read_invitation_link,
    read_password_link,
    still_unused,
)
from ..services.accounts.invitations import open_invitation

# The kinds of link, as presentation.outbox names them from their path.
PASSWORD_PURPOSES = {"reset": LinkPurpose.RESET, "welcome": LinkPurpose.WELCOME}


def _max_age(kind: str) -> timedelta:
    config = current_app.config
    if kind == "reset":
        return timedelta(hours=int(config["PASSWORD_RESET_HOURS"]))
    if kind == "welcome":
        return timedelta(days=int(config["WELCOME_LINK_DAYS"]))
    # The signature's own limit, as the invitation page reads it: the invitation decides.
    return timedelta(days=2 * int(config["INVITATION_DAYS"]))


def may_work(kind: str, token: str, now: datetime) -> bool:
    """False only when the link is known to be used (or replaced) or expired."""
    try:
        if kind == "invitation":
            claim = read_invitation_link(token, _max_age(kind), now)
            open_invitation(db.session, claim.invitation_id, claim.nonce, now)
            return True
        purpose = PASSWORD_PURPOSES.get(kind)
        if purpose is None:
            return True
        password = read_password_link(token, purpose, _max_age(kind), now)
        return still_unused(password, db.session.get(User, password.user_id))
    except LinkError as error:
        return error.problem == LinkProblem.INVALID
