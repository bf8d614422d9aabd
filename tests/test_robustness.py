"""No input produces a 500: hostile headers on the feeds, the administrators' screens on
the demo data. Every route with generated values: tests/test_hostile_input.py."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask

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

FIELDS = [
    "email",
    "password",
    "remember",
    "day",
    "start",
    "end",
    "seats",
    "purpose",
    "member",
    "overrides",
    "starts_on",
    "frequency",
    "interval",
    "weekdays",
    "until",
    "count",
    "action",
    "reason",
    "scope",
    "display_name",
    "locale",
    "current_password",
    "new_password",
    "confirm",
    "r1-reason",
    "message",
    "role",
    "resource",
    "confirm_password",
    "remind_day_before",
    "remind_training_expiry",
    "notify_new_requests",
    "d1-reason",
    # the managers' and administrators' forms
    "ids",
    "series",
    "first_day",
    "start_time",
    "last_day",
    "end_time",
    "reason_public",
    "seen",
    "cancel",
    "d0_0_opens",
    "d0_0_closes",
    "name",
    "kind",
    "description",
    "capacity",
    "requires_approval",
    "qualification_id",
    "slot_minutes",
    "min_duration_minutes",
    "max_duration_minutes",
    "min_notice_minutes",
    "horizon_days",
    "buffer_minutes",
    "buffer_reason",
    "weekly_quota_minutes",
    "show_purpose",
    "granted_on",
    "expires_on",
    "cancel_bookings",
    "address",
    "phone",
    "timezone",
]


def urls(app: Flask, slug_values: list[str], ids: list[str]) -> list[tuple[str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        values: dict[str, list[str]] = {}
        for argument in rule.arguments:
            values[argument] = ids if argument.endswith("_id") else slug_values
        names = list(values)
        # One argument varied at a time around the first (valid) values: a route
        # with several arguments would otherwise multiply them all together.
        combinations = [tuple(values[n][0] for n in names)] if names else [()]
        for i, name in enumerate(names):
            for value in values[name][1:]:
                base = list(combinations[0])
                base[i] = value
                combinations.append(tuple(base))
        for combination in combinations:
            path = rule.rule
            for name, value in zip(names, combination, strict=True):
                path = path.replace(f"<int:{name}>", value).replace(f"<{name}>", value)
            for method in methods:
                found.append((method, path))
    return found


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


def test_no_administration_route_answers_500(app, client, auth, world):
    """The administrators' screens, which the visits above cannot reach, with hostile values."""
    assert auth.login("admin@example.org", "tiers-lieux-demo").status_code == 302
    slugs = ["la-cape", "nope", "a" * 300]
    ids = ["5", "1", "999999"]  # 1 is the administrator: never switched off
    for method, path in urls(app, slugs, ids):
        if not path.startswith("/admin"):
            continue
        if method == "GET":
            for value in HOSTILE[:6]:
                assert client.get(f"{path}?q={value}").status_code < 500, (path, value)
            continue
        for value in HOSTILE:
            response = client.post(path, data={name: value for name in FIELDS})
            assert response.status_code < 500, (path, value)
