"""Timers: tick, firing a timer and its effect, settling a case's overdue timers, the running timers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, update
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from deskconsole.domain.clock import to_utc
from deskconsole.domain.firing import CaseFacts, EscalationFacts, fire
from deskconsole.domain.lifecycle import Status, parse_enum
from deskconsole.domain.timers import TimerKind, TimerState
from deskconsole.domain.views import Fired, TimerView
from deskconsole.service.base import ServiceBase
from deskconsole.service.effects import apply, apply_many
from deskconsole.service.records import (
    _CLAIM_TIMER,
    _TIMER_BY_ID,
    PG_TICK_CHUNK,
    TICK_BATCH,
    AnyCase,
    CaseRecord,
    _aware,
    _customer_address,
    _db,
    _db_time,
    _pending_timers,
    _pk,
    _write_cases,
    action_state,
    forget_timers,
)
from deskconsole.store import identity
from deskconsole.store.models import Agent, Case, Event, Timer


def _facts(case: Any) -> CaseFacts:
    """What a firing reads of a case (a CaseRecord, or a row of those columns)."""
    return CaseFacts(case.id, case.title, case.customer, _customer_address(case), case.status)


class TimersMixin(ServiceBase):
    """Timers: tick, firing a timer and its effect, settling a case's overdue timers, the running timers."""

    def tick(
        self, now: datetime | None = None, *, on_fired: Callable[[list[Fired]], None] | None = None,
    ) -> list[Fired]:
        """Fire every timer due at `now`, each exactly once across all processes ticking this database.

        A late timer takes effect as of its due time; the record keeps when it was processed.
        Effects that start new timers already due (e.g. the follow-up after a late auto-close)
        fire in the same call.

        Timers fire in several transactions; `on_fired`, when given, is called with the firings of
        each one as soon as it has committed. A write that fails (a full disk) raises, and the
        firings of that transaction are not stored: those committed before it were given to
        `on_fired` already (the return value is lost with the exception).
        """
        if now is not None and self._pg:
            # a time of its own is the administrator's, here as for DESKCONSOLE_NOW (login_identity)
            who = self.login_identity()
            assert who is not None  # (PostgreSQL: always someone)
            identity.refuse(who, fixed_clock=True, what="a time given to tick (tick(now=...))")
        now = to_utc(now) if now else self.now()
        fired: list[Fired] = []
        self._tick_applied = 0

        def committed(done: list[Fired]) -> None:
            fired.extend(done)
            if on_fired is not None and done:
                on_fired(done)

        while True:
            if not self._tick_pass(now, committed):
                return fired

    def _tick_checkpoint(self, applied: int) -> None:
        """Count firings applied (not yet committed) by this tick and tell the tick hook (see
        __init__), when there is one: without it this does nothing."""
        hook = self.tick_hook
        if hook is None:
            return
        self._tick_applied += applied
        if applied:
            hook(self._tick_applied)

    @staticmethod
    def _due(s: Session, now: datetime, limit: int) -> list[Any]:
        """The first `limit` timers due at `now`, in due order: rows of id, case_id, kind, due_at."""
        table = Timer.__table__  # type: ignore[attr-defined]  # SQLModel leaves __table__ untyped
        return list(s.execute(
            select(table.c.id, table.c.case_id, table.c.kind, table.c.due_at)
            .where(table.c.state == TimerState.PENDING, table.c.due_at <= _db_time(now))
            .order_by(table.c.due_at, table.c.id)
            .limit(limit)
        ).all())

    def _tick_pass(self, now: datetime, committed: Callable[[list[Fired]], None]) -> bool:
        """One batch of due timers: whether any were due at all. What this process fired goes to
        `committed`, a transaction's firings once that transaction has committed."""
        if not self._pg:
            # SQLite: the whole pass holds the write lock (BEGIN IMMEDIATE); other tickers wait.
            with self._tx() as s:
                fired, seen = self._tick_pass_bulk(s, now)
            committed(fired)
            return seen
        # PostgreSQL: a chunk of timers per transaction. Lock their cases first (the same order as
        # every action), skipping cases another ticker or an action holds; those are retried one by
        # one, blocking, at the end if their timer is still pending. The locked ones fire set-based,
        # as SQLite's pass does (_fire_rows). A claim and its effect always commit together: a ticker
        # killed mid-transaction leaves neither.
        with self._read() as s:
            due = self._due(s, now, TICK_BATCH)
        skipped: list[tuple[int, int]] = []
        for first in range(0, len(due), PG_TICK_CHUNK):
            chunk = due[first:first + PG_TICK_CHUNK]
            with self._tx() as s:
                locked = set(s.exec(  # only cases whose timer is still pending: another ticker's work is done
                    select(Case.id)
                    .join(Timer, col(Timer.case_id) == col(Case.id))
                    .where(col(Timer.id).in_([row.id for row in chunk]), Timer.state == TimerState.PENDING)
                    .order_by(col(Case.id))
                    .with_for_update(of=Case, skip_locked=True)
                ).all())
                skipped += [(row.id, row.case_id) for row in chunk if row.case_id not in locked]
                done = self._fire_rows(s, [row for row in chunk if row.case_id in locked], now)
            committed(done)
        if skipped:
            with self._read() as s:
                pending = set(s.exec(
                    select(Timer.id).where(col(Timer.id).in_([t for t, _ in skipped]),
                                           Timer.state == TimerState.PENDING)
                ).all())
            skipped = [(t, c) for t, c in skipped if t in pending]
        for timer_id, case_id in skipped:
            with self._tx() as s:
                s.exec(select(Case.id).where(Case.id == case_id).with_for_update()).first()
                result = self._fire(s, timer_id, case_id, now)
                self._tick_checkpoint(int(result is not None))
            if result:
                committed([result])
        return bool(due)

    def _tick_pass_bulk(self, s: Session, now: datetime) -> tuple[list[Fired], bool]:
        """One batch of due timers in one transaction, the common kinds written with bulk statements.

        The batch is claimed in one conditional UPDATE; RETURNING names exactly the timers this
        pass won. Timers are applied in due order: runs of reminders and follow-ups go through
        executemany statements, auto-closes and status updates through the per-timer effects.
        """
        due = self._due(s, now, TICK_BATCH)
        if not due:
            return [], False
        return self._fire_rows(s, due, now), True

    def _fire_rows(self, s: Session, due: Sequence[Any], now: datetime) -> list[Fired]:
        """Fire these due timers (rows of id, case_id, kind, due_at, in due order) in this transaction,
        the common kinds with bulk statements; the caller holds their cases (SQLite: the write lock;
        PostgreSQL: their rows locked). A timer another ticker claimed meanwhile is left alone."""
        if not due:
            return []
        table = Timer.__table__  # type: ignore[attr-defined]  # SQLModel leaves __table__ untyped
        # Only reminders and follow-ups are claimed up front: nothing earlier in a batch can cancel
        # them (a reminder precedes its case's auto-close; a follow-up belongs to a closed case).
        # Auto-closes and status updates are claimed one by one when their turn comes, so that an
        # earlier effect in the same batch (an auto-close cancelling the daily update) still wins.
        bulk_kinds = (TimerKind.REMINDER, TimerKind.FOLLOWUP)
        bulk_ids = [row.id for row in due if row.kind in bulk_kinds]
        won = set(
            s.execute(
                update(table)
                .where(table.c.state == TimerState.PENDING, table.c.id.in_(bulk_ids))
                .values(state=TimerState.FIRED, fired_at=_db_time(now))
                .returning(table.c.id)
            ).scalars()
        ) if bulk_ids else set()
        fired: list[Fired] = []
        run: list[Any] = []
        for row in due:
            if row.kind in bulk_kinds:
                if row.id in won:
                    run.append(row)
                continue
            if run:
                fired.extend(self._fire_bulk(s, run, now))
                self._tick_checkpoint(len(run))
                run = []
            result = self._fire(s, row.id, row.case_id, now, (row.kind, row.due_at))
            self._tick_checkpoint(int(result is not None))
            if result:
                fired.append(result)
        if run:
            fired.extend(self._fire_bulk(s, run, now))
            self._tick_checkpoint(len(run))
        return fired

    def _fire_bulk(self, s: Session, timers: Sequence[Any], now: datetime) -> list[Fired]:
        """The effects of claimed reminders and follow-ups (domain/firing.py, as _fire_claimed has them)
        written set-based (service/effects.py's apply_many), on both databases."""
        _write_cases(s)  # the per-timer effects before these rows, in order (their cases read afresh after)
        s.flush()
        action_state(s).pending_timers = {}  # (their timers were claimed past _fire)
        cases_t = Case.__table__  # type: ignore[attr-defined]  # SQLModel leaves __table__ untyped
        case_ids = sorted({t.case_id for t in timers})
        cases = {
            c.id: c
            for c in s.execute(
                core_select(cases_t.c.id, cases_t.c.title, cases_t.c.customer, cases_t.c.contact, cases_t.c.status)
                .where(cases_t.c.id.in_(case_ids))
            ).all()
        }
        asked = self._asked(s, [t.case_id for t in timers if t.kind == TimerKind.REMINDER])
        batch, fired = [], []
        for t in timers:
            due = to_utc(t.due_at)
            kind = TimerKind(t.kind)
            effects = fire(_facts(cases[t.case_id]), kind, due, now, self.durations, asked=asked.get(t.case_id, {}))
            batch.append((t.case_id, effects))
            fired.append(Fired(case=t.case_id, timer=kind.value, due=due, fired=now))
        apply_many(self, s, batch)
        s.expire_all()  # rows written past the session: later per-timer effects read them afresh
        return fired

    @staticmethod
    def _asked(s: Session, case_ids: Sequence[int]) -> dict[int, dict[str, str]]:
        """What each case's customer was asked in its customer_input stay: {"question": TEXT} and/or
        {"asked_outside": HOW}, read from the status change that began the stay (the case's latest:
        a reminder only fires while the stay lasts). Empty for a stay begun without a question
        (before deskconsole asked for one)."""
        if not case_ids:
            return {}
        events_t = Event.__table__  # type: ignore[attr-defined]  # SQLModel leaves __table__ untyped
        latest = (
            select(events_t.c.case_id, func.max(events_t.c.id).label("id"))
            .where(events_t.c.case_id.in_(sorted(set(case_ids))), events_t.c.kind == "status_changed")
            .group_by(events_t.c.case_id)
            .subquery()
        )
        rows = s.execute(
            select(events_t.c.case_id, events_t.c.body, events_t.c.data).join(latest, latest.c.id == events_t.c.id)
        ).all()
        asked: dict[int, dict[str, str]] = {}
        for case_id, body, data in rows:
            values = json.loads(data) if data else {}
            if values.get("to") != Status.PENDING or values.get("sub_status") != "customer_input":
                continue
            found: dict[str, str] = {}
            if body and ("asked" in values or "asked_outside" in values):
                found["question"] = body
            if values.get("asked_outside"):
                found["asked_outside"] = values["asked_outside"]
            asked[case_id] = found
        return asked

    def _fire(
        self, s: Session, timer_id: int, case_id: int, now: datetime, timer: tuple[str, datetime] | None = None,
        *, sure: bool = False,
    ) -> Fired | None:
        """Claim the timer with a conditional update; apply its effect only if this call won it.
        `timer`: its kind and due time, when the caller has read them. `sure`: the caller knows the
        timer is still pending (its action's own list of the case's pending timers, read under the
        case's lock: nobody else can claim it), so the claim is not asked whether it won (in a batch
        on PostgreSQL it waits in the pipeline with the rows after it)."""
        forget_timers(s, case_id, (timer_id,))  # (fired now, or by someone else first: no longer pending)
        db = _db(s)
        values = {"b_timer_id": timer_id, "b_at": _db_time(now)}
        if sure:
            db.execute_many(_CLAIM_TIMER, [values])
        elif db.execute(_CLAIM_TIMER, values) != 1:
            return None
        if timer is None:
            row = db.first(_TIMER_BY_ID, {"timer_id": timer_id})
            timer = (row["kind"], row["due_at"])  # type: ignore[index]  # claimed just above: the row exists
        return self._fire_claimed(s, case_id, timer[0], timer[1], now)

    def _fire_claimed(self, s: Session, case_id: int, timer_kind: str, due_at: datetime, now: datetime) -> Fired:
        """Apply the effect of a timer this process has claimed (its state is already 'fired').

        The effect changes the case's CaseRecord (the one the action firing it works on, when one
        does), written when the transaction or savepoint ends; the caller holds the case's lock."""
        case = action_state(s).case_records.get(case_id) or self._record(s, case_id)
        assert case is not None, "the caller holds the case's lock"
        due = to_utc(due_at)
        kind = TimerKind(timer_kind)
        escalation = None
        if kind is TimerKind.STATUS_UPDATE and (esc := self._open_escalation(s, case.id)) is not None:
            escalation = EscalationFacts(esc.state, esc.engineer or esc.manager or "managers")
        asked = None
        if kind is TimerKind.REMINDER:
            batch = self._batch
            asked = batch.asked_ahead.pop(case.id, None) if batch is not None else None
            if asked is None:
                asked = self._asked(s, [case.id]).get(case.id, {})
        apply(self, s, case, fire(_facts(case), kind, due, now, self.durations, asked=asked, escalation=escalation))
        return Fired(case=case.id, timer=kind.value, due=due, fired=now)

    def running_timers(self, *, kind: str | None = None, limit: int = 500) -> list[TimerView]:
        """Every timer still to fire, soonest first (the supervisor's countdowns)."""
        if kind is not None:
            parse_enum(TimerKind, kind, "timer kind")
        with self._read() as s:
            query = (
                select(Timer, Case)
                .join(Case, col(Case.id) == col(Timer.case_id))
                .where(Timer.state == TimerState.PENDING)
            )
            if kind is not None:
                query = query.where(Timer.kind == kind)
            rows = s.exec(query.order_by(col(Timer.due_at), col(Timer.id)).limit(limit)).all()
            names = self._names(s, {c.assignee_id for _, c in rows})
            return [self._timer_view(t, c, names.get(c.assignee_id) if c.assignee_id is not None else None)
                    for t, c in rows]

    @staticmethod
    def _timer_view(t: Timer, c: AnyCase, assignee: str | None) -> TimerView:
        return TimerView(
            id=_pk(t.id), case=_pk(c.id), kind=t.kind, state=t.state, started_at=_aware(t.started_at),
            due=_aware(t.due_at),
            fired=_aware(t.fired_at), case_title=c.title, case_status=c.status, case_sub_status=c.sub_status,
            assignee=assignee, priority=c.priority,
        )

    def _names(self, s: Session, ids: set[int | None]) -> dict[int, str]:
        wanted = [i for i in ids if i is not None]
        if not wanted:
            return {}
        rows = s.exec(select(col(Agent.id), col(Agent.name)).where(col(Agent.id).in_(wanted))).all()
        return {_pk(agent_id): name for agent_id, name in rows}


    def _settle(self, s: Session, case: CaseRecord) -> None:
        """Fire this case's timers that are already due before acting on it.

        A timer takes effect as of its due time even when nobody ticked: a customer
        reply that arrives after an overdue auto-close finds the case closed. The
        firing is part of the action's transaction (a refused action leaves it to
        the next tick), and the claim is the same conditional update tick uses.
        """
        now = self.now()
        before = (case.version, case.last_actor, case.last_change)
        # This case's pending timers (the (case_id, state) index), due ones picked and sorted here:
        # a due_at condition in SQL makes SQLite walk the desk-wide (state, due_at) index instead.
        # (Timers change only by Core statements, so there is nothing to flush first.)
        # An effect may start timers that are already due (the follow-up after a late close): the
        # action's list of them shows those too, so it is looked at again.
        ledger = _pending_timers(s)
        while True:
            # (kept whole by what the firings below write; read again if one could not keep it)
            pending = self._pending_of(s, case.id)  # (in a batch: maybe read ahead)
            due = sorted((to_utc(due_at), timer_id) for timer_id, due_at, _ in pending if to_utc(due_at) <= now)
            if not due:
                return
            action_state(s).before_settle.setdefault(case.id, before)
            kinds = {timer_id: kind for timer_id, _, kind in pending}
            for due_at, timer_id in due:  # (their effects change this same CaseRecord)
                # (one an earlier firing cancelled is no longer on the list: not fired; without the
                # list, the claim tells)
                listed = ledger.get(case.id)
                if listed is None:
                    self._fire(s, timer_id, case.id, now, (kinds[timer_id], due_at))
                elif any(timer_id == t[0] for t in listed):
                    self._fire(s, timer_id, case.id, now, (kinds[timer_id], due_at), sure=True)
