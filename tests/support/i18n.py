"""Compiled translations for tests: the .mo files are built, never committed.

conftest.py calls compile_stale_catalogues() when pytest starts, in every process
of the run: a catalogue is compiled only when its .mo is missing or older than its
.po, and written under a name of its own then renamed, so that processes starting
together never read a half-written file.
"""

from __future__ import annotations

import os
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

TRANSLATIONS = Path(__file__).resolve().parents[2] / "booking" / "translations"


def _compile(po_path: Path, mo_path: Path) -> None:
    """What `pybabel compile -d booking/translations` does for one catalogue, fuzzy left out."""
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=po_path.parts[-3])
    partial = mo_path.with_suffix(f".mo.{os.getpid()}.tmp")
    try:
        with partial.open("wb") as handle:
            write_mo(handle, catalog, use_fuzzy=False)
        partial.replace(mo_path)
    finally:
        partial.unlink(missing_ok=True)


def compile_stale_catalogues(directory: Path = TRANSLATIONS) -> list[Path]:
    """Compile each catalogue whose .mo is missing or older than its .po; return those."""
    written = []
    for po_path in sorted(directory.glob("*/LC_MESSAGES/messages.po")):
        mo_path = po_path.with_suffix(".mo")
        try:
            fresh = mo_path.stat().st_mtime >= po_path.stat().st_mtime
        except FileNotFoundError:
            fresh = False
        if not fresh:
            _compile(po_path, mo_path)
            written.append(mo_path)
    return written
