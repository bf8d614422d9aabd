"""The pages that list the network's venues for administrators stay the same size as the
network grows: the administration's list (a page at a time, found by name or town) and
the managers' page, which no longer lists every venue for an administrator."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from booking.extensions import db
from booking.models import Membership, Role, SignupRequest, Venue

from .support.growth import grow_network
from .support.pages import text_of
from .support.sql import statements

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("clock")]


@pytest.fixture
def admin(make, auth):
    make.user(email="admin@example.org", is_admin=True)
    auth.login("admin@example.org")


def listed(page: str) -> list[str]:
    return re.findall(r'<h2 class="card-title">([^<]+)</h2>', page)


def test_administrators_find_venues_a_page_at_a_time(client, make, admin):
    cape = make.venue(slug="la-cape", name="La Cape — labo140", address="59100 Roubaix")
    make.manager(cape, email="thomas@example.org")
    retired = make.venue(slug="ancien", name="Ancien lieu", address="Arras", is_active=False)
    grow_network(25)

    page = text_of(client.get("/admin/"))
    assert "27 lieux. Page 1 sur 3." in page
    assert listed(page) == [
        "Ancien lieu",
        "La Cape — labo140",
        *(f"Tiers-lieu {n:04d}" for n in range(8)),
    ]
    # What each venue still needs, counted for the whole page at once.
    card = page.split("La Cape — labo140")[1].split("</li>")[0]
    assert "Installation à terminer" in card and "1 gestionnaire" in card
    grown = page.split("Tiers-lieu 0000")[1].split("</li>")[0]
    assert "10 ressources" in grown and "0 gestionnaire" in grown
    assert retired.name in page  # retired venues stay in the administration's list

    page = text_of(client.get("/admin/?place=roubaix"))
    assert listed(page)[0] == "La Cape — labo140"
    assert "4 lieux correspondent à « roubaix »." in page
    page = text_of(client.get("/admin/?page=3"))
    assert listed(page) == [f"Tiers-lieu {n:04d}" for n in range(18, 25)]
    assert 'rel="prev" href="/admin/?page=2#places"' in page
    response = client.get("/admin/", query_string={"place": "\x07"})
    assert response.status_code == 422


def test_an_administrators_managers_page_does_not_list_every_venue(client, make, admin, auth):
    grow_network(12)
    page = client.get("/manage/").get_data(as_text=True)
    panel = page.split('id="venues-title"')[1].split("</section>")[0]
    assert "Tiers-lieu 00" not in page  # nor among the people joining: none is waiting
    assert 'action="/admin/#places"' in panel and 'name="place"' in panel
    # A venue where someone asks to join is named, with the way to their request.
    seven = db.session.scalar(sa.select(Venue.id).where(Venue.slug == "lieu-7"))
    db.session.add(SignupRequest(venue_id=seven, email="fatou@example.org", display_name="Fatou"))
    db.session.commit()
    page = text_of(client.get("/manage/"))
    assert "<strong>Tiers-lieu 0007</strong>" in page and "1 demande pour rejoindre" in page
    assert "Tiers-lieu 0006" not in page
    found = text_of(client.get("/admin/?place=tiers-lieu+0011"))
    assert listed(found) == ["Tiers-lieu 0011"]
    assert 'href="/manage/venues/lieu-11"' in found

    # A manager still sees the venues they manage.
    # (Two of them: someone with one venue still being set up lands on its checklist.)
    own = db.session.scalar(sa.select(Venue).where(Venue.slug == "lieu-3"))
    claire = make.manager(own, email="claire@example.org")
    other = db.session.scalar(sa.select(Venue).where(Venue.slug == "lieu-4"))
    db.session.add(Membership(user=claire, venue=other, role=Role.MANAGER))
    db.session.commit()
    auth.logout()
    auth.login("claire@example.org")
    panel = client.get("/manage/").get_data(as_text=True).split('id="venues-title"')[1]
    panel = panel.split("</section>")[0]
    assert 'href="/manage/venues/lieu-3"' in panel and 'href="/manage/venues/lieu-4"' in panel
    assert 'href="/manage/venues/lieu-5"' not in panel


def test_the_administrations_list_costs_the_same_with_thirty_venues_or_three_hundred(client, admin):
    def cost(path: str) -> tuple[int, int]:
        client.get(path)
        with statements() as sent:
            response = client.get(path)
        assert response.status_code == 200
        return len(sent), len(response.get_data())

    paths = ["/admin/", "/admin/?page=2", "/admin/?place=lille"]
    grow_network(30)
    few = {path: cost(path) for path in paths[:2]}
    grow_network(270, first=30)
    many = {path: cost(path) for path in paths[:2]}
    assert {p: n for p, (n, _) in few.items()} == {p: n for p, (n, _) in many.items()}
    for path in paths[:2]:
        assert abs(many[path][1] - few[path][1]) < few[path][1] * 0.02, path
    sent, _ = cost(paths[2])
    assert sent == many["/admin/"][0]
