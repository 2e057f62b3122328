"""Undoing an agent's close within the undo window.

An agent's close (`case close`, the console's close, a macro that closes) writes its survey at
once, held from sending until the window ends (`outbox.hold_until`; Durations.undo_window,
DESKCONSOLE_UNDO_WINDOW, 10 s by default), and keeps on its event what the case was before
(base.py `_undo_record`: the window's end, the assignee, the attention flag, the timers it
cancelled). Within the window `undo_close` puts all of that back: the case returns to its
status, sub-status and assignee, the timers the close cancelled run again (due as they were),
the follow-up timer it started is cancelled, its held messages are withdrawn (state
`cancelled`, never sent) and its unanswered survey removed. Timer auto-closes and customer
confirmations keep nothing of the kind and are never undone. The window is the service's: its
clock decides, so the command line and every console see the same truth.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, delete, select

from deskconsole.domain.clock import format_time, parse_time
from deskconsole.domain.errors import InvalidTransition, PermissionDenied
from deskconsole.domain.lifecycle import Role, Status
from deskconsole.domain.timers import TimerKind, TimerState
from deskconsole.domain.views import CaseView
from deskconsole.service.base import ServiceBase
from deskconsole.service.records import CASE_WORKERS, CaseRecord, _pending_timers
from deskconsole.store.models import Agent, Event, Outbox, Survey, Timer

#: The events that change a case's status: the newest of them is the close an undo takes back.
_STATUS_EVENTS = ("status_changed", "close_undone")


class UndoMixin(ServiceBase):
    """`case undo`: an agent's close taken back within the undo window."""

    def undo_close(self, case_id: int, *, actor: str | None, expected_version: int | None = None) -> CaseView:
        """Undo the case's last close, an agent's, within its window; refused otherwise, nothing changed."""
        with self._tx() as s:
            agent = self._actor(s, actor, CASE_WORKERS, "undo a close")
            case = self._case(s, case_id)
            self._check_version(s, case, expected_version)
            now = self.now()
            close, undo = self._undoable_close(s, case, now)
            if close.actor != agent.name and agent.role != Role.MANAGER:
                raise PermissionDenied(f"case {case.id} was closed by {close.actor}: only they or a manager may "
                                       "undo the close")
            survey = s.exec(select(Survey).where(Survey.case_id == case.id)).first()
            if survey is not None and survey.answered_at is not None:
                raise InvalidTransition(f"case {case.id}: the customer already answered its survey; the close "
                                        "stands (clone it to start new work)")
            data = json.loads(close.data or "{}")
            status, sub_status = data.get("from"), data.get("from_sub_status")
            withdrawn = self._withdraw(s, close)
            if survey is not None:
                s.exec(delete(Survey).where(col(Survey.id) == survey.id))
            self._cancel_timers(s, case, frozenset({TimerKind.FOLLOWUP}), now)
            restored = self._restore_timers(s, case, undo.get("timers") or [])
            assignee_id = undo.get("assignee_id")
            if assignee_id is not None and s.get(Agent, assignee_id) is None:
                assignee_id = case.assignee_id
            case.status = status
            case.sub_status = sub_status
            case.closed_at = None
            case.close_reason = None
            case.attention = undo.get("attention")
            case.assignee_id = assignee_id
            label = status + (f"/{sub_status}" if sub_status else "")
            self._touch(case, agent.name, f"undid the close (back to {label})", now)
            self._event(
                s, case, "close_undone", agent.name, now,
                **{"from": Status.CLOSED.value, "to": status, "sub_status": sub_status, "close_event": close.id,
                   "assignee": self._assignee_name(s, case), "withdrawn": withdrawn, "restored_timers": restored},
            )
            return self._case_view(s, case)

    def undo_until(self, case_id: int) -> datetime | None:
        """Until when the case's last close may be undone (None: it is not an agent's close within its
        window, or the case is not closed): what a console shows beside its undo key."""
        with self._read() as s:
            case = self._record(s, case_id)
            if case is None or case.status != Status.CLOSED:
                return None
            try:
                _, undo = self._undoable_close(s, case, self.now())
            except InvalidTransition:
                return None
            return parse_time(undo["until"])

    # ------------------------------------------------------------------ the parts

    @staticmethod
    def _undoable_close(s: Session, case: CaseRecord, now: datetime) -> tuple[Event, dict[str, Any]]:
        """The close event an undo takes back, and what it kept; refused unless it is an agent's close
        whose window is still open."""
        if case.status != Status.CLOSED:
            raise InvalidTransition(f"case {case.id} is {case.status}: there is no close to undo")
        close = s.exec(
            select(Event).where(Event.case_id == case.id, col(Event.kind).in_(_STATUS_EVENTS))
            .order_by(col(Event.id).desc()).limit(1)
        ).first()
        data = json.loads(close.data or "{}") if close is not None else {}
        undo = data.get("undo")
        if close is None or data.get("to") != Status.CLOSED or not isinstance(undo, dict):
            who = close.actor if close is not None else "someone"
            raise InvalidTransition(
                f"case {case.id} was closed by {who} ({case.close_reason or 'no reason'}): only an agent's close "
                "is undone, within its undo window")
        until = parse_time(undo["until"])
        if now >= until:
            raise InvalidTransition(f"case {case.id}: the undo window of its close ended at {format_time(until)}; "
                                    "the close stands (clone it to start new work)")
        return close, undo

    @staticmethod
    def _withdraw(s: Session, close: Event) -> list[int]:
        """The close's held messages withdrawn (state cancelled, never sent); their ids."""
        rows = s.exec(select(Outbox.id).where(Outbox.event_id == close.id, Outbox.state == "queued")).all()
        ids = [int(i) for i in rows if i is not None]
        if ids:
            s.exec(update(Outbox).where(col(Outbox.id).in_(ids)).values(state="cancelled"))
        return ids

    def _restore_timers(self, s: Session, case: CaseRecord, ids: list[int]) -> list[str]:
        """The timers the close cancelled run again, due as they were (one already due fires at the next
        tick, as of its due time); their kinds."""
        if not ids:
            return []
        timers = s.exec(select(Timer).where(col(Timer.id).in_(ids), Timer.case_id == case.id,
                                            Timer.state == TimerState.CANCELLED)).all()
        for timer in timers:
            timer.state = TimerState.PENDING
            timer.cancelled_at = None
        s.flush()
        _pending_timers(s).pop(case.id, None)  # (read afresh by the next action of this transaction)
        return [t.kind for t in timers]
