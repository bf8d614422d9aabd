"""The pure booking rules: no database, no Flask."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from booking.localtime import LocalTimeError, is_ambiguous, local_week_bounds, to_utc
from booking.rules import (
    ClosedRange,
    Hold,
    Period,
    Recurrence,
    Request,
    Rules,
    Violation,
    blocking,
    check_capacity,
    check_quota,
    check_shape,
    check_timing,
    occurrence_dates,
    peak_seats,
)

PARIS = ZoneInfo("Europe/Paris")
WEEK = tuple(Period(d, time(9), time(18)) for d in range(7))


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def codes(violations: list[Violation]) -> list[str]:
    return sorted(v.code for v in violations)


def rules(**fields) -> Rules:
    fields.setdefault("periods", WEEK)
    return Rules(zone=PARIS, **fields)


def test_end_must_follow_start():
    request = Request(at(2026, 6, 2, 10), at(2026, 6, 2, 10))
    assert codes(check_shape(request, rules())) == ["end_before_start"]


def test_slot_grid_is_checked_in_local_wall_clock():
    request = Request(at(2026, 6, 2, 10, 15), at(2026, 6, 2, 11, 0))
    violations = check_shape(request, rules(slot_minutes=30))
    assert codes(violations) == ["off_grid"]
    assert violations[0].field == "starts_at"


def test_duration_bounds():
    short = Request(at(2026, 6, 2, 10), at(2026, 6, 2, 10, 30))
    long = Request(at(2026, 6, 2, 9), at(2026, 6, 2, 17))
    assert codes(check_shape(short, rules(min_duration_minutes=60))) == ["too_short"]
    assert codes(check_shape(long, rules(max_duration_minutes=240))) == ["too_long"]


def test_opening_hours_use_a_single_period_of_the_local_day():
    lunch_break = (Period(1, time(9), time(12, 30)), Period(1, time(13, 30), time(19)))
    inside = Request(at(2026, 6, 2, 13, 30), at(2026, 6, 2, 15))
    across_lunch = Request(at(2026, 6, 2, 12), at(2026, 6, 2, 14))
    closed_day = Request(at(2026, 6, 3, 10), at(2026, 6, 3, 11))  # a Wednesday
    assert check_shape(inside, rules(periods=lunch_break)) == []
    violation = check_shape(across_lunch, rules(periods=lunch_break))[0]
    assert violation.code == "outside_hours" and violation.is_soft
    assert codes(check_shape(closed_day, rules(periods=lunch_break))) == ["outside_hours"]


def test_closures_are_half_open_ranges_of_instants():
    closure = (ClosedRange(at(2026, 8, 1, 0), at(2026, 8, 16, 0), "Congés d'été"),)
    on_last_day = Request(at(2026, 8, 15, 10), at(2026, 8, 15, 11))
    day_after = Request(at(2026, 8, 16, 10), at(2026, 8, 16, 11))
    assert codes(check_shape(on_last_day, rules(closures=closure))) == ["closed"]
    assert check_shape(day_after, rules(closures=closure)) == []


def test_a_closure_of_a_few_hours_leaves_the_rest_of_the_day_open():
    maintenance = (ClosedRange(at(2026, 6, 2, 14), at(2026, 6, 2, 16), "Maintenance"),)
    before = Request(at(2026, 6, 2, 12), at(2026, 6, 2, 14))  # ends as it starts
    across = Request(at(2026, 6, 2, 15, 30), at(2026, 6, 2, 17))
    after = Request(at(2026, 6, 2, 16), at(2026, 6, 2, 17))
    assert check_shape(before, rules(closures=maintenance)) == []
    violation = check_shape(across, rules(closures=maintenance))[0]
    assert violation.code == "closed" and not violation.is_soft
    assert violation.params["from"] == at(2026, 6, 2, 14)
    assert violation.params["reason"] == "Maintenance"
    assert check_shape(after, rules(closures=maintenance)) == []


def test_notice_horizon_and_past():
    now = at(2026, 6, 1, 9)
    soon = Request(at(2026, 6, 1, 10), at(2026, 6, 1, 11))
    far = Request(at(2026, 7, 15, 10), at(2026, 7, 15, 11))
    past = Request(at(2026, 6, 1, 8), at(2026, 6, 1, 9))
    assert codes(check_timing(soon, rules(min_notice_minutes=24 * 60), now)) == ["notice"]
    assert codes(check_timing(far, rules(horizon_days=30), now)) == ["horizon"]
    assert codes(check_timing(past, rules(), now)) == ["in_past"]
    last_day = Request(at(2026, 7, 1, 17), at(2026, 7, 1, 18))
    assert check_timing(last_day, rules(horizon_days=30), now) == []


def hold(start: datetime, end: datetime, seats: int = 1) -> Hold:
    return Hold(start.astimezone(UTC), end.astimezone(UTC), seats)


def test_back_to_back_fits_but_overlap_does_not():
    existing = [hold(at(2026, 6, 2, 10), at(2026, 6, 2, 12))]
    after = Request(at(2026, 6, 2, 12), at(2026, 6, 2, 13))
    overlapping = Request(at(2026, 6, 2, 11, 30), at(2026, 6, 2, 13))
    before = Request(at(2026, 6, 2, 9), at(2026, 6, 2, 10))
    assert check_capacity(after, rules(), existing) == []
    assert check_capacity(before, rules(), existing) == []
    assert codes(check_capacity(overlapping, rules(), existing)) == ["capacity"]


def test_buffer_extends_both_the_existing_hold_and_the_new_one():
    # Existing 10:00–12:00 holds until 12:30 with a 30-minute buffer.
    existing = [hold(at(2026, 6, 2, 10), at(2026, 6, 2, 12, 30))]
    too_early = Request(at(2026, 6, 2, 12), at(2026, 6, 2, 13))
    fine = Request(at(2026, 6, 2, 12, 30), at(2026, 6, 2, 13))
    # New 9:00–9:30 would hold until 10:00: touches, does not overlap.
    before = Request(at(2026, 6, 2, 9), at(2026, 6, 2, 9, 30))
    before_too_long = Request(at(2026, 6, 2, 9), at(2026, 6, 2, 10))
    buffered = rules(buffer_minutes=30)
    assert codes(check_capacity(too_early, buffered, existing)) == ["capacity"]
    assert check_capacity(fine, buffered, existing) == []
    assert check_capacity(before, buffered, existing) == []
    assert codes(check_capacity(before_too_long, buffered, existing)) == ["capacity"]


def test_shared_capacity_counts_the_peak_not_the_sum():
    morning = [hold(at(2026, 6, 2, 9), at(2026, 6, 2, 12), 2) for _ in range(2)]
    afternoon = [hold(at(2026, 6, 2, 13), at(2026, 6, 2, 17), 2) for _ in range(2)]
    whole_day = Request(at(2026, 6, 2, 9), at(2026, 6, 2, 17), seats=4)
    five = Request(at(2026, 6, 2, 9), at(2026, 6, 2, 17), seats=5)
    eight_seats = rules(capacity=8)
    assert peak_seats(morning + afternoon, whole_day.starts_at, whole_day.ends_at) == 4
    assert check_capacity(whole_day, eight_seats, morning + afternoon) == []
    violation = check_capacity(five, eight_seats, morning + afternoon)[0]
    assert violation.code == "capacity" and violation.params["free"] == 4


def test_seats_cannot_exceed_capacity():
    request = Request(at(2026, 6, 2, 10), at(2026, 6, 2, 11), seats=9)
    assert codes(check_shape(request, rules(capacity=8))) == ["seats_over_capacity"]


def test_quota_counts_minutes_already_held_this_week():
    request = Request(at(2026, 6, 2, 10), at(2026, 6, 2, 12))
    quota = rules(weekly_quota_minutes=6 * 60)
    assert check_quota(request, quota, 4 * 60) == []
    violation = check_quota(request, quota, 5 * 60)[0]
    assert violation.code == "quota" and violation.params["left"] == 60


def test_local_week_is_monday_to_monday_in_the_venue_zone():
    start, end = local_week_bounds(at(2026, 3, 29, 23, 30), PARIS)  # Sunday, DST day
    assert start == at(2026, 3, 23, 0).astimezone(UTC)
    assert end == at(2026, 3, 30, 0).astimezone(UTC)
    assert end - start == timedelta(days=7) - timedelta(hours=1)


def test_missing_spring_forward_hour_is_refused():
    with pytest.raises(LocalTimeError) as caught:
        to_utc(datetime(2026, 3, 29, 2, 30), PARIS)
    assert caught.value.code == "nonexistent_time"
    assert to_utc(datetime(2026, 3, 29, 3, 0), PARIS) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


def test_repeated_fall_back_hour_is_read_as_its_first_occurrence():
    local = datetime(2026, 10, 25, 2, 30)
    assert is_ambiguous(local, PARIS)
    assert to_utc(local, PARIS) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert not is_ambiguous(datetime(2026, 10, 25, 3, 30), PARIS)


def test_soft_violations_can_be_overridden_hard_ones_cannot():
    soft = Violation("notice", "starts_at", rule="notice")
    hard = Violation("capacity", "starts_at")
    assert blocking([soft, hard], frozenset({"notice"})) == [hard]
    assert blocking([soft, hard], frozenset()) == [soft, hard]


def test_weekly_occurrences_with_chosen_days_interval_and_count():
    recurrence = Recurrence("weekly", date(2026, 3, 2), interval=2, weekdays=(1, 3), count=5)
    assert occurrence_dates(recurrence, date(2027, 1, 1)) == [
        date(2026, 3, 3),
        date(2026, 3, 5),
        date(2026, 3, 17),
        date(2026, 3, 19),
        date(2026, 3, 31),
    ]


def test_daily_occurrences_until_a_date_capped_by_the_horizon():
    recurrence = Recurrence("daily", date(2026, 3, 2), interval=3, until=date(2026, 3, 20))
    assert occurrence_dates(recurrence, date(2026, 3, 10)) == [
        date(2026, 3, 2),
        date(2026, 3, 5),
        date(2026, 3, 8),
    ]


def test_series_without_end_is_refused():
    with pytest.raises(ValueError):
        occurrence_dates(Recurrence("daily", date(2026, 3, 2)), date(2026, 4, 1))
