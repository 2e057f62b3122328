"""Who may do what to a case, now: one answer for every front end (plain Python, no I/O).

`may(who, action, case)` answers "may this person do this action to this case as it stands?"
and, when not, why, in a sentence worded as the service words its refusal. The console asks it
to offer keys and to say why a key does not apply; the service's own checks say the same
(tests/unit/test_permissions.py runs every action against the real service and compares).

What it does not judge: what the person types (a reason, a note, a sub-status already set,
another analyst to assign to), and whether the case changed since it was read (the service's
version check). The checks run in the service's order: who you are first, then the case,
except where the service looks at the case first (reassigning and taking a closed case).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from deskconsole.domain.lifecycle import (
    ANALYST_TRANSITIONS,
    OPEN_ESCALATION_STATES,
    EscalationState,
    Role,
    Status,
    SubStatus,
    describe_refusal,
)


class Action(StrEnum):
    START_WORK = "start_work"  # move to in_progress
    SET_PENDING = "set_pending"  # move to pending (with a sub-status)
    RESOLVE = "resolve"  # move to awaiting_confirmation (with the resolution)
    CLOSE = "close"
    CLONE = "clone"
    NOTE = "note"
    LOG_CUSTOMER_REPLY = "log_customer_reply"
    LOG_CONFIRMATION = "log_confirmation"  # the customer confirmed the resolution (by phone, ...): closes
    REQUEST_ESCALATION = "request_escalation"
    LOG_ENGINEERING = "log_engineering"
    LINK_ARTICLE = "link_article"
    TAKE = "take"  # assign the case to yourself
    REASSIGN = "reassign"
    TAKE_NEXT = "take_next"  # no case: the next unassigned one that fits
    REVIEW_ESCALATION = "review_escalation"
    DECIDE_ESCALATION = "decide_escalation"
    STATUS_UPDATE = "status_update"
    DE_ESCALATE = "de_escalate"


class Refusal(StrEnum):
    """Which of the domain's errors the service raises for the refusal."""

    PERMISSION = "permission"  # PermissionDenied: not for your role
    STATE = "state"  # InvalidTransition: not in the case's state
    INPUT = "input"  # InvalidInput: asked the wrong way (a manager taking a case)


@dataclass(frozen=True)
class Person:
    name: str
    role: str


@dataclass(frozen=True)
class CaseState:
    """What the answer depends on, as the case stands."""

    id: int
    status: str
    sub_status: str | None = None
    assignee: str | None = None
    escalation_state: str | None = None  # the case's open escalation (requested/approved), if any
    escalation_requested_by: str | None = None
    escalation_engineer: str | None = None

    @classmethod
    def of(cls, case: Any) -> CaseState:
        """From a CaseView (domain/views.py): its escalation counts while it is open."""
        esc = case.escalation
        open_esc = esc is not None and esc.state in OPEN_ESCALATION_STATES
        return cls(
            id=case.id,
            status=case.status,
            sub_status=case.sub_status,
            assignee=case.assignee,
            escalation_state=esc.state if open_esc else None,
            escalation_requested_by=esc.requested_by if open_esc else None,
            escalation_engineer=esc.engineer if open_esc else None,
        )

    @classmethod
    def of_escalation(cls, esc: Any) -> CaseState:
        """From an EscalationView (domain/views.py) with its case's status, as the escalation lists show it."""
        open_esc = esc.state in OPEN_ESCALATION_STATES
        return cls(
            id=esc.case,
            status=esc.case_status or Status.NEW.value,
            assignee=esc.assignee,
            escalation_state=esc.state if open_esc else None,
            escalation_requested_by=esc.requested_by if open_esc else None,
            escalation_engineer=esc.engineer if open_esc else None,
        )


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str | None = None  # why not: one sentence, as the service says it
    refusal: Refusal | None = None

    def __bool__(self) -> bool:
        return self.allowed


YES = Verdict(True)
CASE_WORKERS = (Role.ANALYST, Role.MANAGER)
DESK_LEADS = (Role.MANAGER, Role.SUPERVISOR)
_MOVES = {
    Action.START_WORK: Status.IN_PROGRESS,
    Action.SET_PENDING: Status.PENDING,
    Action.RESOLVE: Status.AWAITING_CONFIRMATION,
    Action.CLOSE: Status.CLOSED,
}
MOVE_ACTIONS = {status: action for action, status in _MOVES.items()}  # the action a move to that status is
# Who may, and how the service says "only ... may <doing>".
_ROLES: dict[Action, tuple[tuple[Role, ...], str]] = {
    Action.START_WORK: (CASE_WORKERS, "move cases"),
    Action.SET_PENDING: (CASE_WORKERS, "move cases"),
    Action.RESOLVE: (CASE_WORKERS, "move cases"),
    Action.CLOSE: (CASE_WORKERS, "close cases"),
    Action.CLONE: (CASE_WORKERS, "clone cases"),
    Action.NOTE: ((*CASE_WORKERS, Role.SUPERVISOR), "write on cases"),
    Action.LOG_CUSTOMER_REPLY: (CASE_WORKERS, "log customer contact"),
    Action.LOG_CONFIRMATION: (CASE_WORKERS, "log a customer confirmation"),
    Action.LOG_ENGINEERING: (CASE_WORKERS, "log defects"),
    Action.LINK_ARTICLE: (CASE_WORKERS, "link articles"),
    Action.TAKE_NEXT: ((Role.ANALYST,), "take cases"),
    Action.REVIEW_ESCALATION: ((Role.MANAGER,), "review escalations"),
    Action.DECIDE_ESCALATION: ((Role.MANAGER,), "decide escalations"),
    Action.STATUS_UPDATE: (CASE_WORKERS, "send escalation status updates"),
}
# What the service says it cannot do to a closed case ("cannot <doing>").
_CLOSED_DOING = {
    Action.NOTE: "add a note",
    Action.REQUEST_ESCALATION: "escalate it",
    Action.LINK_ARTICLE: "link an article",
    Action.TAKE: "reassign it",
    Action.REASSIGN: "reassign it",
    Action.DECIDE_ESCALATION: "decide its escalation",
    Action.STATUS_UPDATE: "send a status update",
    Action.DE_ESCALATE: "de-escalate it",
}


def _a(word: str) -> str:
    return ("an " if word[:1] in "aeiou" else "a ") + word


def _no(reason: str, refusal: Refusal) -> Verdict:
    return Verdict(False, reason, refusal)


def _role_refusal(who: Person, roles: Iterable[Role], doing: str) -> Verdict:
    names = " or ".join(r.value for r in roles)
    return _no(f"{who.name} is {_a(who.role)}: only {_a(names)} may {doing}", Refusal.PERMISSION)


def _closed(case: CaseState, doing: str) -> Verdict:
    return _no(f"case {case.id} is closed: cannot {doing}; closed cases never change (clone it to start new work)",
               Refusal.STATE)


def may(who: Person, action: Action | str, case: CaseState | None = None) -> Verdict:
    """Whether `who` may do `action` to `case` now; if not, why (Verdict.reason)."""
    action = Action(action)
    roles = _ROLES.get(action)
    # The service looks at the case before the person for these two.
    if action in (Action.TAKE, Action.REASSIGN):
        if case is not None and case.status == Status.CLOSED:
            return _closed(case, _CLOSED_DOING[action])
        if action is Action.TAKE and who.role != Role.ANALYST:
            if who.role in DESK_LEADS:  # a lead may assign, but only to an analyst
                return _no(f"{who.name} is {_a(who.role)}: cases are assigned to analysts", Refusal.INPUT)
            return _no(f"{who.name} is {_a(who.role)}: only a manager or supervisor may reassign cases",
                       Refusal.PERMISSION)
        if action is Action.REASSIGN and who.role not in DESK_LEADS:
            return _no(f"{who.name} is {_a(who.role)}: only a manager or supervisor may reassign cases",
                       Refusal.PERMISSION)
        if action is Action.TAKE and case is not None and case.assignee == who.name:
            return _no(f"case {case.id} is already assigned to {who.name}", Refusal.INPUT)
        return YES
    if roles is not None and who.role not in roles[0]:
        return _role_refusal(who, roles[0], roles[1])
    if case is None:
        return YES
    status = Status(case.status)
    closed = status is Status.CLOSED
    open_esc = case.escalation_state if case.escalation_state in OPEN_ESCALATION_STATES else None
    if action in _MOVES:
        target = _MOVES[action]
        if target not in ANALYST_TRANSITIONS[status]:
            return _no(describe_refusal(case.id, status, target.value), Refusal.STATE)
        return YES
    if action is Action.LOG_ENGINEERING:
        on_it = status is Status.PENDING and case.sub_status == SubStatus.DEVELOPMENT
        if not on_it and Status.PENDING not in ANALYST_TRANSITIONS[status]:
            return _no(describe_refusal(case.id, status, Status.PENDING.value), Refusal.STATE)
        return YES
    if action is Action.CLONE:
        if not closed:
            return _no(f"case {case.id} is {status.value}: only a closed case is cloned; work on it instead",
                       Refusal.STATE)
        return YES
    if action is Action.LOG_CONFIRMATION:
        if status is not Status.AWAITING_CONFIRMATION:
            return _no(f"case {case.id} is {status.value}: a confirmation only closes a case awaiting confirmation",
                       Refusal.STATE)
        return YES
    if action is Action.LOG_CUSTOMER_REPLY:
        return YES  # a closed case keeps the reply on its timeline (the service says so)
    if action is Action.REVIEW_ESCALATION:
        if open_esc != EscalationState.REQUESTED:
            return _no(f"case {case.id} has no escalation request awaiting a decision", Refusal.STATE)
        return YES
    if closed and action in _CLOSED_DOING:
        return _closed(case, _CLOSED_DOING[action])
    if action is Action.REQUEST_ESCALATION:
        if open_esc is not None:
            return _no(f"case {case.id} already has an open escalation ({open_esc}); one open escalation per case",
                       Refusal.STATE)
        return YES
    if action is Action.DECIDE_ESCALATION:
        if open_esc != EscalationState.REQUESTED:
            return _no(f"case {case.id} has no escalation request awaiting a decision", Refusal.STATE)
        if case.escalation_requested_by == who.name:
            return _no(f"{who.name} filed this escalation request: another manager must decide it",
                       Refusal.PERMISSION)
        return YES
    if action is Action.STATUS_UPDATE:
        if open_esc != EscalationState.APPROVED:
            return _no(f"case {case.id} has no approved escalation to report on", Refusal.STATE)
        return YES
    if action is Action.DE_ESCALATE:
        if open_esc != EscalationState.APPROVED:
            return _no(f"case {case.id} has no approved escalation to de-escalate", Refusal.STATE)
        if who.role != Role.MANAGER and who.name != case.escalation_engineer:
            return _no(f"{who.name} is {_a(who.role)}: only a manager or the escalation engineer may de-escalate",
                       Refusal.PERMISSION)
        return YES
    return YES  # NOTE, LINK_ARTICLE on an open case


__all__ = ["MOVE_ACTIONS", "Action", "CaseState", "Person", "Refusal", "Verdict", "may"]
