"""Business calendars: when a desk counts time for its service levels.

A calendar has a time zone, weekly open hours (one or more ranges per weekday,
local wall-clock time), public holidays (country or country-subdivision codes of
the `holidays` package) and extra closed dates. The built-in calendar "24x7" is
always open.

All arithmetic takes and returns aware datetimes in UTC and is exact to the
second (sub-second parts of inputs are dropped). Internally an instant is a
whole number of seconds since the Unix epoch.

How local hours meet daylight-saving changes (hours are wall-clock time):
- A range of a local date is the stretch of time from the instant the wall clock
  first reads its start to the instant it reads its end for the last time. A
  08:00-18:00 day whose night has a DST change still has 10 hours; a 00:00-04:00
  range on a spring-forward night (Europe/Berlin, 02:00 -> 03:00) has 3 hours, on
  a fall-back night (03:00 -> 02:00) 5 hours.
- A range end written "24:00" is the next local midnight.
- A start or end that falls in a spring-forward gap (a wall time that never
  happens) is the instant of the change: 02:30-05:00 on Berlin's spring night
  opens at 03:00 CEST.
- A start that falls in a fall-back overlap (a wall time that happens twice)
  is its first occurrence; an end in the overlap is its last occurrence.
- Ranges never count twice: where a day's range would reach into the next
  day's (a zone that falls back at midnight), the later one starts where the
  earlier ended.

A public holiday or an extra closed date closes that whole local date.

"A business day" (the `d` of service-level durations) is the average open time
of the weekdays that have open hours, nominal wall-clock hours, rounded to the
second: 10 h for "mon-fri 08:00-18:00"; for mon-thu 08:00-18:00 and fri
08:00-14:00 it is 9 h 12 min (5 business days = 46 h = one such week); 24 h for
"24x7".
"""

from __future__ import annotations

import sys
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from deskconsole.domain.hours import (  # (the weekly open hours, read and written)
    ALWAYS_OPEN,
    DAY,
    CalendarError,
    Range,
    format_hours,
    parse_hours,
)

if TYPE_CHECKING:
    import types
    from types import ModuleType
    from typing import Any

    from holidays import HolidayBase

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The loop over days gives up after this many days without finding the time asked for
# (only reachable with absurd inputs: a calendar with no open hours is refused).
_MAX_DAYS = 366 * 30

def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise CalendarError(f"not a date (YYYY-MM-DD): {text!r}") from None


def zone(name: str) -> ZoneInfo:
    if not isinstance(name, str) or not name.strip() or name.strip().startswith(("/", ".")) or ".." in name:
        raise CalendarError(f"unknown time zone: {name!r}")
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, IsADirectoryError, OSError):
        raise CalendarError(f"unknown time zone: {name!r} (an IANA name like \"Europe/Berlin\")") from None


def _holiday_source(code: str) -> HolidayBase:
    raw = code.strip()
    country, _, subdivision = raw.partition("-")
    try:
        return _country_holidays(country.upper(), subdivision.upper() or None)
    except (NotImplementedError, KeyError):
        if subdivision:
            try:
                _country_holidays(country.upper(), None)
            except (NotImplementedError, KeyError):
                pass
            else:
                raise CalendarError(f"unknown holiday subdivision {subdivision!r} of {country.upper()}: "
                                    f"{code!r}") from None
        raise CalendarError(f"unknown holiday country: {code!r} (a code like \"DE\" or \"DE-BY\")") from None


def _country_holidays(country: str, subdivision: str | None) -> HolidayBase:
    """holidays.country_holidays(country, subdiv=subdivision), loading that one country's module.

    The package's own lookup imports its whole list of countries (about 280 modules, 8 MB held by
    every console that shows a business-time countdown) to use one; the registry names each
    country's module, and that module alone is loaded here (under its own name, so a later import of
    the whole list reuses it). Whatever the registry does not name goes to the package's lookup,
    which raises for an unknown code as before."""
    with _LOADING:
        if "holidays" not in sys.modules:
            _lazy_packages()
    import holidays  # imported on first use: it is large
    from holidays.registry import COUNTRIES

    for name in _LAZY:  # (an import that finds a package in sys.modules does not name it in its parent)
        if not hasattr(holidays, name.split(".")[1]) and name in sys.modules:
            setattr(holidays, name.split(".")[1], sys.modules[name])

    found = next(((module, names[0]) for module, names in COUNTRIES.items() if country in names[1:]), None)
    if found is None:
        return holidays.country_holidays(country, subdiv=subdivision)
    module, class_name = found
    name = f"holidays.countries.{module}"
    with _LOADING:  # (two calendars built at once in two threads load the module once)
        loaded = sys.modules.get(name)
        if loaded is None:
            loaded = _load_module(name, Path(holidays.__path__[0]) / "countries" / f"{module}.py")
    if loaded is None:
        return holidays.country_holidays(country, subdiv=subdivision)
    source: HolidayBase = getattr(loaded, class_name)(subdiv=subdivision)
    return source


_LOADING = threading.RLock()
_LAZY = ("holidays.calendars", "holidays.groups")


def _lazy_packages() -> None:
    """The package's `calendars` and `groups` packages, whose __init__ only gathers the names of
    their modules (every calendar system: Chinese, Hebrew, Islamic, ... about 3.5 MB), as modules
    that import each of their modules when one of its names is first asked for: a country's
    holidays load the few they use. A name they do not list loads the whole real __init__.
    Installed before the package is first imported (its base module imports both)."""
    import ast
    import importlib
    import importlib.util
    import types

    spec = importlib.util.find_spec("holidays")  # (finds it without importing it)
    if spec is None or spec.origin is None:
        return
    root = Path(spec.origin).parent
    for name in _LAZY:
        folder = root / name.split(".")[1]
        init = folder / "__init__.py"
        try:
            source = init.read_text(encoding="utf-8")
            tree = ast.parse(source)
        except (OSError, SyntaxError, ValueError):
            continue
        if any(not isinstance(node, ast.ImportFrom | ast.Expr) for node in tree.body):
            continue  # more than names gathered: load it as it is
        where = {alias.asname or alias.name: (node.module, alias.name) for node in tree.body
                 if isinstance(node, ast.ImportFrom) and node.module for alias in node.names}
        module = types.ModuleType(name)
        module.__path__ = [str(folder)]
        module.__file__ = str(init)
        module.__package__ = name
        module.__getattr__ = _lazy_getattr(module, where, compile(source, str(init), "exec"))  # type: ignore[method-assign]
        sys.modules[name] = module


def _lazy_getattr(module: ModuleType, where: dict[str, tuple[str, str]], init: types.CodeType) -> Any:
    import importlib

    def getattr_(attr: str) -> Any:
        found = where.get(attr)
        if found is not None:
            value = getattr(importlib.import_module(found[0]), found[1])
        else:
            with _LOADING:
                if not getattr(module, "_whole", False):
                    module._whole = True  # type: ignore[attr-defined]
                    exec(init, module.__dict__)  # (the package's own __init__, as importing it runs it)
            if attr not in module.__dict__:
                raise AttributeError(f"module {module.__name__!r} has no attribute {attr!r}")
            value = module.__dict__[attr]
        setattr(module, attr, value)
        return value

    return getattr_


def _load_module(name: str, path: Path) -> ModuleType | None:
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None or not path.is_file():
        return None
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[name] = loaded
    try:
        spec.loader.exec_module(loaded)
    except BaseException:
        del sys.modules[name]
        raise
    return loaded


# --------------------------------------------------------------------------- the calendar

_SECOND = timedelta(seconds=1)


def to_seconds(value: datetime) -> int:
    """Whole seconds since the epoch of an aware datetime (sub-seconds dropped; naive means UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - EPOCH) // _SECOND


def from_seconds(seconds: int) -> datetime:
    return EPOCH + timedelta(seconds=seconds)


@dataclass(eq=False)
class BusinessCalendar:
    name: str
    timezone: str = "UTC"
    week: tuple[tuple[Range, ...], ...] = field(default_factory=lambda: tuple(((0, DAY),) for _ in range(7)))
    holidays: tuple[str, ...] = ()
    dates: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        self._zone = zone(self.timezone)
        if len(self.week) != 7:
            raise CalendarError("hours must cover the seven days of the week")
        if not any(self.week):
            raise CalendarError(f"calendar {self.name}: closed all week (no open hours)")
        self._sources = [_holiday_source(code) for code in self.holidays]
        self._closed_cache: dict[int, bool] = {}
        self._day_cache: dict[int, tuple[Range, ...]] = {}
        # always open: business time is wall-clock time (no day to look at)
        self._always = all(day == ((0, DAY),) for day in self.week) and not self.holidays and not self.dates
        self._line = _Timeline(self)

    # ---- construction

    @classmethod
    def always_open(cls) -> BusinessCalendar:
        return cls(ALWAYS_OPEN)

    @classmethod
    def build(cls, name: str, timezone: str, hours: str | Mapping[str, str], holidays: Iterable[str] = (),
              dates: Iterable[str | date] = ()) -> BusinessCalendar:
        codes = tuple(holidays)
        for code in codes:
            if not isinstance(code, str):
                raise CalendarError(f"a holiday code must be a string like \"DE\": {code!r}")
        closed = frozenset(d if isinstance(d, date) else parse_date(d) for d in dates)
        return cls(name, timezone, parse_hours(hours), codes, closed)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BusinessCalendar):
            return NotImplemented
        return self.to_dict() == other.to_dict() and self.name == other.name

    def __hash__(self) -> int:
        return hash(self.name)

    def to_dict(self) -> dict:
        return {"timezone": self.timezone, "hours": format_hours(self.week), "holidays": list(self.holidays),
                "dates": sorted(d.isoformat() for d in self.dates)}

    @classmethod
    def from_dict(cls, name: str, data: Mapping) -> BusinessCalendar:
        return cls.build(name, data.get("timezone", "UTC"), data.get("hours", ALWAYS_OPEN),
                         data.get("holidays", ()), data.get("dates", ()))

    # ---- facts

    @property
    def business_day(self) -> int:
        """Seconds in "a business day": the average nominal open time of the weekdays that open."""
        lengths = [sum(b - a for a, b in day) for day in self.week if day]
        return round(sum(lengths) / len(lengths))

    @property
    def weekly_seconds(self) -> int:
        return sum(b - a for day in self.week for a, b in day)

    def is_closed_date(self, day: date) -> bool:
        """A public holiday or an extra closed date (the whole local date is closed)."""
        key = day.toordinal()
        cached = self._closed_cache.get(key)
        if cached is None:
            cached = day in self.dates or any(day in source for source in self._sources)
            if len(self._closed_cache) > 20000:
                self._closed_cache.clear()
            self._closed_cache[key] = cached
        return cached

    def _instant(self, day: date, seconds: int, *, end: bool) -> int:
        """The UTC second at which the wall clock of `day` reads `seconds` after midnight (see the module doc)."""
        if seconds >= DAY:
            day, seconds = day + timedelta(days=seconds // DAY), seconds % DAY
        naive = datetime(day.year, day.month, day.day) + timedelta(seconds=seconds)
        first = to_seconds(naive.replace(tzinfo=self._zone, fold=0))
        second = to_seconds(naive.replace(tzinfo=self._zone, fold=1))
        if first == second:
            return first
        low, high = min(first, second), max(first, second)
        if self._wall(low) == naive:  # the wall time happens twice: a fall-back overlap
            return high if end else low
        # a spring-forward gap: the wall time never happens; take the instant of the change
        before = self._offset(low)
        while high - low > 1:
            middle = (low + high) // 2
            if self._offset(middle) == before:
                low = middle
            else:
                high = middle
        return high

    def _wall(self, seconds: int) -> datetime:
        return from_seconds(seconds).astimezone(self._zone).replace(tzinfo=None)

    def _offset(self, seconds: int) -> timedelta | None:
        return from_seconds(seconds).astimezone(self._zone).utcoffset()

    def _local_date(self, seconds: int) -> date:
        return from_seconds(seconds).astimezone(self._zone).date()

    def open_ranges(self, day: date) -> tuple[Range, ...]:
        """The open stretches of a local date as UTC seconds, [start, end), in order."""
        key = day.toordinal()
        cached = self._day_cache.get(key)
        if cached is None:
            if self.is_closed_date(day):
                cached = ()
            else:
                cached = tuple((self._instant(day, a, end=False), self._instant(day, b, end=True))
                               for a, b in self.week[day.weekday()])
            if len(self._day_cache) > 20000:
                self._day_cache.clear()
            self._day_cache[key] = cached
        return cached

    def _stretches(self, start: int, end: int | None = None) -> Iterator[Range]:
        """Open stretches, in UTC seconds, that end after `start`, in order, never overlapping.

        With `end`, those of the local dates up to the one of `end`; without, on until `_MAX_DAYS` days.
        """
        day = self._local_date(start) - timedelta(days=1)
        floor = start
        days = _MAX_DAYS if end is None else (self._local_date(end) - day).days + 2
        for _ in range(days):
            for a, b in self.open_ranges(day):
                a = max(a, floor)
                if b > a:
                    yield a, b
                    floor = b
            day += timedelta(days=1)
        if end is not None:
            return
        raise CalendarError(f"calendar {self.name}: no open time found within {_MAX_DAYS} days")

    # ---- arithmetic

    def add(self, start: datetime, seconds: int) -> datetime:
        """The earliest instant at which the business time used since `start` reaches `seconds`.

        8 h from Monday 10:00 on 08:00-18:00 hours is Monday 18:00 (not Tuesday 08:00);
        0 s is `start` itself (to the second).
        """
        return from_seconds(self.add_seconds(to_seconds(start), seconds))

    def add_seconds(self, start: int, seconds: int) -> int:
        if seconds < 0:
            raise ValueError("business time to add must not be negative")
        if seconds == 0 or self._always:
            return start + seconds
        return self._line.reach(start, seconds)

    def measure(self, start: datetime, end: datetime) -> int:
        """Business seconds in [start, end); 0 when end is not after start."""
        return self.measure_seconds(to_seconds(start), to_seconds(end))

    def measure_seconds(self, start: int, end: int) -> int:
        if end <= start:
            return 0
        if self._always:
            return end - start
        found = self._line.between(start, end)
        if found is not None:
            return found
        total = 0  # (instants further apart than the span keeps: day by day)
        for a, b in self._stretches(start, end):
            if a >= end:
                break
            total += min(b, end) - a
        return total

    def is_open(self, when: datetime) -> bool:
        moment = to_seconds(when)
        for a, b in self._stretches(moment):
            return a <= moment < b
        return False  # pragma: no cover

    def next_open(self, when: datetime) -> datetime:
        """`when` if open, else the next instant the calendar opens."""
        moment = to_seconds(when)
        for a, _ in self._stretches(moment):
            return from_seconds(a)
        raise AssertionError("unreachable")  # pragma: no cover

    def describe(self) -> str:
        """One line for `sla show`."""
        if self.name == ALWAYS_OPEN and self.to_dict() == BusinessCalendar(ALWAYS_OPEN).to_dict():
            return "always open (built in)"
        parts = [self.timezone, format_hours(self.week)]
        if self.holidays:
            parts.append("holidays " + ", ".join(self.holidays))
        if self.dates:
            parts.append("closed " + ", ".join(sorted(d.isoformat() for d in self.dates)))
        parts.append("business day " + format_business_time(self.business_day))
        return " · ".join(parts)


class _Timeline:
    """A calendar's open stretches over a span of local dates, in order, never overlapping (as
    `_stretches` gives them), with the open seconds before each: the business time between two
    instants is a difference of two lookups, and the instant a duration is reached one bisection.

    The span covers the local dates first..last; it answers an instant whose local date and the one
    before lie in it (`_stretches` looks from the day before), and grows to the instants asked for:
    forward a day at a time, backward by doubling (rebuilt from the calendar's cached days).
    """

    KEEP = 20000  # days; an instant this far from the span starts a new one around it

    def __init__(self, calendar: BusinessCalendar) -> None:
        self.calendar = calendar
        self.first, self.last = 1, 0  # local date ordinals (first > last: nothing built yet)
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.before: list[int] = []  # open seconds of the span before starts[i]
        self.upto: list[int] = []    # ... before ends[i]
        self.valid_from = self.valid_to = 0  # the instants it answers: [valid_from, valid_to)

    def _midnight(self, ordinal: int) -> int:
        return self.calendar._instant(date.fromordinal(ordinal), 0, end=False)

    def _append(self, ordinal: int) -> None:
        floor = self.ends[-1] if self.ends else None
        total = self.upto[-1] if self.upto else 0
        for a, b in self.calendar.open_ranges(date.fromordinal(ordinal)):
            if floor is not None:
                a = max(a, floor)
            if b > a:
                self.starts.append(a)
                self.ends.append(b)
                self.before.append(total)
                total += b - a
                self.upto.append(total)
                floor = b
        self.last = ordinal
        self.valid_to = self._midnight(ordinal + 1)

    def _build(self, first: int, last: int) -> None:
        self.starts, self.ends, self.before, self.upto = [], [], [], []
        self.first = first
        for ordinal in range(first, last + 1):
            self._append(ordinal)
        self.valid_from = self._midnight(first + 1)

    def answers(self, moment: int) -> bool:
        return self.valid_from <= moment < self.valid_to

    def cover(self, moment: int) -> None:
        """Grow the span so that it answers `moment` (or start one around it, when far or none)."""
        if self.answers(moment):
            return
        day = self.calendar._local_date(moment).toordinal()
        if self.first > self.last or day - 1 > self.last + self.KEEP or day < self.first - self.KEEP:
            self._build(day - 1, day)
            return
        if day - 1 < self.first:
            self._build(min(day - 1, self.first - (self.last - self.first + 1)), self.last)  # (doubling)
        while self.last < day:
            self._append(self.last + 1)

    def used_before(self, moment: int) -> int:
        """Open seconds of the span before `moment` (which it answers)."""
        i = bisect_right(self.starts, moment) - 1
        if i < 0:
            return 0
        return self.before[i] + min(moment, self.ends[i]) - self.starts[i]

    def between(self, start: int, end: int) -> int | None:
        """Open seconds in [start, end) (start < end); None when one span cannot answer both."""
        self.cover(start)
        self.cover(end)
        if not self.answers(start):
            return None
        return self.used_before(end) - self.used_before(start)

    def reach(self, start: int, seconds: int) -> int:
        """The earliest instant at which `seconds` (> 0) of open time have passed since `start`."""
        self.cover(start)
        wanted = self.used_before(start) + seconds
        limit = self.last + _MAX_DAYS
        while not self.upto or self.upto[-1] < wanted:
            if self.last >= limit:
                raise CalendarError(f"calendar {self.calendar.name}: no open time found within {_MAX_DAYS} days")
            self._append(self.last + 1)
        i = bisect_left(self.upto, wanted)
        return self.starts[i] + wanted - self.before[i]


def format_business_time(seconds: int) -> str:
    """'10h', '9h12m', '1h30m15s', '0s' — hours, minutes, seconds (no days: days depend on the calendar)."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "") + (f"{secs}s" if secs else "")
    return text or "0s"
