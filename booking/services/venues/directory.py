"""The network's venues as the home page lists them: a page at a time, found by name or
town, and a person's own venues; each with its hours and the first of its resources.

However many venues and resources the network holds, a page costs the same few queries
and loads the same number of objects: one page of venues, their opening hours, and at
most ``RESOURCES_SHOWN`` resources of each (with how many there are in all).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from ...models import Membership, Resource, Venue

PAGE_SIZE = 10
RESOURCES_SHOWN = 6
# Words of a search that are looked for (the rest of a long text is ignored).
MAX_WORDS = 6

# Letters a French name or town is written with, and how they are searched: without
# accents, hyphens or apostrophes ("Mons-en-Barœul" is found as "mons en baroeul").
# Upper-case forms are listed because SQLite's lower() leaves them as they are.
_FOLDS = {
    **{c: "a" for c in "àâäáÀÂÄÁ"},
    **{c: "c" for c in "çÇ"},
    **{c: "e" for c in "éèêëÉÈÊË"},
    **{c: "i" for c in "îïíÎÏÍ"},
    **{c: "o" for c in "ôöóÔÖÓ"},
    **{c: "u" for c in "ùûüúÙÛÜÚ"},
    **{c: "y" for c in "ÿŸ"},
    **{c: "n" for c in "ñÑ"},
    **{c: "oe" for c in "œŒ"},
    **{c: "ae" for c in "æÆ"},
    **{c: " " for c in "-'’"},
}
# SQLite's parser refuses calls nested much deeper than 30: the replacements are made in
# stages, each a common table expression of its own (side by side, not nested).
_STAGE = 20


@dataclass(frozen=True)
class Listed:
    """A venue as the home shows it: the first of its active resources, by name, and how
    many it has in all."""

    venue: Venue
    resources: list[Resource] = field(default_factory=list)
    resource_count: int = 0

    @property
    def more_resources(self) -> int:
        return self.resource_count - len(self.resources)


@dataclass(frozen=True)
class VenuePage:
    venues: list[Listed]
    total: int  # venues that match, on every page
    page: int
    pages: int
    words: str  # what was searched, as typed ("" when nothing was)

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def search_words(text: str) -> list[str]:
    """What to look for, folded as the names and towns are: lower case, no accents."""
    folded = "".join(_FOLDS.get(c, c) for c in text.casefold())
    decomposed = unicodedata.normalize("NFKD", folded)
    kept = "".join(c if c.isalnum() else " " for c in decomposed if not unicodedata.combining(c))
    return kept.split()[:MAX_WORDS]


def _searchable() -> sa.CTE:
    """Each venue's id and its name and address folded as ``search_words`` folds, in SQL
    that SQLite and PostgreSQL both run."""
    folds = list(_FOLDS.items())
    source: sa.CTE | None = None
    for start in range(0, len(folds), _STAGE):
        if source is None:
            key, text = Venue.id, sa.func.lower(Venue.name + " " + Venue.address)
        else:
            key, text = source.c.id, source.c.text
        for letter, plain in folds[start : start + _STAGE]:
            text = sa.func.replace(text, letter, plain)
        source = sa.select(key.label("id"), text.label("text")).cte(f"folded_{start // _STAGE}")
    assert source is not None
    return source


_SEARCHABLE = _searchable()


def _matching(words: Sequence[str], active_only: bool) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = [Venue.is_active] if active_only else []
    if words:
        found = sa.select(_SEARCHABLE.c.id).where(
            *(_SEARCHABLE.c.text.contains(word, autoescape=True) for word in words)
        )
        conditions.append(Venue.id.in_(found))
    return conditions


def venue_page(
    session: Session,
    text: str = "",
    page: int = 1,
    *,
    excluding: Collection[int] = (),
    with_resources: bool = True,
    active_only: bool = True,
) -> VenuePage:
    """One page of the active venues (or of all, for administrators), by name, whose name
    or address holds every word of ``text``, ``excluding`` some (a person's own); a page
    past the last shows the last."""
    words = search_words(text)
    conditions = _matching(words, active_only)
    if excluding:
        conditions.append(Venue.id.not_in(list(excluding)))
    total = session.scalar(sa.select(sa.func.count(Venue.id)).where(*conditions)) or 0
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(max(page, 1), pages)
    venues = session.scalars(
        sa.select(Venue)
        .where(*conditions)
        .options(selectinload(Venue.opening_periods))
        .order_by(Venue.name, Venue.id)
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    ).all()
    listed = _with_resources(session, venues) if with_resources else [Listed(v) for v in venues]
    return VenuePage(listed, total, page, pages, text if words else "")


def own_venues(session: Session, user_id: int) -> list[Listed]:
    """The active venues where the person has a role (member or manager), by name, with
    the first of their resources."""
    venues = session.scalars(
        sa.select(Venue)
        .where(
            Venue.is_active,
            Venue.id.in_(sa.select(Membership.venue_id).where(Membership.user_id == user_id)),
        )
        .options(selectinload(Venue.opening_periods))
        .order_by(Venue.name, Venue.id)
    ).all()
    return _with_resources(session, venues)


def _with_resources(session: Session, venues: Sequence[Venue]) -> list[Listed]:
    """The first ``RESOURCES_SHOWN`` active resources of each venue, and their number, in
    one query."""
    if not venues:
        return []
    ranked = (
        sa.select(
            Resource.id,
            sa.func.row_number()
            .over(partition_by=Resource.venue_id, order_by=(Resource.name, Resource.id))
            .label("position"),
            sa.func.count(Resource.id).over(partition_by=Resource.venue_id).label("total"),
        )
        .where(Resource.venue_id.in_([v.id for v in venues]), Resource.is_active)
        .subquery()
    )
    rows = session.execute(
        sa.select(Resource, ranked.c.total)
        .join(ranked, ranked.c.id == Resource.id)
        .where(ranked.c.position <= RESOURCES_SHOWN)
        .order_by(ranked.c.position)
    ).all()
    shown: dict[int, list[Resource]] = {v.id: [] for v in venues}
    totals: dict[int, int] = {}
    for resource, total in rows:
        shown[resource.venue_id].append(resource)
        totals[resource.venue_id] = total
    return [Listed(v, shown[v.id], totals.get(v.id, 0)) for v in venues]


def venue_choices(session: Session, user_id: int | None, asked: str = "") -> list[tuple[str, str]]:
    """The places a search may be narrowed to, as (slug, name): the person's own and the
    one asked for (a link may name any); other places are found by typing their name."""
    own = sa.select(Membership.venue_id).where(Membership.user_id == (user_id or -1))
    return [
        (slug, name)
        for slug, name in session.execute(
            sa.select(Venue.slug, Venue.name)
            .where(Venue.is_active, sa.or_(Venue.id.in_(own), Venue.slug == asked))
            .order_by(Venue.name, Venue.id)
        )
    ]
