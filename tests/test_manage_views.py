"""The managers' and administrators' pages: what they show, what they refuse and where."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
import sqlalchemy as sa

from booking.extensions import db
from booking.models import (
    AdminEvent,
    Closure,
    Membership,
    OpeningPeriod,
    Qualification,
    QualificationGrant,
    Reservation,
    Resource,
    ResourceKind,
    Role,
    Status,
    User,
    Venue,
)

from .conftest import Factory, book_as, paris
from .support.pages import text_of

NOW = paris(2026, 3, 2, 9, 0)
WEEKDAYS = [(d, time(9), time(12, 30)) for d in range(5)] + [
    (d, time(13, 30), time(19)) for d in range(5)
]


@pytest.fixture
def place(make: Factory, clock) -> dict:
    venue = make.venue(slug="moulins", name="KPA Moulins", hours=WEEKDAYS)
    kitchen = make.resource(
        venue,
        slug="cuisine",
        name="Cuisine du centre social",
        kind=ResourceKind.SPACE,
        requires_approval=True,
        buffer_minutes=30,
    )
    cowork = make.resource(
        venue, slug="cowork", name="Co-working", capacity=8, kind=ResourceKind.SPACE
    )
    amina = make.user(venue, display_name="Amina Haddad", email="amina@example.org")
    samir = make.user(venue, display_name="Samir Bouzid", email="samir@example.org")
    make.manager(venue, display_name="Nadia Benali", email="nadia@example.org")
    make.user(is_admin=True, display_name="Administratrice", email="admin@example.org")
    return {"venue": venue, "kitchen": kitchen, "cowork": cowork, "amina": amina, "samir": samir}


@pytest.fixture
def manager(auth, place: dict):
    auth.login("nadia@example.org")
    return auth


def booking(place, who, resource, start, hours=2, **fields):
    return book_as(
        place[resource],
        place[who],
        starts_at=start,
        ends_at=start + timedelta(hours=hours),
        now=NOW,
        **fields,
    )


# --- closures --------------------------------------------------------------------------


def closure_form(place: dict, **fields) -> dict:
    values = {
        "resource": str(place["kitchen"].id),
        "first_day": "2026-04-06",
        "last_day": "2026-04-12",
        "start_time": "",
        "end_time": "",
        "reason": "Vacances de printemps",
        "reason_public": "y",
    }
    return {**values, **fields}


def test_a_closure_is_checked_then_confirmed_with_its_cancellations(
    client, manager, place: dict
) -> None:
    one = booking(place, "amina", "kitchen", paris(2026, 4, 7, 10))
    two = booking(place, "samir", "kitchen", paris(2026, 4, 9, 14))
    checked = client.post(
        "/manage/venues/moulins/closures", data={**closure_form(place), "action": "preview"}
    )
    assert checked.status_code == 200
    page = text_of(checked)
    assert "2 réservations tombent pendant la fermeture" in page
    assert "Amina Haddad" in page and "Samir Bouzid" in page
    assert "fermeture du lundi 6 avril 2026 au dimanche 12 avril 2026 inclus" in page
    assert db.session.scalar(sa.select(sa.func.count(Closure.id))) == 0  # nothing written yet
    confirmed = client.post(
        "/manage/venues/moulins/closures",
        data={
            **closure_form(place),
            "action": "confirm",
            "seen": f"{one.id},{two.id}",
            "cancel": [str(one.id), str(two.id)],
        },
    )
    assert confirmed.status_code == 302
    assert "2 réservations annulées" in text_of(client.get(confirmed.headers["Location"]))
    for res in (one, two):
        got = db.session.get(Reservation, res.id)
        assert (got.status, got.decision_reason) == (Status.CANCELLED, "Vacances de printemps")
    listed = text_of(client.get("/manage/venues/moulins/closures"))
    assert "Fermetures prévues" in listed and "Vacances de printemps" in listed


def test_closure_mistakes_are_shown_next_to_their_fields(client, manager, place: dict) -> None:
    response = client.post(
        "/manage/venues/moulins/closures",
        data=closure_form(place, last_day="2026-04-01", reason="", action="preview"),
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="last_day-error"' in page and 'id="reason-error"' in page
    text = text_of(response)
    assert "Le dernier jour est avant le premier jour." in text
    # A closure already over, refused by the service, next to the last day.
    past = client.post(
        "/manage/venues/moulins/closures",
        data=closure_form(place, first_day="2026-02-01", last_day="2026-02-02", action="preview"),
    )
    assert past.status_code == 422
    assert "Cette fermeture serait déjà terminée" in text_of(past)
    assert 'id="last_day-error"' in past.get_data(as_text=True)


def test_a_booking_made_meanwhile_is_shown_before_anything_is_cancelled(
    client, manager, place: dict
) -> None:
    one = booking(place, "amina", "kitchen", paris(2026, 4, 7, 10))
    late = booking(place, "samir", "kitchen", paris(2026, 4, 8, 10))
    response = client.post(
        "/manage/venues/moulins/closures",
        data={
            **closure_form(place),
            "action": "confirm",
            "seen": str(one.id),
            "cancel": [str(one.id)],
        },
    )
    assert response.status_code == 409
    assert "Quelque chose a changé" in text_of(response) and "Samir Bouzid" in text_of(response)
    assert db.session.get(Reservation, one.id).status == Status.PENDING
    assert db.session.get(Reservation, late.id).status == Status.PENDING


def test_closures_show_on_the_public_pages_and_weeks(client, manager, place: dict) -> None:
    client.post(
        "/manage/venues/moulins/closures",
        data={
            **closure_form(
                place,
                first_day="2026-03-04",
                last_day="2026-03-04",
                start_time="14:00",
                end_time="16:00",
            ),
            "action": "confirm",
            "seen": "",
        },
    )
    venue_page = text_of(client.get("/venues/moulins"))
    assert "le mercredi 4 mars 2026 de 14 h à 16 h" in venue_page
    week = text_of(client.get("/venues/moulins/week?week=2026-03-02"))
    assert "Fermé de 14:00 à 16:00 — Vacances de printemps" in week


# --- hours ------------------------------------------------------------------------------


def hours_form(**periods: tuple[str, str]) -> dict:
    data: dict[str, str] = {}
    for key, (opens, closes) in periods.items():
        data[f"{key}_opens"], data[f"{key}_closes"] = opens, closes
    return data


def test_hours_are_previewed_then_saved(client, manager, place: dict) -> None:
    late = booking(place, "amina", "kitchen", paris(2026, 3, 3, 17))
    data = hours_form(
        d0_0=("09:00", "12:30"),
        d0_1=("13:30", "17:00"),
        d1_0=("09:00", "17:00"),
        d5_0=("09:00", "13:00"),
    )
    preview = client.post("/manage/venues/moulins/hours", data={**data, "action": "preview"})
    assert preview.status_code == 200
    page = text_of(preview)
    assert "La semaine avec ces horaires" in page and "Pas encore enregistré." in page
    assert (
        "Réservations à venir en dehors de ces nouveaux horaires" in page and "Amina Haddad" in page
    )
    saved = client.post("/manage/venues/moulins/hours", data={**data, "action": "save"})
    assert saved.status_code == 302
    assert "1 réservation à venir est en dehors" in text_of(client.get(saved.headers["Location"]))
    saturday = db.session.scalars(
        sa.select(OpeningPeriod).where(
            OpeningPeriod.venue_id == place["venue"].id, OpeningPeriod.weekday == 5
        )
    ).all()
    assert [(p.opens_at, p.closes_at) for p in saturday] == [(time(9), time(13))]
    assert db.session.get(Reservation, late.id).status == Status.PENDING  # kept, not cancelled


def test_hour_mistakes_are_shown_on_their_day(client, manager, place: dict) -> None:
    response = client.post(
        "/manage/venues/moulins/hours",
        data={
            **hours_form(d0_0=("09:00", "13:00"), d0_1=("12:00", "18:00"), d2_0=("18:00", "09:00")),
            "d3_0_opens": "10:00",
            "action": "save",
        },
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="day3-error"' in page
    assert "Donnez l’heure d’ouverture et l’heure de fermeture" in text_of(response)
    # The day-level checks run once the fields are readable.
    response = client.post(
        "/manage/venues/moulins/hours",
        data={
            **hours_form(d0_0=("09:00", "13:00"), d0_1=("12:00", "18:00"), d2_0=("18:00", "09:00")),
            "action": "save",
        },
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="day0-error"' in page and 'id="day2-error"' in page
    assert "se chevauchent" in text_of(response) and "est avant l’heure d’ouverture" in text_of(
        response
    )
    assert len(place["venue"].opening_periods) == 10  # unchanged


def test_a_resource_gets_its_own_hours_then_the_venues_again(client, manager, place: dict) -> None:
    url = f"/manage/venues/moulins/resources/{place['kitchen'].id}/hours"
    assert "suit les horaires du lieu" in text_of(client.get(url))
    client.post(url, data={**hours_form(d2_0=("14:00", "18:00")), "action": "save"})
    assert "a ses propres horaires" in text_of(client.get(url))
    assert "Cette ressource a ses propres horaires." in text_of(client.get("/resources/cuisine"))
    back = client.post(url, data={"action": "venue"})
    assert back.status_code == 302
    assert db.session.get(Resource, place["kitchen"].id).own_opening_periods == []


# --- resources --------------------------------------------------------------------------


def resource_form(**fields) -> dict:
    values = {
        "name": "Découpeuse laser",
        "kind": "equipment",
        "description": "CO₂, bois et acrylique.",
        "capacity": "1",
        "qualification_id": "0",
        "slot_minutes": "30",
        "min_duration_minutes": "30 min",
        "max_duration_minutes": "3 h",
        "min_notice_minutes": "1 h",
        "horizon_days": "30",
        "buffer_minutes": "15 min",
        "buffer_reason": "le refroidissement de la machine",
        "weekly_quota_minutes": "6 h",
    }
    return {**values, **fields}


def test_a_resource_is_created_from_the_form(client, manager, place: dict) -> None:
    response = client.post(
        "/manage/venues/moulins/resources/new", data=resource_form(requires_approval="y")
    )
    assert response.status_code == 302
    # Worded so that it agrees whatever the name: « Cuisine partagée », « Atelier bois ».
    assert (
        "« Découpeuse laser » : ressource créée. Les membres peuvent la réserver dès maintenant."
        in text_of(client.get(response.headers["Location"]))
    )
    laser = db.session.scalar(sa.select(Resource).where(Resource.slug == "decoupeuse-laser"))
    assert (laser.min_notice_minutes, laser.max_duration_minutes, laser.weekly_quota_minutes) == (
        60,
        180,
        360,
    )
    assert laser.requires_approval and laser.buffer_reason == "le refroidissement de la machine"
    page = text_of(client.get("/resources/decoupeuse-laser"))
    assert (
        "Le créneau est bloqué 15 min après chaque réservation, "
        "pour le refroidissement de la machine." in page
    )
    edit = text_of(client.get(f"/manage/venues/moulins/resources/{laser.id}"))
    assert 'value="3 heures"' in edit  # durations shown as they are written
    assert "Règles de Découpeuse laser" in edit


def test_inconsistent_rules_are_refused_next_to_their_fields(client, manager, place: dict) -> None:
    response = client.post(
        "/manage/venues/moulins/resources/new",
        data=resource_form(
            max_duration_minutes="20 min", min_duration_minutes="45", buffer_minutes="un peu"
        ),
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    text = text_of(response)
    assert 'id="buffer_minutes-error"' in page
    assert "Écrivez une durée comme 30 min, 1 h 30 ou 2 jours." in text
    response = client.post(
        "/manage/venues/moulins/resources/new",
        data=resource_form(
            max_duration_minutes="20 min", min_duration_minutes="45", slot_minutes="60"
        ),
    )
    assert response.status_code == 422
    page, text = response.get_data(as_text=True), text_of(response)
    assert 'id="max_duration_minutes-error"' in page and 'id="min_duration_minutes-error"' in page
    assert "La réservation la plus longue ne peut pas être plus courte que la plus courte." in text
    assert "12 h 30 n’est pas sur les pas de 1 heure de Découpeuse laser" in text
    assert db.session.scalar(sa.select(sa.func.count(Resource.id))) == 2


def test_retiring_from_the_page_lists_and_cancels_what_is_to_come(
    client, manager, place: dict
) -> None:
    coming = booking(place, "samir", "cowork", paris(2026, 3, 3, 10))
    url = f"/manage/venues/moulins/resources/{place['cowork'].id}/retire"
    page = text_of(client.get(url))
    assert "1 réservation à venir sera annulée" in page and "Samir Bouzid" in page
    refused = client.post(url, data={"seen": str(coming.id), "reason": ""})
    assert refused.status_code == 422 and 'id="reason-error"' in refused.get_data(as_text=True)
    done = client.post(url, data={"seen": str(coming.id), "reason": "L'espace ferme"})
    assert done.status_code == 302
    assert db.session.get(Reservation, coming.id).status == Status.CANCELLED
    listing = text_of(client.get("/manage/venues/moulins/resources"))
    assert "Ressources retirées du service" in listing and "Remettre en service" in listing
    assert "Co-working" not in text_of(client.get("/venues/moulins"))


# --- trainings --------------------------------------------------------------------------


def test_a_training_is_defined_granted_with_an_expiry_and_shown_to_the_member(
    client, auth, manager, place: dict
) -> None:
    created = client.post(
        "/manage/venues/moulins/trainings",
        data={"name": "Hygiène en cuisine", "description": "HACCP"},
    )
    assert created.status_code == 302
    training = db.session.scalar(
        sa.select(Qualification).where(Qualification.name == "Hygiène en cuisine")
    )
    assert training.venue_id == place["venue"].id
    url = f"/manage/venues/moulins/trainings/{training.id}"
    future = client.post(url, data={"member": str(place["amina"].id), "granted_on": "2026-03-10"})
    assert future.status_code == 422 and "Ce jour n’est pas encore arrivé" in text_of(future)
    granted = client.post(
        url,
        data={
            "member": str(place["amina"].id),
            "granted_on": "2026-03-01",
            "expires_on": "2026-03-25",
        },
    )
    assert granted.status_code == 302
    grant = db.session.scalar(sa.select(QualificationGrant))
    assert (grant.granted_on, grant.expires_on) == (date(2026, 3, 1), date(2026, 3, 25))
    listing = text_of(client.get("/manage/venues/moulins/trainings"))
    assert "Expirent dans les 30 jours" in listing and "Amina Haddad" in listing
    auth.logout()
    auth.login("amina@example.org")
    profile = text_of(client.get("/profile"))
    assert "Hygiène en cuisine" in profile and "valable jusqu’au 25 mars 2026" in profile


# --- members ----------------------------------------------------------------------------


def test_members_are_listed_invited_and_given_a_role(
    client, manager, place: dict, make: Factory
) -> None:
    booking(place, "amina", "cowork", paris(2026, 3, 3, 10))
    listing = text_of(client.get("/manage/venues/moulins/members"))
    assert "Amina Haddad" in listing and "Samir Bouzid" in listing and "Nadia Benali" in listing
    assert "Amina" in text_of(client.get("/manage/venues/moulins/members?q=amina"))
    assert "Samir" not in text_of(client.get("/manage/venues/moulins/members?q=amina"))
    bad = client.post("/manage/venues/moulins/members", data={"email": "pas une adresse"})
    assert bad.status_code == 422 and "ne semble pas correcte" in text_of(bad)
    # An address with an account and one without get the same invitation, and no role yet.
    lea = make.user(display_name="Léa Martin", email="lea@example.org")
    for email in ("lea@example.org", "personne@example.org"):
        sent = client.post(
            "/manage/venues/moulins/members",
            data={"display_name": "Léa", "email": email, "role": "manager"},
        )
        assert sent.status_code == 302
        assert sent.headers["Location"] == "/manage/venues/moulins/members"
        assert f"Invitation envoyée à {email}" in text_of(client.get(sent.headers["Location"]))
    assert db.session.scalar(sa.select(Membership.role).where(Membership.user_id == lea.id)) is None
    samir = place["samir"]
    client.post(f"/manage/venues/moulins/members/{samir.id}", data={"role": "manager"})
    assert (
        db.session.scalar(sa.select(Membership.role).where(Membership.user_id == samir.id))
        == Role.MANAGER
    )


def test_removing_someone_lists_their_bookings_first(client, manager, place: dict) -> None:
    coming = booking(place, "samir", "cowork", paris(2026, 3, 3, 10))
    url = f"/manage/venues/moulins/members/{place['samir'].id}/remove"
    page = text_of(client.get(url))
    assert "1 réservation à venir dans ce lieu" in page
    done = client.post(
        url, data={"seen": str(coming.id), "cancel_bookings": "y", "reason": "Départ"}
    )
    assert done.status_code == 302
    assert db.session.get(Reservation, coming.id).decision_reason == "Départ"
    assert client.get(f"/manage/venues/moulins/members/{place['samir'].id}").status_code == 404


def test_managers_cannot_remove_their_own_role(client, manager, place: dict) -> None:
    nadia = db.session.scalar(sa.select(User).where(User.email == "nadia@example.org"))
    page = text_of(client.get(f"/manage/venues/moulins/members/{nadia.id}"))
    assert "Vous ne pouvez pas changer ni retirer votre propre rôle" in page
    response = client.post(f"/manage/venues/moulins/members/{nadia.id}", data={"role": "member"})
    assert response.status_code == 422


# --- schedule, history and log --------------------------------------------------------


def test_the_schedule_shows_who_has_what(client, manager, place: dict, make: Factory) -> None:
    booking(
        place,
        "amina",
        "kitchen",
        paris(2026, 3, 3, 14),
        hours=3,
        purpose="Atelier cuisine du monde",
    )
    booking(place, "samir", "cowork", paris(2026, 3, 3, 9), hours=3, seats=3)
    booking(place, "amina", "cowork", paris(2026, 3, 3, 10), hours=2, seats=2)
    make.closure(
        place["venue"], paris(2026, 3, 4, 0), paris(2026, 3, 5, 0), "Inventaire", public=False
    )
    day = text_of(client.get("/manage/venues/moulins/schedule?day=2026-03-03"))
    assert "mardi 3 mars 2026" in day
    assert (
        "Amina Haddad" in day
        and "Atelier cuisine du monde" in day
        and "en attente de validation" in day
    )
    assert "Samir Bouzid" in day and "3 places" in day
    assert "Au plus 5 places occupées sur 8" in day
    week = text_of(client.get("/manage/venues/moulins/schedule?day=2026-03-03&view=week"))
    assert "Semaine du lundi 2 mars au dimanche 8 mars" in week
    assert "Fermé 0 h–24 h — Inventaire" in week  # the manager sees a private reason
    # Printable: the page links the stylesheet that lays it out on A4.
    assert "manage.css" in client.get("/manage/venues/moulins/schedule").get_data(as_text=True)


def test_each_reservation_tells_its_history(client, manager, place: dict) -> None:
    res = booking(place, "amina", "kitchen", paris(2026, 3, 3, 14))
    client.post(f"/manage/reservations/{res.id}/approve")
    page = text_of(client.get(f"/reservations/{res.id}"))
    assert "Historique" in page
    assert "Réservé ou demandé" in page and "par Amina Haddad" in page
    assert "Demande acceptée" in page and "par Nadia Benali" in page


def test_the_log_shows_changes_with_before_and_after_and_filters(
    client, manager, place: dict
) -> None:
    booking(place, "amina", "kitchen", paris(2026, 3, 3, 14))
    url = f"/manage/venues/moulins/resources/{place['kitchen'].id}"
    client.post(
        url,
        data=resource_form(
            name="Cuisine du centre social",
            kind="space",
            max_duration_minutes="6 h",
            min_duration_minutes="1 h",
            buffer_minutes="30 min",
            buffer_reason="",
            requires_approval="y",
            weekly_quota_minutes="",
            min_notice_minutes="0",
        ),
    )
    log = text_of(client.get("/manage/venues/moulins/log"))
    assert "Règles de la ressource modifiées" in log
    assert (
        '<th scope="row">Réservation la plus longue</th><td>8 heures</td><td>6 heures</td>' in log
    )
    assert "Réservé ou demandé" in log
    only_rules = text_of(client.get("/manage/venues/moulins/log?action=resources"))
    assert (
        "Règles de la ressource modifiées" in only_rules and "Réservé ou demandé" not in only_rules
    )
    amina = text_of(client.get(f"/manage/venues/moulins/log?member={place['amina'].id}"))
    assert "Réservé ou demandé" in amina and "Règles de la ressource" not in amina
    before = text_of(client.get("/manage/venues/moulins/log?until=2026-01-01"))
    assert "Rien dans le journal pour ces filtres." in before
    assert client.get("/manage/venues/moulins/log?since=2099-13-45&page=abc").status_code == 200


# --- administrators ---------------------------------------------------------------------


def test_an_administrator_sets_up_a_new_venue(client, auth, place: dict) -> None:
    auth.login("admin@example.org")
    bad = client.post(
        "/admin/venues/new", data={"name": "", "timezone": "Europe/Paris", "email": "x"}
    )
    assert bad.status_code == 422
    created = client.post(
        "/admin/venues/new",
        data={
            "name": "Les Ateliers du Sud",
            "address": "12 rue de la Paix, 59000 Lille",
            "phone": "03 20 00 00 04",
            "email": "contact@ateliers.example.org",
            "timezone": "Europe/Paris",
            "description": "",
        },
    )
    assert created.status_code == 302 and created.headers["Location"].endswith(
        "/manage/venues/les-ateliers-du-sud"
    )
    overview = text_of(client.get(created.headers["Location"]))
    assert "Préparer le lieu" in overview and "à faire" in overview
    venue = db.session.scalar(sa.select(Venue).where(Venue.slug == "les-ateliers-du-sud"))
    assert venue.phone == "03 20 00 00 04"
    assert (
        db.session.scalar(sa.select(AdminEvent.action).where(AdminEvent.venue_id == venue.id))
        == "venue.created"
    )


def test_an_administrator_switches_an_account_off(client, auth, place: dict) -> None:
    auth.login("admin@example.org")
    listing = text_of(client.get("/admin/accounts?q=amina"))
    assert "Amina Haddad" in listing and "Samir" not in listing
    response = client.post(f"/admin/accounts/{place['amina'].id}", data={"seen": ""})
    assert response.status_code == 302
    assert not db.session.get(User, place["amina"].id).active
    assert "Désactivé" in text_of(client.get("/admin/accounts"))
