"""The bulk writer's service levels: each case's metric events, their audit events, its sla_warning
and sla_breach timers (pending, fired by the demo's hourly tick, or cancelled) and the breach
messages to its manager, as the service writes them for the same history.

A case's service levels depend on its times (business time on the policies' calendars), so they
are not cells over its seed row: the planner walks each case's steps here (`CaseSla.walk`), with
the domain's rules (domain/sla.py: change_events, settle, armed, timer_hits, the same functions
the service stores the results of), and the rows go in with the chunk. The events an action
writes at its own instant take ids the case's life keeps for them (`_Life.slot`), so a case's
timeline reads in the service's order; the events of the timers firing later take ids after the
life's own.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from deskconsole.domain.calendar import BusinessCalendar
from deskconsole.domain.lifecycle import Status
from deskconsole.domain.sla import (
    DeskSla,
    MetricEvent,
    MetricKind,
    SlaChange,
)
from deskconsole.domain.sla_steps import (
    AUDIT_KIND,
    WARNED,
    History,
    armed,
    audit_data,
    breach_message,
    change_events,
    settle,
    timer_hits,
)
from deskconsole.domain.timers import TimerKind
from deskconsole.domain.views import os_login_beside

SLOT = 3  # event ids an action keeps for the audit events of its service levels (at most three targets)
SLA_TIMER_KINDS = sorted((TimerKind.SLA_BREACH, TimerKind.SLA_WARNING))  # the order the service re-arms them
HOUR = 3600
METRIC_COLUMNS = ("id", "case_id", "target", "kind", "at", "seconds", "calendar", "warning", "used")
# (a SlaRows' tables and their columns: lives.SLA_TABLES)

# The demo desk's service levels (`deskconsole demo` loads them before its history): P1 and P2
# around the clock, P3 and P4 on office hours in Berlin.
DEMO_POLICY = """\
warning = "75%"

[calendars.eu]
timezone = "Europe/Berlin"
hours = "mon-fri 08:00-18:00"
holidays = ["DE"]
dates = ["2026-12-24", "2026-12-31"]

[policies.P1]
calendar = "24x7"
first_response = "30m"
next_response = "1h"
resolution = "8h"

[policies.P2]
calendar = "24x7"
first_response = "2h"
next_response = "4h"
resolution = "1d"

[policies.P3]
calendar = "eu"
first_response = "8h"
next_response = "8h"
resolution = "5d"

[policies.P4]
calendar = "eu"
first_response = "2d"
next_response = "2d"
resolution = "10d"
"""


@dataclass(frozen=True)
class Step:
    """One action of a case's life that service levels hear of: opened, a status change (with
    whether it answered the customer), a customer reply. `slot`: the id offset its events take (None:
    it can write none). `settle`: the action first fires the case's timers already due (Service._settle),
    as every action on an existing case does but the second step of one action (a reply's status change);
    an action's SLA timers are armed once, after its last step (as Service.customer_reply arms them)."""

    at: int
    actor: str
    slot: int | None
    change: SlaChange
    settle: bool = True


@dataclass
class SlaRows:
    """A chunk's service-level rows (tuples in the tables' column order) and how many of each."""

    events: list[tuple] = field(default_factory=list)
    metrics: list[tuple] = field(default_factory=list)
    timers: list[tuple] = field(default_factory=list)
    outbox: list[tuple] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.metrics or self.events or self.timers)


class _Remembered(BusinessCalendar):
    """A calendar that remembers its measures and additions: a case's walk asks the domain's rules
    the same ones again and again (each evaluation replays the target's history)."""

    KEEP = 200_000  # answers kept, then forgotten at once

    @classmethod
    def of(cls, calendar: BusinessCalendar) -> _Remembered:
        remembered = copy.copy(calendar)
        remembered.__class__ = cls
        assert isinstance(remembered, cls)
        remembered._measured = {}
        remembered._added = {}
        return remembered

    _measured: dict[tuple[int, int], int]
    _added: dict[tuple[int, int], int]

    def measure_seconds(self, start: int, end: int) -> int:
        key = (start, end)
        found = self._measured.get(key)
        if found is None:
            if len(self._measured) > self.KEEP:
                self._measured.clear()
            found = self._measured[key] = super().measure_seconds(start, end)
        return found

    def add_seconds(self, start: int, seconds: int) -> int:
        key = (start, seconds)
        found = self._added.get(key)
        if found is None:
            if len(self._added) > self.KEEP:
                self._added.clear()
            found = self._added[key] = super().add_seconds(start, seconds)
        return found


class CaseSla:
    """Walks cases' steps through the domain's rules and makes their rows (one per build)."""

    def __init__(self, desk: DeskSla, end: int, micro: int, pg: bool, recorded: Any, login: str | None,
                 tick_at: Callable[[int], int]) -> None:
        self.calendars = {name: _Remembered.of(calendar) for name, calendar in desk.calendars.items()}
        self.desk = replace(desk, calendars=self.calendars)
        self.end = end
        self.micro = micro
        self.pg = pg
        self.recorded = recorded
        self.login = login
        self.tick_at = tick_at
        self._when: dict[int, datetime] = {}
        self.metric_id = 0  # the last sla_metric id given (the planner sets it from the table)

    # ------------------------------------------------------------------ times
    def when(self, t: int) -> datetime:
        """A whole second of the desk's history as the service's clock has it (with end's microseconds)."""
        found = self._when.get(t)
        if found is None:
            found = self._when[t] = datetime.fromtimestamp(t, UTC).replace(microsecond=self.micro)
        return found

    def db(self, value: datetime) -> Any:
        """A time as a bound parameter: an aware datetime on PostgreSQL, the stored text on SQLite."""
        value = value.astimezone(UTC)
        return value if self.pg else value.strftime("%Y-%m-%d %H:%M:%S.%f")

    def tick_of(self, due: datetime) -> int:
        """The demo's hourly tick that processes a timer due then (the first at or after it)."""
        tick = self.tick_at(int(due.timestamp()))
        return tick if self.when(tick) >= due else tick + HOUR

    # ------------------------------------------------------------------ a case
    def walk(self, rows: SlaRows, case: tuple[int, str, str, str, str | None, str], steps: Sequence[Step],
             eb: int, extra_eb: int, tb: int, ob: int) -> tuple[list[str], int, int, int]:
        """Write one case's service-level rows into `rows`. `case`: (id, priority, title, customer,
        assignee, manager); `eb`: the base of its life's event ids (steps' slots count from it);
        `extra_eb`, `tb`, `ob`: the last ids before its other events, its timers, its outbox rows.
        Returns the SLA timers its closing cancelled (the close event names them, in the service's
        order) and how many events, timers and outbox rows it took beyond its life's."""
        cid, priority, title, customer, assignee, manager = case
        history = History()
        pending: list[list[Any]] = []  # [timer id, kind, due] in id order
        timers: dict[int, list[Any]] = {}  # id -> its row (fired or cancelled later)
        cancelled_at_close: list[str] = []
        counts = [extra_eb, tb, ob]
        calendars = self.calendars
        events, metrics = rows.events, rows.metrics

        def event(eid: int, kind: str, actor: str, at: datetime, data: dict) -> None:
            events.append((eid, cid, self.db(at), self.recorded, actor, kind, None, json.dumps(data, default=str),
                           os_login_beside(self.login, actor)))

        def metric(target: str, kind: str, at: datetime, e: MetricEvent | None = None) -> None:
            self.metric_id += 1
            metrics.append((self.metric_id, cid, target, kind, self.db(at), e.target if e else None,
                            e.calendar if e else None, e.warning if e else None, e.used if e else None))

        def store(wanted: list[tuple[str, MetricEvent]], actor: str, ids: Callable[[], int]) -> bool:
            written = False
            for target, e in settle(history, wanted, calendars):
                metric(target, e.kind.value, e.at, e)
                event(ids(), AUDIT_KIND[e.kind], actor, e.at, audit_data(target, e))
                written = True
            return written

        def cancel(kinds: Sequence[str], at: datetime) -> list[str]:
            gone = [p for p in pending if p[1] in kinds]
            for p in gone:
                pending.remove(p)
                row = timers[p[0]]
                row[3], row[7] = "cancelled", self.db(at)
            return [p[1] for p in gone]

        def arm(at: datetime) -> None:
            want = armed(history, calendars, at)
            for kind in SLA_TIMER_KINDS:
                have = [p[2] for p in pending if p[1] == kind]
                due = want.get(kind)
                if have == ([due] if due is not None else []):
                    continue
                if have:
                    cancel((kind,), at)
                if due is not None:
                    counts[1] += 1
                    tid = counts[1]
                    timers[tid] = [tid, cid, kind.value, "pending", self.db(at), self.db(due), None, None]
                    pending.append([tid, kind.value, due])

        def extra_id() -> int:
            counts[0] += 1
            return counts[0]

        def fire(timer: list[Any], now: datetime) -> None:
            tid, kind, due = timer
            pending.remove(timer)
            row = timers[tid]
            row[3], row[6] = "fired", self.db(now)
            hits = timer_hits(history, calendars, TimerKind(kind), due)
            fired_id = extra_id()
            event(fired_id, "timer_fired", "timer", due, {"timer": kind, "due": due.isoformat(),
                                                          "fired": now.isoformat(), "targets": [t for t, _ in hits]})
            if kind == TimerKind.SLA_WARNING:
                for target, _ in hits:
                    metric(target, WARNED, due)
                    history.warned[target].append(due)
            elif hits:
                store([(t, MetricEvent(MetricKind.BREACH, at)) for t, at in hits], "timer", extra_id)
                subject, body = breach_message(cid, title, customer, priority, assignee, hits)
                counts[2] += 1
                rows.outbox.append((counts[2], cid, fired_id, "sla_breach", manager, subject, body, self.db(now),
                                    "queued", 0))
            arm(due)

        def fire_due(now: datetime) -> None:
            """What is due by `now` fires as of now (a tick, or an action on the case), then what its
            firing made due, until nothing is."""
            while True:
                due = sorted((p for p in pending if p[2] <= now), key=lambda p: (p[2], p[0]))
                if not due:
                    return
                for timer in due:
                    if timer in pending:
                        fire(timer, now)

        def ticks(before: int | None) -> None:
            """The demo's hourly ticks before `before` (None: up to the end, inclusive) that find SLA timers due."""
            while pending:
                tick = min(self.tick_of(p[2]) for p in pending)
                if (before is not None and tick >= before) or tick > self.end:
                    return
                fire_due(self.when(tick))

        arming: datetime | None = None  # the action so far wrote: its timers are armed once it is done
        for step in steps:
            if step.settle and arming is not None:  # (a step that settles begins another action)
                arm(arming)
                arming = None
            ticks(step.at)
            at = self.when(step.at)
            if step.settle:
                fire_due(at)
            if step.change.status is not None and step.change.status[1] == Status.CLOSED:
                cancelled_at_close = cancel([p[1] for p in pending], at)  # closing cancels every timer
            wanted = change_events(self.desk, history, priority, step.change, at)
            slot = iter(range(eb + step.slot + 1, eb + step.slot + SLOT + 1) if step.slot is not None else ())
            if store(wanted, step.actor, slot.__next__):
                arming = at
        if arming is not None:
            arm(arming)
        ticks(None)
        rows.timers.extend(tuple(row) for _, row in sorted(timers.items()))
        return cancelled_at_close, counts[0] - extra_eb, counts[1] - tb, counts[2] - ob
