"""Compiled translations for tests: the .mo files are built, never committed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

TRANSLATIONS = Path(__file__).resolve().parents[2] / "booking" / "translations"


def compile_catalogues(directory: Path = TRANSLATIONS) -> list[Path]:
    """What `pybabel compile -d booking/translations` does, fuzzy entries left out."""
    written = []
    for po_path in sorted(directory.glob("*/LC_MESSAGES/messages.po")):
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=po_path.parts[-3])
        mo_path = po_path.with_suffix(".mo")
        # Write to a temporary name and rename: several test processes may
        # compile at once and none must read a half-written file.
        partial = mo_path.with_suffix(f".mo.{id(catalog)}.tmp")
        with partial.open("wb") as handle:
            write_mo(handle, catalog, use_fuzzy=False)
        partial.replace(mo_path)
        written.append(mo_path)
    return written


@pytest.fixture(scope="session")
def compiled_translations() -> Iterator[list[Path]]:
    yield compile_catalogues()
