"""The activity report and the statements as a page, charts and spreadsheets read them.

Everything here works on figures the services computed; it names periods,
lays the figures out in ``Table``s (the page, the CSV and the .ods read the
same ones) and shapes the charts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, get_day_names
from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l

from ..models import Status
from ..services.reporting.activity import Report, ResourceUse
from ..services.reporting.periods import Period, PeriodKind
from ..services.reporting.statements import Statements
from .charts import Chart, columns, heat_map, paired_bars
from .formatting import format_date_range
from .labels import STATUS_LABELS
from .numbers import format_count, format_hours, format_share, rate_label, unit_label
from .tables import Column, Kind, Table

QUARTERS = [_l("1st quarter"), _l("2nd quarter"), _l("3rd quarter"), _l("4th quarter")]
STATUS_ORDER = [Status.CONFIRMED, Status.CANCELLED, Status.REFUSED, Status.EXPIRED, Status.PENDING]
DEFAULT_HOURS = range(8, 20)


def _locale() -> Any:
    return get_locale() or "fr"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def period_label(period: Period) -> str:
    """« Octobre 2026 », « 3e trimestre 2026 », « Année 2026 », « Du … au … »."""
    if period.kind == PeriodKind.MONTH:
        return _capital(format_date(period.first, "LLLL y", locale=_locale()))
    if period.kind == PeriodKind.QUARTER:
        return _capital(f"{QUARTERS[period.quarter_number - 1]} {period.first.year}")
    if period.kind == PeriodKind.YEAR:
        return gettext("Year %(year)d", year=period.first.year)
    return _capital(format_date_range(period.first, period.last))


# How each table is called in the name of its file (French, like the product).
FILE_NAMES = {
    "summary": "chiffres-cles",
    "resources": "ressources",
    "statuses": "statuts",
    "timeline": "heures",
    "heatmap": "semaine",
    "trainings": "formations",
    "members": "personnes",
    "lines": "detail",
    "reservations": "reservations",
}


def file_stem(prefix: str, venue_slug: str | None, period: Period, table: str = "") -> str:
    """ "rapport-ressources-kpa-moulins-2026-Q3": a file name that says what it holds."""
    if table:
        prefix = f"{prefix}-{FILE_NAMES.get(table, table)}"
    when = (
        period.code
        if period.kind != PeriodKind.RANGE
        else f"{period.first:%Y%m%d}-{period.last:%Y%m%d}"
    )
    return f"{prefix}-{venue_slug or 'reseau'}-{when}"


def _venue_column(report_venues: int) -> list[Column]:
    return [Column(gettext("Venue"))] if report_venues > 1 else []


def _resource_name(use: ResourceUse) -> str:
    return use.name if use.is_active else gettext("%(name)s (retired)", name=use.name)


def _months_back(today: date, count: int) -> list[Period]:
    periods = [Period.month(today.year, today.month)]
    while len(periods) < count:
        periods.append(periods[-1].previous())
    return periods


def period_choices(today: date) -> list[tuple[str, list[tuple[str, str]]]]:
    """The periods a form offers, newest first: two years of months, of quarters, four years."""
    quarters = [Period.quarter(today.year, (today.month + 2) // 3)]
    while len(quarters) < 8:
        quarters.append(quarters[-1].previous())
    years = [Period.year(today.year - n) for n in range(4)]
    return [
        (gettext("Months"), [(p.code, period_label(p)) for p in _months_back(today, 24)]),
        (gettext("Quarters"), [(p.code, period_label(p)) for p in quarters]),
        (gettext("Years"), [(p.code, period_label(p)) for p in years]),
    ]


def month_choices(today: date) -> list[tuple[str, str]]:
    return [(p.code, period_label(p)) for p in _months_back(today, 24)]


def quick_periods(today: date) -> list[tuple[str, Period]]:
    """One click to the periods asked most: the last complete month, quarter and year."""
    month = Period.month(today.year, today.month)
    quarter = Period.quarter(today.year, (today.month + 2) // 3)
    return [
        (gettext("Last month"), month.previous()),
        (gettext("Last quarter"), quarter.previous()),
        (gettext("Last year"), Period.year(today.year - 1)),
        (gettext("This year so far"), Period.between(date(today.year, 1, 1), today)),
    ]


# --- the report's tables ----------------------------------------------------------------


def summary_table(report: Report) -> Table:
    columns = [
        Column(gettext("Period")),
        Column(gettext("Hours booked"), Kind.HOURS),
        Column(gettext("Occupancy"), Kind.SHARE),
        Column(gettext("Confirmed bookings"), Kind.COUNT),
        Column(gettext("People who booked"), Kind.COUNT),
        Column(gettext("First-time bookers"), Kind.COUNT),
        Column(gettext("Requests answered"), Kind.COUNT),
        Column(gettext("Median time to an answer"), Kind.HOURS),
        Column(gettext("Trainings granted"), Kind.COUNT),
    ]
    rows = []
    for index, period in enumerate((report.period, report.before)):
        pick = "current" if index == 0 else "previous"
        rows.append(
            [
                period_label(period),
                getattr(report.booked_minutes, pick),
                getattr(report.occupancy, pick),
                getattr(report.bookings, pick),
                getattr(report.people, pick),
                getattr(report.newcomers, pick),
                getattr(report.decisions, pick),
                getattr(report.median_decision_minutes, pick),
                sum(getattr(t.granted, pick) or 0 for t in report.trainings),
            ]
        )
    return Table("summary", gettext("Key figures"), columns, rows)


def resources_table(report: Report) -> Table:
    network = len(report.venues) > 1
    columns = [
        *_venue_column(len(report.venues)),
        Column(gettext("Resource")),
        Column(gettext("Seats"), Kind.COUNT),
        Column(gettext("Hours booked"), Kind.HOURS),
        Column(gettext("Hours booked, period before"), Kind.HOURS),
        Column(gettext("Hours open × seats"), Kind.HOURS),
        Column(gettext("Occupancy"), Kind.SHARE),
        Column(gettext("Occupancy, period before"), Kind.SHARE),
        Column(gettext("Bookings"), Kind.COUNT),
        Column(gettext("Bookings, period before"), Kind.COUNT),
    ]
    rows = [
        [
            *([use.venue_name] if network else []),
            _resource_name(use),
            use.capacity,
            use.booked_minutes.current,
            use.booked_minutes.previous,
            use.open_minutes.current,
            use.occupancy.current,
            use.occupancy.previous,
            use.bookings.current,
            use.bookings.previous,
        ]
        for use in report.resources
    ]
    footer = [
        [
            gettext("Total"),  # first, so that the row has a header for screen readers
            *([""] if network else []),
            None,
            report.booked_minutes.current,
            report.booked_minutes.previous,
            report.open_minutes.current,
            report.occupancy.current,
            report.occupancy.previous,
            report.bookings.current,
            report.bookings.previous,
        ]
    ]
    return Table("resources", gettext("Use of each resource"), columns, rows, footer)


def statuses_table(report: Report) -> Table:
    columns = [
        Column(gettext("What became of it")),
        Column(period_label(report.period), Kind.COUNT),
        Column(period_label(report.before), Kind.COUNT),
        Column(gettext("Change"), Kind.CHANGE),
    ]
    rows = [
        [
            str(STATUS_LABELS[status]),
            report.statuses[status].current,
            report.statuses[status].previous,
            report.statuses[status].change,
        ]
        for status in STATUS_ORDER
        if status != Status.PENDING or report.statuses[status].current
    ]
    footer = [
        [
            gettext("Every request"),
            report.requests.current,
            report.requests.previous,
            report.requests.change,
        ]
    ]
    return Table("statuses", gettext("Bookings and requests"), columns, rows, footer)


def bucket_label(report: Report, index: int, short: bool = False) -> str:
    day = report.timeline[index][0]
    if report.period.daily:
        return str(day.day) if short else format_date(day, "EEE d MMM", locale=_locale())
    return format_date(day, "LLL" if short else "LLLL y", locale=_locale())


def timeline_table(report: Report) -> Table:
    title = (
        gettext("Hours booked, day by day")
        if report.period.daily
        else gettext("Hours booked, month by month")
    )
    columns = [
        Column(gettext("Day") if report.period.daily else gettext("Month")),
        Column(gettext("Hours booked"), Kind.HOURS),
    ]
    rows = [[bucket_label(report, i), minutes] for i, (_, minutes) in enumerate(report.timeline)]
    return Table("timeline", title, columns, rows)


def weekday_names(width: str = "wide", capital: bool = True) -> list[str]:
    """Monday first; ``capital=False`` for the middle of a sentence (« le vendredi »)."""
    names = get_day_names(width, locale=_locale())
    return [_capital(names[day]) if capital else names[day] for day in range(7)]


def heat_hours(report: Report) -> list[int]:
    """The hours of the day the heat map shows: those used, and at least 8 h to 20 h."""
    used = [hour for row in report.heatmap for hour, value in enumerate(row) if value]
    first = min([*used, DEFAULT_HOURS.start])
    last = max([*used, DEFAULT_HOURS.stop - 1])
    return list(range(first, last + 1))


def heatmap_table(report: Report) -> Table:
    hours = heat_hours(report)
    columns = [Column(gettext("Day"))] + [
        Column(gettext("%(hour)d h", hour=hour), Kind.HOURS) for hour in hours
    ]
    rows = [
        [name] + [report.heatmap[day][hour] for hour in hours]
        for day, name in enumerate(weekday_names())
    ]
    return Table("heatmap", gettext("Hours booked by weekday and hour"), columns, rows)


def trainings_table(report: Report) -> Table:
    columns = [
        Column(gettext("Training")),
        *_venue_column(len(report.venues)),
        Column(period_label(report.period), Kind.COUNT),
        Column(period_label(report.before), Kind.COUNT),
    ]
    rows = [
        [
            training.name,
            *([training.venue_name] if len(report.venues) > 1 else []),
            training.granted.current,
            training.granted.previous,
        ]
        for training in report.trainings
    ]
    return Table("trainings", gettext("Trainings granted"), columns, rows)


def report_tables(report: Report) -> list[Table]:
    return [
        summary_table(report),
        resources_table(report),
        statuses_table(report),
        timeline_table(report),
        heatmap_table(report),
        trainings_table(report),
    ]


# --- the report's charts ----------------------------------------------------------------


def _legend(report: Report) -> tuple[str, str]:
    return period_label(report.period), period_label(report.before)


def occupancy_chart(report: Report) -> Chart:
    network = len(report.venues) > 1
    items = [
        (
            f"{use.name} — {use.venue_name}" if network else use.name,
            use.occupancy.current,
            use.occupancy.previous,
        )
        for use in report.resources
        if use.is_active
    ]
    busiest = max(items, key=lambda item: item[1] or 0, default=None)
    description = gettext(
        "Share of the opening hours that was booked, resource by resource: solid bars for "
        "%(period)s, hatched bars for %(before)s.",
        period=period_label(report.period),
        before=period_label(report.before),
    )
    if busiest is not None and busiest[1]:
        description += " " + gettext(
            "The busiest: %(name)s, %(share)s.", name=busiest[0], share=format_share(busiest[1])
        )
    return paired_bars(
        "occupancy",
        gettext("Occupancy of each resource"),
        description,
        items,
        format_share,
        _legend(report),
    )


def statuses_chart(report: Report) -> Chart:
    items = [
        (
            str(STATUS_LABELS[status]),
            report.statuses[status].current,
            report.statuses[status].previous,
        )
        for status in STATUS_ORDER
        if status != Status.PENDING or report.statuses[status].current
    ]
    description = gettext(
        "What became of the bookings and requests that start in %(period)s (solid bars) and "
        "in %(before)s (hatched bars): %(confirmed)s confirmed, %(cancelled)s cancelled, "
        "%(refused)s refused, %(expired)s expired without an answer.",
        period=period_label(report.period),
        before=period_label(report.before),
        confirmed=format_count(report.statuses[Status.CONFIRMED].current),
        cancelled=format_count(report.statuses[Status.CANCELLED].current),
        refused=format_count(report.statuses[Status.REFUSED].current),
        expired=format_count(report.statuses[Status.EXPIRED].current),
    )
    return paired_bars(
        "statuses",
        gettext("Bookings and requests"),
        description,
        items,
        lambda value: format_count(value),
        _legend(report),
    )


def timeline_chart(report: Report) -> Chart:
    table = timeline_table(report)
    items = [
        (bucket_label(report, i, short=True), m or 0) for i, (_, m) in enumerate(report.timeline)
    ]
    busiest = max(range(len(items)), key=lambda i: items[i][1], default=None)
    description = gettext(
        "Hours booked over %(period)s, %(total)s in all.",
        period=period_label(report.period),
        total=format_hours(report.booked_minutes.current),
    )
    if busiest is not None and items[busiest][1]:
        description += " " + gettext(
            "The busiest: %(when)s, %(hours)s.",
            when=bucket_label(report, busiest),
            hours=format_hours(items[busiest][1]),
        )
    return columns("timeline", table.title, description, items, format_hours)


def _heat_value(minutes: float) -> str:
    """Hours in a cell, as short as they go: « 8 », « 2,5 », « 12 »."""
    hours = round(minutes / 60) if minutes >= 570 else round(minutes / 60, 1)
    if hours == int(hours):
        return str(int(hours))
    return f"{hours:.1f}".replace(".", "," if str(_locale()).startswith("fr") else ".")


def heatmap_chart(report: Report) -> Chart:
    hours = heat_hours(report)
    busiest = max(
        ((day, hour) for day in range(7) for hour in range(24)),
        key=lambda cell: report.heatmap[cell[0]][cell[1]],
    )
    description = gettext(
        "Hours booked over %(period)s by weekday (rows) and hour of the day (columns), "
        "in the venue's time; the darker the cell, the more it was used.",
        period=period_label(report.period),
    )
    if report.heatmap[busiest[0]][busiest[1]]:
        description += " " + gettext(
            "The busiest hour: %(day)s from %(hour)d h to %(next)d h, with %(hours)s booked.",
            day=weekday_names(capital=False)[busiest[0]],
            hour=busiest[1],
            next=busiest[1] + 1,
            hours=format_hours(report.heatmap[busiest[0]][busiest[1]]),
        )
    return heat_map(
        "heatmap",
        gettext("When in the week"),
        description,
        weekday_names("abbreviated"),
        hours,
        report.heatmap,
        _heat_value,
    )


# --- statements ------------------------------------------------------------------------


def _local(instant: datetime, zone: Any) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


def statement_tables(statements: Statements) -> list[Table]:
    """Totals per person, the lines, and the totals per resource (each venue's total as
    the footers)."""
    network = len(statements.venues) > 1
    venue_names = {v.id: v.name for v in statements.venues}
    zones = {v.id: v.zone for v in statements.venues}
    names = {m.user_id: m.name for m in statements.members}
    rates = {(m.venue_id, m.user_id): m.rate for m in statements.members}
    where = _venue_column(len(statements.venues))

    def venue(venue_id: int) -> list[str]:
        return [venue_names[venue_id]] if network else []

    footers = [
        [
            *([total.name] if network else []),
            gettext("Total"),
            None,
            None,
            total.bookings,
            total.minutes,
            total.amount_cents,
        ]
        for total in statements.totals
    ]
    people = Table(
        "members",
        gettext("Statement per person"),
        [
            *where,
            Column(gettext("Person")),
            Column(gettext("E-mail")),
            Column(gettext("Rate")),
            Column(gettext("Bookings"), Kind.COUNT),
            Column(gettext("Hours used"), Kind.HOURS),
            Column(gettext("Amount"), Kind.MONEY),
        ],
        [
            [
                *venue(m.venue_id),
                m.name,
                m.email,
                rate_label(m.rate),
                m.bookings,
                m.minutes,
                m.amount_cents,
            ]
            for m in statements.members
        ],
        footers,
    )
    lines = Table(
        "lines",
        gettext("Bookings used"),
        [
            *where,
            Column(gettext("Person")),
            Column(gettext("Resource")),
            Column(gettext("Start"), Kind.DATETIME),
            Column(gettext("End"), Kind.DATETIME),
            Column(gettext("Hours used"), Kind.HOURS),
            Column(gettext("Seats"), Kind.COUNT),
            Column(gettext("Rate")),
            Column(gettext("Price"), Kind.MONEY),
            Column(gettext("Charged")),
            Column(gettext("Amount"), Kind.MONEY),
        ],
        [
            [
                *venue(line.venue_id),
                names.get(line.user_id, ""),
                line.resource_name,
                _local(line.starts_at, zones[line.venue_id]),
                _local(line.ends_at, zones[line.venue_id]),
                line.minutes,
                line.seats,
                rate_label(rates[(line.venue_id, line.user_id)]),
                line.unit_cents,
                unit_label(line.unit) if line.unit else gettext("no price"),
                line.amount_cents,
            ]
            for line in statements.lines
        ],
    )
    resources = Table(
        "resources",
        gettext("Per resource"),
        [
            *where,
            Column(gettext("Resource")),
            Column(gettext("Bookings"), Kind.COUNT),
            Column(gettext("Hours used"), Kind.HOURS),
            Column(gettext("Amount"), Kind.MONEY),
        ],
        [
            [*venue(r.venue_id), r.name, r.bookings, r.minutes, r.amount_cents]
            for r in statements.resources
        ],
        [
            [
                *([total.name] if network else []),
                gettext("Total"),
                total.bookings,
                total.minutes,
                total.amount_cents,
            ]
            for total in statements.totals
        ],
    )
    return [people, lines, resources]


# --- the reservations of a range ----------------------------------------------------------


def reservations_table() -> Table:
    """The columns of the raw export; its rows come from ``reservation_rows``."""
    return Table(
        "reservations",
        gettext("Reservations"),
        [
            Column(gettext("No.")),
            Column(gettext("Venue")),
            Column(gettext("Resource")),
            Column(gettext("Person")),
            Column(gettext("E-mail")),
            Column(gettext("Start"), Kind.DATETIME),
            Column(gettext("End"), Kind.DATETIME),
            Column(gettext("Hours used"), Kind.HOURS),
            Column(gettext("Seats"), Kind.COUNT),
            Column(gettext("Status")),
            Column(gettext("Asked on"), Kind.DATETIME),
            Column(gettext("Decided on"), Kind.DATETIME),
            Column(gettext("Purpose")),
        ],
        [],
    )


def reservation_rows(rows: Iterable[Any]) -> Iterator[list[Any]]:
    """Rows of ``services.reporting.activity.reservations_in``, in the venue's local time."""
    zones: dict[str, ZoneInfo] = {}
    for row in rows:
        zone = zones.setdefault(row.zone, ZoneInfo(row.zone))
        yield [
            row.id,
            row.venue,
            row.resource,
            row.person,
            row.email,
            _local(row.starts_at, zone),
            _local(row.ends_at, zone),
            row.minutes,
            row.seats,
            str(STATUS_LABELS[Status(row.status)]),
            _local(row.created_at, zone),
            _local(row.decided_at, zone) if row.decided_at else None,
            row.purpose,
        ]
