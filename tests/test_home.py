"""The home page of a network that keeps growing: the places a page at a time, found by
name or town; a member's own places first; the same cost with 30 venues or 300."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from booking.extensions import db
from booking.models import Membership, ResourceKind, Role, Venue
from booking.services.venues.directory import PAGE_SIZE, RESOURCES_SHOWN

from .support.growth import RESOURCES_PER_VENUE, grow_network
from .support.pages import text_of
from .support.sql import statements

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("clock")]


@pytest.fixture
def cooperatives(make):
    """The three demo cooperatives, with their towns, among a grown network."""
    moulins = make.venue(
        slug="kpa-moulins",
        name="KPA Moulins",
        address="Maison de quartier de Lille-Moulins, 59000 Lille",
        phone="03 20 00 00 01",
        email="moulins@example.org",
    )
    make.resource(moulins, slug="cuisine", name="Cuisine du centre social", requires_approval=True)
    cape = make.venue(
        slug="la-cape", name="La Cape — labo140", address="14 rue de l’Épeule, 59100 Roubaix"
    )
    make.resource(cape, slug="laser", name="Découpeuse laser")
    illicoop = make.venue(
        slug="illicoop",
        name="Illicoop — Mons Fabrica",
        address="Mons Fabrica, 59370 Mons-en-Barœul",
    )
    make.resource(
        illicoop, slug="coworking", name="Espace de co-working", kind=ResourceKind.SPACE, capacity=8
    )
    grow_network(40)
    return {"moulins": moulins, "cape": cape, "illicoop": illicoop}


def venue_names(page: str) -> list[str]:
    return re.findall(r'class="venue-name"><a href="/venues/[^"]+">([^<]+)</a>', page)


def test_visitors_find_a_place_by_its_name_or_its_town(client, cooperatives):
    page = text_of(client.get("/"))
    assert "43 lieux. Page 1 sur 5." in page
    assert len(venue_names(page)) == PAGE_SIZE
    assert 'role="search"' in page
    assert '<label class="field-label" for="place">Trouver un lieu</label>' in page

    for asked, found in [
        ("59100 roubaix", "La Cape — labo140"),
        ("Mons-en-Barœul", "Illicoop — Mons Fabrica"),
        ("mons en baroeul", "Illicoop — Mons Fabrica"),
        ("MOULINS", "KPA Moulins"),
        ("labo140", "La Cape — labo140"),
        ("épeule", "La Cape — labo140"),
    ]:
        page = text_of(client.get("/", query_string={"place": asked}))
        assert venue_names(page) == [found], asked
        assert f"1 lieu correspond à « {asked} »." in page

    # What a place shows: where it is, how to reach it, what to book there.
    page = text_of(client.get("/?place=moulins"))
    assert "Maison de quartier de Lille-Moulins, 59000 Lille" in page
    assert 'href="tel:0320000001"' in page
    assert 'href="mailto:moulins@example.org"' in page
    assert "https://www.openstreetmap.org/search?query=" in page
    assert 'href="/resources/cuisine"' in page
    assert "Sur validation" in page

    page = text_of(client.get("/?place=roubaix"))
    assert "6 lieux correspondent à « roubaix »." in page
    assert venue_names(page)[0] == "La Cape — labo140"
    page = text_of(client.get("/?place=dunkerque"))
    assert "5 lieux correspondent à « dunkerque »." in page
    assert all(name.startswith("Tiers-lieu") for name in venue_names(page))

    page = text_of(client.get("/?place=nulle+part"))
    assert venue_names(page) == []
    assert "Aucun lieu ne correspond à « nulle part »." in page
    assert 'href="/#places">Voir tous les lieux' in page


def test_the_places_come_a_page_at_a_time(client, cooperatives):
    first = text_of(client.get("/"))
    second = text_of(client.get("/?page=2"))
    assert 'rel="next" href="/?page=2#places"' in first
    assert "Page 2 sur 5." in second
    assert set(venue_names(first)).isdisjoint(venue_names(second))
    names = [name for p in range(1, 6) for name in venue_names(text_of(client.get(f"/?page={p}")))]
    assert len(names) == len(set(names)) == 43
    assert names == sorted(names)
    # A page past the last, or no page at all, is the nearest one.
    assert venue_names(text_of(client.get("/?page=99"))) == venue_names(
        text_of(client.get("/?page=5"))
    )
    assert venue_names(text_of(client.get("/?page=zero"))) == venue_names(first)
    # The search is kept from page to page.
    page = text_of(client.get("/?place=lille"))
    assert "6 lieux correspondent à « lille »." in page
    assert 'rel="next"' not in page
    page = text_of(client.get("/?place=tiers+lieu&page=2"))
    assert 'href="/?place=tiers+lieu&page=3#places"' in page


def test_a_place_shows_its_first_resources_and_links_to_all(client, cooperatives):
    page = text_of(client.get("/?place=tiers-lieu+0001"))
    assert venue_names(page) == ["Tiers-lieu 0001"]
    assert page.count('class="card resource-card"') == RESOURCES_SHOWN
    assert f"Toutes ses ressources ({RESOURCES_PER_VENUE})" in page
    assert 'href="/venues/lieu-1"' in page
    venue_page = text_of(client.get("/venues/lieu-1"))
    assert venue_page.count('class="card resource-card"') == RESOURCES_PER_VENUE


def test_a_search_too_long_or_with_invisible_characters_is_said_next_to_the_field(
    client, cooperatives
):
    response = client.get("/", query_string={"place": "x" * 101})
    assert response.status_code == 422
    assert "100 caractères au plus." in text_of(response)
    response = client.get("/", query_string={"place": "lille\x00"})
    assert response.status_code == 422
    assert 'id="place-error"' in response.get_data(as_text=True)


def test_a_member_sees_their_own_places_first_then_finds_the_others(
    client, auth, make, cooperatives
):
    late = db.session.scalar(sa.select(Venue).where(Venue.slug == "lieu-39"))
    make.user(cooperatives["cape"], email="lea@example.org", display_name="Léa Martin")
    lea = db.session.scalar(sa.select(Membership.user_id).where(Membership.role == Role.MEMBER))
    db.session.add(Membership(user_id=lea, venue_id=late.id, role=Role.MEMBER))
    db.session.commit()
    auth.login("lea@example.org")

    page = text_of(client.get("/"))
    position = 0
    for text in [
        "Bonjour Léa Martin",
        "Trouver un créneau libre",
        "Vos lieux",
        "La Cape — labo140",
        "Découpeuse laser",
        "Tiers-lieu 0039",
        f"Toutes ses ressources ({RESOURCES_PER_VENUE})",
        "Les autres lieux du réseau",
        "41 lieux. Page 1 sur 5.",
    ]:
        position = page.index(text, position)  # each after the one before
    others = page.split("Les autres lieux du réseau")[1]
    assert "La Cape — labo140" not in others and "Tiers-lieu 0039" not in others
    assert 'class="card resource-card"' not in others  # the others: where, not what

    page = text_of(client.get("/?place=59100"))
    assert "Vos lieux" in page
    assert "Aucun lieu ne correspond à « 59100 »." in page  # her own is above
    page = text_of(client.get("/?place=moulins"))
    assert venue_names(page.split("Les autres lieux du réseau")[1]) == ["KPA Moulins"]


def _cost(client, path: str) -> tuple[int, int, int]:
    """Statements, ORM objects loaded and bytes of one view of ``path``."""
    loaded = []

    def count(target, _context) -> None:  # type: ignore[no-untyped-def]
        loaded.append(target)

    client.get(path)  # the first view of a page does more (the overdue watch)
    sa.event.listen(db.Model, "load", count, propagate=True)
    try:
        with statements() as sent:
            response = client.get(path)
    finally:
        sa.event.remove(db.Model, "load", count)
    assert response.status_code == 200, path
    return len(sent), len(loaded), len(response.get_data())


@pytest.mark.parametrize("who", ["visitor", "member"])
def test_the_home_costs_the_same_with_thirty_venues_or_three_hundred(
    client, auth, make, who, db_backend
):
    own = make.venue(slug="chez-moi", name="Chez moi")
    for n in range(8):
        make.resource(own, name=f"Machine {n}")
    make.user(own, email="membre@example.org")
    if who == "member":
        auth.login("membre@example.org")
    paths = ["/", "/?page=2", "/?place=coop%C3%A9ration", "/?place=tiers+lieu&page=3"]

    grow_network(30)
    few = {path: _cost(client, path) for path in paths}
    grow_network(270, first=30)
    many = {path: _cost(client, path) for path in paths}

    for path in paths:
        (statements_few, objects_few, size_few), (statements_many, objects_many, size_many) = (
            few[path],
            many[path],
        )
        assert statements_many == statements_few, path
        assert objects_many == objects_few, path
        assert abs(size_many - size_few) < size_few * 0.02, path
    assert max(sent for sent, _, _ in many.values()) <= (5 if who == "visitor" else 10), many


def test_the_search_offers_a_member_their_own_places_not_the_whole_network(
    client, auth, make, cooperatives
):
    make.user(cooperatives["cape"], email="lea@example.org")
    page = client.get("/search").get_data(as_text=True)
    assert 'id="venue"' not in page  # a visitor names a place in "What are you looking for?"
    assert "Tiers-lieu 0001" not in page

    auth.login("lea@example.org")
    page = client.get("/search").get_data(as_text=True)
    options = re.findall(
        r'<option value="([^"]*)"', page.split('id="venue"')[1].split("</select>")[0]
    )
    assert options == ["", "la-cape"]
    assert "Tous mes lieux" in page

    # A link may name another place: it is offered, and searched.
    response = client.get("/search?venue=lieu-7&when=week")
    assert response.status_code == 200
    options = response.get_data(as_text=True).split('id="venue"')[1].split("</select>")[0]
    assert '<option value="lieu-7" selected>Tiers-lieu 0007</option>' in options
    assert "Ressource 0 du lieu 7" in text_of(response)
