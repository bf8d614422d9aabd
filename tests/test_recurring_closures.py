"""Recurring closures: every week, every year, public holidays (France's regions), written
ahead as closures the engine refuses like any other, the bookings inside listed first,
topped up as time goes, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from booking.extensions import db
from booking.models import Closure, ClosureRule, Status
from booking.services import BookingError
from booking.services.errors import SettingsError
from booking.services.venues.closures import venue_closures
from booking.services.venues.recurring import (
    EXPAND_DAYS,
    RuleRequest,
    add_rule,
    extend_rules,
    preview_rule,
    remove_rule,
)

from .conftest import PASSWORD, Factory, book_as, paris

pytestmark = [pytest.mark.postgres]

NOW = paris(2026, 3, 2, 9, 0)  # a Monday
ALL_DAY = [(d, time(0), time(23, 30)) for d in range(7)]


@pytest.fixture
def place(make: Factory) -> dict:
    venue = make.venue(slug="moulins", name="KPA Moulins", hours=ALL_DAY)
    return {
        "venue": venue,
        "kitchen": make.resource(venue, slug="cuisine", name="Cuisine", horizon_days=700),
        "member": make.user(venue, email="amina@example.org", display_name="Amina Haddad"),
        "manager": make.manager(venue, email="nadia@example.org", display_name="Nadia Benali"),
    }


def mondays(place: dict, **fields) -> RuleRequest:
    values = {
        "venue_id": place["venue"].id,
        "resource_id": None,
        "frequency": "weekly",
        "first_day": date(2026, 3, 9),
        "last_day": date(2026, 3, 9),
        "start_time": time(8),
        "end_time": time(13),
        "reason": "Ménage du lundi",
        "reason_public": True,
    }
    return RuleRequest(**{**values, **fields})


def _book(place: dict, start, hours: int = 1):
    return book_as(
        place["kitchen"],
        place["member"],
        starts_at=start,
        ends_at=start + timedelta(hours=hours),
        now=NOW,
    )


def test_every_monday_morning_is_closed_and_the_afternoon_open(place: dict) -> None:
    result = add_rule(
        mondays(place), place["manager"].id, NOW, seen_ids=frozenset(), cancel_ids=frozenset()
    )
    assert result.written == len(range(0, EXPAND_DAYS, 7)) or result.written > 100
    with pytest.raises(BookingError) as refused:
        _book(place, paris(2027, 1, 4, 9))  # a Monday, ten months on
    assert [v.code for v in refused.value.violations] == ["closed"]
    _book(place, paris(2027, 1, 4, 14))
    _book(place, paris(2027, 1, 5, 9))  # Tuesday
    # Summer time does not move the morning: 8:00–13:00 local all year.
    summer = db.session.scalars(
        sa.select(Closure)
        .where(Closure.starts_at >= paris(2026, 7, 6, 0))
        .order_by(Closure.starts_at)
    ).first()
    assert summer.starts_at == paris(2026, 7, 6, 8) and summer.ends_at == paris(2026, 7, 6, 13)
    # The closures' page lists the rule once, with its next closure.
    assert [c.starts_at for c in venue_closures(db.session, place["venue"].id, NOW)] == [
        paris(2026, 3, 9, 8)
    ]


def test_the_bookings_inside_are_listed_first_and_cancelled_as_ticked(place: dict) -> None:
    inside = _book(place, paris(2026, 8, 10, 10))
    kept = _book(place, paris(2027, 8, 20, 10))
    outside = _book(place, paris(2026, 9, 1, 10))
    august = RuleRequest(
        venue_id=place["venue"].id,
        resource_id=place["kitchen"].id,
        frequency="yearly",
        first_day=date(2026, 8, 1),
        last_day=date(2026, 8, 31),
        reason="Fermeture d’août",
    )
    shown = preview_rule(august, place["manager"].id, NOW)
    assert [r.id for r in shown.reservations] == [inside.id, kept.id]
    assert [o.starts_at for o in shown.occurrences] == [
        paris(2026, 8, 1),
        paris(2027, 8, 1),
        paris(2028, 8, 1),
    ][: len(shown.occurrences)]
    result = add_rule(
        august,
        place["manager"].id,
        NOW,
        seen_ids=frozenset({inside.id, kept.id}),
        cancel_ids=frozenset({inside.id}),
    )
    db.session.expire_all()
    statuses = {r.id: db.session.get(type(r), r.id).status for r in (inside, kept, outside)}
    assert statuses == {
        inside.id: Status.CANCELLED,
        kept.id: Status.CONFIRMED,
        outside.id: Status.CONFIRMED,
    }
    assert [r.decision_reason for r in result.cancelled] == ["Fermeture d’août"]


def test_public_holidays_of_alsace_moselle_are_not_those_of_the_mainland(place: dict) -> None:
    def holidays(subdivision: str) -> set[date]:
        shown = preview_rule(
            RuleRequest(
                venue_id=place["venue"].id,
                resource_id=None,
                frequency="holidays",
                first_day=date(2026, 3, 2),
                last_day=date(2026, 3, 2),
                reason="Jour férié",
                country="FR",
                subdivision=subdivision,
            ),
            place["manager"].id,
            NOW,
        )
        return {o.starts_at.astimezone(NOW.tzinfo).date() for o in shown.occurrences}

    mainland, alsace = holidays(""), holidays("57")
    assert date(2026, 4, 6) in mainland and date(2026, 7, 14) in mainland  # Easter Monday
    assert alsace - mainland == {
        date(2026, 4, 3),
        date(2026, 12, 26),
        date(2027, 3, 26),
        date(2027, 12, 26),
    }
    add_rule(
        RuleRequest(
            venue_id=place["venue"].id,
            resource_id=None,
            frequency="holidays",
            first_day=date(2026, 3, 2),
            last_day=date(2026, 3, 2),
            reason="Jour férié",
            country="FR",
            subdivision="57",
            reason_public=True,
        ),
        place["manager"].id,
        NOW,
        seen_ids=frozenset(),
        cancel_ids=frozenset(),
    )
    with pytest.raises(BookingError) as refused:
        _book(place, paris(2026, 12, 26, 10))
    assert refused.value.violations[0].params["reason"] == "Jour férié — Saint-Étienne"


def test_rules_that_cannot_be_are_refused_on_their_fields(place: dict) -> None:
    with pytest.raises(SettingsError) as refused:
        add_rule(
            mondays(place, last_day=date(2026, 3, 17), reason="", until=date(2026, 1, 1)),
            place["manager"].id,
            NOW,
            seen_ids=frozenset(),
            cancel_ids=frozenset(),
        )
    assert {(v.code, v.field) for v in refused.value.violations} == {
        ("reason_required", "reason"),
        ("longer_than_repeat", "ends"),
        ("until_before_start", "until"),
    }
    assert db.session.scalar(sa.select(sa.func.count(ClosureRule.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(Closure.id))) == 0


def test_occurrences_come_within_reach_as_time_goes_and_a_removed_rule_leaves_its_past(
    place: dict,
) -> None:
    rule = add_rule(
        mondays(place, until=None),
        place["manager"].id,
        NOW,
        seen_ids=frozenset(),
        cancel_ids=frozenset(),
    ).rule
    last = db.session.scalar(sa.select(sa.func.max(Closure.starts_at)))
    assert extend_rules(NOW + timedelta(days=1)) == 0  # nothing due yet
    later = NOW + timedelta(days=60)
    assert extend_rules(later) > 0
    assert db.session.scalar(sa.select(sa.func.max(Closure.starts_at))) > last + timedelta(days=50)
    removed = remove_rule(rule.id, place["manager"].id, later)
    assert removed > 100
    left = db.session.scalars(sa.select(Closure)).all()
    assert left and all(c.starts_at < later and c.rule_id is None for c in left)


def test_the_screen_previews_then_confirms(client: FlaskClient, auth, place: dict, clock) -> None:
    clock.set(NOW)
    _book(place, paris(2026, 3, 16, 9))
    assert auth.login("nadia@example.org", PASSWORD).status_code == 302
    assert client.get("/manage/venues/moulins/closures/recurring").status_code == 200
    form = {
        "resource": "0",
        "frequency": "weekly",
        "region": "",
        "first_day": "2026-03-09",
        "start_time": "08:00",
        "last_day": "2026-03-09",
        "end_time": "13:00",
        "reason": "Ménage du lundi",
        "reason_public": "y",
    }
    shown = client.post(
        "/manage/venues/moulins/closures/recurring", data={**form, "action": "preview"}
    )
    page = shown.get_data(as_text=True)
    assert shown.status_code == 200 and "1 réservation est dans ces fermetures" in page
    seen = db.session.scalar(sa.select(sa.func.min(Closure.id)))  # none yet
    assert seen is None
    ids = [line.split('"')[0] for line in page.split('name="cancel" value="')[1:]]
    done = client.post(
        "/manage/venues/moulins/closures/recurring",
        data={**form, "action": "confirm", "seen": ",".join(ids), "cancel": ids},
        follow_redirects=True,
    )
    assert "Fermeture récurrente enregistrée" in done.get_data(as_text=True)
    closures = client.get("/manage/venues/moulins/closures").get_data(as_text=True)
    assert "Chaque semaine à partir du lundi 9 mars, de 8" in closures
    bad = client.post(
        "/manage/venues/moulins/closures/recurring",
        data={**form, "reason": "", "action": "preview"},
    )
    assert bad.status_code == 422
