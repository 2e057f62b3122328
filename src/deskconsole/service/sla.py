"""Service levels: the desk's calendars and policies (`sla load`, `sla show`), each case's targets
recorded as metric events, their warning and breach timers, and what a case's view shows of them.

The rules are the domain's (domain/sla.py, domain/calendar.py); this module stores them:

- `sla_desk` holds the desk's policy document (DeskSla.to_dict() as JSON), one row replaced whole
  by `load_sla` in one transaction; a bad file is refused whole before anything is written.
- `sla_metric` holds every case's metric events per target, append-only; each start, pause,
  resume, fulfil, breach, policy change and reopen is also an audit event on the case's timeline
  (`sla_started`, `sla_paused`, … with the target named in its data).
- The case actions tell `_sla` what happened (SlaChange: opened, a status change, a public reply,
  a customer reply, a priority change): the ONE place that turns actions into metric events and
  re-arms the case's `sla_warning` and `sla_breach` timers (the one timer table; due instants
  computed in business time). With no policy document loaded it does nothing and reads nothing
  (the service re-checks for a newly loaded document every DESK_RECHECK_SECONDS).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, type_coerce, update
from sqlalchemy.types import NullType
from sqlmodel import Session

from deskconsole.domain.calendar import BusinessCalendar, format_business_time
from deskconsole.domain.clock import to_utc
from deskconsole.domain.errors import PermissionDenied
from deskconsole.domain.lifecycle import Role, Status
from deskconsole.domain.sla import (
    TARGETS,
    DeskSla,
    MetricEvent,
    MetricKind,
    SlaChange,
    SlaFileError,
    TargetStatus,
    evaluate,
    load_toml,
    policy_change_event,
    sla_json,
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
from deskconsole.domain.timers import TimerKind, TimerState
from deskconsole.service.base import ServiceBase
from deskconsole.service.records import (
    _INSERT_EVENT,
    _PENDING_TIMERS,
    AnyCase,
    CaseRecord,
    _db,
    _db_time,
    _pending_timers,
    action_state,
    clean_text,
)
from deskconsole.store.models import Agent, Case, SlaDesk, SlaMetric, Timer
from deskconsole.store.watch import note_write

SLA_TIMERS = frozenset({TimerKind.SLA_WARNING, TimerKind.SLA_BREACH})
DESK_RECHECK_SECONDS = 5.0  # how long a Service trusts "no policy document loaded" without reading
MAX_CALENDAR_NAME = 64
_DESK_KEY = "deskconsole_sla_desk"  # the session.info key of the desk read in this transaction
_HISTORIES_KEY = "deskconsole_sla_histories"  # the session.info key of the histories the current action read
_ARMING_KEY = "deskconsole_sla_arming"  # the session.info key of the cases whose timers an action arms at its end

_DESK_T = SlaDesk.__table__  # type: ignore[attr-defined]  # SQLModel leaves __table__ untyped
_METRIC_T = SlaMetric.__table__  # type: ignore[attr-defined]  # (above)
_CASE_T = Case.__table__  # type: ignore[attr-defined]  # (above)
_TIMER_T = Timer.__table__  # type: ignore[attr-defined]  # (above)
_DESK_ROW = select(_DESK_T.c.document, _DESK_T.c.version).where(_DESK_T.c.id == bindparam("desk_id"))
_INSERT_METRIC = insert(_METRIC_T)
_METRICS_OF_CASE = (  # one case's metric events, oldest first, by the (case_id, id) index
    # (read through a prepared statement: `warning` as the driver gives it, a float on both databases —
    # a Float column's own result processor needs the driver's type code, which a prepared read has not)
    select(_METRIC_T.c.target, _METRIC_T.c.kind, _METRIC_T.c.at, _METRIC_T.c.seconds, _METRIC_T.c.calendar,
           type_coerce(_METRIC_T.c.warning, NullType()).label("warning"), _METRIC_T.c.used)
    .where(_METRIC_T.c.case_id == bindparam("case_id"))
    .order_by(_METRIC_T.c.id)
)
_AHEAD_SIZES = (8, 64, 500)  # prefetch_sla reads this many cases at a time (padded with 0: no case)
_METRICS_OF_CASES = {  # several cases' metric events (case_id first), by case, oldest first
    n: select(_METRIC_T.c.case_id, *_METRICS_OF_CASE.selected_columns)
    .where(_METRIC_T.c.case_id.in_([bindparam(f"c{k}") for k in range(n)]))
    .order_by(_METRIC_T.c.case_id, _METRIC_T.c.id)
    for n in _AHEAD_SIZES
}
_PENDING_OF_CASES = {  # several cases' pending timers (case_id first), as _PENDING_TIMERS reads one case's
    n: select(_TIMER_T.c.case_id, *_PENDING_TIMERS.selected_columns)
    .where(_TIMER_T.c.case_id.in_([bindparam(f"c{k}") for k in range(n)]),
           _TIMER_T.c.state == TimerState.PENDING.value)
    .order_by(_TIMER_T.c.case_id, _TIMER_T.c.id)
    for n in _AHEAD_SIZES
}
_CASES_THERE = {  # those cases (those that exist), as _CASE_BY_ID reads one
    n: select(_CASE_T).where(_CASE_T.c.id.in_([bindparam(f"c{k}") for k in range(n)])).order_by(_CASE_T.c.id)
    for n in _AHEAD_SIZES
}
_CASE_COLUMNS = [column.key for column in _CASE_T.c]
_LOCK_CASES = {  # PostgreSQL: and lock them first, those nobody else holds (no wait, no deadlock)
    n: _CASES_THERE[n].with_for_update(skip_locked=True) for n in _AHEAD_SIZES
}
DESK_ID = 1


def _histories_of_action(s: Session) -> dict[int, History]:
    """The Histories the current action read (case id -> History), kept up to date by what it
    writes (settle appends each event it hands out once it is stored): an action that records a
    change twice (a customer reply that also moves the case) reads the case's metric rows once.
    Forgotten when the action ends: the next action of a batch (ActionState.next_action) or the
    end of its transaction or savepoint (_write_cases) gives the session a new `case_records`, and
    a History kept with an older one is never used (a savepoint rolled back may have undone rows
    it holds)."""
    marker = action_state(s).case_records
    kept = s.info.get(_HISTORIES_KEY)
    if kept is None or kept[0] is not marker:
        kept = s.info[_HISTORIES_KEY] = (marker, {})
    histories: dict[int, History] = kept[1]
    return histories


def _history(rows: Sequence[Any]) -> History:
    """A case's History from its sla_metric rows (target, kind, at, seconds, calendar, warning, used), by id."""
    history = History()
    for target, kind, at, seconds, calendar, warning, used in rows:
        if target not in history.events:
            continue
        if kind == WARNED:
            history.warned[target].append(to_utc(at))
        else:
            history.events[target].append(MetricEvent(MetricKind(kind), to_utc(at), seconds, calendar, warning, used))
    return history


@dataclass(frozen=True)
class SlaLoaded:
    """What `load_sla` did: the desk now loaded and how many open cases' targets it moved."""

    desk: DeskSla
    moved: int


class SlaMixin(ServiceBase):
    """Service levels: the desk's policies, the cases' targets and their timers."""

    # (monotonic time read, the document's version or None when none is loaded, the desk)
    _sla_cache: tuple[float, int | None, DeskSla | None] | None = None

    # ------------------------------------------------------------------ the desk's policies
    def load_sla(self, text: str, *, actor: str | None) -> SlaLoaded:
        """Replace the desk's calendars and policies with a policy file's (supervisors; on
        PostgreSQL also the administrator). A bad file is refused whole with its line and
        reason, and nothing changes. Open cases' running and paused targets move to the new
        policies, keeping the business time they used."""
        text = clean_text(text, "policy file", required=True)
        desk = load_toml(text)
        for name in desk.calendars:
            if len(name) > MAX_CALENDAR_NAME:
                raise SlaFileError(f"a calendar name is at most {MAX_CALENDAR_NAME} characters: {name[:80]!r}")
        document = json.dumps(desk.to_dict(), sort_keys=True)
        with self._tx() as s:
            loader = self._sla_loader(s, actor)
            now = self.now()
            old = self._sla_desk(s)
            values = {"document": document, "version": 1, "loaded_at": _db_time(now), "loaded_by": loader}
            first = insert(_DESK_T).values(id=DESK_ID, **values)
            if self._pg:  # two loads at once: the second waits for the first, then replaces its document
                from sqlalchemy.dialects.postgresql import insert as pg_insert

                first = pg_insert(_DESK_T).values(id=DESK_ID, **values).on_conflict_do_nothing()
            row = s.execute(_DESK_ROW.with_for_update(), {"desk_id": DESK_ID}).first()
            if row is None and s.execute(first.returning(_DESK_T.c.id)).first() is not None:
                version = 1
            else:
                row = s.execute(_DESK_ROW.with_for_update(), {"desk_id": DESK_ID}).one()
                version = int(row.version) + 1
                s.execute(update(_DESK_T).where(_DESK_T.c.id == DESK_ID).values(**{**values, "version": version}))
            s.info[_DESK_KEY] = desk
            moved = self._sla_reload(s, old, desk, now, loader or "administrator")
        self._sla_cache = (time.monotonic(), version, desk)
        return SlaLoaded(desk, moved)

    def sla_desk(self) -> DeskSla | None:
        """The desk's calendars and policies; None when none were ever loaded."""
        self._sla_cache = None  # (read afresh: `sla show` shows what is stored)
        with self._read() as s:
            return self._sla_desk(s)

    def sla_clocks(self) -> dict[str, BusinessCalendar]:
        """The calendar each priority's targets run on (the console measures the business time
        left with it); empty while no policies are loaded. Read through the desk cache."""
        with self._read() as s:
            desk = self._sla_desk(s)
        if desk is None:
            return {}
        return {p: desk.calendars[pol.calendar] for p, pol in desk.policies.items() if pol.calendar in desk.calendars}

    def _sla_loader(self, s: Session, actor: str | None) -> str | None:
        """Who loads policies: a supervisor; on PostgreSQL the administrator too (acting as no agent)."""
        who = self.login_identity()
        if who is not None and who.admin:
            from sqlmodel import select as orm_select

            from deskconsole.store.models import Agent

            agent = s.exec(orm_select(Agent).where(Agent.name == actor)).first() if actor else None
            if agent is None:
                return None  # the administrator, as itself
        agent = self._me(s, actor)
        if agent.role != Role.SUPERVISOR:
            raise PermissionDenied(f"{agent.name} is {'an' if agent.role[0] in 'aeiou' else 'a'} {agent.role}: "
                                   "only a supervisor or the administrator may load service-level policies")
        return agent.name

    def _sla_desk(self, s: Session) -> DeskSla | None:
        """The desk's policies as this transaction sees them (read once per transaction); None,
        without reading, while this Service saw none loaded less than DESK_RECHECK_SECONDS ago."""
        if _DESK_KEY in s.info:
            found: DeskSla | None = s.info[_DESK_KEY]
            return found
        cached = self._sla_cache
        desk: DeskSla | None
        if cached is not None and cached[1] is None and time.monotonic() - cached[0] < DESK_RECHECK_SECONDS:
            desk = None
        else:
            row = s.execute(_DESK_ROW, {"desk_id": DESK_ID}).first()
            if row is None:
                desk, version = None, None
            else:
                version = int(row.version)
                desk = cached[2] if cached is not None and cached[1] == version else \
                    DeskSla.from_dict(json.loads(row.document))
            self._sla_cache = (time.monotonic(), version, desk)
        s.info[_DESK_KEY] = desk
        return desk

    def _sla_reload(self, s: Session, old: DeskSla | None, new: DeskSla, at: datetime, actor: str) -> int:
        """Move the open targets of every open case to the newly loaded policies (used time kept,
        measured on the calendars it ran on); returns how many cases changed."""
        case_ids = [r[0] for r in s.execute(
            select(_METRIC_T.c.case_id).distinct()
            .join(_CASE_T, _CASE_T.c.id == _METRIC_T.c.case_id)
            .where(_CASE_T.c.status != Status.CLOSED.value)
            .order_by(_METRIC_T.c.case_id)
        ).all()]
        before = old.calendars if old is not None else new.calendars
        moved = 0
        for case_id in case_ids:
            case = self._case(s, case_id)
            history = self._sla_history(s, case.id)
            wanted = []
            for kind in TARGETS:
                event = policy_change_event(history.events[kind], new, str(case.priority), kind, at)
                if event is None:
                    continue
                if history.same_promise(kind, event) \
                        and before.get(event.calendar or "") == new.calendars.get(event.calendar or ""):
                    continue  # the same promise on the same calendar: nothing to move
                measured = evaluate(history.events[kind], before, at)
                wanted.append((kind, replace(event, used=measured.used if measured is not None else event.used)))
            if self._sla_write(s, case, new, history, wanted, actor, reason="policies loaded"):
                self._sla_arm(s, case, new, history, at)
                moved += 1
        return moved

    # ------------------------------------------------------------------ the one hook
    def _sla(self, s: Session, case: Any, at: datetime, actor: str, change: SlaChange,
             *, events: Sequence[dict[str, Any]] = ()) -> bool:
        """Record what an action means for the case's service-level targets and re-arm their timers.

        Every case action that matters calls this (ServiceBase._enter for status changes; opening,
        public replies, customer replies and priority changes where they happen). Nothing is read
        or written while no policy document is loaded.

        `events`: the action's own event rows, not written yet: written in the same statement as the
        service levels' audit events, before them (the ids they would have had written first).
        Returns whether they were written (False: no audit event went with them; the caller writes them)."""
        desk = self._sla_desk(s)
        if desk is None:
            return False
        # (a case being opened has no metric rows yet: nothing to read)
        if change.opened:
            history = _histories_of_action(s)[case.id] = History()
        else:
            history = self._sla_history(s, case.id)
        wanted = change_events(desk, history, str(case.priority), change, at)
        if not self._sla_write(s, case, desk, history, wanted, actor, events=events):
            return False
        waiting: dict[int, tuple[Any, DeskSla, History, datetime, bool]] | None = s.info.get(_ARMING_KEY)
        if waiting is not None:  # (armed once, at the end of the action: _sla_arming)
            earlier = waiting.get(case.id)
            waiting[case.id] = (case, desk, history, at, change.opened or (earlier is not None and earlier[4]))
            return True
        # (nor timers: its SLA timers are the ones armed now)
        self._sla_arm(s, case, desk, history, at, new=change.opened)
        return True

    @contextmanager
    def _sla_arming(self, s: Session) -> Iterator[None]:
        """One action that records several service-level changes of a case (a customer reply that
        also moves it): its SLA timers are armed once, when they are all recorded, not after each
        (which wrote timers the next change cancelled at once). Not armed when the action fails."""
        waiting: dict[int, tuple[Any, DeskSla, History, datetime, bool]] = {}
        outer = s.info.get(_ARMING_KEY)
        if outer is not None:  # (inside another: that one arms)
            yield
            return
        s.info[_ARMING_KEY] = waiting
        try:
            yield
        finally:
            s.info.pop(_ARMING_KEY, None)
        for case, desk, history, at, new in waiting.values():
            self._sla_arm(s, case, desk, history, at, new=new)

    def _sla_history(self, s: Session, case_id: int) -> History:
        """The case's History as the current action sees it: read once per action (see
        _histories_of_action), or taken from what the batch read ahead for its lines (prefetch_sla)."""
        histories = _histories_of_action(s)
        history = histories.get(case_id)
        if history is None:
            rows = self._rows_of_case(s, case_id, _METRICS_OF_CASE, lambda b: b.ahead)
            history = histories[case_id] = _history(rows)
        return history

    def prefetch_sla(self, s: Session, case_ids: Sequence[int]) -> None:
        """Inside a batch: read what its actions on these cases will read first, in a few statements
        for all of them: each case's row (Batch.cases_ahead, what ServiceBase._case reads), its
        pending timers (Batch.timers_ahead, what settling the case reads)
        and, under service levels, its metric rows (Batch.ahead, see _sla_history). Each case's rows
        are taken once, by the first action that reads them: every write of a case's timers or
        metric rows follows such a read of that case within the batch's transaction. Cases the lines
        name that do not exist read nothing."""
        batch = self._batch
        if batch is None:
            return
        wanted = sorted({c for c in case_ids if c not in batch.timers_ahead and 0 < c < 2**31})
        db = _db(s)
        levels = self._sla_desk(s) is not None
        while wanted:
            size = next((n for n in _AHEAD_SIZES if n >= len(wanted)), _AHEAD_SIZES[-1])
            chunk, wanted = wanted[:size], wanted[size:]
            values = {f"c{k}": chunk[k] if k < len(chunk) else 0 for k in range(size)}
            # Only cases that exist now: a line may name the case an earlier line of the batch opens.
            # On PostgreSQL locked too (read committed: another writer's rows of a case committed
            # between this read and the action's own lock would be missed; locked first, there are
            # none; a case someone else holds is left to its action to read, after waiting for it).
            rows = db.all((_LOCK_CASES if self._pg else _CASES_THERE)[size], values)
            batch.cases_ahead.update((row[0], dict(zip(_CASE_COLUMNS, row, strict=True))) for row in rows)
            chunk = [row[0] for row in rows]
            if not chunk:
                continue
            values = {f"c{k}": chunk[k] if k < len(chunk) else 0 for k in range(size)}
            timers: dict[int, list[Any]] = {case_id: [] for case_id in chunk}
            for row in db.all(_PENDING_OF_CASES[size], values):
                timers[row[0]].append(row[1:])
            batch.timers_ahead.update(timers)
            if levels:
                found: dict[int, list[Any]] = {case_id: [] for case_id in chunk}
                for row in db.all(_METRICS_OF_CASES[size], values):
                    found[row[0]].append(row[1:])
                batch.ahead.update(found)

    def _sla_write(self, s: Session, case: Any, desk: DeskSla, history: History,
                   wanted: Sequence[tuple[str, MetricEvent]], actor: str, *, events: Sequence[dict[str, Any]] = (),
                   **data: Any) -> bool:
        """Store each wanted event that changes its target (and its audit event, after `events`: see
        _sla); whether any did."""
        metrics, audits = [], [*events]
        for kind, event in settle(history, wanted, desk.calendars):
            metrics.append({
                "case_id": case.id, "target": kind, "kind": event.kind.value, "at": _db_time(event.at),
                "seconds": event.target, "calendar": event.calendar, "warning": event.warning, "used": event.used,
            })
            audits.append(self._event_row(case, AUDIT_KIND[event.kind], actor, event.at, None,
                                          **audit_data(kind, event), **data))
        if not metrics:
            return False
        # the metric rows in one statement, their audit events in another (nobody reads their ids)
        db = _db(s)
        db.insert_many(_INSERT_METRIC, metrics)
        note_write(s, case.id)
        db.insert_many(_INSERT_EVENT, audits)
        return True

    def _sla_arm(self, s: Session, case: Any, desk: DeskSla, history: History, at: datetime, *,
                 new: bool = False) -> None:
        """Keep one pending sla_warning and one sla_breach timer per case, due at the soonest
        warning and breach of its targets (none while every target is paused, met or done).
        `new`: the case is being opened (it has no timers yet: nothing to read)."""
        want = armed(history, desk.calendars, at)
        if new:
            _pending_timers(s).setdefault(case.id, [])
        pending = self._pending_of(s, case.id)  # (kept up to date by the cancels and inserts below)
        for kind in sorted(SLA_TIMERS):
            have = [to_utc(due) for _, due, pending_kind in pending if pending_kind == kind]
            wanted_due = want.get(kind)
            if have == ([wanted_due] if wanted_due is not None else []):
                continue  # armed as it should be
            if have:
                self._cancel_timers(s, case, frozenset({kind}), at)
            if wanted_due is not None:
                self._insert_timer(s, case.id, kind, at, wanted_due)
            pending = self._pending_of(s, case.id)

    # ------------------------------------------------------------------ the timers firing
    def _fire_sla(self, s: Session, case: CaseRecord, kind: TimerKind, due: datetime, stamp: dict[str, str]) -> None:
        """A claimed sla_warning or sla_breach timer: warn of, or breach, each target due by then
        (as of the timer's due instant), tell the manager of a breach, and re-arm."""
        desk = self._sla_desk(s) or DeskSla()
        history = self._sla_history(s, case.id)
        hits = timer_hits(history, desk.calendars, kind, due)
        event = self._event(s, case, "timer_fired", "timer", due, **stamp, targets=[t for t, _ in hits])
        if kind is TimerKind.SLA_WARNING:
            for target, _ in hits:
                _db(s).insert_later(_INSERT_METRIC, {"case_id": case.id, "target": target, "kind": WARNED,
                                               "at": _db_time(due), "seconds": None, "calendar": None,
                                               "warning": None, "used": None})
                history.warned[target].append(due)
        elif hits:
            self._sla_write(s, case, desk, history, [(t, MetricEvent(MetricKind.BREACH, at)) for t, at in hits],
                            "timer")
            self._outbox(s, case, event, "sla_breach", self._manager_for(s, case), *breach_message(
                case.id, case.title, case.customer, str(case.priority), self._assignee_name(s, case), hits))
        self._sla_arm(s, case, desk, history, due)

    # ------------------------------------------------------------------ reports
    def sla_report(self, *, since: datetime | None = None, until: datetime | None = None,
                   by: str | None = None) -> list[dict[str, Any]]:
        """Compliance per target from the stored metric events: the targets met and breached in
        [since, until), per agent, priority or customer (`by`; None: the whole desk). A target
        counts when its outcome happened: met when it was fulfilled in time, breached when its
        breach was recorded. Read by the (kind, at) index of sla_metric."""
        from deskconsole.service.insight import check_range

        check_range(since, until, by)
        m, c = _METRIC_T, _CASE_T
        query = (select(m.c.case_id, m.c.target, m.c.kind, m.c.at, c.c.priority, c.c.customer, c.c.assignee_id)
                 .join(c, c.c.id == m.c.case_id)
                 .where(m.c.kind.in_([MetricKind.FULFIL.value, MetricKind.BREACH.value])))
        if since is not None:
            query = query.where(m.c.at >= _db_time(since))
        if until is not None:
            query = query.where(m.c.at < _db_time(until))
        with self._read() as s:
            desk = self._sla_desk(s) or DeskSla()
            rows = s.execute(query).all()
            # a fulfilment was in time or late: judged from its case's events (met, or breached before)
            fulfilled = sorted({r.case_id for r in rows if r.kind == MetricKind.FULFIL.value})
            histories: dict[int, History] = {}
            for first in range(0, len(fulfilled), 500):
                chunk = fulfilled[first:first + 500]
                found: dict[int, list[Any]] = {case_id: [] for case_id in chunk}
                for row in s.execute(
                    select(m.c.case_id, m.c.target, m.c.kind, m.c.at, m.c.seconds, m.c.calendar, m.c.warning, m.c.used)
                    .where(m.c.case_id.in_(chunk)).order_by(m.c.id)
                ).all():
                    found[row[0]].append(tuple(row)[1:])
                histories.update({case_id: _history(found[case_id]) for case_id in chunk})
            names: dict[int, str] = {}
            if by == "agent":
                ids = sorted({r.assignee_id for r in rows if r.assignee_id is not None})
                if ids:
                    agents = Agent.__table__  # type: ignore[attr-defined]  # SQLModel leaves __table__ untyped
                    names = dict(s.execute(select(agents.c.id, agents.c.name).where(agents.c.id.in_(ids))).all())
        counts: dict[tuple[str, str], list[int]] = {}
        for r in rows:
            if r.kind == MetricKind.BREACH.value:
                outcome = 1
            else:
                state = evaluate(histories[r.case_id].events[r.target], desk.calendars, to_utc(r.at))
                if state is None or state.state is not TargetStatus.MET:
                    continue  # fulfilled late: counted by its breach
                outcome = 0
            group = {"agent": names.get(r.assignee_id, "team queue"), "priority": r.priority,
                     "customer": r.customer}.get(by or "", "desk")
            counts.setdefault((group, r.target), [0, 0])[outcome] += 1
        order = {kind: i for i, kind in enumerate(TARGETS)}
        return [{"group": group, "target": target, "met": met, "breached": breached,
                 "compliance": round(100 * met / (met + breached), 1)}
                for (group, target), (met, breached) in sorted(counts.items(), key=lambda i: (i[0][0], order[i[0][1]]))]

    # ------------------------------------------------------------------ what views show
    def _sla_view(self, s: Session, case: AnyCase) -> dict[str, Any]:
        """`case show --json`'s "sla": each target null or {"due", "state", "used", "target"}."""
        desk = self._sla_desk(s)
        if desk is None:
            return dict.fromkeys(TARGETS)
        return sla_json(self._sla_history(s, case.id if case.id is not None else 0).events, desk.calendars,
                        self.now())


def describe_target(state: dict[str, Any] | None) -> str | None:
    """A target of `case show` in words (without its time left, which the front end adds)."""
    if state is None:
        return None
    used, target = state["used"], state["target"]
    return f"{state['state']}, {format_business_time(used)} of {format_business_time(target)} used"



