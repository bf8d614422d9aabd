"""Hostile headers on the feeds, and the hostile values other tests reuse. Every route
with generated values, as every kind of person: tests/test_hostile_input.py."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from booking.extensions import db
from booking.models import Reservation

HOSTILE = [
    "",
    " ",
    "0",
    "-1",
    "99999999999999999999",
    "2026-02-30",
    "9999-12-31",
    "0001-01-01",
    "25:61",
    "02:30",
    "nan",
    "é" * 5000,
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "\x00",
    "%00",
    "../../etc/passwd",
    "🙂",
]


@pytest.fixture
def world(runner):
    runner.invoke(args=["seed-demo"])
    reservation_id = db.session.scalar(sa.select(sa.func.max(Reservation.id)))
    return str(reservation_id)


def test_hostile_headers_on_feeds_do_not_break(client, world):
    for header in (
        {"If-None-Match": "garbage"},
        {"If-Modified-Since": "not a date"},
        {"If-Modified-Since": "Mon, 01 Jan 0001 00:00:00 GMT"},
        {"If-None-Match": '"' + "a" * 5000 + '"'},
    ):
        response = client.get("/feeds/venues/kpa-moulins.ics", headers=header)
        assert response.status_code == 200
