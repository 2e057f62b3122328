"""Issue 2: escalation requests, the manager's review and decision, de-escalation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from deskconsole.domain.errors import InvalidInput, InvalidTransition, NotFound, PermissionDenied
from deskconsole.store.models import Timer

DAY = timedelta(days=1)


def _billing_case(desk, assignee: str = "alice", **kw):
    """A billing case worked by `assignee` (routing gives alice the first one; reassign for bob)."""
    case = desk.case_in("in_progress", product_area="billing", **kw)
    if case.assignee != assignee:
        case = desk.svc.assign(case.id, assignee, actor="mona")
    assert case.assignee == assignee
    return case


def _approved(desk):
    case = _billing_case(desk)
    desk.svc.request_escalation(case.id, "Payroll run blocked")
    return desk.svc.decide_escalation(case.id, "approve", actor="mona", reason="Payroll at risk")


# --- filing ----------------------------------------------------------------------


def test_customer_request_notifies_the_analysts_manager(desk) -> None:
    case = _billing_case(desk)
    after = desk.svc.request_escalation(case.id, "Our payroll run is blocked")
    esc = after.escalation
    assert (esc.state, esc.requested_by, esc.on_behalf) == ("requested", "customer:acme", False)
    assert esc.manager == "mona" and esc.reason == "Our payroll run is blocked"
    assert (after.status, after.priority) == (case.status, case.priority)  # work carries on as before
    sent = [o for o in desk.outbox(case.id) if o.kind == "escalation_requested"]
    assert len(sent) == 1 and sent[0].to == "mona" and "payroll run is blocked" in sent[0].body
    assert [e.id for e in desk.svc.list_escalations("requested")] == [esc.id]
    # work continues while the request waits
    moved = desk.svc.move(case.id, "pending", sub_status="third_party", actor="alice")
    assert moved.status == "pending" and moved.escalation.state == "requested"

    # an analyst files on the customer's behalf; bob's manager is max
    case = _billing_case(desk, assignee="bob")
    after = desk.svc.request_escalation(case.id, "Customer called: quarter-end close", actor="bob")
    assert (after.escalation.requested_by, after.escalation.on_behalf) == ("bob", True)
    assert [o.to for o in desk.outbox(case.id) if o.kind == "escalation_requested"] == ["max"]
    assert after.events[-1].kind == "escalation_requested" and after.events[-1].actor == "bob"

    # nobody assigned: any manager
    case = desk.open(title="Warehouse robot stuck", product_area="robotics")
    assert case.assignee is None
    desk.svc.request_escalation(case.id, "Line is down")
    assert [o.to for o in desk.outbox(case.id) if o.kind == "escalation_requested"] == ["managers"]


def test_one_open_escalation_per_case(desk) -> None:
    case = _billing_case(desk)
    desk.svc.request_escalation(case.id, "First ask")
    before = desk.snapshot(case.id)
    with pytest.raises(InvalidTransition, match="already has an open escalation"):
        desk.svc.request_escalation(case.id, "Second ask", actor="alice")
    assert desk.snapshot(case.id) == before

    desk.svc.decide_escalation(case.id, "approve", actor="mona")
    with pytest.raises(InvalidTransition, match="already has an open escalation"):
        desk.svc.request_escalation(case.id, "Third ask")  # approved is still open

    # a denied request is settled: the customer may ask again
    other = _billing_case(desk)
    desk.svc.request_escalation(other.id, "First ask")
    desk.svc.decide_escalation(other.id, "deny", actor="mona", reason="Workaround exists")
    again = desk.svc.request_escalation(other.id, "Workaround stopped working")
    assert again.escalation.state == "requested"


def test_blank_reason_and_unknown_agent_are_refused(desk) -> None:
    case = _billing_case(desk)
    before = desk.snapshot(case.id)
    with pytest.raises(InvalidInput):
        desk.svc.request_escalation(case.id, "  ")
    with pytest.raises(NotFound):
        desk.svc.request_escalation(case.id, "Urgent", actor="mallory")
    assert desk.snapshot(case.id) == before


# --- review and decision ---------------------------------------------------------------


def test_review_stores_the_assessment_and_checklist(desk) -> None:
    case = _billing_case(desk)
    desk.svc.request_escalation(case.id, "Blocked")
    view = desk.svc.review_escalation(
        case.id, actor="mona", severity_impact="All invoices wrong", business_risk="Revenue",
        sla_commitments="P2: 4h", actions_taken="Cache cleared", problem_statement_ok=True,
        impact_described=True, workaround_impractical=False, milestone_date="2026-12-01",
    )
    stored = desk.svc.get_case(case.id).escalation
    for esc in (view, stored):
        assert (esc.severity_impact, esc.business_risk, esc.sla_commitments, esc.actions_taken) == (
            "All invoices wrong", "Revenue", "P2: 4h", "Cache cleared")
        assert (esc.problem_statement_ok, esc.impact_described, esc.workaround_impractical) == (True, True, False)
        assert esc.milestone_date == "2026-12-01" and esc.state == "requested"
    assert desk.svc.get_case(case.id).events[-1].kind == "escalation_reviewed"


def test_only_a_manager_reviews_and_decides(desk) -> None:
    case = _billing_case(desk)
    desk.svc.request_escalation(case.id, "Blocked")
    before = desk.snapshot(case.id)
    with pytest.raises(PermissionDenied, match="alice is an analyst"):
        desk.svc.review_escalation(case.id, actor="alice", business_risk="big")
    for who in ("alice", "sue"):
        for decision in ("approve", "deny"):
            with pytest.raises(PermissionDenied, match=f"{who} is an? (analyst|supervisor): only a manager"):
                desk.svc.decide_escalation(case.id, decision, actor=who, reason="no")
    assert desk.snapshot(case.id) == before


def test_a_manager_does_not_decide_their_own_request(desk) -> None:
    case = _billing_case(desk)
    desk.svc.request_escalation(case.id, "I think this needs escalating", actor="mona")
    before = desk.snapshot(case.id)
    with pytest.raises(PermissionDenied, match="another manager"):
        desk.svc.decide_escalation(case.id, "approve", actor="mona")
    assert desk.snapshot(case.id) == before
    assert desk.svc.decide_escalation(case.id, "approve", actor="max").escalation.decided_by == "max"


def test_deciding_without_a_request_is_refused(desk) -> None:
    case = _billing_case(desk)
    before = desk.snapshot(case.id)
    with pytest.raises(InvalidTransition, match="no escalation request"):
        desk.svc.decide_escalation(case.id, "approve", actor="mona")
    assert desk.snapshot(case.id) == before


def test_approval_raises_priority_names_engineer_and_records_the_plan(desk) -> None:
    start = desk.clock.now()
    case = _billing_case(desk)
    assert case.priority == "P3"
    desk.svc.request_escalation(case.id, "Payroll blocked")
    after = desk.svc.decide_escalation(
        case.id, "approve", actor="mona", reason="Payroll at risk", engineer="max",
        comm_mode="conference_call", comm_frequency="twice daily", comm_attendees="acme CFO, max, alice",
    )
    esc = after.escalation
    assert after.priority == "P2" and esc.prior_priority == "P3"
    assert (esc.state, esc.decided_by, esc.decided_at, esc.decision_reason) == (
        "approved", "mona", start, "Payroll at risk")
    assert esc.engineer == "max"
    assert (esc.comm_mode, esc.comm_frequency, esc.comm_attendees) == (
        "conference_call", "twice daily", "acme CFO, max, alice")
    assert esc.status_update_due == start + DAY
    assert after.status == case.status
    kinds = [e.kind for e in after.events]
    assert "escalation_approved" in kinds and "priority_changed" in kinds
    told = [o for o in desk.outbox(case.id) if o.kind == "escalation_approved"]
    assert len(told) == 1 and told[0].to == "help@acme.example" and "max" in told[0].body
    assert desk.svc.list_escalations("approved")[0].case == case.id


def test_approval_of_a_p1_case_stays_p1(desk) -> None:
    case = desk.case_in("in_progress", product_area="billing", severity="production_down")
    assert case.priority == "P1"
    desk.svc.request_escalation(case.id, "Everything is down")
    after = desk.svc.decide_escalation(case.id, "approve", actor="mona")
    assert after.priority == "P1" and after.escalation.prior_priority == "P1"
    assert "priority_changed" not in [e.kind for e in after.events]


def test_unknown_communication_mode_is_refused(desk) -> None:
    case = _billing_case(desk)
    desk.svc.request_escalation(case.id, "Blocked")
    before = desk.snapshot(case.id)
    with pytest.raises(InvalidInput, match="communication mode"):
        desk.svc.decide_escalation(case.id, "approve", actor="mona", comm_mode="carrier_pigeon")
    with pytest.raises(InvalidInput):
        desk.svc.decide_escalation(case.id, "maybe", actor="mona")
    with pytest.raises(NotFound):
        desk.svc.decide_escalation(case.id, "approve", actor="mona", engineer="nobody")
    assert desk.snapshot(case.id) == before


def test_an_escalated_case_expects_a_daily_status_update(desk) -> None:
    start = desk.clock.now()
    case = _billing_case(desk)
    desk.svc.request_escalation(case.id, "Blocked")
    desk.svc.decide_escalation(case.id, "approve", actor="mona", engineer="max")

    assert desk.svc.tick(start + DAY - timedelta(seconds=1)) == []
    fired = desk.svc.tick(start + DAY)
    assert [(f.timer, f.due) for f in fired] == [("status_update", start + DAY)]
    view = desk.svc.get_case(case.id)
    assert view.attention == "daily escalation status update due"
    assert [o.to for o in desk.outbox(case.id) if o.kind == "status_update_due"] == ["max"]
    assert view.escalation.status_update_due == start + 2 * DAY

    desk.clock.set(start + DAY + timedelta(hours=3))
    sent = desk.svc.log_status_update(case.id, "Patch in QA, next update tomorrow.", actor="alice")
    assert sent.attention is None
    assert sent.escalation.status_update_due == start + 2 * DAY + timedelta(hours=3)
    assert [o.body for o in desk.outbox(case.id) if o.kind == "status_update"] == [
        "Patch in QA, next update tomorrow."]


def test_a_late_tick_flags_the_daily_update_once(desk) -> None:
    start = desk.clock.now()
    case = _billing_case(desk)
    desk.svc.request_escalation(case.id, "Blocked")
    desk.svc.decide_escalation(case.id, "approve", actor="mona")
    late = start + 5 * DAY + timedelta(hours=1)
    fired = desk.svc.tick(late)
    assert [(f.timer, f.due) for f in fired] == [("status_update", start + DAY)]
    assert desk.svc.get_case(case.id).escalation.status_update_due == start + 6 * DAY
    assert desk.svc.tick(late) == []


def test_denial_needs_a_reason_sends_the_analyst_a_follow_up_and_the_case_carries_on(desk) -> None:
    case = _billing_case(desk, assignee="bob")
    desk.svc.request_escalation(case.id, "Blocked")
    before = desk.snapshot(case.id)
    for reason in (None, "", "   "):
        with pytest.raises(InvalidInput, match="reason"):
            desk.svc.decide_escalation(case.id, "deny", actor="max", reason=reason)
    assert desk.snapshot(case.id) == before

    after = desk.svc.decide_escalation(case.id, "deny", actor="max", reason="A workaround exists")
    assert after.escalation.state == "denied" and after.escalation.decision_reason == "A workaround exists"
    assert (after.status, after.priority) == (case.status, case.priority)
    assert after.attention and "explain" in after.attention
    follow = [o for o in desk.outbox(case.id) if o.kind == "escalation_denied"]
    assert len(follow) == 1 and follow[0].to == "bob" and "A workaround exists" in follow[0].body
    assert desk.svc.tick(desk.clock.now() + 3 * DAY) == []  # no daily updates for a denied request
    moved = desk.svc.move(case.id, "awaiting_confirmation", note="Use the CSV export meanwhile.", actor="bob")
    assert moved.status == "awaiting_confirmation"


# --- de-escalation ----------------------------------------------------------------------


def test_de_escalation_needs_all_three_confirmations(desk) -> None:
    case = _approved(desk)
    before = desk.snapshot(case.id)
    combos = [(a, b, c) for a in (True, False) for b in (True, False) for c in (True, False)][1:]
    for plan, rca, agreed in combos:
        with pytest.raises(InvalidInput, match="de-escalation needs confirmation") as refused:
            desk.svc.de_escalate(case.id, actor="mona", plan_accepted=plan, rca_on_track=rca,
                                 customer_agreed=agreed)
        message = str(refused.value)
        assert ("action plan" in message) is (not plan)
        assert ("root-cause" in message) is (not rca)
        assert ("agreement" in message) is (not agreed)
    assert desk.snapshot(case.id) == before

    fresh = _billing_case(desk)
    desk.svc.request_escalation(fresh.id, "Blocked")
    with pytest.raises(InvalidTransition, match="no approved escalation"):
        desk.svc.de_escalate(fresh.id, actor="mona", plan_accepted=True, rca_on_track=True, customer_agreed=True)


def test_de_escalation_restores_priority_and_stops_the_daily_updates(desk) -> None:
    start = desk.clock.now()
    case = _approved(desk)
    assert case.priority == "P2"
    desk.later(hours=30)
    desk.svc.tick()
    after = desk.svc.de_escalate(case.id, actor="max", plan_accepted=True, rca_on_track=True,
                                 customer_agreed=True, note="Customer agreed on the call")
    assert after.priority == "P3"
    assert (after.escalation.state, after.escalation.de_escalated_by) == ("de_escalated", "max")
    assert after.attention is None
    assert [t.state for t in desk.rows(Timer, case_id=case.id, kind="status_update")] == ["fired", "cancelled"]
    assert desk.svc.tick(start + 10 * DAY) == []
    assert desk.outbox(case.id)[-1].kind == "de_escalated"


def test_the_escalation_engineer_may_de_escalate_another_analyst_may_not(desk) -> None:
    case = _billing_case(desk)
    desk.svc.request_escalation(case.id, "Blocked")
    desk.svc.decide_escalation(case.id, "approve", actor="mona", engineer="bob")
    before = desk.snapshot(case.id)
    with pytest.raises(PermissionDenied, match="only a manager or the escalation engineer"):
        desk.svc.de_escalate(case.id, actor="alice", plan_accepted=True, rca_on_track=True, customer_agreed=True)
    assert desk.snapshot(case.id) == before
    after = desk.svc.de_escalate(case.id, actor="bob", plan_accepted=True, rca_on_track=True, customer_agreed=True)
    assert after.escalation.state == "de_escalated" and after.priority == "P3"



def test_a_late_auto_close_cancels_the_daily_update_falling_due_after_it(desk) -> None:
    """In one late tick, timers take effect in due order: once the case auto-closed, its daily
    status update (due later) is cancelled, not fired on a closed case."""
    start = desk.clock.now()
    case = desk.case_in("awaiting_confirmation", product_area="billing")  # auto-close at 14 days
    desk.clock.set(start + timedelta(days=13, hours=12))
    desk.svc.request_escalation(case.id, "Still waiting on a confirmation call")
    desk.svc.decide_escalation(case.id, "approve", actor="mona")  # daily update due at 14.5 days
    fired = desk.svc.tick(start + 16 * DAY)
    assert [(f.timer, f.due) for f in fired] == [("auto_close", start + 14 * DAY), ("followup", start + 15 * DAY)]
    assert [t.state for t in desk.rows(Timer, case_id=case.id, kind="status_update")] == ["cancelled"]
    assert "status_update_due" not in [o.kind for o in desk.outbox(case.id)]


def test_the_manager_is_notified_at_their_e_mail_address(desk) -> None:
    desk.svc.add_agent("meg", "manager", actor="mona", email="meg@desk.example")
    desk.svc.add_agent("ann", "analyst", actor="mona", skills=["printing"], manager="meg")
    case = desk.open(title="Printer offline", product_area="printing")
    assert case.assignee == "ann"
    desk.svc.request_escalation(case.id, "Whole office cannot print")
    assert [o.to for o in desk.outbox(case.id) if o.kind == "escalation_requested"] == ["meg@desk.example"]
