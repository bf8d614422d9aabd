"""Secret feed tokens: minting and finding their owner.

A private feed URL carries a token: 160 bits of the HMAC of the account's id,
the kind of feed and the account's ``feed_token_version``, under the
application's secret key. Nothing of the account shows in it. The database
keeps a digest of each current token (``User.member_feed_key``,
``manager_feed_key``) to find the account in one indexed query; the token
itself is never stored, yet the profile page can show it again at any time.
Bumping the version revokes every link handed out so far. Changing SECRET_KEY
changes every link too (the profile page then shows, and records, the new ones).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from typing import Any

from flask import current_app

from ..models import User

MEMBER = "u"
MANAGER = "m"
KINDS = (MEMBER, MANAGER)
_MAC_BYTES = 24  # 192 bits of secret
TOKEN_LENGTH = 32  # base64 of 24 bytes
_TOKEN_RE = re.compile(rf"[A-Za-z0-9_-]{{{TOKEN_LENGTH}}}")
_KEY_COLUMN = {MEMBER: "member_feed_key", MANAGER: "manager_feed_key"}


def _key() -> bytes:
    key = current_app.config.get("FEED_TOKEN_KEY") or current_app.config["SECRET_KEY"]
    return key.encode() if isinstance(key, str) else key


def _mac(kind: str, user_id: int, version: int) -> bytes:
    message = f"booking.feed-token\x00{kind}\x00{user_id}\x00{version}".encode()
    return hmac.new(_key(), message, hashlib.sha256).digest()[:_MAC_BYTES]


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def make_token(user: User, kind: str) -> str:
    """The account's current token for ``kind``; records its digest on ``user`` (the
    caller commits) so that the feed can find the account."""
    if kind not in KINDS:
        raise ValueError(kind)
    token = base64.urlsafe_b64encode(_mac(kind, user.id, user.feed_token_version)).decode()
    token = token.rstrip("=")
    if getattr(user, _KEY_COLUMN[kind]) != digest(token):
        setattr(user, _KEY_COLUMN[kind], digest(token))
    return token


def key_column(kind: str) -> Any:
    """The column holding the digest of the current token of ``kind``."""
    return getattr(User, _KEY_COLUMN[kind])


def is_well_formed(token: str, kind: str) -> bool:
    return kind in KINDS and bool(_TOKEN_RE.fullmatch(token))


def is_current(token: str, kind: str, user_id: int, version: int) -> bool:
    """Whether ``token`` is the account's current token (the digest found it; the MAC
    proves it was made with today's secret key and version)."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(raw, _mac(kind, user_id, version))


def revoke_tokens(user: User) -> None:
    """Every feed URL handed out to ``user`` so far stops working (caller commits)."""
    user.feed_token_version += 1
    for kind in KINDS:
        make_token(user, kind)
