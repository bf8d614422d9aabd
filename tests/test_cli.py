"""Command line: demo data, accounts, backups."""

from datetime import UTC, datetime

import sqlalchemy as sa

from booking.demo import ACCOUNTS, DEMO_PASSWORD, RESIDENTS, VENUES
from booking.extensions import db
from booking.models import AuditEvent, Reservation, Resource, Series, User, Venue
from booking.permissions import can_manage


def counts() -> tuple[int, ...]:
    return tuple(
        db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (Venue, Resource, User, Reservation, Series, AuditEvent)
    )


def test_seed_demo_loads_the_three_cooperatives_and_is_idempotent(runner):
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    after_first = counts()
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0
    assert "Rien à faire" in second.output
    assert counts() == after_first
    venues = {v.slug: v for v in db.session.scalars(sa.select(Venue))}
    assert set(venues) == {"kpa-moulins", "la-cape", "illicoop"}
    assert sum(len(v.resources) for v in VENUES) == after_first[1]
    assert after_first[2] == len(ACCOUNTS) + len(RESIDENTS)  # and the history's regulars


def test_demo_resources_carry_their_real_rules(runner):
    runner.invoke(args=["seed-demo", "--no-bookings"])
    by_slug = {r.slug: r for r in db.session.scalars(sa.select(Resource))}
    kitchen = by_slug["cuisine-centre-social"]
    assert kitchen.requires_approval and kitchen.buffer_minutes > 0
    assert kitchen.venue.slug == "kpa-moulins"
    laser = by_slug["decoupeuse-laser"]
    assert laser.qualification.name == "Formation sécurité découpe laser"
    assert by_slug["coworking-mons-fabrica"].capacity == 8
    assert {"imprimante-3d", "atelier-serigraphie", "atelier-menuiserie"} <= set(by_slug)


def test_demo_accounts_and_laser_qualification(runner):
    runner.invoke(args=["seed-demo", "--no-bookings"])
    users = {u.email: u for u in db.session.scalars(sa.select(User))}
    assert users["admin@example.org"].is_admin
    for email in users:
        assert users[email].check_password(DEMO_PASSWORD)
    qualified = {
        email
        for email, user in users.items()
        if any(
            g.qualification.name.startswith("Formation sécurité") for g in user.qualification_grants
        )
    }
    assert qualified == {"karim@example.org"}
    cape = db.session.scalar(sa.select(Venue).where(Venue.slug == "la-cape"))
    assert can_manage(users["manager.cape@example.org"], cape)
    assert not can_manage(users["manager.moulins@example.org"], cape)


def test_demo_bookings_are_a_living_fortnight(runner):
    runner.invoke(args=["seed-demo"])
    statuses = {
        status: count
        for status, count in db.session.execute(
            sa.select(Reservation.status, sa.func.count()).group_by(Reservation.status)
        )
    }
    assert statuses.get("confirmed", 0) > 30
    assert statuses.get("pending", 0) + statuses.get("expired", 0) >= 1
    series = db.session.scalar(sa.select(Series))
    assert series.purpose == "Atelier cuisine du monde" and len(series.reservations) == 6
    # Every demo booking went through the engine, so the audit log has each one.
    created = db.session.scalar(
        sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "created")
    )
    assert created == db.session.scalar(sa.select(sa.func.count(Reservation.id)))
    # Calendars read these as DTSTAMP and LAST-MODIFIED: never in the future.
    latest = db.session.scalar(sa.select(sa.func.max(Reservation.updated_at)))
    assert latest <= datetime.now(UTC)


def test_if_empty_leaves_an_existing_network_alone(runner, make):
    make.venue(slug="mon-lieu")
    result = runner.invoke(args=["seed-demo", "--if-empty"])
    assert result.exit_code == 0
    assert db.session.scalar(sa.select(sa.func.count(Venue.id))) == 1


def test_create_user_prompts_for_the_password(runner):
    result = runner.invoke(
        args=["create-user", "--email", "Nouvelle@Example.org", "--name", "Nouvelle", "--admin"],
        input="un-mot-de-passe\nun-mot-de-passe\n",
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(sa.select(User).where(User.email == "nouvelle@example.org"))
    assert user.is_admin and user.check_password("un-mot-de-passe")
    assert "un-mot-de-passe" not in result.output


def test_create_user_refuses_bad_input(runner, make):
    make.user(email="deja@example.org")
    taken = runner.invoke(
        args=["create-user", "--email", "deja@example.org", "--name", "X"],
        input="un-mot-de-passe\nun-mot-de-passe\n",
    )
    assert taken.exit_code != 0 and "existe déjà" in taken.output
    invalid = runner.invoke(
        args=["create-user", "--email", "pas-une-adresse", "--name", "X"],
        input="un-mot-de-passe\nun-mot-de-passe\n",
    )
    assert invalid.exit_code != 0 and "invalide" in invalid.output
    short = runner.invoke(
        args=["create-user", "--email", "court@example.org", "--name", "X"], input="court\ncourt\n"
    )
    assert short.exit_code != 0 and "8 caractères" in short.output


def test_backup_writes_a_usable_copy(runner, tmp_path):
    runner.invoke(args=["seed-demo", "--no-bookings"])
    result = runner.invoke(args=["backup", "--to", str(tmp_path / "backups")])
    assert result.exit_code == 0, result.output
    (copy,) = (tmp_path / "backups").iterdir()
    engine = sa.create_engine(f"sqlite:///{copy}")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM venue")).scalar() == 3
    engine.dispose()
