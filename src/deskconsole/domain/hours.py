"""A business calendar's weekly open hours, written and read: "mon-fri 08:00-18:00", "24x7", or a
table of days (domain/calendar.py, whose BusinessCalendar counts time by them)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from deskconsole.domain.errors import InvalidInput

DAY = 86400
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALWAYS_OPEN = "24x7"

Range = tuple[int, int]  # local seconds since midnight, start < end <= 86400


class CalendarError(InvalidInput):
    """A calendar definition was refused; the message says why."""


_TIME = re.compile(r"^([0-2]?\d):([0-5]\d)$")


def _parse_clock(text: str, *, end: bool) -> int:
    match = _TIME.match(text.strip())
    if not match:
        raise CalendarError(f"not a time of day (HH:MM): {text.strip()!r}")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if hours == 24 and minutes == 0 and end:
        return DAY
    if hours > 23:
        raise CalendarError(f"not a time of day (00:00-23:59, or 24:00 as an end): {text.strip()!r}")
    return hours * 3600 + minutes * 60


def parse_ranges(text: str) -> tuple[Range, ...]:
    """'08:00-12:00,13:00-17:00' -> ((28800, 43200), (46800, 61200)); 'closed' or '' -> ()."""
    raw = text.strip().lower()
    if raw in ("", "closed"):
        return ()
    ranges: list[Range] = []
    for part in raw.split(","):
        pieces = part.split("-")
        if len(pieces) != 2:
            raise CalendarError(f"not a range of hours (HH:MM-HH:MM): {part.strip()!r}")
        start, end = _parse_clock(pieces[0], end=False), _parse_clock(pieces[1], end=True)
        if end <= start:
            raise CalendarError(f"a range of hours must end after it starts: {part.strip()!r}")
        ranges.append((start, end))
    return _merge(ranges, repr(text.strip()))


def _merge(ranges: Iterable[Range], label: str) -> tuple[Range, ...]:
    merged: list[Range] = []
    for start, end in sorted(ranges):
        if merged and start < merged[-1][1]:
            raise CalendarError(f"ranges of hours overlap: {label}")
        if merged and start == merged[-1][1]:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return tuple(merged)


def _parse_days(text: str) -> list[int]:
    raw = text.strip().lower()
    if raw in ("daily", "everyday", "every day"):
        return list(range(7))
    days: list[int] = []
    for part in raw.split(","):
        bounds = part.strip().split("-")
        try:
            indices = [WEEKDAYS.index(b.strip()[:3]) for b in bounds]
            if any(b.strip() not in (WEEKDAYS[i], _LONG_DAYS[i]) for b, i in zip(bounds, indices, strict=True)):
                raise ValueError
        except ValueError:
            raise CalendarError(f"not a day or span of days (mon, tue, …, sun; e.g. mon-fri): {part.strip()!r}") \
                from None
        if len(indices) == 1:
            days.append(indices[0])
        elif len(indices) == 2:
            first, last = indices
            days.extend((first + i) % 7 for i in range((last - first) % 7 + 1))
        else:
            raise CalendarError(f"not a span of days: {part.strip()!r}")
    return days


_LONG_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def parse_hours(spec: str | Mapping[str, str]) -> tuple[tuple[Range, ...], ...]:
    """Weekly hours, Monday first.

    A string: groups separated by ';', each days then ranges, e.g.
    "mon-fri 08:00-18:00" or "mon-thu 08:00-12:00,13:00-17:00; fri 08:00-14:00"
    (a day named in two groups opens in the ranges of both)
    ("24x7" is every day all day). A table: {mon = "08:00-12:00,13:00-17:00", sat = "closed"};
    days it leaves out are closed.
    """
    week: list[tuple[Range, ...] | None] = [None] * 7
    if isinstance(spec, Mapping):
        for key, value in spec.items():
            if not isinstance(key, str) or key.strip().lower() not in WEEKDAYS + _LONG_DAYS:
                raise CalendarError(f"not a day of the week: {key!r} (mon, tue, …, sun)")
            if not isinstance(value, str):
                raise CalendarError(f"hours of {key} must be a string like \"08:00-18:00\"")
            index = WEEKDAYS.index(key.strip().lower()[:3])
            if week[index] is not None:
                raise CalendarError(f"{WEEKDAYS[index]} is given twice")
            week[index] = parse_ranges(value)
    elif isinstance(spec, str):
        raw = spec.strip().lower()
        if raw == ALWAYS_OPEN:
            return tuple(((0, DAY),) for _ in range(7))
        if not raw:
            raise CalendarError("hours are empty")
        for group in raw.split(";"):
            group = group.strip()
            if not group:
                continue
            days_text, _, ranges_text = group.partition(" ")
            if not ranges_text.strip():
                raise CalendarError(f"hours need days and ranges, e.g. \"mon-fri 08:00-18:00\": {group!r}")
            ranges = parse_ranges(ranges_text.replace(" ", ""))
            for index in _parse_days(days_text):
                if week[index] is not None:  # a day in two groups: both its ranges, if they do not overlap
                    week[index] = _merge((week[index] or ()) + ranges, f"{WEEKDAYS[index]} in {spec.strip()!r}")
                else:
                    week[index] = ranges
    else:
        raise CalendarError("hours must be a string like \"mon-fri 08:00-18:00\" or a table of days")
    return tuple(w or () for w in week)


def format_ranges(ranges: Iterable[Range]) -> str:
    def clock(seconds: int) -> str:
        return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"
    text = ",".join(f"{clock(a)}-{clock(b)}" for a, b in ranges)
    return text or "closed"


def format_hours(week: tuple[tuple[Range, ...], ...]) -> str:
    """The shortest string form: 'mon-fri 08:00-18:00', '24x7', 'mon-thu 08:00-18:00; fri 08:00-14:00'."""
    if all(day == ((0, DAY),) for day in week):
        return ALWAYS_OPEN
    groups: list[tuple[int, int, tuple[Range, ...]]] = []
    for index, ranges in enumerate(week):
        if groups and groups[-1][2] == ranges and groups[-1][1] == index - 1:
            groups[-1] = (groups[-1][0], index, ranges)
        else:
            groups.append((index, index, ranges))
    parts = []
    for first, last, ranges in groups:
        if not ranges:
            continue
        days = WEEKDAYS[first] if first == last else f"{WEEKDAYS[first]}-{WEEKDAYS[last]}"
        parts.append(f"{days} {format_ranges(ranges)}")
    return "; ".join(parts)
