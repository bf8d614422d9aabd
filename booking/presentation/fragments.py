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
request. Each app process keeps its own parts, a few dozen at most, as UTF-8.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import date, datetime

from flask import Flask, current_app, request
from flask_babel import get_locale
from flask_login import current_user
from markupsafe import Markup

from ..services.availability.week import next_minute

EXTENSION = "booking_fragments"
SIZE = 48


class Fragments:
    """The parts one app keeps, the least recently used dropped first."""

    def __init__(self, size: int = SIZE) -> None:
        self.size = size
        self.items: OrderedDict[tuple, bytes] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple) -> str | None:
        with self.lock:
            found = self.items.get(key)
            if found is None:
                return None
            self.items.move_to_end(key)
        return found.decode()

    def keep(self, key: tuple, html: str) -> None:
        with self.lock:
            self.items[key] = html.encode()
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.items.clear()


def kept(
    subject: tuple[Hashable, ...], now: datetime, today: date, render: Callable[[], str]
) -> Markup:
    """The part of a page about ``subject`` (its kind, id, stamp and the week shown), as
    rendered by ``render`` the first time it is asked in this minute and state."""
    fragments: Fragments = current_app.extensions[EXTENSION]
    key = (
        *subject,
        next_minute(now),
        today,
        str(get_locale()),
        bool(current_user.is_authenticated),
        request.url_root,
    )
    html = fragments.get(key)
    if html is None:
        html = render()
        fragments.keep(key, html)
    return Markup(html)


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = Fragments()
