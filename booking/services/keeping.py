"""What one process keeps for the minute: work that every request of the same minute,
with the same facts, would do again (a resource's week worked out, worded and laid out
in HTML; the kept parts of the week and resource pages).

Free times start from the minute, so every key of such work holds it, and an entry of
another minute is never asked for again: a store drops all it keeps as soon as work of
another minute is kept, and a quiet site keeps almost nothing. Within the minute, the
least recently used entries go first once there are more than ``max_items`` of them or
their sizes add up to more than ``max_bytes``: however busy the site (every booking
makes a new version of its week), a store never holds more than its budget.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Generic, TypeVar

V = TypeVar("V")


def _no_size(value: object) -> int:
    return 0


class MinuteStore(Generic[V]):
    """Values kept by key for one minute, within a number of entries and of bytes."""

    def __init__(
        self,
        max_items: int,
        max_bytes: int | None = None,
        size: Callable[[V], int] = _no_size,
    ) -> None:
        self.max_items = max_items
        self.max_bytes = max_bytes
        self.size = size
        self.minute: datetime | None = None
        self.items: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self.bytes = 0
        self.lock = threading.Lock()

    def get(self, minute: datetime, key: Hashable) -> V | None:
        with self.lock:
            found = self.items.get(key) if minute == self.minute else None
            if found is None:
                return None
            self.items.move_to_end(key)
            return found[0]

    def keep(self, minute: datetime, key: Hashable, value: V) -> None:
        size = self.size(value)
        if self.max_bytes is not None and size > self.max_bytes:
            return  # larger than the whole budget: not worth evicting everything for
        with self.lock:
            if minute != self.minute:
                # Another minute (a request that began just before the turn, or the
                # tests' clock going back, only costs the work being done again).
                self._empty()
                self.minute = minute
            previous = self.items.pop(key, None)
            if previous is not None:
                self.bytes -= previous[1]
            self.items[key] = (value, size)
            self.bytes += size
            while len(self.items) > self.max_items or (
                self.max_bytes is not None and self.bytes > self.max_bytes
            ):
                _, (_, dropped) = self.items.popitem(last=False)
                self.bytes -= dropped

    def clear(self) -> None:
        with self.lock:
            self._empty()

    def _empty(self) -> None:
        self.items.clear()
        self.bytes = 0
