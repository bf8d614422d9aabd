"""Signed links sent by e-mail: choosing a password, accepting an invitation.

Each link is signed with the application's secret key (itsdangerous), dated,
and bound to state that using it changes, so that it works once:

- a password link (a reset, or the first password of an account made from an
  accepted request) carries a fingerprint of the account's current password
  hash: once a password is chosen, the hash and so the fingerprint change;
- an invitation link carries the invitation's nonce, which sending it again
  replaces and which accepting or revoking closes.

Reading a link tells why it does not work (tampered, expired, used), so that
the page can say so and offer the way forward.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from ..models import User


class LinkPurpose(enum.StrEnum):
    RESET = "reset"  # a forgotten password
    WELCOME = "welcome"  # the first password of an account made from an accepted request
    INVITATION = "invitation"


class LinkProblem(enum.StrEnum):
    INVALID = "invalid"  # not one of ours, or altered
    EXPIRED = "expired"
    USED = "used"  # already used, or superseded (a newer link, a changed password)


class LinkError(Exception):
    def __init__(self, problem: LinkProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


class _DatedSigner(TimestampSigner):
    """Dates links with the caller's "now" (the application's clock), not the system's."""

    def __init__(self, *args: Any, now: datetime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._now = now

    def get_timestamp(self) -> int:
        return int(self._now.timestamp())


def _serializer(purpose: LinkPurpose, now: datetime) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        current_app.config["SECRET_KEY"],
        salt=f"booking.{purpose}",
        signer=_DatedSigner,
        signer_kwargs={"now": now},
    )


def password_fingerprint(password_hash: str) -> str:
    """A short keyed digest of a password hash: in a link, it says nothing about the hash."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, password_hash.encode(), hashlib.sha256).hexdigest()[:24]


def make_password_link(
    user: User, purpose: LinkPurpose, now: datetime, venue_id: int | None = None
) -> str:
    payload: dict[str, Any] = {"u": user.id, "f": password_fingerprint(user.password_hash)}
    if venue_id is not None:
        payload["v"] = venue_id
    return str(_serializer(purpose, now).dumps(payload))


def make_invitation_link(invitation_id: int, nonce: str, now: datetime) -> str:
    return str(_serializer(LinkPurpose.INVITATION, now).dumps({"i": invitation_id, "n": nonce}))


def _load(token: str, purpose: LinkPurpose, max_age: timedelta, now: datetime) -> dict[str, Any]:
    serializer = _serializer(purpose, now)
    try:
        data = serializer.loads(token, max_age=int(max_age.total_seconds()))
    except SignatureExpired:
        raise LinkError(LinkProblem.EXPIRED) from None
    except BadSignature:
        raise LinkError(LinkProblem.INVALID) from None
    if not isinstance(data, dict):
        raise LinkError(LinkProblem.INVALID)
    return data


@dataclass(frozen=True)
class PasswordClaim:
    user_id: int
    fingerprint: str
    venue_id: int | None


def read_password_link(
    token: str, purpose: LinkPurpose, max_age: timedelta, now: datetime
) -> PasswordClaim:
    data = _load(token, purpose, max_age, now)
    user_id, fingerprint, venue_id = data.get("u"), data.get("f"), data.get("v")
    if not isinstance(user_id, int) or not isinstance(fingerprint, str):
        raise LinkError(LinkProblem.INVALID)
    return PasswordClaim(user_id, fingerprint, venue_id if isinstance(venue_id, int) else None)


def still_unused(claim: PasswordClaim, user: User | None) -> bool:
    """Whether the account's password is still the one the link was made for."""
    if user is None or not user.active:
        return False
    return hmac.compare_digest(claim.fingerprint, password_fingerprint(user.password_hash))


@dataclass(frozen=True)
class InvitationClaim:
    invitation_id: int
    nonce: str


def read_invitation_link(token: str, max_age: timedelta, now: datetime) -> InvitationClaim:
    data = _load(token, LinkPurpose.INVITATION, max_age, now)
    invitation_id, nonce = data.get("i"), data.get("n")
    if not isinstance(invitation_id, int) or not isinstance(nonce, str):
        raise LinkError(LinkProblem.INVALID)
    return InvitationClaim(invitation_id, nonce)
