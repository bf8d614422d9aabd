"""Personal data: a copy of everything about a person, their account deleted on request with
their bookings kept anonymised, and what has served its purpose purged."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from booking.extensions import db
from booking.models import (
    AdminEvent,
    LoginSession,
    Membership,
    OutboxMessage,
    Reservation,
    Status,
    User,
)
from booking.models.outbox import MessageStatus
from booking.notifications import Cycle
from booking.security import tokens
from booking.services.accounts.privacy import SENT_MAIL_DAYS, purge_expired

from .conftest import PASSWORD, Factory, book_as, feed_token, paris
from .support.pages import text_of

pytestmark = pytest.mark.postgres


@pytest.fixture
def place(make: Factory, clock) -> dict:
    clock.set(paris(2026, 3, 2, 9))
    venue = make.venue(slug="moulins", name="KPA Moulins")
    other = make.venue(slug="cape", name="La Cape")
    kitchen = make.resource(venue, slug="cuisine")
    amina = make.user(venue, email="amina@example.org", display_name="Amina Haddad")
    karim = make.user(venue, email="karim@example.org", display_name="Karim Mansouri")
    db.session.add(Membership(user_id=karim.id, venue_id=other.id))
    db.session.commit()
    past = book_as(
        kitchen,
        amina,
        starts_at=paris(2026, 3, 3, 10),
        ends_at=paris(2026, 3, 3, 12),
        now=paris(2026, 3, 1, 9),
        purpose="Couscous pour ma fille",
    )
    coming = book_as(
        kitchen,
        amina,
        starts_at=paris(2026, 3, 20, 10),
        ends_at=paris(2026, 3, 20, 12),
        now=paris(2026, 3, 1, 9),
        purpose="Anniversaire",
    )
    return {
        "venue": venue,
        "amina": amina,
        "karim": karim,
        "past": past.id,
        "coming": coming.id,
        "manager": make.manager(venue, email="nadia@example.org"),
        "other_manager": make.manager(other, email="thomas@example.org"),
        "admin": make.user(is_admin=True, email="admin@example.org"),
    }


def test_a_member_downloads_everything_the_site_holds_about_them(
    client: FlaskClient, auth, place: dict
) -> None:
    auth.login("amina@example.org")
    response = client.get("/profile/data.json")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.data)
    assert data["account"]["email"] == "amina@example.org"
    assert "password_hash" not in data["account"]
    assert {r["purpose"] for r in data["reservations"]} == {
        "Couscous pour ma fille",
        "Anniversaire",
    }
    assert data["memberships"] and data["login_sessions"]
    assert all(
        b"Couscous" not in line for line in [response.headers.get("Set-Cookie", "").encode()]
    )


def test_a_member_deletes_their_account_and_their_bookings_stay_anonymised(
    app, client: FlaskClient, auth, place: dict, clock
) -> None:
    clock.set(paris(2026, 3, 10, 9))  # after the first booking, before the second
    amina = place["amina"]
    feed = f"/feeds/u/{feed_token(amina, tokens.MEMBER)}.ics"
    db.session.add(
        OutboxMessage(
            kind="accepted",
            recipient_id=amina.id,
            to_address="amina@example.org",
            status=MessageStatus.SENT,
        )
    )
    db.session.commit()
    auth.login("amina@example.org")
    wrong = client.post("/profile/delete", data={"password": "not mine"})
    assert wrong.status_code == 422 and "pas votre mot de passe" in text_of(wrong)
    assert db.session.get(User, amina.id).email == "amina@example.org"

    done = client.post("/profile/delete", data={"password": PASSWORD})
    assert done.status_code == 302
    assert "Votre compte est supprimé" in text_of(client.get("/"))
    assert client.get("/profile").status_code == 302  # logged out

    user = db.session.get(User, amina.id)
    assert "amina" not in user.email and user.display_name == "Compte supprimé"
    assert not user.active and not user.check_password(PASSWORD)
    past, coming = (db.session.get(Reservation, place[k]) for k in ("past", "coming"))
    assert past.user_id == amina.id and past.status == Status.CONFIRMED and past.purpose == ""
    assert coming.status == Status.CANCELLED and coming.purpose == ""
    assert (
        db.session.scalar(
            sa.select(sa.func.count(Membership.id)).where(Membership.user_id == amina.id)
        )
        == 0
    )
    assert db.session.scalar(sa.select(sa.func.count(LoginSession.id))) == 0
    assert not db.session.scalar(
        sa.select(sa.func.count(OutboxMessage.id)).where(OutboxMessage.recipient_id == amina.id)
    )
    assert client.get(feed).status_code == 404
    assert auth.login("amina@example.org").status_code == 200  # no such account any more
    assert (
        db.session.scalar(sa.select(AdminEvent.action).where(AdminEvent.subject_id == amina.id))
        == "account.erased"
    )


@pytest.mark.parametrize(
    ("who", "data", "delete"),
    [
        (None, 302, 302),  # to the login page
        ("karim@example.org", 403, 403),  # a member
        ("thomas@example.org", 404, 404),  # the manager of another venue
        ("nadia@example.org", 200, 200),  # the venue's manager
        ("admin@example.org", 200, 200),
    ],
)
def test_managers_hand_over_or_delete_a_members_data_on_request(
    client: FlaskClient, auth, place: dict, who, data, delete
) -> None:
    if who:
        auth.login(who)
    amina = place["amina"].id
    assert client.get(f"/people/{amina}/data.json").status_code == data
    assert client.get(f"/people/{amina}/delete").status_code == delete
    if delete == 200:
        refused = client.post(f"/people/{amina}/delete", data={})
        assert refused.status_code == 422 and "Cochez la case" in text_of(refused)
        assert client.post(f"/people/{amina}/delete", data={"confirm": "y"}).status_code == 302
        assert db.session.get(User, amina).display_name == "Compte supprimé"


def test_a_manager_cannot_delete_someone_who_belongs_to_another_venue_too(
    client: FlaskClient, auth, place: dict
) -> None:
    auth.login("nadia@example.org")
    karim = place["karim"].id  # also a member of La Cape
    assert client.get(f"/people/{karim}/delete").status_code == 404
    assert client.post(f"/people/{karim}/delete", data={"confirm": "y"}).status_code == 404
    assert db.session.get(User, karim).email == "karim@example.org"


def test_the_privacy_page_says_what_why_how_long_and_whom_to_ask(client: FlaskClient) -> None:
    page = text_of(client.get("/privacy"))
    for words in ("Ce qui est gardé", "Pourquoi", "Combien de temps", "À qui demander"):
        assert words in page
    assert "90 jours" in page


def test_what_has_served_its_purpose_is_purged(place: dict) -> None:
    now = paris(2026, 9, 1, 9)
    # The place's bookings have their confirmations on their way (never purged).
    on_their_way = db.session.scalar(sa.select(sa.func.count(OutboxMessage.id)))
    db.session.add_all(
        [
            OutboxMessage(
                kind="accepted",
                recipient_id=place["amina"].id,
                status=MessageStatus.SENT,
                created_at=now - timedelta(days=91),
            ),
            OutboxMessage(
                kind="accepted",
                recipient_id=place["amina"].id,
                status=MessageStatus.SENT,
                created_at=now - timedelta(days=10),
            ),
            OutboxMessage(
                kind="accepted",
                recipient_id=place["amina"].id,
                status=MessageStatus.FAILED,  # a failure is kept no longer than a success
                created_at=now - timedelta(days=200),
            ),
            OutboxMessage(
                kind="accepted",
                recipient_id=place["amina"].id,
                status=MessageStatus.PENDING,  # still on its way: never purged
                created_at=now - timedelta(days=200),
            ),
        ]
    )
    db.session.commit()
    gone = purge_expired(now)
    assert gone["emails"] == 2
    assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == on_their_way + 2


def test_every_purge_keeps_sent_e_mails_for_the_days_the_privacy_page_states(
    place: dict, client: FlaskClient
) -> None:
    """The hourly purge of each app process's sender and the purge command keep sent
    e-mails as long as the privacy page says (it said 90 days, the sender purged at 30)."""
    now = paris(2026, 9, 1, 9)
    ages = (SENT_MAIL_DAYS - 1, SENT_MAIL_DAYS + 1)
    for age in ages:
        db.session.add(
            OutboxMessage(
                kind="accepted",
                recipient_id=place["amina"].id,
                status=MessageStatus.SENT,
                created_at=now - timedelta(days=age),
            )
        )
    db.session.commit()
    Cycle().run(now)  # what every worker's sender does, its hourly purge included
    kept = db.session.scalars(sa.select(OutboxMessage.created_at)).all()
    assert kept == [now - timedelta(days=ages[0])]
    assert f"{SENT_MAIL_DAYS} jours" in text_of(client.get("/privacy"))
