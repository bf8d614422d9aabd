"""Public pages: venues, resources and their rules, in French and in English."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from booking.extensions import db
from booking.models import OpeningPeriod, ResourceKind

from .conftest import PARIS, book_as
from .support.pages import text_of

LUNCH_BREAK = [(d, time(9), time(12, 30)) for d in range(5)] + [
    (d, time(13, 30), time(19)) for d in range(5)
]


@pytest.fixture
def kitchen(make):
    venue = make.venue(slug="kpa-moulins", name="KPA Moulins", hours=LUNCH_BREAK)
    return make.resource(
        venue,
        slug="cuisine",
        name="Cuisine du centre social",
        kind=ResourceKind.SPACE,
        requires_approval=True,
        min_duration_minutes=60,
        max_duration_minutes=360,
        min_notice_minutes=24 * 60,
        horizon_days=60,
        buffer_minutes=30,
        weekly_quota_minutes=12 * 60,
    )


def test_home_lists_active_venues_and_resources_in_french(client, make, kitchen):
    make.resource(kitchen.venue, slug="laser", name="Découpeuse laser", qualification=None)
    make.resource(
        kitchen.venue, slug="cowork", name="Co-working", kind=ResourceKind.SPACE, capacity=8
    )
    make.resource(kitchen.venue, slug="old", name="Vieille machine", is_active=False)
    closed = make.venue(slug="fermee", name="Lieu fermé", is_active=False)
    make.resource(closed, name="Ressource cachée")

    response = client.get("/")

    assert response.status_code == 200
    page = text_of(response)
    assert "Réservez un espace ou une machine" in page
    assert "KPA Moulins" in page
    assert "Cuisine du centre social" in page
    assert "Sur validation" in page
    assert "8 places" in page
    assert "Réservation immédiate" in page
    assert "Vieille machine" not in page
    assert "Lieu fermé" not in page
    assert "Ressource cachée" not in page
    assert 'href="/resources/cuisine"' in page
    assert 'href="/venues/kpa-moulins"' in page


def test_home_marks_resources_needing_a_training(client, make):
    laser = make.resource(slug="laser", name="Découpeuse laser")
    laser.qualification = make.qualification()
    db.session.commit()

    assert "Formation requise" in text_of(client.get("/"))


def test_home_in_english(client, kitchen):
    client.get("/lang/en")
    page = text_of(client.get("/"))
    assert "Book a space or a machine" in page
    assert "On approval" in page
    assert "Sur validation" not in page


def test_home_without_venues_says_so(client):
    assert "Aucun lieu n’est encore ouvert à la réservation." in text_of(client.get("/"))


def test_venue_page_shows_hours_in_words_with_the_lunch_break(client, kitchen):
    page = text_of(client.get("/venues/kpa-moulins"))

    assert "Horaires d’ouverture" in page
    assert "Lundi" in page
    assert "de 9 h à 12 h 30" in page
    assert "puis de 13 h 30 à 19 h" in page
    assert "Dimanche" in page
    assert "Fermé" in page
    assert "Cuisine du centre social" in page


def test_venue_page_in_english(client, kitchen):
    client.get("/lang/en")
    page = text_of(client.get("/venues/kpa-moulins"))
    assert "Opening hours" in page
    assert "Monday" in page
    assert "from 9:00 to 12:30" in page  # 24-hour in English too
    assert "then from 13:30 to 19:00" in page
    assert "PM" not in page


def test_venue_page_lists_closures_coming_up_only(client, kitchen, make):
    today = date.today()
    venue = kitchen.venue

    def midnight(days: int) -> datetime:
        return datetime.combine(today + timedelta(days=days), time(0), tzinfo=PARIS)

    make.closure(venue, midnight(-30), midnight(-19), "Inventaire passé")
    make.closure(venue, midnight(10), midnight(13), "Congés d'hiver")
    make.closure(venue, midnight(3), midnight(4), "Désinfection", resource=kitchen)
    make.closure(
        venue,
        midnight(5) + timedelta(hours=14),
        midnight(5) + timedelta(hours=16),
        "Réunion du conseil d'administration",
        public=False,
    )

    page = text_of(client.get("/venues/kpa-moulins"))

    assert "Prochaines fermetures" in page
    assert "Congés d'hiver" in page
    assert "Cuisine du centre social : fermeture" in page
    assert "Désinfection" in page
    assert "Inventaire passé" not in page
    # A closure of a few hours says its hours; a private reason stays private.
    assert "de 14 h à 16 h" in page
    assert "conseil d'administration" not in page


def test_venue_without_closure_says_none_is_planned(client, kitchen):
    assert "Aucune fermeture prévue." in text_of(client.get("/venues/kpa-moulins"))


@pytest.mark.parametrize("path", ["/venues/nulle-part", "/resources/nulle-part"])
def test_unknown_slugs_answer_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "Nous ne trouvons pas cette page" in text_of(response)


def test_retired_resource_answers_404(client, make):
    make.resource(slug="retiree", is_active=False)
    assert client.get("/resources/retiree").status_code == 404


def test_inactive_venue_and_its_resources_answer_404(client, make):
    venue = make.venue(slug="fermee", is_active=False)
    make.resource(venue, slug="dans-lieu-ferme")
    assert client.get("/venues/fermee").status_code == 404
    assert client.get("/resources/dans-lieu-ferme").status_code == 404


def test_resource_page_explains_every_rule_in_french(client, kitchen):
    page = text_of(client.get("/resources/cuisine"))

    assert "Les règles, en clair" in page
    assert "L’équipe valide chaque réservation" in page
    assert "Au moins 1 heure et au plus 6 heures par réservation." in page
    assert "On réserve par tranches de 30 min." in page
    assert "Réservez au moins 1 jour à l’avance." in page
    assert "Vous pouvez réserver jusqu’à 60 jours à l’avance." in page
    assert (
        "Le créneau est bloqué 30 min après chaque réservation, "
        "pour le nettoyage et le rangement." in page
    )
    assert "jusqu’à 12 heures par semaine" in page
    assert "Une seule réservation à la fois" in page
    assert "Les horaires de KPA Moulins." in page


def test_resource_page_in_english(client, kitchen):
    client.get("/lang/en")
    page = text_of(client.get("/resources/cuisine"))
    assert "The rules, in plain words" in page
    assert "At least 1 hour and at most 6 hours per booking." in page
    assert "Book at least 1 day in advance." in page
    assert "The slot is blocked for 30 min after each booking, for cleaning and tidying up." in page


def test_the_break_after_each_booking_is_worded_per_resource(client, kitchen, make):
    """Each resource says what its break is for; the booking pages say it too."""
    kitchen.buffer_reason = "le nettoyage de la cuisine"
    db.session.commit()
    expected = (
        "Le créneau est bloqué 30 min après chaque réservation, pour le nettoyage de la cuisine."
    )
    assert expected in text_of(client.get("/resources/cuisine"))
    member = make.user(kitchen.venue)
    client.post("/login", data={"email": member.email, "password": "correct horse battery"})
    assert expected in text_of(client.get("/reservations/new?resource=cuisine"))


def test_resource_page_for_a_shared_machine_needing_a_training(client, make):
    qualification = make.qualification("Formation sécurité découpe laser")
    laser = make.resource(
        slug="laser",
        kind=ResourceKind.EQUIPMENT,
        capacity=3,
        buffer_minutes=15,
        min_notice_minutes=0,
        slot_minutes=30,
        min_duration_minutes=90,
        max_duration_minutes=90,
    )
    laser.qualification = qualification
    db.session.commit()

    page = text_of(client.get("/resources/laser"))

    assert "Formation requise" in page
    assert "la formation « Formation sécurité découpe laser »" in page
    assert "3 places" in page
    assert "Jusqu’à 3 personnes peuvent l’utiliser en même temps." in page
    assert "Chaque réservation dure 1 h 30." in page
    assert "Vous pouvez réserver jusqu’à la dernière minute." in page
    assert (
        "Le créneau est bloqué 15 min après chaque réservation, "
        "pour le refroidissement et la vérification de la machine." in page
    )
    assert "Confirmée tout de suite" in page


def test_resource_page_shows_its_own_hours_when_it_has_some(client, make):
    resource = make.resource(slug="textile")
    resource.own_opening_periods = [OpeningPeriod(weekday=2, opens_at=time(14), closes_at=time(18))]
    db.session.commit()

    page = text_of(client.get("/resources/textile"))

    assert "Cette ressource a ses propres horaires." in page
    assert "de 14 h à 18 h" in page
    assert "de 8 h à 20 h" not in page  # the venue's hours


def test_resource_page_offers_to_book_when_booking_exists(app, client, kitchen):
    page = text_of(client.get("/resources/cuisine"))
    if "reservations.new" in app.view_functions:
        assert 'href="/reservations/new?resource=cuisine"' in page
        assert "Réserver" in page
    else:
        assert "/reservations/new" not in page


def test_language_switch_goes_back_to_a_local_page_only(client, kitchen):
    response = client.get("/lang/en?next=/venues/kpa-moulins")
    assert response.status_code == 302
    assert response.headers["Location"] == "/venues/kpa-moulins"

    response = client.get("/lang/fr?next=https://example.com/")
    assert response.headers["Location"] == "/"


def test_unknown_language_answers_404(client):
    assert client.get("/lang/de").status_code == 404


def test_the_venues_phone_e_mail_and_map_are_on_its_pages(client, auth, kitchen, make, clock):
    venue = kitchen.venue
    venue.phone = "03 20 00 00 00"
    venue.email = "accueil@kpa-moulins.example"
    db.session.commit()
    member = make.user(venue, email="amina@example.org")
    start = datetime(2026, 3, 10, 10, tzinfo=PARIS)
    reservation = book_as(
        kitchen, member, starts_at=start, ends_at=start + timedelta(hours=2), now=clock.now
    )
    auth.login("amina@example.org")
    for path in ("/venues/kpa-moulins", "/resources/cuisine", f"/reservations/{reservation.id}"):
        page = client.get(path).get_data(as_text=True)
        assert 'href="tel:0320000000"' in page, path
        assert 'href="mailto:accueil@kpa-moulins.example"' in page, path
        assert "https://www.openstreetmap.org/search?query=" in page, path
        assert "Voir sur une carte" in text_of(client.get(path)), path
