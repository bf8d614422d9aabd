"""Every kind of message is one class with its template: nothing else names it."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from booking.models import OutboxMessage
from booking.notifications import kinds
from booking.services import outbox

TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "emails"


def test_each_kind_has_its_template_and_each_template_its_kind(app: Flask) -> None:
    templates = {path.stem for path in TEMPLATES.glob("*.txt") if not path.stem.startswith("_")}
    assert set(outbox.KINDS) == templates


def test_each_kind_says_everything_about_itself(app: Flask) -> None:
    width = OutboxMessage.__table__.c.kind.type.length
    for key, found in outbox.KINDS.items():
        assert isinstance(found, kinds.MessageKind), key
        assert found.key == key and len(key) <= width
        assert str(found.label), key
        for part in ("record", "compose", "subject"):
            assert getattr(type(found), part) is not getattr(kinds.MessageKind, part), (key, part)


def test_a_kind_nobody_registered_is_refused_at_once(app: Flask) -> None:
    with pytest.raises(outbox.UnknownKindError):
        outbox.tell(None, None, "no_such_kind")  # type: ignore[arg-type]
