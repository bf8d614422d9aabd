"""Each ORM object's state gets its attribute dict while the object is surely alive.

Why: a crash of CPython 3.11 (SIGSEGV during garbage collection) that SQLAlchemy's
``InstanceState`` meets whenever a session lets go of many objects that refer to each
other (a venue and its resources), as at the end of a request.

CPython 3.11 keeps a new instance's attributes "inline" and moves them into a dict the
first time one is needed: a read of ``__dict__``, or an attribute whose name the class's
shared table of names has no room for. Building that dict allocates memory, and in 3.11
any allocation may run the cyclic garbage collector (3.12 runs it only between bytecodes,
python/cpython gh-97922). When that collection frees the object an ``InstanceState``
stands for, the state's weakref callback (``InstanceState._cleanup``) sets attributes on
the very state whose attributes are being moved: two dicts then own the same attributes,
one frees them, and the other goes on using the freed memory until a later collection
follows a dangling pointer. README.md ("A crash of Python 3.11 …") has a short script
that shows it without SQLAlchemy.

Materialising the state's dict when the object is created or loaded (its caller holds it:
its callback cannot run) leaves nothing to move later, so the collector can no longer
interrupt a move. Python 3.12 and later need none of this.
"""

from __future__ import annotations

import sys
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import attributes

from ..extensions import db

NEEDED = sys.version_info < (3, 12)


def _materialise(target: Any, *_: Any) -> None:
    attributes.instance_state(target).__dict__  # noqa: B018  (the read builds the dict)


def install() -> None:
    """Listen to every model's creation and loading (once per process)."""
    for event in ("init", "load"):
        if not sa.event.contains(db.Model, event, _materialise):
            sa.event.listen(db.Model, event, _materialise, propagate=True)


if NEEDED:
    install()
