"""Business calendars, to the second: hours, weekends, holidays, extra dates, midnight, DST in two zones."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deskconsole.domain import calendar as calendar_module
from deskconsole.domain.calendar import BusinessCalendar, CalendarError, format_hours, parse_hours, to_seconds
from deskconsole.domain.errors import InvalidInput

H = 3600


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


EU = BusinessCalendar.build("eu", "Europe/Berlin", "mon-fri 08:00-18:00", ["DE"], ["2026-12-24", "2026-12-31"])
NY = BusinessCalendar.build("ny", "America/New_York", {"mon": "09:00-12:00,13:00-17:00",
                                                      "tue": "09:00-12:00,13:00-17:00",
                                                      "wed": "09:00-12:00,13:00-17:00",
                                                      "thu": "09:00-12:00,13:00-17:00",
                                                      "fri": "09:00-12:00,13:00-17:00"}, ["US"])
NIGHT = BusinessCalendar.build("night", "Europe/Berlin", "daily 00:00-04:00")
NIGHT_NY = BusinessCalendar.build("night-ny", "America/New_York", "daily 01:00-03:00")
SHIFT = BusinessCalendar.build("shift", "Europe/Berlin", "mon-fri 22:00-24:00; tue-sat 00:00-06:00")
ALWAYS = BusinessCalendar.always_open()


# ---------------------------------------------------------------- the rule of the issue, and the basics

def test_eight_hours_from_monday_ten_is_monday_eighteen_not_tuesday_eight() -> None:
    # Monday 2026-11-30 10:00 in Berlin is 09:00Z; 18:00 is 17:00Z.
    assert EU.add(utc("2026-11-30T09:00:00Z"), 8 * H) == utc("2026-11-30T17:00:00Z")
    assert EU.add(utc("2026-11-30T09:00:00Z"), 8 * H + 1) == utc("2026-12-01T07:00:01Z")


def test_a_zero_duration_is_the_start_itself_even_when_closed() -> None:
    saturday = utc("2026-12-05T12:34:56Z")
    assert EU.add(saturday, 0) == saturday
    assert EU.add(utc("2026-11-30T09:00:00Z"), 0) == utc("2026-11-30T09:00:00Z")


def test_outside_hours_the_clock_starts_at_the_next_opening() -> None:
    # Monday 06:00 Berlin (05:00Z): nothing counts until 08:00; one hour is 09:00.
    assert EU.add(utc("2026-11-30T05:00:00Z"), H) == utc("2026-11-30T08:00:00Z")
    assert EU.measure(utc("2026-11-30T05:00:00Z"), utc("2026-11-30T08:00:00Z")) == H


def test_times_are_to_the_second_and_sub_seconds_are_dropped() -> None:
    start = utc("2026-11-30T09:00:00.750000Z")
    assert EU.add(start, 59) == utc("2026-11-30T09:00:59Z")
    assert EU.measure(start, utc("2026-11-30T09:00:10.999Z")) == 10


def test_a_weekend_is_skipped() -> None:
    # Friday 2026-12-04 16:00 Berlin + 4 h = 2 h on Friday, 2 h on Monday: Monday 10:00 (09:00Z).
    assert EU.add(utc("2026-12-04T15:00:00Z"), 4 * H) == utc("2026-12-07T09:00:00Z")
    assert EU.measure(utc("2026-12-04T15:00:00Z"), utc("2026-12-07T09:00:00Z")) == 4 * H
    assert not EU.is_open(utc("2026-12-05T10:00:00Z"))


def test_christmas_a_holiday_and_extra_dates_are_closed() -> None:
    # Wednesday 2026-12-23 17:00 Berlin + 2 h: 1 h on Wednesday; 24th (extra date), 25th (DE holiday,
    # a Friday), the weekend closed; 1 h on Monday 28th: 09:00 Berlin = 08:00Z.
    assert EU.add(utc("2026-12-23T16:00:00Z"), 2 * H) == utc("2026-12-28T08:00:00Z")
    assert not EU.is_open(utc("2026-12-25T10:00:00Z"))
    assert not EU.is_open(utc("2026-12-24T10:00:00Z"))
    assert EU.is_open(utc("2026-12-23T10:00:00Z"))
    without_dates = BusinessCalendar.build("de", "Europe/Berlin", "mon-fri 08:00-18:00", ["DE"])
    assert without_dates.is_open(utc("2026-12-24T10:00:00Z"))
    assert not without_dates.is_open(utc("2026-12-25T10:00:00Z"))


def test_across_the_year_end() -> None:
    # Wednesday 2026-12-30 17:00 + 2 h: 31st closed (extra date), 1 January a holiday (Friday), weekend:
    # Monday 2027-01-04 09:00 Berlin.
    assert EU.add(utc("2026-12-30T16:00:00Z"), 2 * H) == utc("2027-01-04T08:00:00Z")
    assert EU.measure(utc("2026-12-30T16:00:00Z"), utc("2027-01-04T08:00:00Z")) == 2 * H


def test_a_subdivision_has_its_own_holidays() -> None:
    bavaria = BusinessCalendar.build("by", "Europe/Berlin", "mon-fri 08:00-18:00", ["DE-BY"])
    epiphany = utc("2026-01-06T10:00:00Z")  # a Tuesday: a holiday in Bavaria, not in all of Germany
    assert not bavaria.is_open(epiphany)
    assert BusinessCalendar.build("de", "Europe/Berlin", "mon-fri 08:00-18:00", ["DE"]).is_open(epiphany)


def test_open_at_the_opening_second_closed_at_the_closing_second() -> None:
    assert EU.is_open(utc("2026-11-30T07:00:00Z"))
    assert not EU.is_open(utc("2026-11-30T06:59:59Z"))
    assert EU.is_open(utc("2026-11-30T16:59:59Z"))
    assert not EU.is_open(utc("2026-11-30T17:00:00Z"))


def test_several_ranges_a_day_skip_the_lunch_break() -> None:
    # Monday 2026-11-30 11:00 New York (16:00Z): 1 h reaches 12:00 exactly, 2 h is 14:00 after lunch.
    assert NY.add(utc("2026-11-30T16:00:00Z"), H) == utc("2026-11-30T17:00:00Z")
    assert NY.add(utc("2026-11-30T16:00:00Z"), 2 * H) == utc("2026-11-30T19:00:00Z")
    assert not NY.is_open(utc("2026-11-30T17:30:00Z"))
    assert NY.measure(utc("2026-11-30T14:00:00Z"), utc("2026-11-30T22:00:00Z")) == 7 * H


def test_a_shift_across_midnight_counts_on() -> None:
    # Monday 2026-11-30 23:00 Berlin (22:00Z) + 3 h: 1 h to midnight, 2 h after: Tuesday 02:00 (01:00Z).
    assert SHIFT.add(utc("2026-11-30T22:00:00Z"), 3 * H) == utc("2026-12-01T01:00:00Z")
    assert SHIFT.measure(utc("2026-11-30T20:00:00Z"), utc("2026-12-01T06:00:00Z")) == 8 * H
    assert SHIFT.is_open(utc("2026-11-30T23:00:00Z"))  # local midnight itself


def test_measuring_decades_needs_no_open_time_limit() -> None:
    start = utc("2000-01-01T00:00:00Z")
    assert ALWAYS.measure(start, utc("2050-01-01T00:00:00Z")) == (utc("2050-01-01T00:00:00Z") - start).days * 86400


def test_the_built_in_calendar_is_always_open() -> None:
    start = utc("2026-12-25T23:59:59Z")
    assert ALWAYS.add(start, 2 * 86400 + 1) == start + timedelta(days=2, seconds=1)
    assert ALWAYS.measure(start, start + timedelta(days=3)) == 3 * 86400
    assert ALWAYS.is_open(start)
    assert ALWAYS.business_day == 86400


# ---------------------------------------------------------------- daylight saving time

def test_berlin_spring_forward_weekend_keeps_wall_clock_hours() -> None:
    # Friday 2026-03-27 10:00 CET (09:00Z) + 10 h: 8 h on Friday, 2 h on Monday 30th: 10:00 CEST = 08:00Z.
    assert EU.add(utc("2026-03-27T09:00:00Z"), 10 * H) == utc("2026-03-30T08:00:00Z")
    assert EU.measure(utc("2026-03-27T09:00:00Z"), utc("2026-03-30T08:00:00Z")) == 10 * H


def test_berlin_fall_back_weekend_keeps_wall_clock_hours() -> None:
    # Friday 2026-10-23 16:00 CEST (14:00Z) + 4 h: Monday 26th 10:00 CET = 09:00Z.
    assert EU.add(utc("2026-10-23T14:00:00Z"), 4 * H) == utc("2026-10-26T09:00:00Z")


def test_a_day_with_the_change_in_its_night_still_has_its_hours() -> None:
    daily = BusinessCalendar.build("d", "Europe/Berlin", "daily 08:00-18:00")
    for day in ("2026-03-29", "2026-10-25"):
        opened = daily.next_open(utc(f"{day}T00:00:00Z"))
        assert daily.add(opened, 10 * H) == daily.next_open(opened) + timedelta(hours=10)
        assert daily.measure(utc(f"{day}T00:00:00Z"), utc(f"{day}T23:00:00Z")) == 10 * H


def test_berlin_night_range_over_the_spring_gap_has_three_hours() -> None:
    # 00:00-04:00 on 2026-03-29: 00:00 CET is 23:00Z; 04:00 CEST is 02:00Z; the clock skips 02:00-03:00.
    assert NIGHT.measure(utc("2026-03-28T23:00:00Z"), utc("2026-03-29T03:00:00Z")) == 3 * H
    assert NIGHT.add(utc("2026-03-28T23:00:00Z"), 2 * H) == utc("2026-03-29T01:00:00Z")  # 03:00 CEST
    assert NIGHT.add(utc("2026-03-28T23:00:00Z"), 3 * H) == utc("2026-03-29T02:00:00Z")  # 04:00 CEST, closing
    assert NIGHT.add(utc("2026-03-28T23:00:00Z"), 3 * H + 1) == utc("2026-03-29T22:00:01Z")


def test_berlin_night_range_over_the_autumn_overlap_has_five_hours() -> None:
    # 00:00-04:00 on 2026-10-25: 00:00 CEST is 22:00Z on the 24th; 04:00 CET is 03:00Z; 02:00-03:00 twice.
    assert NIGHT.measure(utc("2026-10-24T21:00:00Z"), utc("2026-10-25T04:00:00Z")) == 5 * H
    assert NIGHT.add(utc("2026-10-24T22:00:00Z"), 5 * H) == utc("2026-10-25T03:00:00Z")
    assert NIGHT.is_open(utc("2026-10-25T00:30:00Z")) and NIGHT.is_open(utc("2026-10-25T01:30:00Z"))


def test_range_ends_inside_the_gap_and_the_overlap() -> None:
    odd = BusinessCalendar.build("odd", "Europe/Berlin", "daily 02:30-05:00")
    # Spring: 02:30 never happens; the range opens at the change, 03:00 CEST (01:00Z), until 05:00 CEST (03:00Z).
    assert odd.next_open(utc("2026-03-29T00:00:00Z")) == utc("2026-03-29T01:00:00Z")
    assert odd.measure(utc("2026-03-29T00:00:00Z"), utc("2026-03-29T12:00:00Z")) == 2 * H
    # Autumn: 02:30 happens twice; the range opens at the first (02:30 CEST = 00:30Z), until 05:00 CET (04:00Z).
    assert odd.next_open(utc("2026-10-25T00:00:00Z")) == utc("2026-10-25T00:30:00Z")
    assert odd.measure(utc("2026-10-25T00:00:00Z"), utc("2026-10-25T12:00:00Z")) == 3 * H + 30 * 60
    late = BusinessCalendar.build("late", "Europe/Berlin", "daily 00:00-02:30")
    # ...and an end in the overlap is its last occurrence: 02:30 CET = 01:30Z.
    assert late.measure(utc("2026-10-24T22:00:00Z"), utc("2026-10-25T12:00:00Z")) == 3 * H + 30 * 60
    assert late.add(utc("2026-10-24T22:00:00Z"), 3 * H + 30 * 60) == utc("2026-10-25T01:30:00Z")


def test_new_york_spring_forward() -> None:
    # Friday 2026-03-06 16:00 EST (21:00Z) + 2 h: 1 h Friday, Monday 9th 09:00-10:00 EDT: 14:00Z.
    assert NY.add(utc("2026-03-06T21:00:00Z"), 2 * H) == utc("2026-03-09T14:00:00Z")
    # 01:00-03:00 on 2026-03-08: 02:00 EST jumps to 03:00 EDT; one hour, 06:00Z-07:00Z.
    assert NIGHT_NY.measure(utc("2026-03-08T05:00:00Z"), utc("2026-03-08T09:00:00Z")) == H
    assert NIGHT_NY.add(utc("2026-03-08T05:00:00Z"), H) == utc("2026-03-08T07:00:00Z")


def test_new_york_fall_back() -> None:
    # Friday 2026-10-30 16:00 EDT (20:00Z) + 2 h: Monday 2 November 10:00 EST = 15:00Z.
    assert NY.add(utc("2026-10-30T20:00:00Z"), 2 * H) == utc("2026-11-02T15:00:00Z")
    # 01:00-03:00 on 2026-11-01: 01:00 EDT (05:00Z) to 03:00 EST (08:00Z): three hours.
    assert NIGHT_NY.measure(utc("2026-11-01T04:00:00Z"), utc("2026-11-01T10:00:00Z")) == 3 * H


# ---------------------------------------------------------------- a business day, and speed

def test_a_business_day_is_the_average_open_day() -> None:
    assert EU.business_day == 10 * H
    short_friday = BusinessCalendar.build("x", "Europe/Berlin", "mon-thu 08:00-18:00; fri 08:00-14:00")
    assert short_friday.business_day == 9 * H + 12 * 60
    # five business days from Monday 08:00 are that whole week: Friday 14:00 (13:00Z).
    assert short_friday.add(utc("2026-11-30T07:00:00Z"), 5 * short_friday.business_day) == utc("2026-12-04T13:00:00Z")
    assert NY.business_day == 7 * H


def test_adding_business_days_loops_over_days_not_minutes(monkeypatch) -> None:
    calls: list[date] = []
    original = BusinessCalendar.open_ranges

    def counting(self, day):
        calls.append(day)
        return original(self, day)

    monkeypatch.setattr(BusinessCalendar, "open_ranges", counting)
    fresh = BusinessCalendar.build("eu2", "Europe/Berlin", "mon-fri 08:00-18:00", ["DE"])
    assert fresh.add(utc("2026-11-30T09:00:00Z"), 5 * fresh.business_day) == utc("2026-12-07T09:00:00Z")
    assert len(calls) <= 10


# ---------------------------------------------------------------- parsing and refusals

def test_hours_as_a_string_or_a_table_mean_the_same() -> None:
    table = parse_hours({"mon": "08:00-12:00,13:00-17:00", "tue": "08:00-12:00, 13:00-17:00", "sat": "closed"})
    text = parse_hours("mon-tue 08:00-12:00,13:00-17:00")
    assert table == text
    assert format_hours(text) == "mon-tue 08:00-12:00,13:00-17:00"
    assert format_hours(parse_hours("daily 00:00-24:00")) == "24x7"
    assert format_hours(parse_hours("mon-thu 08:00-18:00; fri 08:00-14:00")) == "mon-thu 08:00-18:00; fri 08:00-14:00"
    assert parse_hours("fri-mon 10:00-11:00") == parse_hours("fri,sat,sun,mon 10:00-11:00")
    assert parse_hours("mon-fri 08:00-12:00; mon 13:00-14:00")[0] == ((8 * H, 12 * H), (13 * H, 14 * H))


@pytest.mark.parametrize(("hours", "message"), [
    ("mon-fri 18:00-08:00", "a range of hours must end after it starts: '18:00-08:00'"),
    ("mon-fri 08:00-25:00", "not a time of day (00:00-23:59, or 24:00 as an end): '25:00'"),
    ("mon-fri 8am-6pm", "not a time of day (HH:MM): '8am'"),
    ("mon-fri 08:00", "not a range of hours (HH:MM-HH:MM): '08:00'"),
    ("mon-fri 08:00-12:00,11:00-14:00", "ranges of hours overlap: '08:00-12:00,11:00-14:00'"),
    ("mon-fry 08:00-18:00", "not a day or span of days (mon, tue, …, sun; e.g. mon-fri): 'mon-fry'"),
    ("mon-fri 08:00-18:00; fri 17:00-20:00", "ranges of hours overlap: fri in 'mon-fri 08:00-18:00; fri 17:00-20:00'"),
    ("mon-fri", "hours need days and ranges, e.g. \"mon-fri 08:00-18:00\": 'mon-fri'"),
    ({"funday": "08:00-18:00"}, "not a day of the week: 'funday' (mon, tue, …, sun)"),
])
def test_bad_hours_are_refused_with_the_reason(hours, message) -> None:
    with pytest.raises(CalendarError) as caught:
        parse_hours(hours)
    assert str(caught.value) == message
    assert isinstance(caught.value, InvalidInput)


def test_bad_calendars_are_refused() -> None:
    with pytest.raises(CalendarError, match="closed all week"):
        BusinessCalendar.build("shut", "Europe/Berlin", {"mon": "closed"})
    with pytest.raises(CalendarError, match="unknown time zone: 'Europe/Berln'"):
        BusinessCalendar.build("x", "Europe/Berln", "mon-fri 08:00-18:00")
    with pytest.raises(CalendarError, match="unknown time zone"):
        BusinessCalendar.build("x", "../../etc/passwd", "mon-fri 08:00-18:00")
    with pytest.raises(CalendarError, match="unknown holiday country: 'XX'"):
        BusinessCalendar.build("x", "Europe/Berlin", "mon-fri 08:00-18:00", ["XX"])
    with pytest.raises(CalendarError, match="unknown holiday subdivision 'ZZ' of DE: 'DE-ZZ'"):
        BusinessCalendar.build("x", "Europe/Berlin", "mon-fri 08:00-18:00", ["DE-ZZ"])
    with pytest.raises(CalendarError, match="not a date"):
        BusinessCalendar.build("x", "Europe/Berlin", "mon-fri 08:00-18:00", [], ["2026-02-30"])


def test_a_calendar_survives_its_plain_dict() -> None:
    again = BusinessCalendar.from_dict("eu", EU.to_dict())
    assert again == EU
    assert EU.to_dict() == {"timezone": "Europe/Berlin", "hours": "mon-fri 08:00-18:00", "holidays": ["DE"],
                            "dates": ["2026-12-24", "2026-12-31"]}
    assert EU.describe() == ("Europe/Berlin · mon-fri 08:00-18:00 · holidays DE · closed 2026-12-24, 2026-12-31"
                             " · business day 10h")


# ---------------------------------------------------------------- properties

CALENDARS = [EU, NY, NIGHT, NIGHT_NY, SHIFT, ALWAYS]
LOW, HIGH = to_seconds(utc("2025-12-20T00:00:00Z")), to_seconds(utc("2028-01-10T00:00:00Z"))
instants = st.integers(LOW, HIGH).map(lambda s: calendar_module.from_seconds(s))
calendars = st.sampled_from(CALENDARS)
durations = st.integers(0, 12 * 10 * H)
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(calendars, instants, durations)
def test_measuring_what_was_added_gives_back_the_duration(cal, start, seconds) -> None:
    end = cal.add(start, seconds)
    assert cal.measure(start, end) == seconds
    assert end >= start
    assert seconds == 0 or cal.measure(start, end - timedelta(seconds=1)) == seconds - 1  # the earliest instant


@PROPERTY
@given(calendars, instants, instants, durations, durations)
def test_add_is_monotonic(cal, s1, s2, d1, d2) -> None:
    s1, s2 = min(s1, s2), max(s1, s2)
    d1, d2 = min(d1, d2), max(d1, d2)
    assert cal.add(s1, d1) <= cal.add(s1, d2)
    assert cal.add(s1, d1) <= cal.add(s2, d1)


@PROPERTY
@given(calendars, instants, durations, durations)
def test_adding_in_two_steps_is_adding_once(cal, start, a, b) -> None:
    assert cal.add(cal.add(start, a), b) == cal.add(start, a + b)


@PROPERTY
@given(calendars, instants, instants, instants)
def test_measure_is_additive_over_a_split_point(cal, a, b, c) -> None:
    start, middle, end = sorted((a, b, c))
    assert cal.measure(start, middle) + cal.measure(middle, end) == cal.measure(start, end)
    assert cal.measure(start, end) <= (end - start).total_seconds()
    assert cal.measure(end, start) == 0 or end == start


@PROPERTY
@given(calendars, instants)
def test_is_open_agrees_with_measure(cal, moment) -> None:
    assert cal.is_open(moment) == (cal.measure(moment, moment + timedelta(seconds=1)) == 1)
