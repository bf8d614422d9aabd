"""Words for what calendars bring: recurring closures, imports and followed calendars
(their refusals, their states, why a calendar cannot be read)."""

from __future__ import annotations

from datetime import date

from flask_babel import format_date, gettext, ngettext
from flask_babel import lazy_gettext as _l

from ..models import ClosureFrequency, ClosureRule
from ..rules import Violation
from .formatting import format_clock, venue_day

FREQUENCY_LABELS = {
    ClosureFrequency.WEEKLY: _l("Every week"),
    ClosureFrequency.YEARLY: _l("Every year"),
    ClosureFrequency.HOLIDAYS: _l("On public holidays"),
}

REGION_LABELS = {
    "": _l("France (mainland)"),
    "57": _l("Alsace-Moselle"),
    "971": _l("Guadeloupe"),
    "972": _l("Martinique"),
    "973": _l("French Guiana"),
    "974": _l("Réunion"),
    "976": _l("Mayotte"),
}

STATE_LABELS = {
    "free": _l("Free: will be imported"),
    "conflict": _l("Conflict"),
    "imported": _l("Already imported"),
    "past": _l("Past: not imported"),
    "unmapped": _l("No resource chosen"),
    "unreadable": _l("Unreadable"),
}
STATE_TONES = {
    "free": "success",
    "conflict": "danger",
    "imported": "neutral",
    "past": "neutral",
    "unmapped": "warning",
    "unreadable": "warning",
}

ROW_PROBLEMS = {
    "day": _l("the day cannot be read (write it as 05/03/2026)"),
    "start": _l("the start cannot be read (write it as 14:00)"),
    "end": _l("the end cannot be read (write it as 16:30)"),
    "order": _l("the end comes before the start"),
    "gap": _l("this time does not exist that day (the clocks go forward)"),
}


def fetch_problem(code: str, detail: str = "") -> str:
    """Why a calendar's address could not be read, or its content used."""
    match code:
        case "bad_url":
            return gettext("This address does not look right: copy the calendar's iCal link.")
        case "scheme":
            return gettext("Only addresses starting with https:// or http:// can be followed.")
        case "refused_address":
            return gettext(
                "This address leads inside a private network (%(host)s): it cannot be "
                "followed. An administrator can allow it in the settings.",
                host=detail,
            )
        case "dns":
            return gettext("The server %(host)s was not found: check the address.", host=detail)
        case "connect":
            return gettext("The server %(host)s did not answer.", host=detail)
        case "tls":
            return gettext(
                "The secure connection to %(host)s failed (its certificate is not valid).",
                host=detail,
            )
        case "timeout":
            return gettext("The calendar took too long to answer.")
        case "too_large":
            return gettext(
                "The calendar is too large (more than %(size)s).", size=_megabytes(detail)
            )
        case "http_status":
            if detail in ("401", "403"):
                return gettext(
                    "The server refused to share this calendar (error %(status)s): use its "
                    "public or secret iCal address.",
                    status=detail,
                )
            if detail == "404":
                return gettext("No calendar at this address (error 404): it may have been removed.")
            return gettext("The server answered with error %(status)s.", status=detail)
        case "too_many_redirects":
            return gettext("The address sends elsewhere too many times.")
        case "not_ical" | "binary":
            return gettext("This is not a calendar in iCal format (.ics).")
        case "broken_event":
            return gettext(
                "An event cannot be read (%(event)s): its dates are broken.", event=detail
            )
        case "unknown_zone":
            return gettext(
                "The calendar uses a time zone that is not known (%(zone)s): its times "
                "cannot be placed.",
                zone=detail,
            )
        case "too_many_events":
            return gettext("The calendar has too many events (more than %(max)s).", max=detail)
        case "not_csv":
            return gettext(
                "This spreadsheet cannot be read: save it as CSV, with a header row naming "
                "its columns."
            )
    return gettext("The calendar cannot be read.")


def _megabytes(value: str) -> str:
    try:
        return gettext("%(num)d MB", num=max(1, round(int(value) / 1024 / 1024)))
    except ValueError:
        return value


def calendar_message(v: Violation) -> str | None:
    """The sentence of a refusal about calendars, or None for any other."""
    p = v.params
    if v.code.startswith("calendar_"):
        return fetch_problem(v.code.removeprefix("calendar_"), str(p.get("detail", "")))
    match v.code:
        case "file_too_large":
            return gettext(
                "This file is too large: %(size)s at most.", size=_megabytes(str(p["max"]))
            )
        case "file_empty":
            return gettext("This file is empty.")
        case "import_format":
            return gettext("Choose an .ics file (a calendar's export) or a .csv spreadsheet.")
        case "import_done":
            return gettext("This file has been imported already.")
        case "label_required":
            return gettext("Give the calendar a name: everyone will read it on busy times.")
        case "unknown_frequency":
            return gettext("Choose how often the closure comes back.")
        case "unknown_region":
            return gettext("Choose one of the regions offered.")
        case "longer_than_repeat":
            return gettext("Each closure must end before the next one starts.")
        case "until_before_start":
            return gettext("The last day comes before the first closure.")
    return None


def rule_text(rule: ClosureRule) -> str:
    """ "Every Monday, 08:00–13:00, until 30 June 2027" and the like."""
    frequency = ClosureFrequency(rule.frequency)
    if frequency == ClosureFrequency.HOLIDAYS:
        text = gettext(
            "On public holidays (%(region)s)", region=REGION_LABELS.get(rule.subdivision, "")
        )
    else:
        span = ""
        if rule.start_time is not None or rule.end_time is not None:
            span = ", " + gettext(
                "%(start)s to %(end)s",
                start=format_clock(rule.start_time) if rule.start_time else "0:00",
                end=format_clock(rule.end_time) if rule.end_time else "24:00",
            )
        days = (rule.last_day - rule.first_day).days
        if frequency == ClosureFrequency.WEEKLY:
            text = gettext("Every week from %(day)s", day=venue_day(rule.first_day))
        else:
            text = gettext("Every year from %(day)s", day=venue_day(rule.first_day))
        if days:
            text += ", " + ngettext("%(num)d day", "%(num)d days", days + 1)
        text += span
    if rule.until is not None:
        text += ", " + gettext("until %(day)s", day=format_date(rule.until, "long"))
    return text


def day_text(day: date) -> str:
    return venue_day(day)
