"""Fixtures: an app on a fresh, migrated database (SQLite, or PostgreSQL too for tests
marked ``postgres``), a client, the CLI runner, and factories.

The suite runs in one process or in several (pytest-xdist, ``make test``): every
expensive session fixture (the PostgreSQL cluster, the migrated SQLite template,
Redis) is made once per process, in that process's own temporary folder and on
ports no other process of the run is given (tests/support/ports.py).
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from _pytest.nodeid import NodeId
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from booking import create_app
from booking.extensions import db
from booking.models import (
    Closure,
    Membership,
    OpeningPeriod,
    Qualification,
    QualificationGrant,
    Resource,
    ResourceKind,
    Role,
    User,
    Venue,
)

from .support.i18n import compile_stale_catalogues
from .support.ports import CLAIMS
from .support.postgres import TempPostgres
from .support.templates import share_compiled_templates

BACKENDS = ("sqlite", "postgresql")

PARIS = ZoneInfo("Europe/Paris")
PASSWORD = "correct horse battery"


def paris(*args: int) -> datetime:
    """An aware Paris wall-clock time: paris(2026, 3, 2, 10, 0)."""
    return datetime(*args, tzinfo=PARIS)  # type: ignore[misc]


def whole_day(day: date) -> tuple[datetime, datetime]:
    """From midnight to midnight in Paris: a closure by the day."""
    return (
        datetime.combine(day, time(0), tzinfo=PARIS),
        datetime.combine(day + timedelta(days=1), time(0), tzinfo=PARIS),
    )


def base_config(instance: Path, url: str) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-of-sufficient-length",
        "SQLALCHEMY_DATABASE_URI": url,
        "INSTANCE_PATH": str(instance),
        "WTF_CSRF_ENABLED": False,
        "SERVER_NAME": None,
        # Real hashing, but cheap: the suite creates hundreds of accounts.
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        # Tests send the outbox when they mean to (booking.notifications.send_due).
        "MAIL_SEND_IN_BACKGROUND": False,
    }


_claims_key = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    # The app reads compiled catalogues (.mo, never committed): built here, in
    # every process, each only if its .po is newer (so at most once per change).
    compile_stale_catalogues()
    # Each app of a process reuses the templates another app compiled.
    share_compiled_templates()
    # The first process of a run (the only one, or the one that starts the
    # xdist workers, which inherit its environment) makes the folder where
    # ports are claimed.
    if CLAIMS not in os.environ:
        config.stash[_claims_key] = os.environ[CLAIMS] = tempfile.mkdtemp(prefix="booking-ports-")


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = config.stash.get(_claims_key, None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
        del os.environ[CLAIMS]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give --dist loadgroup the groups of ``@pytest.mark.xdist_group`` (in each worker).

    pytest-xdist 3.8 tells a test's group by appending "@group" to ``item._nodeid``,
    which pytest 9.2 no longer reads (the id is ``item._id``): without this, the tests
    of a group were spread over the workers, each setting up the module's site or
    browser scenario again. Does nothing once xdist sets the suffix itself."""
    if not getattr(config.option, "loadgroup", False):
        return
    for item in items:
        groups = {
            str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
            for mark in item.iter_markers("xdist_group")
        }
        if groups and "@" not in item.nodeid.rpartition("]")[2]:
            item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(sorted(groups))}")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test marked ``postgres`` (itself or its module) that uses the database runs twice,
    on SQLite and on PostgreSQL: ``test_x[sqlite]``, ``test_x[postgresql]``. A test that
    names its own backends (``@pytest.mark.parametrize("db_backend", ["postgresql"])``)
    keeps them; an unmarked test runs on SQLite only."""
    if "db_backend" not in metafunc.fixturenames:
        return
    if metafunc.definition.get_closest_marker("postgres") is None:
        return
    for marker in metafunc.definition.iter_markers("parametrize"):
        names = marker.args[0] if marker.args else marker.kwargs["argnames"]
        if isinstance(names, str):
            names = [name.strip() for name in names.split(",")]
        if "db_backend" in names:
            return
    metafunc.parametrize("db_backend", BACKENDS)


def _migrate(url: str, instance: Path) -> None:
    from flask_migrate import upgrade

    app = create_app(base_config(instance, url))
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sqlite-template")
    path = folder / "template.sqlite3"
    _migrate(f"sqlite:///{path}", folder)
    return path


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[TempPostgres]:
    server = TempPostgres()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_server: TempPostgres, tmp_path_factory: pytest.TempPathFactory) -> str:
    url = postgres_server.create_database("booking_test")
    _migrate(url, tmp_path_factory.mktemp("pg-instance"))
    return url


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    from .support.redis_server import redis_server

    with redis_server() as url:
        yield url


@pytest.fixture
def db_backend() -> str:
    """SQLite, unless the test is marked ``postgres`` (see pytest_generate_tests)."""
    return "sqlite"


@pytest.fixture
def database_url(request: pytest.FixtureRequest, db_backend: str, tmp_path: Path) -> str:
    if db_backend == "postgresql":
        return request.getfixturevalue("postgres_url")
    template = request.getfixturevalue("sqlite_template")
    path = tmp_path / "booking.sqlite3"
    shutil.copy(template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def app(database_url: str, db_backend: str, tmp_path: Path) -> Iterator[Flask]:
    app = create_app(base_config(tmp_path, database_url))
    with app.app_context():
        yield app
        db.session.remove()
        if db_backend == "postgresql":
            tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            with db.engine.begin() as conn:
                conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.engine.dispose()


class IsolatedClient(FlaskClient):
    """Each request in an application context of its own, as in production.

    The ``app`` fixture keeps a context open so that tests can use
    ``db.session``; without this, requests would share its ``g`` (the cached
    user, the cached language) and its database session. After each request
    the test's own session starts afresh, so it sees what the request wrote.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        db.session.commit()
        return response


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    app.test_client_class = IsolatedClient
    return app.test_client()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The application's clock set to Monday 2 March 2026, 9:00 in Paris (tests move it)."""
    from .support.icalcheck import FeedClock

    return FeedClock(monkeypatch, paris(2026, 3, 2, 9, 0))


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


def book_as(
    resource: Resource,
    member: User,
    *,
    starts_at: datetime,
    ends_at: datetime,
    now: datetime,
    actor: User | None = None,
    **fields: Any,
) -> Any:
    """Book through the service as ``member`` (or as ``actor`` for them)."""
    from booking.services import book

    return book(
        resource_id=resource.id,
        member_id=member.id,
        actor_id=(actor or member).id,
        starts_at=starts_at,
        ends_at=ends_at,
        now=now,
        **fields,
    )


def feed_token(user: User, kind: str) -> str:
    """A secret feed token of ``user``, recorded as the profile page records it."""
    from booking.security import tokens

    token = tokens.make_token(db.session.get(User, user.id), kind)
    db.session.commit()
    return token


class Factory:
    """Rows with sensible defaults: a test names only what it is about."""

    def __init__(self) -> None:
        self._n = itertools.count(1)

    def venue(self, **fields: Any) -> Venue:
        n = next(self._n)
        hours = fields.pop("hours", [(d, time(8), time(20)) for d in range(7)])
        venue = Venue(
            slug=fields.pop("slug", f"venue-{n}"),
            name=fields.pop("name", f"Lieu {n}"),
            address=fields.pop("address", f"{n} rue de la Coopération, 59000 Lille"),
            timezone=fields.pop("timezone", "Europe/Paris"),
            **fields,
        )
        venue.opening_periods = [
            OpeningPeriod(weekday=d, opens_at=o, closes_at=c) for d, o, c in hours
        ]
        db.session.add(venue)
        db.session.commit()
        return venue

    def resource(self, venue: Venue | None = None, **fields: Any) -> Resource:
        n = next(self._n)
        defaults: dict[str, Any] = {
            "slug": f"resource-{n}",
            "name": f"Ressource {n}",
            "kind": ResourceKind.EQUIPMENT,
            "slot_minutes": 30,
            "min_duration_minutes": 30,
            "max_duration_minutes": 480,
            "min_notice_minutes": 0,
            "horizon_days": 365,
        }
        defaults.update(fields)
        resource = Resource(venue=venue or self.venue(), **defaults)
        db.session.add(resource)
        db.session.commit()
        return resource

    def user(self, venue: Venue | None = None, role: Role = Role.MEMBER, **fields: Any) -> User:
        n = next(self._n)
        user = User(
            email=fields.pop("email", f"person{n}@example.org"),
            display_name=fields.pop("display_name", f"Personne {n}"),
            **fields,
        )
        user.set_password(PASSWORD)
        if venue is not None:
            user.memberships = [Membership(venue=venue, role=role)]
        db.session.add(user)
        db.session.commit()
        return user

    def manager(self, venue: Venue, **fields: Any) -> User:
        return self.user(venue, Role.MANAGER, **fields)

    def closure(
        self,
        venue: Venue,
        starts_at: datetime,
        ends_at: datetime,
        reason: str = "Fermeture",
        *,
        resource: Resource | None = None,
        public: bool = True,
    ) -> Closure:
        """A closure written directly (the service that checks and cancels is tried apart)."""
        closure = Closure(
            venue_id=venue.id,
            resource_id=resource.id if resource else None,
            starts_at=starts_at,
            ends_at=ends_at,
            reason=reason,
            reason_public=public,
        )
        db.session.add(closure)
        db.session.commit()
        return closure

    def qualification(
        self, name: str = "Formation sécurité découpe laser", venue: Venue | None = None
    ) -> Qualification:
        qualification = Qualification(name=name, venue=venue or self.venue())
        db.session.add(qualification)
        db.session.commit()
        return qualification

    def grant(
        self, user: User, qualification: Qualification, expires_on: date | None = None
    ) -> None:
        db.session.add(
            QualificationGrant(
                user_id=user.id, qualification_id=qualification.id, expires_on=expires_on
            )
        )
        db.session.commit()


@pytest.fixture
def make(app: Flask) -> Factory:
    return Factory()


class AuthActions:
    def __init__(self, client: FlaskClient) -> None:
        self._client = client

    def login(self, email: str, password: str = PASSWORD) -> Any:
        return self._client.post("/login", data={"email": email, "password": password})

    def logout(self) -> Any:
        return self._client.post("/logout")


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)
