"""Time is injected: every rule that depends on "now" asks a Clock."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:  # an aware datetime in UTC
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that only moves when told to (tests, demos, replays)."""

    def __init__(self, at: datetime | str) -> None:
        self._at = parse_time(at) if isinstance(at, str) else to_utc(at)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime | str) -> None:
        self._at = parse_time(at) if isinstance(at, str) else to_utc(at)

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        self._at = self._at + (delta if delta is not None else timedelta(**kwargs))
        return self._at


class SyncedClock:
    """Another clock's time (the database server's), carried forward on this machine's monotonic clock.

    `set(reference, at)` records that the reference read `reference` at monotonic
    time `at`; `now()` is that plus the monotonic seconds since, so jumps or skew of
    this machine's wall clock do not move it. Until the first `set`, `now()` is the
    `fallback` clock's. `stale()` says when the reference should be read again.
    Reading the reference is the owner's business (the service asks the database).
    """

    def __init__(self, fallback: Clock, max_age: float = 60.0, retry: float = 5.0) -> None:
        self.fallback = fallback
        self.max_age = max_age
        self.retry = retry
        self._ref: tuple[datetime, float] | None = None
        self._next_sync = 0.0

    @property
    def synced(self) -> bool:
        return self._ref is not None

    def now(self) -> datetime:
        ref = self._ref
        if ref is None:
            return to_utc(self.fallback.now())
        reference, at = ref
        return reference + timedelta(seconds=time.monotonic() - at)

    def set(self, reference: datetime, at: float) -> None:
        self._ref = (to_utc(reference), at)
        self._next_sync = at + self.max_age

    def failed(self) -> None:
        """Reading the reference failed: keep the last one and try again in `retry` seconds."""
        self._next_sync = time.monotonic() + self.retry

    def stale(self) -> bool:
        return time.monotonic() >= self._next_sync


def to_utc(value: datetime) -> datetime:
    """An aware UTC datetime; naive values are taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_time(text: str) -> datetime:
    """Parse ISO 8601 with a zone ('Z' accepted). A time without a zone is refused."""
    raw = text.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"not an ISO 8601 time: {text!r}") from None
    if value.tzinfo is None:
        raise ValueError(f"time has no zone (add Z or +00:00): {text!r}")
    try:
        return value.astimezone(UTC)
    except OverflowError:  # '0001-01-01T00:00:00+05:00' is before the first UTC instant a datetime holds
        raise ValueError(f"not a time deskconsole can hold: {text!r}") from None


def format_time(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a trailing Z, to the second."""
    if value is None:
        return None
    return to_utc(value).replace(microsecond=0).isoformat().replace("+00:00", "Z")


# The instants a fixed "now" may name: every timer (at most ten years long) started from one
# must still be a time a datetime and both databases hold.
EARLIEST_NOW = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_NOW = datetime(9000, 1, 1, tzinfo=UTC)


def clock_from_env(environ: dict[str, str] | None = None) -> Clock:
    env = os.environ if environ is None else environ
    fixed = env.get("DESKCONSOLE_NOW")
    if fixed:
        at = parse_time(fixed)
        if not EARLIEST_NOW <= at < LATEST_NOW:
            raise ValueError(f"{fixed!r} is outside the years {EARLIEST_NOW.year}-{LATEST_NOW.year - 1}")
        return FixedClock(at)
    return SystemClock()


def format_countdown(left: timedelta) -> str:
    """What is left, compactly: '13d 04h', '3h 12m', '4m 09s'; negative is 'overdue …'."""
    seconds = int(left.total_seconds())
    prefix = ""
    if seconds < 0:
        prefix, seconds = "overdue ", -seconds
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        body = f"{days}d {hours:02d}h"
    elif hours:
        body = f"{hours}h {minutes:02d}m"
    else:
        body = f"{minutes}m {secs:02d}s"
    return prefix + body
