"""Service levels: the desk's policy file (TOML), read and checked.

The file names calendars and one policy per priority (its shape: domain/sla.py). `load_toml`
reads it into a DeskSla: each priority's targets (first response, next response, resolution)
in business seconds of the policy's calendar, and the share of a target at which it warns. A
file that is not what the desk can keep is refused whole, with the line at fault (SlaFileError).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from deskconsole.domain import tomlfile
from deskconsole.domain.calendar import (
    ALWAYS_OPEN,
    BusinessCalendar,
    CalendarError,
    parse_date,
    parse_hours,
    zone,
)
from deskconsole.domain.lifecycle import Priority, Status

TARGETS = ("first_response", "next_response", "resolution")
DEFAULT_WARNING = 0.75
MAX_BUSINESS_DAYS = 365  # a target longer than this many business days is refused as absurd
PAUSING_STATUSES = frozenset({Status.PENDING, Status.AWAITING_CONFIRMATION})


class SlaFileError(tomlfile.FileRefused):
    """A policy file (or stored policy) was refused whole; `line` is where, when known."""


# --------------------------------------------------------------------------- durations

_DURATION = re.compile(r"(\d+)([dhms])")
_UNIT_ORDER = "dhms"


def parse_target(text: object, business_day: int) -> int:
    """'30m', '8h', '5d', '1d4h' -> business seconds (d = `business_day` seconds). Refuses zero and negatives."""
    if not isinstance(text, str):
        raise CalendarError(f"a duration must be a string like \"8h\" or \"1d4h\": {text!r}")
    raw = text.strip().lower().replace(" ", "")
    if raw.startswith("-"):
        raise CalendarError(f"a duration must not be negative: {text!r}")
    parts = _DURATION.findall(raw)
    units = [unit for _, unit in parts]
    if not raw or "".join(n + u for n, u in parts) != raw or len(set(units)) != len(units) \
            or units != sorted(units, key=_UNIT_ORDER.index):
        raise CalendarError(f"not a duration (like \"30m\", \"8h\", \"5d\", \"1d4h\"): {text!r}")
    seconds = sum(int(n) * {"d": business_day, "h": 3600, "m": 60, "s": 1}[u] for n, u in parts)
    if seconds <= 0:
        raise CalendarError(f"a duration must be longer than zero: {text!r}")
    if seconds > MAX_BUSINESS_DAYS * business_day:
        raise CalendarError(f"a duration longer than {MAX_BUSINESS_DAYS} business days is not a service level: "
                            f"{text!r}")
    return seconds


def parse_share(value: object) -> float:
    """0.75 or "75%" -> 0.75; must lie strictly between 0 and 1."""
    share: float | None = None
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            share = float(value.strip()[:-1]) / 100
        except ValueError:
            share = None
    elif isinstance(value, float) and not isinstance(value, bool):
        share = value
    if share is None or not math.isfinite(share) or not 0 < share < 1:
        raise CalendarError(f"a warning share must be between 0 and 1 (like 0.75 or \"75%\"): {value!r}")
    return share


# --------------------------------------------------------------------------- the desk's policies

@dataclass(frozen=True)
class Policy:
    priority: str
    calendar: str
    first_response: str | None = None  # the texts as written ("8h"); seconds via DeskSla.target
    next_response: str | None = None
    resolution: str | None = None
    warning: float | None = None  # None: the desk's default


@dataclass(frozen=True)
class Target:
    """What a target of a priority is promised: business seconds on a calendar, warning at a share."""
    seconds: int
    calendar: str
    warning: float


@dataclass
class DeskSla:
    calendars: dict[str, BusinessCalendar] = field(default_factory=lambda: {ALWAYS_OPEN: BusinessCalendar(ALWAYS_OPEN)})
    policies: dict[str, Policy] = field(default_factory=dict)
    warning: float = DEFAULT_WARNING

    # target()'s answers by (priority, kind), each with the policy, calendar and desk warning it was
    # worked out from (a desk changed since is worked out afresh)
    _targets: dict[tuple[str, str], tuple[Target | None, Policy | None, BusinessCalendar | None, float]] = field(
        default_factory=dict, init=False, repr=False, compare=False)

    def target(self, priority: str, kind: str) -> Target | None:
        key = (str(priority), kind)
        policy = self.policies.get(key[0])
        calendar = self.calendars.get(policy.calendar) if policy is not None else None
        known = self._targets.get(key)
        if known is not None and known[1] is policy and known[2] is calendar and known[3] == self.warning:
            return known[0]
        text = getattr(policy, kind) if policy else None
        found = None
        if policy is not None and text is not None:
            calendar = self.calendars[policy.calendar]
            found = Target(parse_target(text, calendar.business_day), policy.calendar,
                           policy.warning if policy.warning is not None else self.warning)
        self._targets[key] = (found, policy, calendar, self.warning)
        return found

    def to_dict(self) -> dict:
        """Plain JSON-able values (what the service stores); `from_dict` gives back an equal desk."""
        return {
            "warning": self.warning,
            "calendars": {name: cal.to_dict() for name, cal in sorted(self.calendars.items()) if name != ALWAYS_OPEN},
            "policies": {p: {k: v for k, v in (("calendar", pol.calendar), ("first_response", pol.first_response),
                                               ("next_response", pol.next_response),
                                               ("resolution", pol.resolution), ("warning", pol.warning))
                             if v is not None}
                         for p, pol in sorted(self.policies.items())},
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> DeskSla:
        return _validate(data, lambda path: None)

    def show(self) -> str:
        """The text `sla show` prints."""
        lines = ["calendars"]
        width = max(len(name) for name in self.calendars)
        for name in sorted(self.calendars, key=lambda n: (n != ALWAYS_OPEN, n)):
            lines.append(f"  {name:<{width}}  {self.calendars[name].describe()}")
        lines.append("policies")
        if not self.policies:
            lines.append("  none: no case has service-level targets")
        for priority in sorted(self.policies):
            policy = self.policies[priority]
            parts = [f"{kind.replace('_', ' ')} {getattr(policy, kind)}" for kind in TARGETS
                     if getattr(policy, kind) is not None]
            share = policy.warning if policy.warning is not None else self.warning
            parts.append(f"warning at {share * 100:g}%")
            lines.append(f"  {priority}  calendar {policy.calendar} · " + " · ".join(parts))
        return "\n".join(lines) + "\n"


def load_toml(text: str) -> DeskSla:
    """Parse and validate a policy file; a bad file is refused whole with its line and reason."""
    try:
        data, locate = tomlfile.loads(text)
    except tomlfile.TomlSyntaxError as exc:
        raise SlaFileError(exc.reason, line=exc.line) from None
    return _validate(data, locate)


_KEYS = {"": {"warning", "calendars", "policies"},
         "calendar": {"timezone", "hours", "holidays", "dates"},
         "policy": {"calendar", "first_response", "next_response", "resolution", "warning"}}


def _validate(data: Mapping, locate: Callable[[tuple[str, ...]], int | None]) -> DeskSla:
    def fail(path: tuple[str, ...], reason: str) -> SlaFileError:
        return SlaFileError(reason, line=locate(path), where=".".join(path) or None)

    if not isinstance(data, Mapping):
        raise fail((), "a policy file is a table of calendars and policies")
    for key in data:
        if key not in _KEYS[""]:
            raise fail((key,), f"unknown key (expected {', '.join(sorted(_KEYS['']))})")
    warning = DEFAULT_WARNING
    if "warning" in data:
        try:
            warning = parse_share(data["warning"])
        except CalendarError as exc:
            raise fail(("warning",), str(exc)) from None

    calendars = {ALWAYS_OPEN: BusinessCalendar(ALWAYS_OPEN)}
    tables = data.get("calendars", {})
    if not isinstance(tables, Mapping):
        raise fail(("calendars",), "calendars must be tables: [calendars.NAME]")
    for name, spec in tables.items():
        path = ("calendars", name)
        if name == ALWAYS_OPEN:
            raise fail(path, f"{ALWAYS_OPEN} is built in (always open) and cannot be redefined")
        if not isinstance(spec, Mapping):
            raise fail(path, "a calendar must be a table with timezone and hours")
        for key in spec:
            if key not in _KEYS["calendar"]:
                raise fail(path + (key,), f"unknown key (expected {', '.join(sorted(_KEYS['calendar']))})")
        for key in ("timezone", "hours"):
            if key not in spec:
                raise fail(path, f"calendar {name} needs {key}")
        for key in ("holidays", "dates"):
            if not isinstance(spec.get(key, []), list):
                raise fail(path + (key,), f"{key} must be a list of strings")
        step = ("timezone",)
        try:
            zone(spec["timezone"])
            step = ("hours",)
            week = parse_hours(spec["hours"])
            if not any(week):
                raise CalendarError(f"calendar {name} is closed all week (no open hours)")
            step = ("dates",)
            dates = frozenset(_closed_date(d) for d in spec.get("dates", []))
            step = ("holidays",)
            codes = tuple(spec.get("holidays", []))
            if not all(isinstance(code, str) for code in codes):
                raise CalendarError("holiday codes must be strings like \"DE\" or \"DE-BY\"")
            calendars[name] = BusinessCalendar(name, spec["timezone"].strip(), week, codes, dates)
        except CalendarError as exc:
            raise fail(path + step, str(exc)) from None

    policies: dict[str, Policy] = {}
    tables = data.get("policies", {})
    if not isinstance(tables, Mapping):
        raise fail(("policies",), "policies must be tables: [policies.P1] … [policies.P4]")
    for priority, spec in tables.items():
        path = ("policies", priority)
        if priority not in {p.value for p in Priority}:
            raise fail(path, f"unknown priority {priority!r} (P1, P2, P3 or P4)")
        if not isinstance(spec, Mapping):
            raise fail(path, "a policy must be a table")
        for key in spec:
            if key not in _KEYS["policy"]:
                raise fail(path + (key,), f"unknown key (expected {', '.join(sorted(_KEYS['policy']))})")
        calendar = spec.get("calendar", ALWAYS_OPEN)
        if calendar not in calendars:
            known = ", ".join(sorted(calendars))
            raise fail(path + ("calendar",), f"unknown calendar {calendar!r} (known: {known})")
        if not any(kind in spec for kind in TARGETS):
            raise fail(path, f"policy {priority} sets no target ({', '.join(TARGETS)})")
        for kind in TARGETS:
            if kind in spec:
                try:
                    parse_target(spec[kind], calendars[calendar].business_day)
                except CalendarError as exc:
                    raise fail(path + (kind,), str(exc)) from None
        share = None
        if "warning" in spec:
            try:
                share = parse_share(spec["warning"])
            except CalendarError as exc:
                raise fail(path + ("warning",), str(exc)) from None
        policies[priority] = Policy(priority, calendar, first_response=_strip(spec.get("first_response")),
                                    next_response=_strip(spec.get("next_response")),
                                    resolution=_strip(spec.get("resolution")), warning=share)
    return DeskSla(calendars, policies, warning)


def _strip(value: object) -> str | None:
    return value.strip().lower() if isinstance(value, str) else None


def _closed_date(value: object) -> date:
    """A string "2026-12-24", or a TOML date written bare (2026-12-24); not a date and time."""
    if isinstance(value, str):
        return parse_date(value)
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise CalendarError(f"not a date (YYYY-MM-DD): {value!r}")


# --------------------------------------------------------------------------- metric events and target state
