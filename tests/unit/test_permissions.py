"""domain/permissions.py against the real service: for every action, person and kind of case,
`may()` allows exactly what the service does, and when it refuses it names the same error and
says the same sentence. A rule changed on one side only fails here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from deskconsole.domain.errors import DeskError, InvalidInput, InvalidTransition, PermissionDenied
from deskconsole.domain.permissions import Action, CaseState, Person, Refusal, may

PEOPLE = {"alice": "analyst", "bob": "analyst", "mona": "manager", "max": "manager", "sue": "supervisor"}
ERRORS = {Refusal.PERMISSION: PermissionDenied, Refusal.STATE: InvalidTransition, Refusal.INPUT: InvalidInput}
# Cases as the console sees them: every status, both pending kinds, and escalations in each open state.
SCENARIOS = ["new", "in_progress", "pending/customer_input", "pending/development", "awaiting_confirmation",
             "reopened", "update_received", "closed", "requested", "requested_by_mona", "approved"]


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """Plain logic against the service's: one backend is enough."""
    return sqlite_url


def make_case(desk: Any, scenario: str) -> Any:
    svc = desk.svc
    if scenario in ("requested", "requested_by_mona", "approved"):
        case = desk.case_in("in_progress", product_area="billing")
        svc.request_escalation(case.id, "Payroll run blocked",
                               actor="mona" if scenario == "requested_by_mona" else None)
        if scenario == "approved":
            svc.decide_escalation(case.id, "approve", actor="max", reason="Payroll at risk", engineer="bob")
        return svc.get_case(case.id)
    status, _, sub = scenario.partition("/")
    return desk.case_in(status, sub or None, product_area="billing")


def service_call(desk: Any, action: Action, who: str, case: Any, article: int) -> Callable[[], Any]:
    svc, cid = desk.svc, case.id
    other = "cara"  # an analyst who is neither the actor nor (billing cases) the assignee
    return {
        Action.START_WORK: lambda: svc.move(cid, "in_progress", actor=who),
        Action.SET_PENDING: lambda: svc.move(cid, "pending", sub_status="scheduled_service", actor=who),
        Action.RESOLVE: lambda: svc.move(cid, "awaiting_confirmation", note="Cleared the cache.", actor=who),
        Action.CLOSE: lambda: svc.close(cid, reason="done", actor=who),
        Action.CLONE: lambda: svc.clone(cid, actor=who),
        Action.NOTE: lambda: svc.add_note(cid, "called them", actor=who),
        Action.LOG_CUSTOMER_REPLY: lambda: svc.customer_reply(cid, "It works now", actor=who, channel="phone"),
        Action.LOG_CONFIRMATION: lambda: svc.customer_confirm(cid, actor=who, channel="phone"),
        Action.REQUEST_ESCALATION: lambda: svc.request_escalation(cid, "customer asks", actor=who),
        Action.LOG_ENGINEERING: lambda: svc.log_engineering(cid, "BUG-7", "totals off by one", actor=who),
        Action.LINK_ARTICLE: lambda: svc.link_article(cid, article, actor=who),
        Action.TAKE: lambda: svc.assign(cid, who, actor=who),
        Action.REASSIGN: lambda: svc.assign(cid, other, actor=who),
        Action.TAKE_NEXT: lambda: svc.take_next(actor=who),
        Action.REVIEW_ESCALATION: lambda: svc.review_escalation(cid, actor=who, business_risk="payroll"),
        Action.DECIDE_ESCALATION: lambda: svc.decide_escalation(cid, "approve", actor=who, reason="ok"),
        Action.STATUS_UPDATE: lambda: svc.log_status_update(cid, "Still on it", actor=who),
        Action.DE_ESCALATE: lambda: svc.de_escalate(cid, actor=who, plan_accepted=True, rca_on_track=True,
                                                    customer_agreed=True),
    }[action]


def test_may_agrees_with_the_service_on_every_action_person_and_case(desk) -> None:
    desk.svc.add_agent("cara", "analyst", actor="mona", skills=["hardware"], manager="mona")
    article = desk.svc.add_article("Clearing the cache", "Settings, then Clear").id
    disagreements = []
    checked = 0
    for scenario in SCENARIOS:
        shared = make_case(desk, scenario)  # refusals change nothing: one case serves them all
        for who, role in PEOPLE.items():
            for action in Action:
                case = shared
                verdict = may(Person(who, role), action, CaseState.of(case))
                if verdict:  # what succeeds changes the case: a fresh one (maybe routed to someone else)
                    case = make_case(desk, scenario)
                    verdict = may(Person(who, role), action, CaseState.of(case))
                before = desk.snapshot(case.id)
                try:
                    service_call(desk, action, who, case, article)()
                    outcome: tuple[Any, ...] = ("allowed",)
                except DeskError as exc:
                    outcome = ("refused", type(exc), str(exc))
                    assert desk.snapshot(case.id) == before
                expected = ("allowed",) if verdict else ("refused", ERRORS[verdict.refusal], verdict.reason)
                if action is Action.REQUEST_ESCALATION and outcome[0] == expected[0] == "refused":
                    # the service adds since when the open escalation runs
                    outcome, expected = outcome[:2], expected[:2]
                if outcome != expected:
                    disagreements.append(f"{scenario} {who} ({role}) {action}: service {outcome}, may() {expected}")
                checked += 1
    assert checked == len(SCENARIOS) * len(PEOPLE) * len(Action)
    assert disagreements == [], "\n".join(disagreements)


def test_the_reasons_read_as_sentences_a_person_understands() -> None:
    closed = CaseState(7, "closed")
    assert may(Person("sue", "supervisor"), Action.CLOSE, closed).reason == (
        "sue is a supervisor: only an analyst or manager may close cases")
    assert may(Person("alice", "analyst"), Action.NOTE, closed).reason == (
        "case 7 is closed: cannot add a note; closed cases never change (clone it to start new work)")
    assert may(Person("alice", "analyst"), Action.RESOLVE, CaseState(3, "new")).reason.startswith(
        "case 3 is new: cannot move to awaiting_confirmation; allowed next:")
    approved = CaseState(4, "in_progress", escalation_state="approved", escalation_engineer="bob")
    assert may(Person("bob", "analyst"), Action.DE_ESCALATE, approved)
    refused = may(Person("alice", "analyst"), Action.DE_ESCALATE, approved)
    assert not refused and refused.refusal is Refusal.PERMISSION and "escalation engineer" in refused.reason
    assert may(Person("alice", "analyst"), "take_next")  # the action by its name, no case
