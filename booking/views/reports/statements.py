"""Monthly usage statements, per member and per venue, and their CSV and .ods."""

from __future__ import annotations

from dataclasses import replace

from flask import abort, render_template, request
from flask.typing import ResponseReturnValue

from ... import clock
from ...extensions import db
from ...presentation import reports as present
from ...presentation.exports import csv_bytes, ods_bytes
from ...services.reporting.statements import monthly_statements, monthly_totals
from .. import access
from ..kit import Paging
from .common import Asked, bp, download, statements_asked


def _page(asked: Asked) -> ResponseReturnValue:
    """One venue's statements, a page of people at a time; or, for several, each venue's
    total, a page of venues at a time (each links to its own statements)."""
    statements = totals = pages = None
    page = Paging.asked()
    offset, limit = page.window
    if asked.valid:
        assert asked.period is not None
        if asked.venue is not None:
            statements = monthly_statements(
                db.session, asked.venues, asked.period, people=(offset, limit)
            )
            people, more = page.cut(statements.members)
            statements = replace(statements, members=people)
        else:
            venues, more = page.cut(asked.venues[offset : offset + limit])
            found = monthly_totals(db.session, venues, asked.period)
            totals = (venues, {total.venue_id: total for total in found})
        pages = page.links("reports.statements", more)
    return (
        render_template(
            "reports/statements.html",
            asked=asked,
            form=asked.form,
            venue=asked.venue,
            statements=statements,
            totals=totals,
            pages=pages,
            period_label=present.period_label,
            args={
                "venue": asked.venue_slug or "",
                "month": asked.period.code if asked.period else "",
            },
            made_at=clock.now(),
        ),
        200 if asked.valid else 422,
    )


@bp.route("/statements")
@access.manager
def statements() -> ResponseReturnValue:
    return _page(statements_asked(present.month_choices))


def _tables(asked: Asked) -> list:
    assert asked.period is not None
    return present.statement_tables(monthly_statements(db.session, asked.venues, asked.period))


@bp.route("/statements.csv")
@access.manager
def statements_csv() -> ResponseReturnValue:
    """One table of the statements (``?table=members``, ``lines`` or ``resources``)."""
    asked = statements_asked(present.month_choices)
    if not asked.valid:
        return _page(asked)
    assert asked.period is not None
    table = {t.key: t for t in _tables(asked)}.get(request.args.get("table", "members"))
    if table is None:
        abort(404)
    name = present.file_stem("releves", asked.venue_slug, asked.period, table.key)
    return download(csv_bytes(table), name, "csv")


@bp.route("/statements.ods")
@access.manager
def statements_ods() -> ResponseReturnValue:
    asked = statements_asked(present.month_choices)
    if not asked.valid:
        return _page(asked)
    assert asked.period is not None
    name = present.file_stem("releves", asked.venue_slug, asked.period)
    return download(ods_bytes(_tables(asked)), name, "ods")
