"""The waiting list within reach, in Chromium on a 390 px phone: a member taps a taken time
on a venue's week, is offered « Me prévenir », and joins in two taps; checked by axe-core."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from playwright import sync_api

from booking.extensions import db
from booking.models import Resource, User, WaitlistEntry
from booking.services import book

from .conftest import paris
from .support.browser import (
    PHONE,
    axe_violations,
    chromium,  # noqa: F401  (the browser fixture)
)
from .support.live_server import serve

pytestmark = [pytest.mark.browser, pytest.mark.slow]

expect = sync_api.expect

MONDAY = paris(2026, 3, 2, 9)  # tomorrow is Tuesday 3 March: Illicoop is open
PASSWORD = "tiers-lieux-demo"


@pytest.fixture
def base_url(app, runner, clock) -> Iterator[str]:
    clock.set(MONDAY)
    result = runner.invoke(args=["seed-demo", "--no-bookings"])
    assert result.exit_code == 0, result.output
    # Léa holds Illicoop's meeting room on Tuesday morning.
    lea = db.session.scalar(sa.select(User).where(User.email == "lea@example.org"))
    room = db.session.scalar(
        sa.select(Resource).where(Resource.slug == "salle-reunion-mons-fabrica")
    )
    book(
        resource_id=room.id,
        member_id=lea.id,
        actor_id=lea.id,
        starts_at=paris(2026, 3, 3, 10),
        ends_at=paris(2026, 3, 3, 12),
        now=MONDAY,
    )
    url, stop = serve(app)
    yield url
    stop()


def test_samir_waits_for_the_meeting_room_from_the_week_in_two_taps(browser, base_url):
    context = browser.new_context(viewport=PHONE, locale="fr-FR")
    page = context.new_page()
    page.goto(f"{base_url}/login?next={quote('/venues/illicoop/week', safe='')}")
    page.fill("#email", "samir@example.org")
    page.fill("#password", PASSWORD)
    page.locator("main button[type=submit]").click()
    expect(page.locator("h1")).to_contain_text("Ce qui est libre à Illicoop")

    room = page.locator("#week-salle-reunion-mons-fabrica")
    tuesday = room.locator(".plan-day", has_text="mardi 3 mars")
    taken = tuesday.locator("a.plan-wait", has_text="10:00–12:00")
    expect(taken).to_contain_text("Réservé")
    expect(taken).to_contain_text("Me prévenir")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert axe_violations(page) == []

    taken.click()  # the first tap
    expect(page.locator("h1")).to_have_text("Me prévenir si ce créneau se libère")
    expect(page.locator("#day")).to_have_value("2026-03-03")
    expect(page.locator("#start")).to_have_value("10:00")
    expect(page.locator("#end")).to_have_value("12:00")
    # Instead, the nearest free times of the room, and of nothing else like it there.
    expect(page.locator(".nearby")).to_contain_text("mardi 3 mars, 12:30–14:30")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert axe_violations(page) == []

    page.fill("#purpose", "Réunion du collectif")
    page.get_by_role("button", name="Me prévenir s’il se libère").click()  # the second tap
    expect(page.locator(".flash")).to_contain_text(
        "C’est noté : nous vous écrirons si ce créneau se libère."
    )
    expect(page.locator("main")).to_contain_text("Salle de réunion — Illicoop — Mons Fabrica")
    assert axe_violations(page) == []
    entry = db.session.scalar(sa.select(WaitlistEntry))
    assert entry.purpose == "Réunion du collectif"
    assert entry.starts_at == paris(2026, 3, 3, 10) and entry.ends_at == paris(2026, 3, 3, 12)
    context.close()
