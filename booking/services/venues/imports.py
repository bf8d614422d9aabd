"""Bringing a venue's existing bookings in: an .ics file (a calendar's export) or a
spreadsheet (.csv), previewed, then imported in one transaction through the engine.

1. ``upload`` reads the file once (refusing what is too large, not a calendar, broken, or
   in an unknown time zone: nothing is kept then) and keeps it as a ``CalendarImport``.
2. ``preview_import`` maps each event to a resource (by the field or column the manager
   chose, each of its values to a resource) and to a person: a member of the venue found
   by e-mail, or else someone outside the app, for whom the booking is held by the
   venue (made by the importing manager, their name at the head of its purpose). Each
   is then put to the engine (``booking.batch.judge``) with the soft rules set aside as
   a manager may: free, or in conflict and why. Events already imported, past, or not
   readable are told apart.
3. ``run_import`` books the free ones in one transaction (``booking.batch.book_batch``),
   remembers each event's identity (a digest of its UID and occurrence, or of a row's
   content), so that the same file imported again adds nothing, logs the import, and
   forgets the file's content. Nobody is e-mailed: these bookings were known already.
"""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ...database import run_write
from ...extensions import db
from ...models import (
    CalendarImport,
    ImportedEvent,
    ImportFormat,
    Membership,
    Resource,
    User,
    Venue,
)
from ...rules import SOFT_RULES, Violation
from ..audit import record_admin
from ..booking.batch import Planned, judge, write_batch
from ..booking.engine import guarded
from ..errors import ChangedMeanwhileError, NotAllowedError, SettingsError
from .calendar_files import (
    CalendarFileError,
    Event,
    Sheet,
    decode,
    digest,
    read_calendar,
    read_sheet,
    sheet_events,
)
from .managing import managed_venue

# How far back and ahead a file's events are read (recurring ones expanded): the past is
# counted, not imported; ahead, as far as any resource lets anyone book.
DAYS_BACK = 366
DAYS_AHEAD = 760
# Values of the mapped field offered one by one; a file with more is mapped by name only.
MAX_VALUES = 60
MAX_FILENAME = 200
# Where an ics event's resource may be read.
ICS_FIELDS = ("summary", "location", "categories")
SINGLE = "single"


@dataclass
class Mapping:
    """The manager's choices: where the resource is read (an iCal field, a column, or
    ``single``), each value's resource (None: left out), and a spreadsheet's columns."""

    resource_field: str = "location"
    single_resource_id: int | None = None
    values: dict[str, int | None] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict:
        return {
            "resource_field": self.resource_field,
            "single_resource_id": self.single_resource_id,
            "values": self.values,
            "columns": self.columns,
        }

    @classmethod
    def from_json(cls, data: dict) -> Mapping:
        return cls(
            str(data.get("resource_field") or "location"),
            data.get("single_resource_id"),
            dict(data.get("values") or {}),
            dict(data.get("columns") or {}),
        )


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def guess_resource(value: str, resources: list[tuple[int, str, str]]) -> int | None:
    """The resource a value names: its name or address name, whole or inside the value."""
    plain = _plain(value)
    if not plain:
        return None
    for rid, name, slug in resources:
        if plain in (_plain(name), _plain(slug)):
            return rid
    for rid, name, _slug in sorted(resources, key=lambda r: -len(r[1])):
        if _plain(name) and _plain(name) in plain:
            return rid
    return None


def _format_of(filename: str, text: str) -> ImportFormat:
    lower = filename.lower()
    if lower.endswith((".ics", ".ical", ".ifb")) or "BEGIN:VCALENDAR" in text[:4096].upper():
        return ImportFormat.ICS
    if lower.endswith((".csv", ".txt", ".tsv")):
        return ImportFormat.CSV
    raise SettingsError([Violation("import_format", "file")])


def _file_error(error: CalendarFileError) -> SettingsError:
    return SettingsError([Violation("calendar_" + error.code, "file", {"detail": error.detail})])


def upload(
    venue_id: int, actor_id: int, filename: str, data: bytes, now: datetime, max_bytes: int
) -> CalendarImport:
    """Keep a file to import once it reads as a calendar or a spreadsheet of bookings."""
    if len(data) > max_bytes:
        raise SettingsError([Violation("file_too_large", "file", {"max": max_bytes})])
    if not data.strip():
        raise SettingsError([Violation("file_empty", "file")])
    name = " ".join(filename.split())[:MAX_FILENAME]
    try:
        text = decode(data)
        kind = _format_of(name, text)
        venue, _ = managed_venue(db.session, venue_id, actor_id)
        mapping = Mapping()
        if kind == ImportFormat.ICS:
            # Read once: parsing iCal is the slow part, so the preview and the import
            # read the events kept as JSON rather than the file again.
            start = now - timedelta(days=DAYS_BACK)
            events = read_calendar(text, venue.zone, start, now + timedelta(days=DAYS_AHEAD))
            text = json.dumps([_stored(event) for event in events], ensure_ascii=False)
        else:
            sheet = read_sheet(text)
            mapping.columns = sheet.guess()
            mapping.resource_field = mapping.columns.get("resource", SINGLE)
    except CalendarFileError as error:
        raise _file_error(error) from None

    def work(session: Session) -> CalendarImport:
        managed_venue(session, venue_id, actor_id)
        kept = CalendarImport(
            venue_id=venue_id,
            created_by_id=actor_id,
            created_at=now,
            filename=name,
            format=kind,
            content=text,
            mapping=mapping.as_json(),
        )
        session.add(kept)
        session.flush()
        return kept

    return run_write(work)


# --- the preview ----------------------------------------------------------------------


@dataclass
class Line:
    """One event as the preview shows it, and what will become of it."""

    event: Event
    state: str  # free, conflict, imported, past, unmapped, unreadable
    resource_id: int | None = None
    resource_name: str = ""
    member_id: int | None = None
    member_name: str = ""  # a member of the venue, or the name of someone outside the app
    outside: bool = False  # held by the venue for someone outside the app
    purpose: str = ""
    violations: list[Violation] = field(default_factory=list)


@dataclass
class ImportPreview:
    kept: CalendarImport
    mapping: Mapping
    lines: list[Line]
    resources: list[tuple[int, str, str]]
    values: list[tuple[str, int]]  # the mapped field's values and how many events each
    header: tuple[str, ...] = ()

    @property
    def counts(self) -> Counter:
        return Counter(line.state for line in self.lines)

    @property
    def free(self) -> list[Line]:
        return [line for line in self.lines if line.state == "free"]


_FIELDS = ("key", "summary", "location", "description", "all_day", "busy")


def _stored(event: Event) -> dict:
    found = {name: getattr(event, name) for name in _FIELDS}
    found.update(
        starts_at=event.starts_at.isoformat(),
        ends_at=event.ends_at.isoformat(),
        categories=list(event.categories),
        emails=list(event.emails),
        names=list(event.names),
    )
    return found


def _restored(data: dict) -> Event:
    return Event(
        starts_at=datetime.fromisoformat(data["starts_at"]),
        ends_at=datetime.fromisoformat(data["ends_at"]),
        categories=tuple(data["categories"]),
        emails=tuple(data["emails"]),
        names=tuple(data["names"]),
        **{name: data[name] for name in _FIELDS},
    )


def _events(kept: CalendarImport, venue: Venue, mapping: Mapping, now: datetime) -> tuple:
    try:
        if kept.format == ImportFormat.ICS:
            try:
                return [_restored(item) for item in json.loads(kept.content)], ()
            except (ValueError, KeyError, TypeError):
                raise CalendarFileError("not_ical") from None
        sheet: Sheet = read_sheet(kept.content)
    except CalendarFileError as error:
        raise _file_error(error) from None
    columns = {role: c for role, c in mapping.columns.items() if c in sheet.header}
    if mapping.resource_field in sheet.header:
        columns["resource"] = mapping.resource_field
    return list(sheet_events(sheet, columns, venue.zone)), sheet.header


def _members(session: Session, venue_id: int, emails: set[str]) -> dict[str, tuple[int, str]]:
    """Active people with a role at the venue, by e-mail address."""
    if not emails:
        return {}
    found = {}
    for chunk in _chunks(sorted(emails), 500):
        for user_id, email, name in session.execute(
            sa.select(User.id, User.email, User.display_name)
            .join(Membership, Membership.user_id == User.id)
            .where(
                Membership.venue_id == venue_id, User.active, sa.func.lower(User.email).in_(chunk)
            )
        ):
            found[email.lower()] = (user_id, name)
    return found


def _chunks(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _already(session: Session, venue_id: int, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(keys, 500):
        found.update(
            session.scalars(
                sa.select(ImportedEvent.key).where(
                    ImportedEvent.venue_id == venue_id, ImportedEvent.key.in_(chunk)
                )
            )
        )
    return found


def _lines(
    session: Session,
    kept: CalendarImport,
    venue: Venue,
    actor_id: int,
    mapping: Mapping,
    now: datetime,
    for_someone: str,
) -> ImportPreview:
    events, header = _events(kept, venue, mapping, now)
    resources = [
        (rid, name, slug)
        for rid, name, slug in session.execute(
            sa.select(Resource.id, Resource.name, Resource.slug)
            .where(Resource.venue_id == venue.id, Resource.is_active)
            .order_by(Resource.name)
        )
    ]
    names = {rid: name for rid, name, _ in resources}
    single = mapping.resource_field == SINGLE
    by_value = Counter(("" if single else event.field(_field(kept, mapping))) for event in events)
    values = by_value.most_common(MAX_VALUES) if not single else []
    chosen = dict(mapping.values)
    for value, _count in values:
        if value not in chosen:
            chosen[value] = guess_resource(value, resources)
    mapping.values = {value: chosen.get(value) for value, _ in values}
    members = _members(session, venue.id, {e for event in events for e in event.emails})
    keys = {event.key: digest(event.key) for event in events}
    imported = _already(session, venue.id, list(keys.values()))
    lines: list[Line] = []
    planned: list[tuple[Line, Planned]] = []
    for event in events:
        line = Line(event, "free")
        if event.problem:
            line.state = "unreadable"
            lines.append(line)
            continue
        if single:
            rid = mapping.single_resource_id if mapping.single_resource_id in names else None
        else:
            value = event.field(_field(kept, mapping))
            rid = chosen.get(value) if value in chosen else guess_resource(value, resources)
            rid = rid if rid in names else None
        line.resource_id, line.resource_name = rid, names.get(rid or 0, "")
        member = next((members[e] for e in event.emails if e in members), None)
        summary = event.summary
        if member is not None:
            line.member_id, line.member_name = member
            line.purpose = summary
        else:
            who = next(iter(event.names), "") or next(iter(event.emails), "")
            line.member_id, line.outside, line.member_name = actor_id, True, who
            line.purpose = (
                (for_someone % {"name": who}) + (f" — {summary}" if summary else "")
                if who
                else summary
            )
        if keys[event.key] in imported:
            line.state = "imported"
        elif event.starts_at < now:
            line.state = "past"
        elif rid is None:
            line.state = "unmapped"
        else:
            planned.append(
                (
                    line,
                    Planned(rid, line.member_id, event.starts_at, event.ends_at, line.purpose),
                )
            )
        lines.append(line)
    verdicts = judge(session, [p for _, p in planned], actor_id, now, SOFT_RULES)
    for (line, _), verdict in zip(planned, verdicts, strict=True):
        if not verdict.bookable:
            line.state, line.violations = "conflict", verdict.violations
    return ImportPreview(kept, mapping, lines, resources, values, header)


def _field(kept: CalendarImport, mapping: Mapping) -> str:
    if kept.format == ImportFormat.ICS:
        return mapping.resource_field if mapping.resource_field in ICS_FIELDS else "location"
    return "location"  # a spreadsheet's resource column is read as the event's location


def _kept(session: Session, import_id: int, actor_id: int) -> tuple[CalendarImport, Venue, User]:
    kept = session.get(CalendarImport, import_id)
    if kept is None:
        raise NotAllowedError("not_found")
    venue, actor = managed_venue(session, kept.venue_id, actor_id)
    return kept, venue, actor


def preview_import(
    import_id: int,
    actor_id: int,
    now: datetime,
    mapping: Mapping | None = None,
    *,
    for_someone: str = "For %(name)s",
) -> ImportPreview:
    """Every event with what would become of it: nothing is written."""
    session = db.session
    kept, venue, _ = _kept(session, import_id, actor_id)
    if kept.imported_at is not None:
        raise SettingsError([Violation("import_done", None)])
    chosen = mapping or Mapping.from_json(kept.mapping)
    return _lines(session, kept, venue, actor_id, chosen, now, for_someone)


@dataclass
class ImportResult:
    kept: CalendarImport
    imported: int
    counts: Counter


def run_import(
    import_id: int,
    actor_id: int,
    now: datetime,
    mapping: Mapping,
    *,
    expected: int,
    for_someone: str = "For %(name)s",
) -> ImportResult:
    """Book every free event in one transaction. ``expected``: how many the preview
    showed free; a different number now (a booking came, a member left) stops the import
    so that the manager looks again."""

    def work(session: Session) -> ImportResult:
        kept, venue, actor = _kept(session, import_id, actor_id)
        if kept.imported_at is not None:
            raise SettingsError([Violation("import_done", None)])
        shown = _lines(session, kept, venue, actor.id, mapping, now, for_someone)
        free = shown.free
        if len(free) != expected:
            raise ChangedMeanwhileError()

        verdicts = write_batch(
            session,
            [
                Planned(
                    line.resource_id or 0,
                    line.member_id or actor.id,
                    line.event.starts_at,
                    line.event.ends_at,
                    line.purpose,
                )
                for line in free
            ],
            actor.id,
            now,
            SOFT_RULES,
            detail=f"import={kept.id}",
        )
        written = [(line, v) for line, v in zip(free, verdicts, strict=True) if v.id]
        if len(written) != len(free):
            raise ChangedMeanwhileError()
        if written:
            session.execute(
                sa.insert(ImportedEvent),
                [
                    {
                        "venue_id": venue.id,
                        "key": digest(line.event.key),
                        "reservation_id": verdict.id,
                        "import_id": kept.id,
                        "created_at": now,
                    }
                    for line, verdict in written
                ],
            )
        count = len(written)
        counts = shown.counts
        kept.imported_at = now
        kept.mapping = mapping.as_json()
        kept.outcome = {state: counts.get(state, 0) for state in STATES}
        kept.content = ""  # names and addresses are no longer needed
        record_admin(
            session,
            "import.done",
            venue_id=venue.id,
            actor_id=actor.id,
            now=now,
            label=kept.filename or venue.name,
            subject_id=kept.id,
            changes=[[state, None, counts.get(state, 0)] for state in STATES],
            detail=kept.filename,
        )
        return ImportResult(kept, count, counts)

    return guarded(work)


STATES = ("free", "conflict", "imported", "past", "unmapped", "unreadable")


def forget_imports(now: datetime, older_than: timedelta = timedelta(days=2)) -> int:
    """Drop the files kept for an import that was never made (their content holds names
    and addresses); those imported keep their outcome, their content long gone."""

    stale = [CalendarImport.imported_at.is_(None), CalendarImport.created_at < now - older_than]
    found = db.session.scalar(sa.select(CalendarImport.id).where(*stale).limit(1))
    db.session.rollback()
    if found is None:
        return 0

    def work(session: Session) -> int:
        result = session.execute(sa.delete(CalendarImport).where(*stale))
        return int(result.rowcount or 0)

    return run_write(work)
