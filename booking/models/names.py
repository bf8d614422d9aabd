"""Names as a search reads them: folded, so that "Co-working", "coworking" and "CO WORKING"
meet, and kept folded beside each resource's and venue's name so that the database itself
finds the words asked for."""

from __future__ import annotations

import unicodedata
from typing import Any


def folded(text: str) -> str:
    """Lower case, without accents or punctuation: "Co-working" and "coworking" meet."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept = "".join(c for c in decomposed if c.isalnum() or c.isspace())
    return " ".join(kept.split())


def search_key(name: str) -> str:
    """A name as the search matches words against it: folded, without spaces (a word asked
    may run across two of the name's)."""
    return folded(name).replace(" ", "")


def search_key_default(context: Any) -> str:
    """The key of a row inserted without one (a bulk insert): from the row's name."""
    return search_key(context.get_current_parameters().get("name") or "")
