"""Service levels: the desk's policies per priority, and the state of each target.

The policy file (TOML, read and checked in sla_policy.py) names calendars and one policy per priority:

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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from deskconsole.domain.calendar import (
    ALWAYS_OPEN,
    BusinessCalendar,
    from_seconds,
    to_seconds,
)
from deskconsole.domain.clock import format_time, parse_time
from deskconsole.domain.lifecycle import Status

# the policy file, read and checked in sla_policy.py (its names kept here too)
from deskconsole.domain.sla_policy import (
    DEFAULT_WARNING as DEFAULT_WARNING,
)
from deskconsole.domain.sla_policy import (
    MAX_BUSINESS_DAYS as MAX_BUSINESS_DAYS,
)
from deskconsole.domain.sla_policy import (
    PAUSING_STATUSES as PAUSING_STATUSES,
)
from deskconsole.domain.sla_policy import (
    TARGETS as TARGETS,
)
from deskconsole.domain.sla_policy import (
    DeskSla as DeskSla,
)
from deskconsole.domain.sla_policy import (
    Policy as Policy,
)
from deskconsole.domain.sla_policy import (
    SlaFileError as SlaFileError,
)
from deskconsole.domain.sla_policy import (
    Target as Target,
)
from deskconsole.domain.sla_policy import (
    load_toml as load_toml,
)
from deskconsole.domain.sla_policy import (
    parse_share as parse_share,
)
from deskconsole.domain.sla_policy import (
    parse_target as parse_target,
)


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
