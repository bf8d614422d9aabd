"""Whether a password is good enough: long, not common, not made of the person's own name.

Guessing a password is the cheapest way into an account, so a new password must
have at least ``MIN_LENGTH`` characters and resist the guesses attackers try
first. zxcvbn (a maintained estimator, shipped with its lists of the most
common passwords, names and words, so nothing is fetched) scores how many
guesses a password would take; a phrase of a few words is long and scores well,
which is what the pages suggest. The person's own name and e-mail address are
given to it as words an attacker would try first.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable

MIN_LENGTH = 12
MAX_LENGTH = 200
# zxcvbn's score: 3 is "safely unguessable: moderate protection from offline attacks".
MIN_SCORE = 3
# zxcvbn works on at most this many characters (its cost grows with the length).
_SCORED_LENGTH = 72


class Weakness(enum.StrEnum):
    TOO_SHORT = "too_short"
    PERSONAL = "personal"  # built from the person's name or e-mail address
    COMMON = "common"  # a common password, word or pattern, easy to guess


def _personal_words(about: Iterable[str]) -> list[str]:
    """The person's name and address, whole and cut into words an attacker would try."""
    words: set[str] = set()
    for text in about:
        text = (text or "").strip().lower()
        if not text:
            continue
        words.add(text)
        local = text.split("@", 1)[0]
        words.add(local)
        words.update(part for part in re.split(r"[\W_]+", local) if len(part) >= 3)
    return sorted(words)


def weakness(password: str, about: Iterable[str] = ()) -> Weakness | None:
    """What is wrong with ``password`` for the person described by ``about`` (their name and
    e-mail address), or None if it is good enough."""
    if len(password) < MIN_LENGTH:
        return Weakness.TOO_SHORT
    words = _personal_words(about)
    lowered = password.lower()
    # The address itself, or its part before the @, anywhere in the password.
    if any(len(word) >= 4 and word in lowered for word in words if "@" in word or "." in word):
        return Weakness.PERSONAL
    # Imported when a password is chosen: its lists weigh 12 MB in every worker that
    # loads them, and most workers never see a new password (benchmarks/load.py).
    from zxcvbn import zxcvbn

    result = zxcvbn(password[:_SCORED_LENGTH], user_inputs=words)
    if result["score"] >= MIN_SCORE:
        return None
    # Weak, and mostly the person's own words: say so, it is the more useful advice.
    rest = lowered
    for word in sorted(words, key=len, reverse=True):
        if len(word) >= 3:
            rest = rest.replace(word, "")
    if len(rest) * 2 <= len(password):
        return Weakness.PERSONAL
    return Weakness.COMMON
