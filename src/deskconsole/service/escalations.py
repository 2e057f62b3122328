"""Escalations: requests, the manager's review and decision, status updates, de-escalation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from deskconsole.domain.errors import InvalidInput, InvalidTransition
from deskconsole.domain.lifecycle import (
    OPEN_ESCALATION_STATES,
    EscalationState,
    Priority,
    Status,
    parse_enum,
    raise_priority,
)
from deskconsole.domain.permissions import Action
from deskconsole.domain.sla import SlaChange
from deskconsole.domain.timers import TimerKind, TimerState
from deskconsole.domain.views import CaseView, EscalationView
from deskconsole.service.base import ServiceBase
from deskconsole.service.records import (
    COMM_MODES,
    AnyCase,
    CaseRecord,
    _aware,
    _customer_actor,
    _customer_address,
    _db_time,
    _pk,
    clean_text,
)
from deskconsole.store.models import Agent, Case, Escalation, Timer


class EscalationsMixin(ServiceBase):
    """Escalations: requests, the manager's review and decision, status updates, de-escalation."""

    def request_escalation(
        self, case_id: int, reason: str, *, actor: str | None = None, at: datetime | None = None,
        expected_version: int | None = None,
    ) -> CaseView:
        """Filed by the customer (actor None) or by an agent on the customer's behalf."""
        reason = clean_text(reason, "reason", required=True)
        with self._tx() as s:
            agent = self._me(s, actor) if actor is not None else None
            case = self._case(s, case_id)
            self._open_case_or_refuse(case, "escalate it")
            self._check_version(s, case, expected_version)
            open_one = self._open_escalation(s, case.id)
            if open_one is not None:
                raise InvalidTransition(
                    f"case {case.id} already has an open escalation ({open_one.state} since "
                    f"{_aware(open_one.requested_at):%Y-%m-%d}); one open escalation per case"
                )
            when = self._given_time(at, case)
            who = agent.name if agent else _customer_actor(case)
            manager = self._manager_for(s, case)
            esc = Escalation(
                case_id=case.id, state=EscalationState.REQUESTED, requested_by=who, requested_at=_db_time(when),
                on_behalf=agent is not None, reason=reason, manager=manager,
            )
            s.add(esc)
            self._touch(case, who, "requested escalation", when)
            event = self._event(s, case, "escalation_requested", who, when, body=reason,
                                manager=manager, on_behalf=agent is not None)
            manager_agent = s.exec(select(Agent).where(Agent.name == manager)).first()
            self._message(
                s, case, event, "escalation_requested",
                (manager_agent.email if manager_agent and manager_agent.email else manager),
                {"case": case.id, "title": case.title, "requested_by": who, "priority": case.priority,
                 "status": case.status, "customer": case.customer, "reason": reason},
            )
            return self._case_view(s, case)

    def _open_escalation(self, s: Session, case_id: int) -> Escalation | None:
        return s.exec(
            select(Escalation).where(
                Escalation.case_id == case_id, col(Escalation.state).in_(list(OPEN_ESCALATION_STATES))
            )
        ).first()

    def review_escalation(
        self,
        case_id: int,
        *,
        actor: str | None,
        severity_impact: str | None = None,
        business_risk: str | None = None,
        sla_commitments: str | None = None,
        actions_taken: str | None = None,
        problem_statement_ok: bool | None = None,
        impact_described: bool | None = None,
        workaround_impractical: bool | None = None,
        milestone_date: str | None = None,
    ) -> EscalationView:
        """Record the manager's assessment and checklist on the open request."""
        fields = {
            "severity_impact": clean_text(severity_impact, "severity and impact"),
            "business_risk": clean_text(business_risk, "business risk"),
            "sla_commitments": clean_text(sla_commitments, "SLA commitments"),
            "actions_taken": clean_text(actions_taken, "actions taken"),
            "milestone_date": clean_text(milestone_date, "milestone date", max_len=40),
        }
        checks = {
            "problem_statement_ok": problem_statement_ok,
            "impact_described": impact_described,
            "workaround_impractical": workaround_impractical,
        }
        with self._tx() as s:
            manager = self._acting(s, actor, Action.REVIEW_ESCALATION)
            case = self._case(s, case_id)
            esc = self._requested(s, case)
            for name, value in {**fields, **checks}.items():
                if value is not None:
                    setattr(esc, name, value)
            now = self.now()
            reviewed: dict[str, Any] = {k: v for k, v in {**fields, **checks}.items() if v is not None}
            self._event(s, case, "escalation_reviewed", manager.name, now, **reviewed)
            return self._escalation_view(s, esc, case)

    def _requested(self, s: Session, case: CaseRecord) -> Escalation:
        esc = s.exec(
            select(Escalation).where(Escalation.case_id == case.id, Escalation.state == EscalationState.REQUESTED)
        ).first()
        if esc is None:
            raise InvalidTransition(f"case {case.id} has no escalation request awaiting a decision")
        return esc

    def decide_escalation(
        self,
        case_id: int,
        decision: str,
        *,
        actor: str | None,
        reason: str | None = None,
        engineer: str | None = None,
        comm_mode: str = "email",
        comm_frequency: str = "daily",
        comm_attendees: str | None = None,
        expected_version: int | None = None,
    ) -> CaseView:
        if decision not in ("approve", "deny"):
            raise InvalidInput(f"decision must be approve or deny, not {decision!r}")
        reason = clean_text(reason, "reason")
        if comm_mode not in COMM_MODES:
            raise InvalidInput(f"communication mode must be one of {', '.join(COMM_MODES)}, not {comm_mode!r}")
        comm_frequency = clean_text(comm_frequency, "frequency", max_len=40) or "daily"
        comm_attendees = clean_text(comm_attendees, "attendees", max_len=2000)
        if decision == "deny" and not (reason and reason.strip()):
            raise InvalidInput(f"case {case_id}: denying an escalation needs a reason")
        with self._tx() as s:
            manager = self._acting(s, actor, Action.DECIDE_ESCALATION)
            case = self._case(s, case_id)
            self._open_case_or_refuse(case, "decide its escalation")
            self._check_version(s, case, expected_version)
            esc = self._requested(s, case)
            self._enforce(manager, Action.DECIDE_ESCALATION, case, escalation_state=esc.state,
                          escalation_requested_by=esc.requested_by)
            now = self.now()
            esc.decided_by = manager.name
            esc.decided_at = _db_time(now)
            esc.decision_reason = reason
            if decision == "approve":
                engineer_agent = self._agent(s, engineer) if engineer else manager
                esc.state = EscalationState.APPROVED
                esc.engineer = engineer_agent.name
                esc.comm_mode = comm_mode
                esc.comm_frequency = comm_frequency
                esc.comm_attendees = comm_attendees or f"{case.customer}, {engineer_agent.name}"
                esc.prior_priority = case.priority
                new_priority = raise_priority(Priority(case.priority))
                self._touch(case, manager.name, f"approved escalation ({case.priority}→{new_priority})", now)
                event = self._event(
                    s, case, "escalation_approved", manager.name, now, body=reason,
                    engineer=esc.engineer, comm_mode=comm_mode, comm_frequency=comm_frequency,
                    comm_attendees=esc.comm_attendees,
                )
                if new_priority != case.priority:
                    self._event(s, case, "priority_changed", manager.name, now,
                                **{"from": case.priority, "to": new_priority.value})
                case.priority = new_priority
                self._sla(s, case, now, manager.name, SlaChange(priority=True))
                self._start_timer(s, case, TimerKind.STATUS_UPDATE, now, self.durations.escalation_status_update)
                self._message(
                    s, case, event, "escalation_approved", _customer_address(case),
                    {"case": case.id, "title": case.title, "priority": case.priority, "engineer": esc.engineer,
                     "comm_mode": comm_mode, "comm_frequency": comm_frequency},
                )
            else:
                esc.state = EscalationState.DENIED
                analyst = self._assignee_name(s, case)
                case.attention = "explain the escalation decision to the customer"
                self._touch(case, manager.name, "denied escalation", now)
                event = self._event(s, case, "escalation_denied", manager.name, now, body=reason,
                                    followup_for=analyst or esc.manager)
                self._message(
                    s, case, event, "escalation_denied", analyst or esc.manager or "managers",
                    {"case": case.id, "title": case.title, "decided_by": manager.name, "customer": case.customer,
                     "reason": reason},
                )
            return self._case_view(s, case)

    def log_status_update(self, case_id: int, body: str, *, actor: str | None) -> CaseView:
        """The daily status update an approved escalation expects; sent to the customer."""
        body = clean_text(body, "status update", required=True)
        with self._tx() as s:
            agent = self._acting(s, actor, Action.STATUS_UPDATE)
            case = self._case(s, case_id)
            esc = self._open_escalation(s, case.id)
            self._enforce(agent, Action.STATUS_UPDATE, case, escalation_state=esc.state if esc else None)
            assert esc is not None  # (may() refuses a case without an approved escalation)
            now = self.now()
            esc.last_status_update_at = _db_time(now)
            self._cancel_timers(s, case, frozenset({TimerKind.STATUS_UPDATE}), now)
            self._start_timer(s, case, TimerKind.STATUS_UPDATE, now, self.durations.escalation_status_update)
            if case.attention == "daily escalation status update due":
                case.attention = None
            self._touch(case, agent.name, "sent the escalation status update", now)
            event = self._event(s, case, "status_update", agent.name, now, body=body)
            self._outbox(s, case, event, "status_update", _customer_address(case),
                         f"[case {case.id}] Status update", body)
            return self._case_view(s, case)

    def de_escalate(
        self,
        case_id: int,
        *,
        actor: str | None,
        plan_accepted: bool,
        rca_on_track: bool,
        customer_agreed: bool,
        note: str | None = None,
    ) -> CaseView:
        note = clean_text(note, "note")
        with self._tx() as s:
            agent = self._me(s, actor)
            case = self._case(s, case_id)
            esc = self._open_escalation(s, case.id)
            self._enforce(agent, Action.DE_ESCALATE, case, escalation_state=esc.state if esc else None,
                          escalation_engineer=esc.engineer if esc else None)
            assert esc is not None  # (may() refuses a case without an approved escalation)
            missing = [
                label
                for label, ok in (
                    ("the action plan is accepted", plan_accepted),
                    ("troubleshooting/root-cause analysis is on track", rca_on_track),
                    ("the customer's agreement is documented", customer_agreed),
                )
                if not ok
            ]
            if missing:
                raise InvalidInput(f"case {case.id}: de-escalation needs confirmation that " + "; ".join(missing))
            now = self.now()
            esc.state = EscalationState.DE_ESCALATED
            esc.de_escalated_by = agent.name
            esc.de_escalated_at = _db_time(now)
            self._cancel_timers(s, case, frozenset({TimerKind.STATUS_UPDATE}), now)
            previous = case.priority
            restored = esc.prior_priority or case.priority
            self._touch(case, agent.name, f"de-escalated ({previous}→{restored})", now)
            event = self._event(s, case, "de_escalated", agent.name, now, body=note,
                                plan_accepted=True, rca_on_track=True, customer_agreed=True)
            if restored != previous:
                self._event(s, case, "priority_changed", agent.name, now, **{"from": previous, "to": restored})
            case.priority = restored
            self._sla(s, case, now, agent.name, SlaChange(priority=True))
            if case.attention == "daily escalation status update due":
                case.attention = None
            self._message(s, case, event, "de_escalated", _customer_address(case),
                          {"case": case.id, "title": case.title, "priority": restored})
            return self._case_view(s, case)

    def list_escalations(self, state: str | None = None, *, open_cases_only: bool = False) -> list[EscalationView]:
        """Escalations, oldest request first."""
        if state is not None:
            parse_enum(EscalationState, state, "escalation state")
        with self._read() as s:
            query = select(Escalation, Case).join(Case, col(Case.id) == col(Escalation.case_id))
            if state is not None:
                query = query.where(Escalation.state == state)
            if open_cases_only:
                query = query.where(Case.status != Status.CLOSED)
            rows = s.exec(query.order_by(col(Escalation.requested_at), col(Escalation.id))).all()
            return [self._escalation_view(s, esc, case) for esc, case in rows]

    def _escalation_view(self, s: Session, esc: Escalation, case: AnyCase) -> EscalationView:
        due = None
        if esc.state == EscalationState.APPROVED:
            # min() in Python: an SQL min()/ORDER BY on due_at makes SQLite scan every pending timer.
            dues = s.exec(
                select(Timer.due_at).where(
                    Timer.case_id == case.id, Timer.kind == TimerKind.STATUS_UPDATE, Timer.state == TimerState.PENDING
                )
            ).all()
            due = min(dues) if dues else None
        return EscalationView(
            id=_pk(esc.id), case=_pk(case.id), state=esc.state, requested_by=esc.requested_by,
            requested_at=_aware(esc.requested_at), on_behalf=esc.on_behalf, reason=esc.reason, manager=esc.manager,
            severity_impact=esc.severity_impact, business_risk=esc.business_risk,
            sla_commitments=esc.sla_commitments, actions_taken=esc.actions_taken,
            problem_statement_ok=esc.problem_statement_ok, impact_described=esc.impact_described,
            workaround_impractical=esc.workaround_impractical, milestone_date=esc.milestone_date,
            decided_by=esc.decided_by, decided_at=_aware(esc.decided_at), decision_reason=esc.decision_reason,
            engineer=esc.engineer, comm_mode=esc.comm_mode, comm_frequency=esc.comm_frequency,
            comm_attendees=esc.comm_attendees, prior_priority=esc.prior_priority,
            last_status_update_at=_aware(esc.last_status_update_at), status_update_due=_aware(due),
            de_escalated_by=esc.de_escalated_by, de_escalated_at=_aware(esc.de_escalated_at),
            case_title=case.title, case_status=case.status, case_priority=case.priority,
            customer=case.customer, assignee=self._assignee_name(s, case),
        )
