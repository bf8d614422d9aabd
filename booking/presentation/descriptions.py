"""Venues and resources in plain words: opening hours by day, badges, rules as sentences."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import gettext, ngettext

from ..models import Closure, Frequency, OpeningPeriod, Resource, ResourceKind, Series, Venue
from ..rules import Period
from ..services.availability.bookables import Bookable
from .formatting import format_duration, format_period, weekday_name


@dataclass(frozen=True)
class DayHours:
    weekday: int
    name: str
    periods: tuple[str, ...]
    is_today: bool

    @property
    def is_closed(self) -> bool:
        return not self.periods

    @property
    def text(self) -> str:
        """The day on one line: "from 9 h to 12 h 30, then from 13 h 30 to 19 h"."""
        if not self.periods:
            return gettext("Closed")
        return gettext(", then ").join(self.periods)

    @property
    def lines(self) -> list[str]:
        """The same, one period a line, for narrow columns."""
        if not self.periods:
            return [gettext("Closed")]
        first, *others = self.periods
        return [first, *(gettext("then %(period)s", period=p) for p in others)]


def opening_hours(
    periods: Iterable[OpeningPeriod | Period], today: date | None = None
) -> list[DayHours]:
    """Seven lines, Monday first; a lunch break shows as two periods of one day."""
    by_day: dict[int, list[OpeningPeriod]] = {d: [] for d in range(7)}
    for period in periods:
        by_day[period.weekday].append(period)
    today_weekday = today.weekday() if today is not None else None
    return [
        DayHours(
            weekday=day,
            name=weekday_name(day),
            periods=tuple(
                format_period(p.opens_at, p.closes_at)
                for p in sorted(by_day[day], key=lambda p: p.opens_at)
            ),
            is_today=day == today_weekday,
        )
        for day in range(7)
    ]


def hours_today(venue: Venue) -> DayHours:
    """Today's line of a venue's hours, "today" meaning in the venue's time zone."""
    today = datetime.now(venue.zone).date()
    return opening_hours(venue.opening_periods, today)[today.weekday()]


def upcoming_closures(
    closures: Iterable[Closure], now: datetime, resource_ids: Sequence[int | None] = (None,)
) -> list[Closure]:
    """Closures not over yet, for the venue (``None``) and the given resources."""
    return sorted(
        (c for c in closures if c.ends_at > now and c.resource_id in resource_ids),
        key=lambda c: (c.starts_at, c.ends_at),
    )


def buffer_purpose(resource: Resource | Bookable) -> str:
    """What the break after each booking is for: the venue's words, else the usual ones."""
    if resource.buffer_reason.strip():
        return resource.buffer_reason.strip()
    if resource.kind == ResourceKind.SPACE:
        return gettext("cleaning and tidying up")
    return gettext("letting the machine cool down and checking it")


def buffer_sentence(resource: Resource) -> str:
    """ "The slot is blocked for 30 min after each booking for cleaning the kitchen." """
    return gettext(
        "The slot is blocked for %(duration)s after each booking, for %(purpose)s.",
        duration=format_duration(resource.buffer_minutes),
        purpose=buffer_purpose(resource),
    )


def kind_label(resource: Resource) -> str:
    return gettext("Space") if resource.kind == ResourceKind.SPACE else gettext("Equipment")


@dataclass(frozen=True)
class Badge:
    text: str
    tone: str  # neutral, info, success, warning, danger: a class in static/css/app.css
    icon: str


def resource_badges(resource: Resource) -> list[Badge]:
    """What a member must know at a glance: kind, places, approval, training."""
    badges = [Badge(kind_label(resource), "neutral", resource.kind.value)]
    if resource.capacity > 1:
        places = ngettext("%(num)d place", "%(num)d places", resource.capacity)
        badges.append(Badge(places, "info", "users"))
    if resource.requires_approval:
        badges.append(Badge(gettext("On approval"), "warning", "hourglass"))
    else:
        badges.append(Badge(gettext("Instant booking"), "success", "check"))
    if resource.qualification_id is not None:
        badges.append(Badge(gettext("Training required"), "danger", "shield"))
    return badges


@dataclass(frozen=True)
class RuleLine:
    icon: str
    title: str
    text: str


def rules_in_words(resource: Resource) -> list[RuleLine]:
    """The booking rules of one resource, as short sentences a newcomer understands."""
    lines: list[RuleLine] = []

    if resource.requires_approval:
        lines.append(
            RuleLine(
                "hourglass",
                gettext("A manager confirms each booking"),
                gettext(
                    "Your request is pending until a manager of the venue accepts it. "
                    "You will see the answer in “My bookings”."
                ),
            )
        )
    else:
        lines.append(
            RuleLine(
                "check",
                gettext("Confirmed straight away"),
                gettext("If the slot is free, your booking is confirmed at once."),
            )
        )

    if resource.qualification is not None:
        lines.append(
            RuleLine(
                "shield",
                gettext("Training required"),
                gettext(
                    "Only people who have followed the training “%(name)s” can book. "
                    "Ask the venue's team how to take it.",
                    name=resource.qualification.name,
                ),
            )
        )

    if resource.capacity > 1:
        lines.append(
            RuleLine(
                "users",
                ngettext("%(num)d place", "%(num)d places", resource.capacity),
                ngettext(
                    "Up to %(num)d person can use it at the same time.",
                    "Up to %(num)d people can use it at the same time.",
                    resource.capacity,
                ),
            )
        )
    else:
        lines.append(
            RuleLine(
                "user",
                gettext("All yours"),
                gettext("One booking at a time: nobody else can book it during your slot."),
            )
        )

    if resource.min_duration_minutes == resource.max_duration_minutes:
        duration = gettext(
            "Each booking lasts %(duration)s.",
            duration=format_duration(resource.min_duration_minutes),
        )
    else:
        duration = gettext(
            "At least %(min)s and at most %(max)s per booking.",
            min=format_duration(resource.min_duration_minutes),
            max=format_duration(resource.max_duration_minutes),
        )
    lines.append(
        RuleLine(
            "clock",
            gettext("Length of a booking"),
            duration
            + " "
            + gettext(
                "Bookings start and end on steps of %(step)s.",
                step=format_duration(resource.slot_minutes),
            ),
        )
    )

    if resource.min_notice_minutes:
        notice = gettext(
            "Book at least %(notice)s in advance.",
            notice=format_duration(resource.min_notice_minutes),
        )
    else:
        notice = gettext("You can book up to the last minute.")
    horizon = ngettext(
        "You can book up to %(num)d day ahead.",
        "You can book up to %(num)d days ahead.",
        resource.horizon_days,
    )
    lines.append(RuleLine("calendar", gettext("When to book"), notice + " " + horizon))

    if resource.buffer_minutes:
        lines.append(
            RuleLine("pause", gettext("A break after each booking"), buffer_sentence(resource))
        )

    if resource.weekly_quota_minutes:
        lines.append(
            RuleLine(
                "gauge",
                gettext("Weekly limit"),
                gettext(
                    "Each member can book up to %(quota)s per week, so that everyone gets a turn.",
                    quota=format_duration(resource.weekly_quota_minutes),
                ),
            )
        )
    return lines


def series_words(series: Series) -> str:
    """ "every Tuesday, 14:00–17:00", "every 2 weeks on Monday and Thursday, 9:00–12:00",
    "every day, 9:00–10:00": a recurring booking in one line."""
    hours = f"{series.local_start:%H:%M}–{series.local_end:%H:%M}"
    if series.frequency == Frequency.DAILY:
        if series.interval_count == 1:
            return gettext("every day, %(hours)s", hours=hours)
        return gettext("every %(num)d days, %(hours)s", num=series.interval_count, hours=hours)
    weekdays = [int(d) for d in series.weekdays.split(",") if d.strip().isdigit()]
    if not weekdays:
        weekdays = [series.starts_on.weekday()]
    names = gettext(" and ").join(weekday_name(d).lower() for d in sorted(weekdays))
    if series.interval_count == 1:
        return gettext("every %(days)s, %(hours)s", days=names, hours=hours)
    return gettext(
        "every %(num)d weeks on %(days)s, %(hours)s",
        num=series.interval_count,
        days=names,
        hours=hours,
    )
