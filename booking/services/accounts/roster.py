"""A list of people to invite, as a manager has it: pasted from a spreadsheet or an e-mail
("Nadia Benali; nadia@example.org; gestionnaire", "Nadia Benali <nadia@example.org>"),
or the CSV or .ods file a spreadsheet saves; then each line reviewed against the venue
(ready, a wrong address, twice in the list, already part of the venue).

Reading is pure: it never asks the database, and a file it cannot read is a
``RosterError``. ``review`` asks the database about the venue only: an address with an
account elsewhere reads "ready", like any other, so that nobody learns who has one.
"""

from __future__ import annotations

import csv
import enum
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ...models import Invitation, Membership, Role, User
from .common import checked_email, normal_email

MAX_LINES = 500
MAX_NAME = 120
# What the content of an .ods may weigh once unzipped: a list of people is far smaller.
MAX_ODS_CONTENT = 8 * 1024 * 1024
# Empty rows and cells a spreadsheet repeats to the end of its grid are not read.
MAX_REPEAT = 50


class RosterError(Exception):
    """The list cannot be read: ``code`` says why (``unreadable``, ``too_many``,
    ``xlsx``, ``empty``)."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class RosterLine:
    """One person as the list gives them: the line's number as the manager sees it, and
    the name, address and role as typed."""

    number: int
    name: str
    email: str
    role: str = ""

    def as_text(self) -> str:
        """The line again, tab-separated (how a list read from a file is shown back)."""
        return "\t".join(part for part in (self.name, self.email, self.role) if part)


# --- reading ---------------------------------------------------------------------------

_ANGLE = re.compile(r"^(?P<name>[^<]*)<(?P<email>[^<>]*)>(?P<rest>.*)$")
# Several people on one line, as copied from an e-mail's recipients: "A <a@x>, B <b@x>".
_ANGLES = re.compile(r"([^<>,;]*)<([^<>]*@[^<>]*)>")
_HEADER_WORDS = ("mail", "courriel", "adresse", "address", "nom", "name")


def _cells_to_line(number: int, cells: Sequence[str]) -> RosterLine | None:
    """The person in a row's cells: the cell with an @ is the address; before it, the
    name (a first and a last name in two cells are joined); after it, the role. An
    address in the first cell is followed by the name, then the role."""
    cells = [" ".join(cell.split()) for cell in cells]
    while cells and not cells[-1]:
        cells.pop()
    if not any(cells):
        return None
    if len(cells) == 1:
        angle = _ANGLE.match(cells[0])
        if angle:
            name = angle["name"].strip().strip("\"',;").strip()
            rest = angle["rest"].strip().lstrip(",;").strip()
            return RosterLine(number, name, angle["email"].strip(), rest)
        cells = cells[0].split(" ")
        at = next((i for i, cell in enumerate(cells) if "@" in cell), None)
        if at is None:
            return RosterLine(number, " ".join(cells), "")
        return RosterLine(number, " ".join(cells[:at]), cells[at], " ".join(cells[at + 1 :]))
    at = next((i for i, cell in enumerate(cells) if "@" in cell), None)
    if at is None:
        # No address: the second cell is where it should be, shown as such.
        return RosterLine(number, cells[0], cells[1], " ".join(c for c in cells[2:] if c))
    email = cells[at].strip("<>")
    angle = _ANGLE.match(cells[at])
    before = [c for c in cells[:at] if c]
    after = [c for c in cells[at + 1 :] if c]
    if angle:
        before.append(angle["name"].strip().strip("\"'"))
        email = angle["email"].strip()
    if not before and after:
        # "nadia@example.org; Nadia Benali; membre": the address first.
        name, role = after[0], " ".join(after[1:])
        if role_of(name) is not None and len(after) == 1:
            name, role = "", name
        return RosterLine(number, name, email, role)
    return RosterLine(number, " ".join(c for c in before if c), email, " ".join(after))


def _is_header(cells: Sequence[str]) -> bool:
    """A first row of column titles ("Nom; Courriel; Rôle"), which names no address."""
    text = " ".join(cells).lower()
    return "@" not in text and any(word in text for word in _HEADER_WORDS)


def _lines(rows: Iterable[tuple[int, Sequence[str]]]) -> list[RosterLine]:
    lines: list[RosterLine] = []
    for number, cells in rows:
        if number == 1 and _is_header(cells):
            continue
        line = _cells_to_line(number, cells)
        if line is None:
            continue
        lines.append(line)
        if len(lines) > MAX_LINES:
            raise RosterError("too_many", max=MAX_LINES)
    return lines


def _separator(text: str) -> str | None:
    """The separator a pasted list uses: tabs (copied from a spreadsheet), semicolons
    (French CSV), commas; None for names and addresses separated by spaces."""
    sample = [line for line in text.splitlines() if line.strip()][:20]
    for separator in ("\t", ";", ","):
        if sum(separator in line for line in sample) >= max(1, len(sample) // 2):
            return separator
    return None


def read_text(text: str) -> list[RosterLine]:
    """People pasted one a line: "name, e-mail, role" with tabs, semicolons or commas
    between, or "Name <e-mail>"."""
    text = text.replace("\ufeff", "").replace("\u00a0", " ")
    separator = _separator(text)
    rows: list[tuple[int, Sequence[str]]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        people = _ANGLES.findall(raw)
        if len(people) > 1:
            rows.extend((number, [f"{name.strip()} <{email.strip()}>"]) for name, email in people)
        else:
            # The list's separator, or this line's own (a line typed apart from the rest).
            own = separator if separator and separator in raw else _separator(raw)
            if own is None:
                rows.append((number, [raw]))
            else:
                rows.append((number, next(csv.reader([raw], delimiter=own), [])))
    return _lines(rows)


def _decode(data: bytes) -> str:
    """UTF-8 (with or without the BOM Excel writes), else Windows' own encoding (what
    Excel saves as "CSV" on a French Windows)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def read_csv(data: bytes) -> list[RosterLine]:
    text = _decode(data).replace("\u00a0", " ")
    if "\x00" in text:
        raise RosterError("unreadable")
    separator = _separator(text) or ","
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=separator))
    except csv.Error as error:
        raise RosterError("unreadable") from error
    return _lines(enumerate(rows, start=1))


def read_ods(data: bytes) -> list[RosterLine]:
    """The first sheet of an OpenDocument spreadsheet (LibreOffice, OnlyOffice, Google
    Sheets' download), read with odfpy, which loads only when a file comes."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            if "xl/workbook.xml" in names:
                raise RosterError("xlsx")
            content = archive.getinfo("content.xml")
            if content.file_size > MAX_ODS_CONTENT:
                raise RosterError("unreadable")
    except (zipfile.BadZipFile, KeyError, ValueError) as error:
        raise RosterError("unreadable") from error
    from odf import teletype
    from odf.opendocument import load
    from odf.table import Table, TableCell, TableRow

    try:
        document = load(io.BytesIO(data))
        sheets = document.spreadsheet.getElementsByType(Table)
    except Exception as error:  # odfpy raises whatever its parser meets
        raise RosterError("unreadable") from error
    if not sheets:
        raise RosterError("empty")
    rows: list[list[str]] = []
    for row in sheets[0].getElementsByType(TableRow):
        cells: list[str] = []
        for cell in row.getElementsByType(TableCell):
            repeat = int(cell.getAttribute("numbercolumnsrepeated") or 1)
            cells.extend([teletype.extractText(cell)] * min(repeat, MAX_REPEAT))
        repeat = int(row.getAttribute("numberrowsrepeated") or 1)
        if any(cell.strip() for cell in cells):
            rows.extend([cells] * min(repeat, MAX_REPEAT))
        else:
            rows.append(cells)
        if len(rows) > MAX_LINES * 4:
            break
    return _lines(enumerate(rows, start=1))


def read_file(filename: str, data: bytes) -> list[RosterLine]:
    """A file a spreadsheet saved: .ods, or CSV (and plain text) otherwise."""
    name = filename.lower()
    if data.startswith(b"PK") or name.endswith((".ods", ".xlsx", ".xls")):
        if name.endswith(".xls") and not data.startswith(b"PK"):
            raise RosterError("xlsx")
        return read_ods(data)
    return read_csv(data)


# --- reviewing --------------------------------------------------------------------------

_ROLE_WORDS = {
    Role.MEMBER: ("membre", "member", "adherent", "adherente", "m", "usager", "usagere"),
    Role.MANAGER: ("gestionnaire", "manager", "gestion", "responsable", "g", "gerant"),
}


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def role_of(text: str) -> Role | None:
    """The role a cell names ("gestionnaire", "Membre", "manager"); members by default."""
    word = _plain(text)
    if not word:
        return Role.MEMBER
    for role, words in _ROLE_WORDS.items():
        if word in words:
            return role
    return None


class LineStatus(enum.StrEnum):
    READY = "ready"  # invited when sent (an account elsewhere or not: the same)
    AGAIN = "again"  # invited already and still waiting: sent again
    BAD_EMAIL = "bad_email"
    BAD_NAME = "bad_name"
    BAD_ROLE = "bad_role"
    TWICE = "twice"  # the same address earlier in the list
    MEMBER = "member"  # already part of the venue


SENDABLE = (LineStatus.READY, LineStatus.AGAIN)


@dataclass(frozen=True)
class Reviewed:
    line: RosterLine
    status: LineStatus
    email: str  # as it will be stored (or as typed, when it cannot be an address)
    name: str  # as the invitation will greet them
    role: Role

    @property
    def sendable(self) -> bool:
        return self.status in SENDABLE


def _name_from(email: str) -> str:
    """A name for a line that gives only an address: its part before the @, spaced."""
    local = email.split("@", 1)[0]
    return " ".join(part.capitalize() for part in re.split(r"[._\-+]+", local) if part)


def review(
    session: Session, venue_id: int, lines: Sequence[RosterLine], now: datetime
) -> list[Reviewed]:
    """Each line's status at the venue, in the list's order; two queries whatever its length."""
    emails = {line.number: checked_email(line.email) for line in lines}
    valid = sorted({e for e in emails.values() if e})
    members: set[str] = set()
    waiting: set[str] = set()
    if valid:
        members = set(
            session.scalars(
                sa.select(User.email)
                .join(Membership, Membership.user_id == User.id)
                .where(Membership.venue_id == venue_id, User.email.in_(valid))
            )
        )
        waiting = set(
            session.scalars(
                sa.select(Invitation.email).where(
                    Invitation.venue_id == venue_id,
                    Invitation.email.in_(valid),
                    Invitation.accepted_at.is_(None),
                    Invitation.revoked_at.is_(None),
                    Invitation.expires_at > now,
                )
            )
        )
    seen: set[str] = set()
    found = []
    for line in lines:
        email = emails[line.number]
        role = role_of(line.role)
        name = line.name.strip() or (_name_from(email) if email else "")
        if email is None:
            status = LineStatus.BAD_EMAIL
        elif email in seen:
            status = LineStatus.TWICE
        elif email in members:
            status = LineStatus.MEMBER
        elif role is None:
            status = LineStatus.BAD_ROLE
        elif len(name) > MAX_NAME:
            status = LineStatus.BAD_NAME
        elif email in waiting:
            status = LineStatus.AGAIN
        else:
            status = LineStatus.READY
        if email:
            seen.add(email)
        found.append(
            Reviewed(line, status, email or normal_email(line.email), name, role or Role.MEMBER)
        )
    return found
