"""Hostile input, everywhere: generated values sent to every route of the URL map.

Hypothesis draws, for every route, values for its path, its query string and (for the
actions) its form: control characters and NUL, overlong strings, markup and script,
invalid UTF-8 and broken percent-encoding, dates far in the past or future, malformed
numbers, the other venue's ids and slugs, fields missing or repeated, mixed with
plausible values so that some requests get past the forms to the rules. Each example
walks every route as a visitor, a member, a manager or an administrator, on SQLite and
on PostgreSQL:

- never a 500;
- a refused request (any 4xx) stores nothing: the whole database is the same after it;
- markup is always escaped where a page shows it.
"""

from __future__ import annotations

import inspect
import pkgutil
from collections.abc import Callable, Hashable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import quote_from_bytes

import pytest
import sqlalchemy as sa
from flask import Flask, url_for
from flask.testing import FlaskClient
from flask_wtf import FlaskForm
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from werkzeug.routing import IntegerConverter, Rule
from wtforms.fields.core import UnboundField

import booking.forms
from booking.extensions import db

from .support.fingerprint import fingerprint
from .support.world import EMAILS, World, world_fixture  # noqa: F401

pytestmark = pytest.mark.postgres

ROLES = ("visitor", "member", "manager", "admin")
# Every route is walked, a part of them per test: an example that draws for every route
# at once costs Hypothesis more than the sum of smaller ones.
PARTS = 4
# Routes that would end the visit under test.
LEAVES = {"auth.logout"}
# Columns a request may touch without storing anything a person asked for.
VOLATILE_COLUMNS = {"last_seen_at"}

MARKUP = (
    '<script>alert("hostile")</script>',
    '"><img src=x onerror=alert(1)>',
    "<b id='hostile'>gras</b>",
)
UNESCAPED = ("<script>alert(", "<img src=x", "<b id='hostile'")

SPECIAL = (
    "",
    " ",
    "0",
    "-1",
    "1e309",
    "nan",
    "inf",
    "0x10",
    "3.5",
    "99999999999999999999",
    "-99999999999999999999",
    "0001-01-01",
    "9999-12-31",
    "10000-01-01",
    "2026-02-30",
    "2026-13-01",
    "-0001-01-01",
    "9999-12-31T23:59",
    "0001-01-01T00:00",
    "24:00",
    "25:61",
    "02:30",
    "12:00:00.000001",
    "' OR 1=1 --",
    "../../etc/passwd",
    "🙂",
    "\u202e",
    "\ufeff",
    *MARKUP,
)

QUERY_NAMES = ("q", "role", "venue", "view", "day", "week", "page", "member", "resource", "next")


def form_field_names() -> list[str]:
    """Every field of every form in the app, read from the form classes."""
    names: set[str] = set()
    for module_info in pkgutil.iter_modules(booking.forms.__path__):
        module = __import__(f"booking.forms.{module_info.name}", fromlist=["_"])
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, FlaskForm):
                for name in dir(cls):
                    if isinstance(getattr(cls, name, None), UnboundField):
                        names.add(name)
    return sorted(
        names | set(QUERY_NAMES) | {"action", "after", "pick", "wait", "csrf_token", "pattern"}
    )


NAMES = form_field_names()


def plausible_values(world: World) -> dict[str, list[str]]:
    """Values a form would accept, so that hostile ones arrive one field at a time."""
    day = world.day.isoformat()
    return {
        "day": [day],
        "starts_on": [day],
        "until": [(world.day + timedelta(days=30)).isoformat()],
        "start": ["10:00"],
        "end": ["11:00"],
        "seats": ["1"],
        "count": ["2"],
        "interval": ["1"],
        "frequency": ["weekly"],
        "action": [
            "preview",
            "book",
            "confirm",
            "accept",
            "refuse",
            "send",
            "copy",
            "another",
            "resend",
            "revoke",
            "save",
        ],
        "pattern": ["weekdays", "every_day"],
        "people": ["Nouvelle;nouvelle@example.org\nAutre <autre@example.org>"],
        "trained": [f"{world.ids['training']}:nouvelle@example.org"],
        "copy_from": ["0"],
        "copy_to": ["1", "6"],
        "manager_email": ["nouvelle@example.org"],
        "new_training": ["Sécurité bois"],
        "ids": [str(world.ids["invitation"])],
        "resource": [world.slugs["resource"], world.slugs["other_resource"]],
        "venue": [world.slugs["venue"], world.slugs["other_venue"]],
        "member": [str(world.ids["member"]), str(world.ids["stranger"])],
        "email": [EMAILS["member"], "nouvelle@example.org"],
        "display_name": ["Nouvelle"],
        "purpose": ["Atelier"],
        "reason": ["Parce que"],
    }


def encoded(value: str | bytes) -> str:
    raw = value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value
    return quote_from_bytes(raw, safe="")


def once(world: World, key: Hashable, build: Callable[[], st.SearchStrategy]) -> Any:
    """The strategy ``key`` of this world, built on first use and then kept.

    Hypothesis checks a strategy the first time it draws from it: strategies built
    anew for every draw cost as much time as the requests. The same strategies
    draw the same values whether they are kept or built anew."""
    kept = world.__dict__.setdefault("_strategies", {})
    if key not in kept:
        kept[key] = build()
    return kept[key]


def hostile_text(world: World) -> st.SearchStrategy[str]:
    return once(world, "hostile_text", lambda: _hostile_text(world))


def _hostile_text(world: World) -> st.SearchStrategy[str]:
    ids = [str(value) for value in world.ids.values()]
    return st.one_of(
        st.sampled_from(SPECIAL),
        st.sampled_from(ids + list(world.slugs.values())),
        st.text(max_size=12),
        st.text(st.characters(max_codepoint=0x9F, exclude_categories=()), min_size=1, max_size=6),
        st.builds(
            lambda part, times: part * times,
            st.sampled_from(["é", "a", "<b>", "\x00"]),
            st.sampled_from([101, 256, 1001, 5000]),
        ),
        st.builds(lambda a, b: a + b, st.text(max_size=4), st.sampled_from(MARKUP)),
    )


def wire_value(world: World) -> st.SearchStrategy[str]:
    """A value as it travels in a URL or a form body: percent-encoded, sometimes badly."""
    return once(
        world,
        "wire_value",
        lambda: st.one_of(
            hostile_text(world).map(encoded),
            st.binary(min_size=1, max_size=8).map(encoded),  # mostly invalid UTF-8
            st.sampled_from(["%", "%zz", "%C0%80", "%ED%A0%80", "%FF%FE", "%0", "%00", "+%2B+"]),
        ),
    )


def field_value(world: World, name: str) -> st.SearchStrategy[str]:
    """A value for the field ``name``: hostile, or one a form would accept."""

    def build() -> st.SearchStrategy[str]:
        plausible = plausible_values(world)
        choices = [wire_value(world)]
        if name in plausible:
            choices.append(st.sampled_from(plausible[name]).map(encoded))
        return st.one_of(*choices)

    return once(world, ("field", name), build)


@st.composite
def fields(draw: st.DrawFn, world: World, names: list[str]) -> str:
    """A query string or form body: some fields, hostile or plausible, maybe repeated."""
    chosen = once(world, ("names", *names), lambda: st.lists(st.sampled_from(names), max_size=8))
    pairs = [f"{encoded(name)}={draw(field_value(world, name))}" for name in draw(chosen)]
    if draw(st.booleans()):  # a field named in a hostile way
        pairs.append(f"{draw(wire_value(world))}={draw(wire_value(world))}")
    return "&".join(pairs)


@st.composite
def path_of(draw: st.DrawFn, world: World, rule: Rule) -> str:
    """The rule's URL with each argument the venue's own, the other venue's, or hostile."""
    values = world.url_values(rule)
    other = world.other_values(rule)
    sentinels: dict[str, str] = {}
    arguments: dict[str, Any] = {}
    for index, name in enumerate(sorted(rule.arguments)):
        numeric = isinstance(rule._converters[name], IntegerConverter)
        sentinel = 987_650 + index if numeric else f"sentinel{index}"
        arguments[name] = sentinel

        def argument(name: str = name, numeric: bool = numeric) -> st.SearchStrategy[str]:
            if numeric:
                hostile = st.one_of(
                    st.integers(min_value=0, max_value=2**80).map(str),
                    st.sampled_from(["00001", "2147483648", "9223372036854775808"]),
                )
            else:
                hostile = wire_value(world)
            return st.one_of(
                st.just(values[name]).map(str).map(encoded),
                st.just(other.get(name, values[name])).map(str).map(encoded),
                hostile,
            )

        sentinels[str(sentinel)] = draw(once(world, ("argument", rule.rule, name), argument))
    query = {k: v for k, v in values.items() if k not in rule.arguments}
    url = url_for(rule.endpoint, **arguments, **query)
    for sentinel, value in sentinels.items():
        url = url.replace(sentinel, value, 1)
    return url


def shorten(text: str, keep: int = 400) -> str:
    return text if len(text) <= keep else f"{text[:keep]}… ({len(text)} characters)"


def digest() -> tuple[tuple[str, int, str], ...]:
    """What the database holds, all of it (but the volatile columns), in one statement."""
    return fingerprint(leave_out=VOLATILE_COLUMNS)


def routes(app: Flask) -> list[tuple[Rule, str]]:
    found = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint in LEAVES:
            continue
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        found.extend((rule, method) for method in methods)
    return found


@pytest.mark.slow
@pytest.mark.parametrize("part", range(PARTS))
@pytest.mark.parametrize("role", ROLES)
def test_hostile_values_on_every_route(
    app: Flask, client: FlaskClient, auth, world: World, role: str, part: int
) -> None:
    if role != "visitor":
        assert auth.login(EMAILS[role]).status_code == 302
    every_route = routes(app)[part::PARTS]

    @settings(
        max_examples=4,
        deadline=None,
        database=None,
        derandomize=True,
        # A failure names its request; shrinking hundreds of requests would take hours.
        phases=(Phase.explicit, Phase.generate),
        print_blob=False,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=st.data())
    def visit_every_route(data: st.DataObject) -> None:
        # Only requests write: what the database holds after one request is what it
        # holds before the next, read once.
        before = digest()
        for rule, method in every_route:
            with app.test_request_context():
                path = data.draw(
                    once(world, ("path", rule.rule), lambda: path_of(world, rule)),  # noqa: B023
                    label=rule.endpoint,
                )
            query = data.draw(once(world, "fields", lambda: fields(world, NAMES)), label="query")
            body = (
                data.draw(once(world, "fields", lambda: fields(world, NAMES)), label="form")
                if method == "POST"
                else None
            )
            response = client.open(
                f"{path}?{query}" if query else path,
                method=method,
                data=body,
                content_type="application/x-www-form-urlencoded" if body is not None else None,
            )
            status = response.status_code
            where = shorten(f"{method} {path}?{query} {body or ''} as {role}")
            assert status < 500, where
            if response.mimetype == "text/html":
                page = response.get_data(as_text=True)
                for raw in UNESCAPED:
                    assert raw not in page, f"markup not escaped: {where}"
            response.close()
            after = digest()
            if 400 <= status < 500:
                assert after == before, f"refused but changed: {where}"
            before = after

    visit_every_route()


def test_an_id_too_large_for_the_database_names_nothing(
    app: Flask, client: FlaskClient, auth, world: World
) -> None:
    """Found by the walk above: a 64-bit id overflowed the driver (a 500) instead of a 404."""
    assert auth.login(EMAILS["manager"]).status_code == 302
    for too_large in ("2147483648", "9223372036854775808", "1" + "0" * 40):
        for method, path in (
            ("GET", f"/reservations/{too_large}"),
            ("POST", f"/manage/reservations/{too_large}/approve"),
            ("GET", f"/feeds/reservations/{too_large}.ics"),
        ):
            assert client.open(path, method=method).status_code == 404, path
    own = world.ids["reservation"]
    assert client.get(f"/reservations/{own}").status_code == 200


def changed_in_place(value: Any, column: sa.Column) -> Any:
    """Another value of the column's type, close to ``value`` (a text of the same length,
    an instant one microsecond later...): the smallest write the walk's check must see."""
    enum_class = getattr(column.type, "enum_class", None)
    if enum_class is not None:
        return next(member for member in enum_class if member != value)
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        return value[:-1] + ("b" if value[-1:] != "b" else "c") if value else "x"
    if isinstance(value, datetime):
        return value + timedelta(microseconds=1)
    if isinstance(value, date):
        return value + timedelta(days=1)
    if isinstance(value, time):
        return (datetime.combine(date(2026, 1, 1), value) - timedelta(minutes=1)).time()
    if isinstance(value, list):
        return [*value, 1]
    if isinstance(value, dict):
        return {**value, "changed": 1}
    raise AssertionError(f"no change known for {column}: {value!r}")


def test_the_walks_check_sees_one_value_changed_in_place(
    app: Flask, client: FlaskClient, auth, world: World
) -> None:
    """The check the walk makes after each request (one statement, not a read of every row)
    sees an UPDATE of one column of one row that leaves the count of rows and the length of
    the text as they were: tried on every column of the first row of every table the world
    fills, each change in a transaction of its own, rolled back. It sees a row added or
    removed; it does not see a volatile column (a session's last visit) change."""
    assert auth.login(EMAILS["member"]).status_code == 302  # a session, and its last visit
    before = digest()
    refused, seen, unseen = [], set(), []
    for table in db.metadata.sorted_tables:
        key = list(table.primary_key.columns)
        with db.engine.connect() as connection:
            first = connection.execute(sa.select(table).order_by(*key).limit(1)).first()
        if first is None:
            continue
        where = sa.and_(*(column == first._mapping[column.name] for column in key))
        for column in table.columns:
            value = first._mapping[column.name]
            if column.primary_key or column.name in VOLATILE_COLUMNS or value is None:
                continue
            with db.engine.connect() as connection, connection.begin() as transaction:
                try:
                    changed = changed_in_place(value, column)
                    connection.execute(sa.update(table).where(where).values({column: changed}))
                except sa.exc.IntegrityError:  # a constraint refuses this value: not a write
                    refused.append(f"{table.name}.{column.name}")
                    transaction.rollback()
                    continue
                if digest_on(connection) == before:
                    unseen.append(f"{table.name}.{column.name}: {value!r} → {changed!r}")
                seen.add(table.name)
                transaction.rollback()
    assert unseen == []
    filled = {name for name, count, _ in before if count}
    assert filled - seen == set(), refused
    assert {"user", "venue", "resource", "reservation", "membership"} <= seen
    assert digest() == before

    sessions = db.metadata.tables["login_session"]
    periods = db.metadata.tables["opening_period"]
    with db.engine.connect() as connection, connection.begin() as transaction:
        later = datetime(2027, 1, 1, tzinfo=UTC)
        assert connection.execute(sa.update(sessions).values(last_seen_at=later)).rowcount
        assert digest_on(connection) == before
        transaction.rollback()
    with db.engine.connect() as connection, connection.begin() as transaction:
        first = connection.execute(sa.select(periods).order_by(periods.c.id).limit(1)).one()
        copy = {k: v for k, v in first._mapping.items() if k != "id"}
        connection.execute(sa.insert(periods).values(copy))
        assert digest_on(connection) != before
        transaction.rollback()
    with db.engine.connect() as connection, connection.begin() as transaction:
        connection.execute(sa.delete(periods).where(periods.c.id == first.id))
        assert digest_on(connection) != before
        transaction.rollback()
    assert digest() == before


def digest_on(connection: sa.Connection) -> tuple[tuple[str, int, str], ...]:
    """digest() as ``connection`` sees the database, its uncommitted writes included."""
    return fingerprint(leave_out=VOLATILE_COLUMNS, connection=connection)
