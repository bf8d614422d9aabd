"""The activity report: the page (with its charts), its tables as CSV and .ods, and the
reservations of the period as they are."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, stream_with_context, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from ... import clock
from ...extensions import db
from ...presentation import reports as present
from ...presentation.exports import MAX_ODS_ROWS, csv_bytes, csv_lines, ods_bytes
from ...services.reporting.activity import activity_report, count_reservations, reservations_in
from .. import access
from .common import Asked, bp, download, local_today, period_args, report_asked


def _page(asked: Asked, status: int = 200) -> ResponseReturnValue:
    report = None
    if asked.valid:
        assert asked.period is not None
        report = activity_report(db.session, asked.venues, asked.period)
    today = local_today(asked.venues)
    return (
        render_template(
            "reports/report.html",
            asked=asked,
            form=asked.form,
            venue=asked.venue,
            report=report,
            tables={t.key: t for t in present.report_tables(report)} if report else {},
            charts=(
                {
                    "occupancy": present.occupancy_chart(report),
                    "statuses": present.statuses_chart(report),
                    "timeline": present.timeline_chart(report),
                    "heatmap": present.heatmap_chart(report),
                }
                if report
                else {}
            ),
            quick=present.quick_periods(today),
            args=asked.args(period_args),
            period_args=period_args,
            period_label=present.period_label,
            made_at=clock.now(),
        ),
        status if asked.valid else 422,
    )


@bp.route("/")
@access.manager
def report() -> ResponseReturnValue:
    return _page(report_asked(present.period_choices))


def _export_name(asked: Asked, what: str, table: str = "") -> str:
    assert asked.period is not None
    return present.file_stem(what, asked.venue_slug, asked.period, table)


@bp.route("/report.csv")
@access.manager
def report_csv() -> ResponseReturnValue:
    """One table of the report (``?table=resources``) as CSV."""
    asked = report_asked(present.period_choices)
    if not asked.valid:
        return _page(asked)
    assert asked.period is not None
    tables = {
        t.key: t
        for t in present.report_tables(activity_report(db.session, asked.venues, asked.period))
    }
    table = tables.get(request.args.get("table", "resources"))
    if table is None:
        abort(404)
    return download(csv_bytes(table), _export_name(asked, "rapport", table.key), "csv")


@bp.route("/report.ods")
@access.manager
def report_ods() -> ResponseReturnValue:
    """Every table of the report, a sheet each."""
    asked = report_asked(present.period_choices)
    if not asked.valid:
        return _page(asked)
    assert asked.period is not None
    report = activity_report(db.session, asked.venues, asked.period)
    return download(ods_bytes(present.report_tables(report)), _export_name(asked, "rapport"), "ods")


def _reservations(kind: str) -> ResponseReturnValue:
    asked = report_asked(present.period_choices)
    if not asked.valid:
        return _page(asked)
    assert asked.period is not None
    table = present.reservation_rows(reservations_in(db.session, asked.venues, asked.period))
    name = _export_name(asked, "reservations")
    if kind == "csv":
        lines = csv_lines(present.reservations_table(), table)
        return download(stream_with_context(line.encode() for line in lines), name, "csv")
    if count_reservations(db.session, asked.venues, asked.period) > MAX_ODS_ROWS:
        flash(
            _(
                "Too many reservations for a spreadsheet file (more than %(max)d): download "
                "the CSV, or choose a shorter period.",
                max=MAX_ODS_ROWS,
            ),
            "warning",
        )
        args = {k: v for k, v in request.args.items() if k in ("venue", "period", "first", "last")}
        return redirect(url_for("reports.report", **args) + "#downloads", 303)
    return download(ods_bytes([present.reservations_table()], {"reservations": table}), name, "ods")


@bp.route("/reservations.csv")
@access.manager
def reservations_csv() -> ResponseReturnValue:
    """Every reservation starting in the period, whatever became of it, as CSV."""
    return _reservations("csv")


@bp.route("/reservations.ods")
@access.manager
def reservations_ods() -> ResponseReturnValue:
    return _reservations("ods")
