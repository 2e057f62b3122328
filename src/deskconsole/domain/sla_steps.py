"""A case's service-level targets, step by step: what the service stores for each action and which
timers it keeps armed, as pure functions over a case's History (domain/sla.py has the policies and
the target arithmetic). The service (service/sla.py) stores what they return; the bulk builder
(bulk/slalife.py) writes the same rows for the cases it makes, without a second copy of the rules."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from deskconsole.domain.calendar import BusinessCalendar, to_seconds
from deskconsole.domain.clock import format_time
from deskconsole.domain.lifecycle import Status
from deskconsole.domain.sla import (
    TARGETS,
    UNMEASURED,
    DeskSla,
    MetricEvent,
    MetricKind,
    SlaChange,
    TargetPhase,
    TargetState,
    TargetStatus,
    applies_to,
    applies_to_phase,
    evaluate,
    policy_change_event,
    recorded,
    start_event,
    status_events,
    target_phase,
)
from deskconsole.domain.timers import TimerKind

WARNED = "warning"  # a sla_metric kind of the service's own: the target's warning timer fired


# The audit event of each metric event (its data names the target: audit_data).
AUDIT_KIND = {
    MetricKind.START: "sla_started",
    MetricKind.PAUSE: "sla_paused",
    MetricKind.RESUME: "sla_resumed",
    MetricKind.FULFIL: "sla_fulfilled",
    MetricKind.BREACH: "sla_breached",
    MetricKind.POLICY: "sla_policy_changed",
    MetricKind.REOPEN: "sla_reopened",
}
TARGET_WORDS = {"first_response": "first response", "next_response": "next response", "resolution": "resolution"}


def audit_data(target: str, event: MetricEvent) -> dict:
    """The data of a metric event's audit event: the target, and what the event promised or used."""
    data: dict = {"target": target}
    data.update((k, v) for k, v in (("seconds", event.target), ("calendar", event.calendar), ("used", event.used))
                if v is not None)
    if event.kind is MetricKind.POLICY and event.target is None:
        data["withdrawn"] = True
    return data


def breach_message(case_id: int, title: str, customer: str, priority: str, assignee: str | None,
                   hits: Sequence[tuple[str, datetime]]) -> tuple[str, str]:
    """The subject and body telling the case's manager of a breach (`hits`: timer_hits of a breach)."""
    names = " and ".join(TARGET_WORDS[t] for t, _ in hits)
    return (f"[case {case_id}] Service level breached: {names}",
            f"Case {case_id} ({title}) for {customer}, {priority}, breached its {names} target "
            f"at {format_time(hits[0][1])}. It is "
            + (f"assigned to {assignee}." if assignee else "unassigned, in the team queue."))


@dataclass
class History:
    """A case's metric events per target, oldest first, and when each target's warning fired."""

    events: dict[str, list[MetricEvent]] = field(default_factory=lambda: {k: [] for k in TARGETS})
    warned: dict[str, list[datetime]] = field(default_factory=lambda: {k: [] for k in TARGETS})
    # evaluate()'s answers, by (target, events so far, as of): the lists only grow, so the same
    # count is the same events; kept for one `calendars` (see state())
    _states: dict[tuple[str, int, datetime], TargetState | None] = field(
        default_factory=dict, repr=False, compare=False)
    _calendars: Mapping[str, BusinessCalendar] | None = field(default=None, repr=False, compare=False)

    def state(self, kind: str, calendars: Mapping[str, BusinessCalendar], at: datetime) -> TargetState | None:
        """evaluate(self.events[kind], calendars, at), worked out once however often an action asks
        (a customer reply that also moves the case settles and arms twice)."""
        if calendars is not self._calendars:
            self._states.clear()
            self._calendars = calendars
        events = self.events[kind]
        key = (kind, len(events), at)
        try:
            return self._states[key]
        except KeyError:
            found = self._states[key] = evaluate(events, calendars, at)
            return found

    def phase(self, kind: str, calendars: Mapping[str, BusinessCalendar], at: datetime
              ) -> tuple[TargetPhase | None, bool]:
        """target_phase(self.events[kind], calendars, at): where the target's clock is and whether a
        breach was recorded, without measuring business time (the state, when already worked out)."""
        key = (kind, len(self.events[kind]), at)
        if calendars is self._calendars and key in self._states:
            known = self._states[key]
            return (known.phase, known.breach_recorded) if known is not None else (None, False)
        return target_phase(self.events[kind], calendars, at)

    def warned_this_cycle(self, kind: str) -> bool:
        """Whether the warning fired since the target last started, moved to a policy or reopened."""
        begun = [e.at for e in self.events[kind]
                 if e.kind in (MetricKind.START, MetricKind.POLICY, MetricKind.REOPEN)]
        # (in whole seconds, as evaluate() counts: a warning due as of a change at 16:03:07.53 is
        # timed 16:03:07 and fires then; it belongs to the cycle that change began)
        return bool(begun) and any(to_seconds(at) >= to_seconds(begun[-1]) for at in self.warned[kind])

    def same_promise(self, kind: str, event: MetricEvent) -> bool:
        """Whether a policy event would promise the target what its latest start or policy event did."""
        promised = next((e for e in reversed(self.events[kind])
                         if e.kind in (MetricKind.START, MetricKind.POLICY)), None)
        return promised is not None and (promised.target, promised.calendar, promised.warning) == (
            event.target, event.calendar, event.warning)


def change_events(desk: DeskSla, history: History, priority: str, change: SlaChange,
                  at: datetime) -> list[tuple[str, MetricEvent]]:
    """The metric events an action asks for, per target (`settle` keeps those that change something)."""
    wanted: list[tuple[str, MetricEvent]] = []
    if change.opened:
        wanted += [(k, e) for k in ("first_response", "resolution")
                   if (e := start_event(desk, priority, k, at)) is not None]
    if change.customer_reply:
        wanted += [(k, e) for k in ("next_response",) if (e := start_event(desk, priority, k, at)) is not None]
    if change.public_reply:
        wanted += [(k, MetricEvent(MetricKind.FULFIL, at)) for k in ("first_response", "next_response")]
    if change.status is not None:
        old, new = change.status
        if new == Status.CLOSED:  # closing stops every clock still running (no outcome of its own)
            wanted += [(k, MetricEvent(MetricKind.PAUSE, at)) for k in TARGETS]
        else:
            wanted += list(status_events(old, new, at).items())
    if change.priority:
        wanted += [(k, e) for k in TARGETS
                   if (e := policy_change_event(history.events[k], desk, priority, k, at)) is not None
                   and not history.same_promise(k, e)]  # (a P1 escalated stays P1: nothing moves)
    return wanted


def settle(history: History, wanted: Sequence[tuple[str, MetricEvent]],
           calendars: Mapping[str, BusinessCalendar]) -> Iterator[tuple[str, MetricEvent]]:
    """Each wanted event that changes its target, as stored (with its time used), appended to
    `history` once the caller has taken it."""
    for kind, wanted_event in wanted:
        if wanted_event.kind in UNMEASURED:  # (stored as it is: whether it changes the target is enough)
            if not applies_to_phase(*history.phase(kind, calendars, wanted_event.at), wanted_event):
                continue
            event = wanted_event
        else:
            state = history.state(kind, calendars, wanted_event.at)
            if not applies_to(state, wanted_event):
                continue
            event = recorded(state, wanted_event)
        yield kind, event
        history.events[kind].append(event)


def armed(history: History, calendars: Mapping[str, BusinessCalendar], at: datetime) -> dict[TimerKind, datetime]:
    """The case's SLA timers as of `at`: one sla_breach due at the soonest breach of its targets and
    one sla_warning at the soonest warning of a running target not warned this cycle (none while
    every target is paused, met or done). Keys: the timer kinds."""
    want: dict[TimerKind, datetime] = {}
    for kind in TARGETS:
        state = history.state(kind, calendars, at)
        if state is None:
            continue
        if state.breach_due is not None:
            want[TimerKind.SLA_BREACH] = min(state.breach_due, want.get(TimerKind.SLA_BREACH, state.breach_due))
        if state.state is TargetStatus.RUNNING and state.warning_due is not None \
                and not history.warned_this_cycle(kind):
            want[TimerKind.SLA_WARNING] = min(state.warning_due, want.get(TimerKind.SLA_WARNING, state.warning_due))
    return want


def timer_hits(history: History, calendars: Mapping[str, BusinessCalendar], timer: TimerKind,
               due: datetime) -> list[tuple[str, datetime]]:
    """The targets a firing sla_warning or sla_breach timer due at `due` warns of or breaches, with
    the instant each crossed its warning or target (as of `due`)."""
    hits: list[tuple[str, datetime]] = []
    for target in TARGETS:
        state = evaluate(history.events[target], calendars, due)
        if state is None:
            continue
        if timer == TimerKind.SLA_BREACH and state.breach_due is not None and state.breach_due <= due \
                and not state.breach_recorded:
            hits.append((target, state.breach_due))
        elif timer == TimerKind.SLA_WARNING and state.state is TargetStatus.RUNNING \
                and state.warning_due is not None and state.warning_due <= due \
                and not history.warned_this_cycle(target):
            hits.append((target, state.warning_due))
    return hits
