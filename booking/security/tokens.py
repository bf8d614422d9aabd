"""Secret feed tokens: minting and checking.

A private feed URL carries ``base64url(HMAC ‖ user id)``: the HMAC of the user
id, the kind of feed and the user's ``feed_token_version`` under the
application's secret key, 160 bits of it. Nothing secret is stored, so the
profile page can show the link again at any time; bumping the version revokes
every link handed out so far. Changing SECRET_KEY changes every link too,
which is why the key is kept in ``instance/secret_key``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import struct
from typing import NamedTuple

from flask import current_app

from ..models import User

MEMBER = "u"
MANAGER = "m"
KINDS = (MEMBER, MANAGER)
_MAC_BYTES = 20  # 160 bits of secret
_ID = struct.Struct(">I")
TOKEN_LENGTH = 32  # base64 of 20 + 4 bytes, no padding
_TOKEN_RE = re.compile(rf"[A-Za-z0-9_-]{{{TOKEN_LENGTH}}}")


def _key() -> bytes:
    key = current_app.config.get("FEED_TOKEN_KEY") or current_app.config["SECRET_KEY"]
    return key.encode() if isinstance(key, str) else key


def _mac(kind: str, user_id: int, version: int) -> bytes:
    message = f"booking.feed-token\x00{kind}\x00{user_id}\x00{version}".encode()
    return hmac.new(_key(), message, hashlib.sha256).digest()[:_MAC_BYTES]


def make_token(user: User, kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(kind)
    # The MAC first: links look random from their first character.
    raw = _mac(kind, user.id, user.feed_token_version) + _ID.pack(user.id)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class Claim(NamedTuple):
    """What a token says before it is checked: whose, and its MAC."""

    kind: str
    user_id: int
    mac: bytes


def read_token(token: str, kind: str) -> Claim | None:
    """The claim of a well-formed token; checking it needs the user's version."""
    if kind not in KINDS or not _TOKEN_RE.fullmatch(token):
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    (user_id,) = _ID.unpack(raw[_MAC_BYTES:])
    return Claim(kind, user_id, raw[:_MAC_BYTES])


def is_valid(claim: Claim, version: int | None) -> bool:
    """Whether the claim holds for a user whose token version is ``version``.

    The MAC is compared even when there is no such user (``None``), so that
    timing tells nothing.
    """
    expected = _mac(claim.kind, claim.user_id, version if version is not None else 0)
    return hmac.compare_digest(claim.mac, expected) and version is not None


def user_for_token(token: str, kind: str) -> User | None:
    """The active user whose current token this is, else None."""
    from ..extensions import db

    claim = read_token(token, kind)
    if claim is None:
        return None
    user = db.session.get(User, claim.user_id)
    version = user.feed_token_version if user is not None else None
    if not is_valid(claim, version) or user is None or not user.active:
        return None
    return user


def revoke_tokens(user: User) -> None:
    """Every feed URL handed out to ``user`` so far stops working (caller commits)."""
    user.feed_token_version += 1
