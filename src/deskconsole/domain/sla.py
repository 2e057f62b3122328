"""Service levels: the desk's policies per priority, and the state of each target.

The policy file (TOML) names calendars and one policy per priority:

    warning = "75%"                        # optional, the share of a target at which it warns
    [calendars.eu]
    timezone = "Europe/Berlin"
    hours = "mon-fri 08:00-18:00"          # or a table: { mon = "08:00-12:00,13:00-17:00", … }
    holidays = ["DE"]
    dates = ["2026-12-24"]
    [policies.P3]
    calendar = "eu"                        # "24x7" is built in (and the default)
    first_response = "8h"
    next_response = "4h"
    resolution = "5d"                      # d = business days of that calendar (see calendar.py)
    warning = 0.8                          # optional, overrides the desk's

A target's life is a list of metric events (start, pause, resume, fulfil,
breach, policy, reopen); `evaluate` replays them to give the target's state at a
moment, exactly as `case show --json` prints it, and the due instants of its
warning and breach timers. Each start and policy event carries the target, the
calendar and the warning share it applies, so loading another policy file later
does not rewrite what a running target was promised; pause, fulfil and policy
events carry the business seconds used until then (`used`), so a calendar
redefined later does not rewrite the past either.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum

from deskconsole.domain import tomlfile
from deskconsole.domain.calendar import (
    ALWAYS_OPEN,
    BusinessCalendar,
    CalendarError,
    from_seconds,
    parse_date,
    parse_hours,
    to_seconds,
    zone,
)
from deskconsole.domain.clock import format_time, parse_time
from deskconsole.domain.errors import InvalidInput
from deskconsole.domain.lifecycle import Priority, Status

TARGETS = ("first_response", "next_response", "resolution")
DEFAULT_WARNING = 0.75
MAX_BUSINESS_DAYS = 365  # a target longer than this many business days is refused as absurd
PAUSING_STATUSES = frozenset({Status.PENDING, Status.AWAITING_CONFIRMATION})


class SlaFileError(InvalidInput):
    """A policy file (or stored policy) was refused whole; `line` is where, when known."""

    def __init__(self, reason: str, *, line: int | None = None, where: str | None = None) -> None:
        prefix = (f"line {line}: " if line else "") + (f"{where}: " if where else "")
        super().__init__(prefix + reason)
        self.line = line
        self.where = where
        self.reason = reason


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

class MetricKind(StrEnum):
    START = "start"      # the target starts (a case opened, a customer replied): carries target, calendar, warning
    PAUSE = "pause"      # the case entered pending or awaiting_confirmation
    RESUME = "resume"    # the case left them
    FULFIL = "fulfil"    # a public reply, or the resolution
    BREACH = "breach"    # the breach timer fired
    POLICY = "policy"    # the priority or the desk's policy changed: new target, calendar, warning; used kept
    REOPEN = "reopen"    # a fulfilled target runs again with its time used (a resolution reopened)


class TargetStatus(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    MET = "met"
    BREACHED = "breached"


@dataclass(frozen=True)
class MetricEvent:
    kind: MetricKind
    at: datetime
    target: int | None = None
    calendar: str | None = None
    warning: float | None = None
    used: int | None = None

    def to_dict(self) -> dict:
        data: dict = {"kind": self.kind.value, "at": format_time(self.at)}
        for key in ("target", "calendar", "warning", "used"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data

    @classmethod
    def from_dict(cls, data: Mapping) -> MetricEvent:
        return cls(MetricKind(data["kind"]), parse_time(data["at"]), data.get("target"), data.get("calendar"),
                   data.get("warning"), data.get("used"))


class TargetPhase(StrEnum):
    """Where the target's clock is, whatever its outcome: a breached target may still be running."""
    RUNNING = "running"
    PAUSED = "paused"
    FULFILLED = "fulfilled"


@dataclass(frozen=True)
class TargetState:
    state: TargetStatus
    used: int
    target: int
    due: datetime | None          # running: when it breaches; breached: when it did; paused, met: None
    warning_due: datetime | None  # the warning timer, while running and not breached (may lie in the past)
    breach_due: datetime | None   # the breach timer: while running, or breached and no breach recorded yet
    phase: TargetPhase = TargetPhase.RUNNING
    breach_recorded: bool = False

    def as_json(self) -> dict:
        return {"due": format_time(self.due), "state": self.state.value, "used": self.used, "target": self.target}


@dataclass
class _Segment:
    since: int
    until: int | None
    calendar: BusinessCalendar
    used_before: int


@dataclass
class _Cycle:
    target: int
    calendar: BusinessCalendar
    warning: float
    running_since: int | None
    used: int = 0
    fulfilled: bool = False
    breach_at: int | None = None   # a breach event was recorded then
    reached_at: int | None = None  # an earlier policy's target was reached then (a breach that stands)
    segments: list[_Segment] = field(default_factory=list)
    measuring: bool = True  # False: only where the clock is (target_phase), no business time measured

    def stop(self, at: int, checkpoint: int | None) -> None:
        if self.running_since is not None:
            measured = self.used + self.calendar.measure_seconds(self.running_since, at) if self.measuring else 0
            self.segments.append(_Segment(self.running_since, at, self.calendar, self.used))
            self.used = checkpoint if checkpoint is not None else measured
            self.running_since = None
        elif checkpoint is not None:
            self.used = checkpoint

    def crossing(self, amount: int) -> int | None:
        """The earliest instant at which the time used reached `amount`, from the recorded history."""
        for seg in self.segments:
            if seg.used_before < amount:
                end = seg.until
                reach = seg.calendar.add_seconds(seg.since, amount - seg.used_before)
                if end is None or reach <= end:
                    return reach
        return None


def _calendar(calendars: Mapping[str, BusinessCalendar], name: str | None) -> BusinessCalendar:
    """A calendar by name; one no longer defined counts as always open (the service moves targets on reload)."""
    found = calendars.get(name or ALWAYS_OPEN)
    return found if found is not None else BusinessCalendar(ALWAYS_OPEN)


def _replay(events: Sequence[MetricEvent], calendars: Mapping[str, BusinessCalendar], moment: int, *,
            measuring: bool) -> tuple[_Cycle | None, int]:
    """The target's last cycle as of `moment` (whole seconds) from its events, oldest first, and
    when it last started, moved to a policy or reopened (see evaluate). Not `measuring`: where its
    clock is only (running, paused, fulfilled; a breach recorded), without the business time used."""
    cycle: _Cycle | None = None
    begun = 0  # when the cycle last started, moved to a policy or reopened (its warning is not earlier)
    for event in events:
        at = to_seconds(event.at)
        if at > moment:  # the state as of `now`: what was recorded later has not happened yet
            continue
        if event.kind is MetricKind.START:
            if (cycle is None or cycle.fulfilled) and event.target:
                cycle = _Cycle(event.target, _calendar(calendars, event.calendar),
                               event.warning if event.warning is not None else DEFAULT_WARNING, at,
                               measuring=measuring)
                begun = at
            continue
        if cycle is None:
            continue
        if event.kind is MetricKind.PAUSE and not cycle.fulfilled:
            cycle.stop(at, event.used)
        elif event.kind is MetricKind.RESUME and not cycle.fulfilled and cycle.running_since is None:
            cycle.running_since = at
        elif event.kind is MetricKind.FULFIL and not cycle.fulfilled:
            cycle.stop(at, event.used)
            cycle.fulfilled = True
        elif event.kind is MetricKind.REOPEN and cycle.fulfilled:
            cycle.fulfilled = False
            cycle.running_since = at
            begun = at
        elif event.kind is MetricKind.BREACH:
            cycle.breach_at = at if cycle.breach_at is None else cycle.breach_at
        elif event.kind is MetricKind.POLICY and not cycle.fulfilled:
            if not event.target:
                cycle = None  # the new priority has no such target
                continue
            running = cycle.running_since is not None
            cycle.stop(at, event.used)
            # breached under the old policy: for good
            if measuring and cycle.used >= cycle.target and cycle.reached_at is None:
                cycle.reached_at = cycle.crossing(cycle.target) or at
            cycle.target, cycle.calendar = event.target, _calendar(calendars, event.calendar)
            begun = at
            if event.warning is not None:
                cycle.warning = event.warning
            cycle.running_since = at if running else None
    return cycle, begun


def target_phase(events: Sequence[MetricEvent], calendars: Mapping[str, BusinessCalendar],
                 now: datetime) -> tuple[TargetPhase | None, bool]:
    """Where the target's clock is at `now` (None: it has no target) and whether a breach was
    recorded: evaluate()'s `phase` and `breach_recorded`, without measuring business time (what
    decides whether a start, resume, reopen or breach changes the target: applies_to_phase)."""
    cycle, _ = _replay(events, calendars, to_seconds(now), measuring=False)
    if cycle is None:
        return None, False
    phase = TargetPhase.FULFILLED if cycle.fulfilled else \
        TargetPhase.RUNNING if cycle.running_since is not None else TargetPhase.PAUSED
    return phase, cycle.breach_at is not None


def evaluate(events: Sequence[MetricEvent], calendars: Mapping[str, BusinessCalendar],
             now: datetime) -> TargetState | None:
    """A target's state at `now` from its events, oldest first; None when it has no target.

    A start while a cycle is open (running or paused) is ignored: the next response is measured
    from the first unanswered customer reply. A start after a fulfilled cycle begins a new one.
    The target is breached when the time used reaches it: a fulfilment at the due instant is late.
    Events after `now` are left out (the state as of `now`).
    """
    moment = to_seconds(now)
    cycle, begun = _replay(events, calendars, moment, measuring=True)
    if cycle is None:
        return None

    used = cycle.used
    running = cycle.running_since is not None
    if cycle.running_since is not None:
        cycle.segments.append(_Segment(cycle.running_since, None, cycle.calendar, cycle.used))
        used += cycle.calendar.measure_seconds(cycle.running_since, moment)
    target = cycle.target
    warn_at = min(max(1, round(target * cycle.warning)), target)
    reached = cycle.crossing(target) if used >= target else None
    moments = [m for m in (reached, cycle.reached_at, cycle.breach_at) if m is not None]
    breached = bool(moments) or used >= target
    due = breach_due = warning_due = None
    if breached:
        due = from_seconds(min(moments) if moments else moment)
        state = TargetStatus.BREACHED
        if cycle.breach_at is None:
            breach_due = due  # not recorded yet: the breach timer is (over)due
    elif cycle.fulfilled:
        state = TargetStatus.MET
    elif not running:
        state = TargetStatus.PAUSED
    else:
        state = TargetStatus.RUNNING
        assert cycle.running_since is not None
        due = breach_due = cycle.calendar.add(from_seconds(cycle.running_since), target - cycle.used)
        reach = cycle.crossing(warn_at)
        # (a target reopened or moved to a policy past its warning warns as of then: a warning given
        # before it belongs to the cycle before, and one due earlier would be due again once fired)
        warning_due = from_seconds(max(reach, begun)) if reach is not None else due
    phase = TargetPhase.FULFILLED if cycle.fulfilled else TargetPhase.RUNNING if running else TargetPhase.PAUSED
    return TargetState(state, used, target, due, warning_due, breach_due, phase, cycle.breach_at is not None)


def sla_json(targets: Mapping[str, Sequence[MetricEvent]], calendars: Mapping[str, BusinessCalendar],
             now: datetime) -> dict:
    """`case show --json`'s "sla": each of the three targets null or {"due", "state", "used", "target"}."""
    result: dict = {}
    for kind in TARGETS:
        state = evaluate(targets.get(kind, ()), calendars, now)
        result[kind] = state.as_json() if state is not None else None
    return result


# --------------------------------------------------------------------------- what to record

@dataclass(frozen=True)
class SlaChange:
    """What an action did, as far as service levels care (given to ServiceBase._sla)."""

    opened: bool = False                   # the case was opened: first response and resolution start
    status: tuple[str, str] | None = None  # (from, to): pauses, resumes, fulfils, reopens
    public_reply: bool = False             # an agent answered the customer: the responses are fulfilled
    customer_reply: bool = False           # the customer wrote: the next response starts
    priority: bool = False                 # the case's priority changed: open targets move to its policy



def clock_runs(status: str) -> bool:
    """The service-level clock stops in pending (every sub-status) and awaiting_confirmation."""
    return Status(status) not in PAUSING_STATUSES


def start_event(desk: DeskSla, priority: str, kind: str, at: datetime) -> MetricEvent | None:
    """The event that starts `kind` for a case of `priority`, or None when its policy has no such target."""
    target = desk.target(priority, kind)
    if target is None:
        return None
    return MetricEvent(MetricKind.START, at, target.seconds, target.calendar, target.warning)


def status_event(old: str, new: str, at: datetime, used: int | None = None) -> MetricEvent | None:
    """Pause on entering a pausing status, resume on leaving one, else nothing."""
    if clock_runs(old) and not clock_runs(new):
        return MetricEvent(MetricKind.PAUSE, at, used=used)
    if not clock_runs(old) and clock_runs(new):
        return MetricEvent(MetricKind.RESUME, at)
    return None


def status_events(old: str, new: str, at: datetime) -> dict[str, MetricEvent]:
    """What a status change means for each kind of target (record each only where `applies` says so).

    Entering awaiting_confirmation gives the customer a resolution: it fulfils the resolution, and,
    being a public answer by an agent, the first and the next response. A customer reply that
    reopens the case reopens the resolution with its time used (the next response is started by the
    reply itself, with `start_event`). Otherwise pending and awaiting_confirmation pause every
    target and leaving them resumes it. Closing is the service's to decide.
    """
    result: dict[str, MetricEvent] = {}
    if old == new:
        return result
    change = status_event(old, new, at)
    if change is not None:
        result = dict.fromkeys(TARGETS, change)
    if new == Status.AWAITING_CONFIRMATION:
        result = {kind: MetricEvent(MetricKind.FULFIL, at) for kind in TARGETS}
    if old == Status.AWAITING_CONFIRMATION and new == Status.REOPENED:
        result["resolution"] = MetricEvent(MetricKind.REOPEN, at)
    return result


def applies(events: Sequence[MetricEvent], event: MetricEvent, calendars: Mapping[str, BusinessCalendar]) -> bool:
    """Whether `event` would change the target `events` describe (so it is worth recording and auditing)."""
    return applies_to(evaluate(events, calendars, event.at), event)


def applies_to(state: TargetState | None, event: MetricEvent) -> bool:
    """applies(), given the target's state as of the event (evaluate(events, calendars, event.at))."""
    if state is None:
        return applies_to_phase(None, False, event)
    return applies_to_phase(state.phase, state.breach_recorded, event)


def applies_to_phase(phase: TargetPhase | None, breach_recorded: bool, event: MetricEvent) -> bool:
    """applies(), given where the target's clock is as of the event and whether a breach was
    recorded (target_phase; None: the target has none)."""
    if event.kind is MetricKind.START:
        return bool(event.target) and (phase is None or phase is TargetPhase.FULFILLED)
    if phase is None:
        return False
    return {
        MetricKind.PAUSE: phase is TargetPhase.RUNNING,
        MetricKind.RESUME: phase is TargetPhase.PAUSED,
        MetricKind.FULFIL: phase is not TargetPhase.FULFILLED,
        MetricKind.REOPEN: phase is TargetPhase.FULFILLED,
        MetricKind.BREACH: not breach_recorded,
        MetricKind.POLICY: phase is not TargetPhase.FULFILLED,
    }[event.kind]


# The metric events whose record needs no time used (see recorded): whether one changes its
# target is decided from where its clock is (target_phase), without measuring business time.
UNMEASURED = frozenset({MetricKind.START, MetricKind.RESUME, MetricKind.REOPEN, MetricKind.BREACH})


def record(events: Sequence[MetricEvent], event: MetricEvent, calendars: Mapping[str, BusinessCalendar]
           ) -> MetricEvent:
    """`event` with the business time used until it filled in (what a pause, fulfil or policy event stores)."""
    if event.kind not in (MetricKind.PAUSE, MetricKind.FULFIL, MetricKind.POLICY) or event.used is not None:
        return event
    return recorded(evaluate(events, calendars, event.at), event)


def recorded(state: TargetState | None, event: MetricEvent) -> MetricEvent:
    """record(), given the target's state as of the event (evaluate(events, calendars, event.at))."""
    if event.kind not in (MetricKind.PAUSE, MetricKind.FULFIL, MetricKind.POLICY) or event.used is not None:
        return event
    return replace(event, used=state.used) if state is not None else event


def policy_change_event(events: Sequence[MetricEvent], desk: DeskSla, priority: str, kind: str,
                        at: datetime) -> MetricEvent | None:
    """Move an open target (running or paused) to the policy of `priority`, keeping the time used.

    None when the target is not open (never started, or fulfilled): its outcome stands. A target
    already breached stays breached whatever the new policy; a priority without such a target
    withdraws it (a policy event without a target).
    """
    state = evaluate(events, desk.calendars, at)
    if state is None or state.phase is TargetPhase.FULFILLED:
        return None
    target = desk.target(priority, kind)
    if target is None:
        return MetricEvent(MetricKind.POLICY, at, used=state.used)
    return MetricEvent(MetricKind.POLICY, at, target.seconds, target.calendar, target.warning, used=state.used)
