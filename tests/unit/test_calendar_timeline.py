"""The calendar's arithmetic answers from its span of open stretches (prefix sums, bisection): it
must give, to the second, what walking the open stretches day by day gives, in every zone and
order of questions (forward, backward, far apart), across DST changes, holidays and weekends."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deskconsole.domain.calendar import BusinessCalendar, to_seconds

CALENDARS = [
    BusinessCalendar.build("eu", "Europe/Berlin", "mon-fri 08:00-18:00", ["DE"], ["2026-12-24", "2026-12-31"]),
    BusinessCalendar.build("ny", "America/New_York", {"mon": "09:00-12:00,13:00-17:00", "wed": "00:00-24:00",
                                                      "sat": "22:00-24:00"}),
    BusinessCalendar.build("night", "Europe/Berlin", "daily 00:00-04:00"),
    BusinessCalendar.build("havana", "America/Havana", "daily 00:00-01:00,23:00-24:00"),  # DST at midnight
    BusinessCalendar.build("lord-howe", "Australia/Lord_Howe", "mon-sat 01:30-02:30"),  # half-hour DST
]
LOW = to_seconds(datetime(2025, 1, 1, tzinfo=UTC))
HIGH = to_seconds(datetime(2028, 1, 1, tzinfo=UTC))


def walked_measure(cal: BusinessCalendar, start: int, end: int) -> int:
    """Business seconds in [start, end), day by day over the open stretches."""
    total = 0
    if end <= start:
        return 0
    for a, b in cal._stretches(start, end):
        if a >= end:
            break
        total += min(b, end) - a
    return total


def walked_add(cal: BusinessCalendar, start: int, seconds: int) -> int:
    if seconds == 0:
        return start
    left = seconds
    for a, b in cal._stretches(start):
        if left <= b - a:
            return a + left
        left -= b - a
    raise AssertionError("unreachable")


questions = st.lists(st.tuples(st.integers(LOW, HIGH), st.integers(0, 40 * 86400), st.integers(0, 200 * 3600)),
                     min_size=1, max_size=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.integers(0, len(CALENDARS) - 1), asked=questions)
def test_the_span_answers_what_walking_the_days_answers(index: int, asked: list[tuple[int, int, int]]) -> None:
    spec = CALENDARS[index]
    cal = BusinessCalendar.from_dict(spec.name, spec.to_dict())  # a fresh span, grown by these questions
    for start, length, seconds in asked:
        end = start + length
        assert cal.measure_seconds(start, end) == walked_measure(cal, start, end), (start, end)
        assert cal.add_seconds(start, seconds) == walked_add(cal, start, seconds), (start, seconds)


def test_questions_far_apart_start_a_new_span_and_still_agree() -> None:
    cal = BusinessCalendar.build("eu", "Europe/Berlin", "mon-fri 08:00-18:00", ["DE"])
    early = to_seconds(datetime(1990, 3, 1, 9, tzinfo=UTC))
    late = to_seconds(datetime(2090, 3, 1, 9, tzinfo=UTC))
    for start in (late, early, late - 86400 * 30, early + 86400 * 400):
        assert cal.add_seconds(start, 50 * 3600) == walked_add(cal, start, 50 * 3600)
        assert cal.measure_seconds(start, start + 9 * 86400) == walked_measure(cal, start, start + 9 * 86400)
    assert cal.measure_seconds(early, late) == walked_measure(cal, early, late)


def test_an_always_open_calendar_counts_wall_clock_time() -> None:
    cal = BusinessCalendar.build("round", "Europe/Berlin", "daily 00:00-24:00")
    start = to_seconds(datetime(2026, 3, 29, 0, 30, tzinfo=UTC))  # across the spring-forward night
    assert cal.measure_seconds(start, start + 5 * 3600) == 5 * 3600 == walked_measure(cal, start, start + 5 * 3600)
    assert cal.add_seconds(start, 7200) == start + 7200 == walked_add(cal, start, 7200)
