"""Undoing an agent's close within the undo window.

An agent's close (`case close`, the console's close, a macro that closes) writes its survey at
once, held from sending until the window ends (`outbox.hold_until`; Durations.undo_window,
DESKCONSOLE_UNDO_WINDOW, 10 s by default): the held rows of its event are what makes a close
undoable, and until when. Within the window `undo_close` puts the case back as the rows say it
was: its status and sub-status (the close event's `from`), the timers the close cancelled (its
`cancelled_timers`: they run again, due as they were), the assignee before a closing macro
reassigned it (the macro's `macro_applied` event); the follow-up timer the close started is
cancelled, its held messages are withdrawn (state `cancelled`, never sent) and its unanswered
survey removed. Timer auto-closes and customer confirmations hold nothing and are never
undone. The window is the service's: its clock decides, so the command line and every console
see the same truth.

`undo_many` takes back a bulk action (Service.apply_many) as a whole, case by case: a bulk close
(each case's close undone as above) or a bulk assign (each case back to the assignee its
`assigned` event names as the one before, within the same window). Each case is checked against
the version the bulk action left it at: a case someone changed since is not undone, and is
reported with its reason like any other refusal.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import update
from sqlmodel import Session, col, delete, select

from deskconsole.domain.clock import format_time
from deskconsole.domain.errors import DeskError, InvalidInput, InvalidTransition, NotFound, PermissionDenied
from deskconsole.domain.lifecycle import Role, Status
from deskconsole.domain.timers import TimerKind, TimerState
from deskconsole.domain.views import CaseView
from deskconsole.service.base import ServiceBase
from deskconsole.service.many import Assign, Close, Outcome
from deskconsole.service.records import CASE_WORKERS, AnyCase, CaseRecord, _aware, _pending_timers
from deskconsole.store.models import Agent, Event, Outbox, Survey, Timer

#: The events that change a case's status: the newest of them is the close an undo takes back.
_STATUS_EVENTS = ("status_changed", "close_undone")


class UndoMixin(ServiceBase):
    """`case undo`: an agent's close taken back within the undo window; a bulk close or assign, as a whole."""

    if TYPE_CHECKING:  # (another part of Service, for the type checker only)
        def assign(self, case_id: int, assignee: str | None, *, actor: str | None,
                   expected_version: int | None = None) -> CaseView: ...  # cases.py

    def undo_many(self, done: Mapping[int, int], action: Close | Assign, *, actor: str | None) -> list[Outcome]:
        """Undo a bulk action within the undo window: `done` maps each case the action applied to the
        version it left the case at. One Outcome per case: undone, or refused with why (the window
        ended, someone changed the case since, ...); a refused case changes nothing and stops nothing."""
        if not isinstance(action, Close | Assign):
            raise InvalidInput("only a bulk close or a bulk assign is undone as a whole")
        outcomes: list[Outcome] = []
        for case_id, version in done.items():
            try:
                if isinstance(action, Close):
                    view = self.undo_close(case_id, actor=actor, expected_version=version)
                else:
                    view = self.undo_assign(case_id, actor=actor, expected_version=version)
            except DeskError as exc:
                outcomes.append(Outcome(case_id, error=exc))
            else:
                outcomes.append(Outcome(case_id, case=view))
        return outcomes

    def undo_assign(self, case_id: int, *, actor: str | None, expected_version: int | None = None) -> CaseView:
        """Give the case back to whoever had it before its last assignment (or the team queue), within
        the undo window of that assignment; the assignment's rules apply (Service.assign)."""
        with self._read() as s:
            case = self._record(s, case_id)
            if case is None:
                raise NotFound(f"unknown case {case_id}")
            last = s.exec(select(Event).where(Event.case_id == case.id, Event.kind == "assigned")
                          .order_by(col(Event.id).desc()).limit(1)).first()
            data = json.loads(last.data or "{}") if last is not None else {}
            if last is None or "previous" not in data:
                raise InvalidTransition(f"case {case.id}: there is no reassignment to undo")
            until = _aware(last.at) + self.durations.undo_window
            if self.now() >= until:
                raise InvalidTransition(f"case {case.id}: the undo window of its reassignment ended at "
                                        f"{format_time(until)}; assign it again instead")
        # (the version the caller saw checked by the assignment itself, in its own transaction)
        return self.assign(case_id, data["previous"], actor=actor, expected_version=expected_version)

    def undo_close(self, case_id: int, *, actor: str | None, expected_version: int | None = None) -> CaseView:
        """Undo the case's last close, an agent's, within its window; refused otherwise, nothing changed."""
        with self._tx() as s:
            agent = self._actor(s, actor, CASE_WORKERS, "undo a close")
            case = self._case(s, case_id)
            self._check_version(s, case, expected_version)
            now = self.now()
            close, _ = self._undoable_close(s, case, now)
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
            restored = self._restore_timers(s, case, close, data.get("cancelled_timers") or [])
            before = self._assignee_before(s, case, close)
            if before is not _KEEP:
                case.assignee_id = before  # type: ignore[assignment]
            case.status = status
            case.sub_status = sub_status
            case.closed_at = None
            case.close_reason = None
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
        window, or the case is not closed). A case's view carries the same (CaseView.undo_until)."""
        with self._read() as s:
            case = self._record(s, case_id)
            if case is None:
                return None
            return self._undo_window(s, case)

    def _undo_window(self, s: Session, case: AnyCase) -> datetime | None:
        try:
            return self._undoable_close(s, case, self.now())[1]
        except InvalidTransition:
            return None

    # ------------------------------------------------------------------ the parts

    @staticmethod
    def _undoable_close(s: Session, case: AnyCase, now: datetime) -> tuple[Event, datetime]:
        """The close event an undo takes back and the end of its window; refused unless it is an agent's
        close (its messages held) whose window is still open."""
        if case.status != Status.CLOSED:
            raise InvalidTransition(f"case {case.id} is {case.status}: there is no close to undo")
        close = s.exec(
            select(Event).where(Event.case_id == case.id, col(Event.kind).in_(_STATUS_EVENTS))
            .order_by(col(Event.id).desc()).limit(1)
        ).first()
        held = [] if close is None else [
            _aware(t) for t in s.exec(select(Outbox.hold_until).where(
                Outbox.event_id == close.id, col(Outbox.hold_until).is_not(None))).all()]
        if close is None or not held:
            who = close.actor if close is not None else "someone"
            raise InvalidTransition(
                f"case {case.id} was closed by {who} ({case.close_reason or 'no reason'}): only an agent's close "
                "is undone, within its undo window")
        until = max(t for t in held if t is not None)
        if now >= until:
            raise InvalidTransition(f"case {case.id}: the undo window of its close ended at {format_time(until)}; "
                                    "the close stands (clone it to start new work)")
        return close, until

    @staticmethod
    def _withdraw(s: Session, close: Event) -> list[int]:
        """The close's held messages withdrawn (state cancelled, never sent); their ids. Refused when one
        is already being sent or was (a sender whose clock ran ahead of the service's)."""
        rows = s.exec(select(Outbox.id, Outbox.state).where(Outbox.event_id == close.id)).all()
        gone = sorted(state for _, state in rows if state != "queued")
        if gone:
            raise InvalidTransition(f"case {close.case_id}: the messages of its close are already "
                                    f"{' and '.join(dict.fromkeys(gone))}; the close stands")
        ids = [int(i) for i, _ in rows if i is not None]
        if ids:
            s.exec(update(Outbox).where(col(Outbox.id).in_(ids)).values(state="cancelled"))
        return ids

    @staticmethod
    def _restore_timers(s: Session, case: CaseRecord, close: Event, kinds: list[str]) -> list[str]:
        """The timers the close cancelled run again, due as they were (one already due fires at the next
        tick, as of its due time): of each kind it cancelled, the newest cancelled at its moment."""
        if not kinds:
            return []
        at = _aware(close.at)
        timers = s.exec(select(Timer).where(Timer.case_id == case.id, Timer.state == TimerState.CANCELLED,
                                            col(Timer.kind).in_(kinds)).order_by(col(Timer.id).desc())).all()
        restored = []
        for kind in kinds:
            timer = next((t for t in timers if t.kind == kind and t not in restored and _aware(t.cancelled_at) == at),
                         None)
            if timer is not None:
                restored.append(timer)
        for timer in restored:
            timer.state = TimerState.PENDING
            timer.cancelled_at = None
        s.flush()
        _pending_timers(s).pop(case.id, None)  # (read afresh by the next action of this transaction)
        return [t.kind for t in restored]

    @staticmethod
    def _assignee_before(s: Session, case: CaseRecord, close: Event) -> int | object | None:
        """The assignee before a closing macro reassigned the case (its macro_applied event, written just
        before the close's), else _KEEP: a close itself never changes the assignee."""
        applied = s.exec(
            select(Event).where(Event.case_id == case.id, Event.kind == "macro_applied", col(Event.id) < close.id)
            .order_by(col(Event.id).desc()).limit(1)
        ).first()
        if applied is None:
            return _KEEP
        between = s.exec(select(Event.id).where(
            Event.case_id == case.id, col(Event.kind).in_(_STATUS_EVENTS), col(Event.id) > applied.id,
            col(Event.id) < close.id).limit(1)).first()
        data = json.loads(applied.data or "{}")
        if between is not None or not data.get("closes") or "assignee_before" not in data:
            return _KEEP
        name = data["assignee_before"]
        if name is None:
            return None
        agent = s.exec(select(Agent).where(Agent.name == name)).first()
        return agent.id if agent is not None else _KEEP


_KEEP = object()  # (the assignee stays as it is)
