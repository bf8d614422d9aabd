"""Parts of pages kept while what they show stays the same.

A venue's week and a resource's page are the most visited pages, and everyone
who opens one in the same minute sees the same thing, logged in or not (names
never show there). Their content is rendered once and kept under a key made of
everything it depends on:

- the feed stamp of the venue or resource, which the database bumps in the same
  transaction as any change these pages show: a booking, a closure, a rule, the
  hours, a training's name, the venue's details (``booking.models.feeds``);
- the minute and the venue's day, since free times start from now;
- the week asked for, the language, whether the viewer is logged in, and the
  site's address (the feed links are absolute).

The site chrome around it (menu, messages, the member's name) is rendered on every
request. Each app process keeps its own parts, as UTF-8, for the current minute only
(``booking.services.keeping``): a few dozen at most, and a few megabytes whatever the
size of the venues' pages.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from datetime import date, datetime

from flask import Flask, current_app, request
from flask_babel import get_locale
from flask_login import current_user
from markupsafe import Markup

from ..services.availability.week import next_minute
from ..services.keeping import MinuteStore

EXTENSION = "booking_fragments"
SIZE = 48
# However large the venues: a venue's week is a few kB of HTML per resource.
MAX_BYTES = 4 * 1024 * 1024


class Fragments(MinuteStore[bytes]):
    """The parts one app keeps for the minute, the least recently used dropped first."""

    def __init__(self, size: int = SIZE, max_bytes: int = MAX_BYTES) -> None:
        super().__init__(size, max_bytes, size=len)


def kept(
    subject: tuple[Hashable, ...], now: datetime, today: date, render: Callable[[], str]
) -> Markup:
    """The part of a page about ``subject`` (its kind, id, stamp and the week shown), as
    rendered by ``render`` the first time it is asked in this minute and state."""
    fragments: Fragments = current_app.extensions[EXTENSION]
    minute = next_minute(now)
    key = (
        *subject,
        today,
        str(get_locale()),
        bool(current_user.is_authenticated),
        request.url_root,
    )
    found = fragments.get(minute, key)
    if found is not None:
        return Markup(found.decode())
    html = render()
    fragments.keep(minute, key, html.encode())
    return Markup(html)


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = Fragments()
