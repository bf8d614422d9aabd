"""Read a feed back with the parsers real calendar clients use, and compare them.

- icalendar (Python): its parse errors are collected on each component;
- vobject with validate=True (the parser behind Radicale);
- Mozilla's ical.js (the parser behind Thunderbird), run with node on
  ``tests/js/parse.mjs``; ``scripts/install-test-deps.sh`` installs it.

Each parser's reading is reduced to the same plain events, so that a test can
check they agree and then check what they agree on.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import icalendar
import pytest
import vobject

JS_DIR = Path(__file__).resolve().parent.parent / "js"


@dataclass(frozen=True)
class ParsedEvent:
    uid: str
    status: str
    sequence: int
    start: datetime  # aware UTC
    end: datetime
    summary: str
    location: str
    description: str
    url: str
    dtstamp: datetime
    last_modified: datetime
    created: datetime


@dataclass(frozen=True)
class ParsedCalendar:
    properties: dict[str, str]
    components: list[str]
    events: list[ParsedEvent]

    def by_uid(self) -> dict[str, ParsedEvent]:
        events = {e.uid: e for e in self.events}
        assert len(events) == len(self.events), "duplicate UIDs"
        return events


def _utc(value: Any, where: str) -> datetime:
    assert isinstance(value, datetime), f"{where}: {value!r} is not a date-time"
    assert value.tzinfo is not None, f"{where}: floating time {value!r}"
    assert value.utcoffset().total_seconds() == 0, f"{where}: {value!r} is not UTC"
    return value.astimezone(UTC)


# --- icalendar --------------------------------------------------------------------------


def with_icalendar(body: bytes) -> ParsedCalendar:
    calendar = icalendar.Calendar.from_ical(body)
    for component in calendar.walk():
        assert not component.errors, f"icalendar: {component.name}: {component.errors}"
    events = []
    for event in calendar.walk("VEVENT"):

        def text(name: str, event: icalendar.Event = event) -> str:
            return str(event.get(name, ""))

        def instant(name: str, event: icalendar.Event = event) -> datetime:
            return _utc(event.decoded(name), f"icalendar {name}")

        events.append(
            ParsedEvent(
                uid=text("UID"),
                status=text("STATUS"),
                sequence=int(event.get("SEQUENCE", 0)),
                start=instant("DTSTART"),
                end=instant("DTEND"),
                summary=text("SUMMARY"),
                location=text("LOCATION"),
                description=text("DESCRIPTION"),
                url=text("URL"),
                dtstamp=instant("DTSTAMP"),
                last_modified=instant("LAST-MODIFIED"),
                created=instant("CREATED"),
            )
        )
    properties = {k: v.to_ical().decode() for k, v in calendar.items()}
    components = [c.name for c in calendar.subcomponents]
    return ParsedCalendar(properties, components, events)


# --- vobject ----------------------------------------------------------------------------


def with_vobject(body: bytes) -> ParsedCalendar:
    # validate=True checks each component's required and unique properties.
    calendar = vobject.readOne(body.decode("utf-8"), validate=True)
    assert calendar.name == "VCALENDAR"
    calendar.validate(raiseException=True)
    events = []
    for event in calendar.contents.get("vevent", []):
        event.validate(raiseException=True)

        def text(name: str, event: Any = event) -> str:
            line = event.contents.get(name)
            return str(line[0].value) if line else ""

        def instant(name: str, event: Any = event) -> datetime:
            return _utc(event.contents[name][0].value, f"vobject {name}")

        events.append(
            ParsedEvent(
                uid=text("uid"),
                status=text("status"),
                sequence=int(text("sequence") or 0),
                start=instant("dtstart"),
                end=instant("dtend"),
                summary=text("summary"),
                location=text("location"),
                description=text("description"),
                url=text("url"),
                dtstamp=instant("dtstamp"),
                last_modified=instant("last-modified"),
                created=instant("created"),
            )
        )
    properties = {
        name.upper(): str(lines[0].value)
        for name, lines in calendar.contents.items()
        if name not in ("vevent", "vtimezone")
    }
    components = [c.name for c in calendar.getChildren() if c.name in ("VEVENT", "VTIMEZONE")]
    return ParsedCalendar(properties, components, events)


# --- ical.js ----------------------------------------------------------------------------


def icaljs_available() -> str | None:
    """Why ical.js cannot run here, or None when it can."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (JS_DIR / "node_modules" / "ical.js").is_dir():
        return "ical.js is not installed in tests/js"
    return None


def with_icaljs_many(bodies: list[bytes]) -> list[ParsedCalendar]:
    """One node process for several feeds: starting node is the slow part."""
    missing = icaljs_available()
    if missing:
        pytest.fail(f"{missing}: run `bash scripts/install-test-deps.sh` from the repository root")
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for n, body in enumerate(bodies):
            path = Path(folder) / f"feed-{n}.ics"
            path.write_bytes(body)
            paths.append(str(path))
        result = subprocess.run(
            ["node", str(JS_DIR / "parse.mjs"), *paths],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 0, f"ical.js failed: {result.stderr}"
    return [_from_icaljs(item) for item in json.loads(result.stdout)]


def with_icaljs(body: bytes) -> ParsedCalendar:
    return with_icaljs_many([body])[0]


def _js_time(value: str | None, zone: str | None, where: str) -> datetime:
    assert value is not None, f"ical.js: {where} missing"
    assert zone == "UTC", f"ical.js: {where} is {zone}, not UTC"
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _from_icaljs(item: dict[str, Any]) -> ParsedCalendar:
    events = [
        ParsedEvent(
            uid=e["uid"],
            status=e["status"] or "",
            sequence=int(e["sequence"] or 0),
            start=_js_time(e["start"], e["startZone"], "DTSTART"),
            end=_js_time(e["end"], e["endZone"], "DTEND"),
            summary=e["summary"] or "",
            location=e["location"] or "",
            description=e["description"] or "",
            url=e["url"] or "",
            dtstamp=_js_time(e["dtstamp"], "UTC", "DTSTAMP"),
            last_modified=_js_time(e["lastModified"], "UTC", "LAST-MODIFIED"),
            created=_js_time(e["created"], "UTC", "CREATED"),
        )
        for e in item["events"]
    ]
    cal = item["calendar"]
    properties = {
        "PRODID": cal["prodid"] or "",
        "VERSION": cal["version"] or "",
        "CALSCALE": cal["calscale"] or "",
        "METHOD": cal["method"] or "",
        "NAME": cal["name"] or "",
        "X-WR-CALNAME": cal["xWrCalname"] or "",
        "REFRESH-INTERVAL": str(cal["refreshInterval"]),
        "REFRESH-INTERVAL-IS-DURATION": str(cal["refreshIntervalIsDuration"]),
        "X-PUBLISHED-TTL": cal["publishedTtl"],
    }
    return ParsedCalendar(properties, [c.upper() for c in cal["components"]], events)


# --- all three -----------------------------------------------------------------------------


def read_everywhere_many(bodies: list[bytes]) -> list[ParsedCalendar]:
    """Each feed read by the three parsers, which must agree event for event."""
    js = with_icaljs_many(bodies)
    readings = []
    for body, from_js in zip(bodies, js, strict=True):
        from_icalendar = with_icalendar(body)
        from_vobject = with_vobject(body)
        for name, other in (("vobject", from_vobject), ("ical.js", from_js)):
            assert other.events == from_icalendar.events, f"{name} reads other events"
            assert other.components == from_icalendar.components, f"{name} reads other components"
        readings.append(from_icalendar)
    return readings


def read_everywhere(body: bytes) -> ParsedCalendar:
    return read_everywhere_many([body])[0]


# --- the feeds' clock -------------------------------------------------------------------------


class FeedClock:
    """Stands in for ``booking.clock.now`` so that a test can live in 2026's DST weeks."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, now: datetime) -> None:
        from booking import clock

        self.now = now.astimezone(UTC)
        monkeypatch.setattr(clock, "now", lambda: self.now)

    def set(self, now: datetime) -> datetime:
        self.now = now.astimezone(UTC)
        return self.now
