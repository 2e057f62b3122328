"""Which timers and messages a status starts, and how long they run."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from deskconsole.domain.errors import InvalidInput
from deskconsole.domain.lifecycle import Status, SubStatus


class TimerKind(StrEnum):
    REMINDER = "reminder"
    AUTO_CLOSE = "auto_close"
    FOLLOWUP = "followup"
    STATUS_UPDATE = "status_update"  # an approved escalation expects a daily update
    SLA_WARNING = "sla_warning"  # a service-level target is near its end (service/sla.py)
    SLA_BREACH = "sla_breach"  # a service-level target is reached: breached, its manager told


class TimerState(StrEnum):
    PENDING = "pending"
    FIRED = "fired"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Durations:
    awaiting_confirmation_close: timedelta = timedelta(days=14)
    customer_input_reminder: timedelta = timedelta(days=7)
    customer_input_close: timedelta = timedelta(days=28)
    followup_after_close: timedelta = timedelta(days=1)
    escalation_status_update: timedelta = timedelta(days=1)
    # an agent's close holds its messages this long; `case undo` takes it back until then
    undo_window: timedelta = timedelta(seconds=10)

    def __post_init__(self) -> None:
        # the follow-up of an agent's close is written when its timer fires: never while the close may
        # still be undone (the survey waits for the window; service/undo.py)
        if self.followup_after_close <= self.undo_window:
            raise InvalidInput(
                f"the follow-up after a close ({_words(self.followup_after_close)}, "
                f"DESKCONSOLE_FOLLOWUP_AFTER_CLOSE) must come after the undo window "
                f"({_words(self.undo_window)}, DESKCONSOLE_UNDO_WINDOW)")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Durations:
        """Durations from DESKCONSOLE_<NAME> variables, e.g. DESKCONSOLE_CUSTOMER_INPUT_REMINDER=3d."""
        env = os.environ if environ is None else environ
        values = {}
        for name in cls.__dataclass_fields__:
            key = f"DESKCONSOLE_{name.upper()}"
            raw = env.get(key)
            if raw:
                try:
                    values[name] = parse_duration(raw, limit=DURATION_LIMITS.get(name, MAX_DURATION))
                except InvalidInput as exc:
                    raise InvalidInput(f"{exc}, in {key}") from None
        return cls(**values)


_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_DIGITS = frozenset("0123456789")  # str.isdigit() also takes '²', '٣', …
MAX_DURATION = timedelta(days=3650)  # ten years: any timer started from any accepted "now" fits a datetime
# Durations with a tighter bound: an undo window is a grace period of seconds or minutes, not a timer.
DURATION_LIMITS = {"undo_window": timedelta(hours=1)}


def _words(limit: timedelta) -> str:
    seconds = int(limit.total_seconds())
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit if count != 1 else unit[:-1]}"
    return f"{seconds} seconds"


def parse_duration(text: str, *, limit: timedelta = MAX_DURATION) -> timedelta:
    """'14d', '36h', '90m', '45s', or combinations like '1d12h'; at most `limit` (ten years)."""
    raw = text.strip().lower()
    total, number = 0, ""
    for ch in raw:
        if ch in _DIGITS:
            number += ch
            if len(number) > 12:  # past any sane duration long before Python's int limits
                raise InvalidInput(f"duration too long: {text!r} (at most {_words(limit)})")
        elif ch in _UNITS and number:
            total += int(number) * _UNITS[ch]
            number = ""
        else:
            raise InvalidInput(f"not a duration: {text!r} (use e.g. 14d, 36h, 90m)")
    if number or total <= 0:
        raise InvalidInput(f"not a duration: {text!r} (use e.g. 14d, 36h, 90m)")
    if total > limit.total_seconds():
        raise InvalidInput(f"duration too long: {text!r} (at most {_words(limit)})")
    return timedelta(seconds=total)


def timers_for(status: Status, sub_status: SubStatus | None, durations: Durations) -> list[tuple[TimerKind, timedelta]]:
    """The timers a case starts on entering (status, sub_status), with their delays."""
    if status is Status.AWAITING_CONFIRMATION:
        return [(TimerKind.AUTO_CLOSE, durations.awaiting_confirmation_close)]
    if status is Status.PENDING and sub_status is SubStatus.CUSTOMER_INPUT:
        return [
            (TimerKind.REMINDER, durations.customer_input_reminder),
            (TimerKind.AUTO_CLOSE, durations.customer_input_close),
        ]
    if status is Status.CLOSED:
        return [(TimerKind.FOLLOWUP, durations.followup_after_close)]
    return []


# Timers tied to the status they were started in; leaving it cancels them.
STATUS_TIMERS = frozenset({TimerKind.REMINDER, TimerKind.AUTO_CLOSE})
