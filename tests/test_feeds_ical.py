"""booking.ical writes RFC 5545 itself: escaping, folding and values, read back by three parsers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask

from booking.models import Audience, Reservation, Resource, ResourceKind, Status, User, Venue
from booking.presentation import ical

from .support.icalcheck import read_everywhere, with_icaljs

NASTY = (
    "Découpe; gravure, collage \\ peinture\nligne 2\r\nligne 3\rligne 4\x07\x00 sonnerie "
    "— 🎉🧵 « fête » " + "é" * 40 + " 漢字かな " + "x" * 90
)


def _reservation(n: int, **fields) -> Reservation:
    venue = Venue(id=1, slug="v", name="Lieu, « test »; ici", address="1 rue\\du Test, Lille")
    resource = Resource(
        id=1, venue=venue, slug="r", name="Découpeuse laser", kind=ResourceKind.EQUIPMENT
    )
    user = User(id=7, email="karim@example.org", display_name="Karim, dit « K »")
    start = datetime(2026, 3, 29, 1, 0, tzinfo=UTC) + timedelta(days=n)
    values = {
        "id": n,
        "uid": f"00000000-0000-4000-8000-{n:012d}",
        "resource": resource,
        "user": user,
        "user_id": 7,
        "starts_at": start,
        "ends_at": start + timedelta(hours=2),
        "purpose": NASTY,
        "status": Status.CONFIRMED,
        "sequence": 3,
        "seats": 1,
        "decision_reason": "",
        "created_at": datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC),
        "updated_at": datetime(2026, 3, 2, 9, 30, 15, 654321, tzinfo=UTC),
    }
    values.update(fields)
    return Reservation(**values)


def _write(reservations: list[Reservation], audience: ical.Audience) -> bytes:
    info = ical.CalendarInfo(name="Réservations, « tout »; \\ ça", timezone="Europe/Paris")
    return ical.calendar(info, reservations, audience, lambda r: f"https://x.test/r/{r.id}?a=1,2")


def test_text_survives_every_parser(app: Flask) -> None:
    body = _write([_reservation(1), _reservation(2, status=Status.PENDING)], Audience.MEMBER)
    calendar = read_everywhere(body)
    expected = (
        NASTY.replace("\r\n", "\n").replace("\r", "\n").replace("\x07", "").replace("\x00", "")
    )
    for event in calendar.events:
        assert event.summary.endswith("Découpeuse laser — " + expected)
        assert expected in event.description
        assert event.location == "Lieu, « test »; ici, 1 rue\\du Test, Lille"
        assert event.url == f"https://x.test/r/{event.uid[-1]}?a=1,2"
        assert event.sequence == 3
        assert event.created == datetime(2026, 3, 1, 9, 30, 15, tzinfo=UTC)
        assert event.dtstamp == event.last_modified == datetime(2026, 3, 2, 9, 30, 15, tzinfo=UTC)
    # NAME (RFC 7986) and X-WR-CALNAME are TEXT, escaped as such; the three
    # parsers treat them as unknown properties and hand the raw value over.
    escaped = "Réservations\\, « tout »\\; \\\\ ça"
    assert calendar.properties["NAME"] == calendar.properties["X-WR-CALNAME"] == escaped
    assert with_icaljs(body).properties["NAME"] == escaped
    assert [e.status for e in calendar.events] == ["CONFIRMED", "TENTATIVE"]


def test_lines_are_folded_at_75_octets_and_end_with_crlf(app: Flask) -> None:
    body = _write([_reservation(1)], Audience.MANAGER)
    assert body.endswith(b"END:VCALENDAR\r\n")
    lines = body.split(b"\r\n")
    assert all(len(line) <= 75 for line in lines)
    assert all(b"\n" not in line and b"\r" not in line for line in lines)
    for line in lines:
        line.decode("utf-8")  # no line ends inside a character
    assert any(line.startswith(b" ") for line in lines)


def test_audiences_show_what_they_may(app: Flask) -> None:
    reservation = _reservation(1, decision_reason="Fermé ce jour-là", status=Status.REFUSED)
    public = read_everywhere(_write([_reservation(1)], Audience.PUBLIC)).events[0]
    member = read_everywhere(_write([reservation], Audience.MEMBER)).events[0]
    manager = read_everywhere(_write([reservation], Audience.MANAGER)).events[0]
    assert "Karim" not in public.summary + public.description
    assert "Découpe;" not in public.summary + public.description  # show_purpose is off
    assert "karim@example.org" in manager.description
    assert "Karim, dit « K »" in manager.summary
    assert "Karim" not in member.summary
    assert member.status == manager.status == "CANCELLED"
    assert "Fermé ce jour-là" in member.description


def test_same_reservations_same_bytes(app: Flask) -> None:
    first = _write([_reservation(2), _reservation(1)], Audience.MEMBER)
    assert _write([_reservation(1), _reservation(2)], Audience.MEMBER) == first
