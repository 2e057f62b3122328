"""Issue 2: the status table of LIFECYCLE.md, every pair, on SQLite and PostgreSQL.

The expected table is written out here from LIFECYCLE.md on purpose (not imported
from the domain module), so a wrong table in the code fails these tests.
"""

from __future__ import annotations

import pytest
from lifecycle_table import ALLOWED, STATUSES, SUB_STATUSES

from deskconsole.domain.errors import DeskError, InvalidInput, InvalidTransition, NotFound


def _attempt(desk, case, target: str):
    """Try an analyst move with everything the target needs, so only the table can refuse it."""
    sub = None
    if target == "pending":
        # a case put into pending by the recipe sits in customer_input: ask for another one
        sub = "development" if case.sub_status == "customer_input" else "customer_input"
    note = {"awaiting_confirmation": "Restarted the billing job.", "closed": "confirmed by phone"}.get(target)
    if sub == "customer_input":
        note = "Which billing run shows the wrong total?"  # the question sent to the customer
    return desk.svc.move(case.id, target, sub_status=sub, note=note, actor="alice")


def _check_pair(desk, source: str, target: str, refusing) -> None:
    # an allowed move gets a fresh case; refused ones share one (each proves it changed nothing)
    case = desk.case_in(source) if target in ALLOWED[source] else refusing
    assert case.status == source
    before = desk.snapshot(case.id)

    if target in ALLOWED[source]:
        after = _attempt(desk, case, target)
        assert after.status == target
        assert after.version > case.version
        if target == "pending":
            assert after.sub_status in SUB_STATUSES and after.sub_status != case.sub_status
        else:
            assert after.sub_status is None
        moved = [e for e in after.events if e.kind == "status_changed"][-1]
        assert (moved.data["from"], moved.data["to"], moved.actor) == (source, target, "alice")
        assert desk.svc.get_case(case.id).status == target
    else:
        with pytest.raises(InvalidTransition) as refused:
            _attempt(desk, case, target)
        message = str(refused.value)
        assert f"case {case.id}" in message
        assert source in message
        for nxt in ALLOWED[source]:
            assert nxt in message, f"allowed next status {nxt} missing from: {message}"
        if source == "closed":
            assert "clone" in message
        assert desk.snapshot(case.id) == before, "a refused move changed the case"


# One test per source status (a fresh database costs ~0.3 s on PostgreSQL), each pair on
# its own case; every failing pair is reported, not just the first.
@pytest.mark.parametrize("source", STATUSES)
def test_every_pair_of_the_status_table(desk, source: str) -> None:
    failures = []
    refusing = desk.case_in(source)
    for target in STATUSES:
        try:
            _check_pair(desk, source, target, refusing)
        except (AssertionError, pytest.fail.Exception, DeskError) as exc:
            verdict = "allowed" if target in ALLOWED[source] else "refused"
            failures.append(f"{source} -> {target} (should be {verdict}): {exc}")
    assert not failures, "\n".join(failures)


def _refusal_lists_exactly_the_allowed_next_statuses(desk) -> None:
    case = desk.case_in("awaiting_confirmation")
    with pytest.raises(InvalidTransition) as refused:
        desk.svc.move(case.id, "in_progress", actor="alice")
    assert str(refused.value).endswith("allowed next: closed")


# --- what each target needs ------------------------------------------------------


def _pending_needs_a_sub_status(desk) -> None:
    for source in ["new", "in_progress", "reopened", "update_received"]:
        case = desk.case_in(source)
        before = desk.snapshot(case.id)
        with pytest.raises(InvalidInput, match="sub-status"):
            desk.svc.move(case.id, "pending", actor="alice")
        assert desk.snapshot(case.id) == before, source


def _pending_to_pending_needs_a_different_sub_status(desk) -> None:
    for sub in SUB_STATUSES:
        case = desk.case_in("pending", sub)
        assert (case.status, case.sub_status) == ("pending", sub)
        before = desk.snapshot(case.id)
        with pytest.raises(InvalidTransition) as refused:
            desk.svc.move(case.id, "pending", sub_status=sub, actor="alice")
        message = str(refused.value)
        assert f"case {case.id}" in message and f"pending/{sub}" in message
        other_subs = [s for s in SUB_STATUSES if s != sub]
        assert all(nxt in message for nxt in ["in_progress", "awaiting_confirmation", "closed", *other_subs]), message
        assert desk.snapshot(case.id) == before, sub

        for other in SUB_STATUSES:
            if other != sub:
                question = "Which version do you run?" if other == "customer_input" else None
                moved = desk.svc.move(case.id, "pending", sub_status=other, note=question, actor="alice")
                assert (moved.status, moved.sub_status) == ("pending", other)


def _unknown_sub_status_and_sub_status_off_pending_are_refused(desk) -> None:
    case = desk.case_in("new")
    before = desk.snapshot(case.id)
    with pytest.raises(InvalidInput, match="sub-status"):
        desk.svc.move(case.id, "pending", sub_status="waiting_for_godot", actor="alice")
    with pytest.raises(InvalidInput, match="only pending"):
        desk.svc.move(case.id, "in_progress", sub_status="development", actor="alice")
    with pytest.raises(InvalidInput, match="status"):
        desk.svc.move(case.id, "solved", actor="alice")
    assert desk.snapshot(case.id) == before


def _awaiting_confirmation_needs_a_resolution(desk) -> None:
    case = desk.case_in("in_progress")
    before = desk.snapshot(case.id)
    for note in [None, "", "   \n\t"]:
        with pytest.raises(InvalidInput, match="resolution"):
            desk.svc.move(case.id, "awaiting_confirmation", note=note, actor="alice")
    assert desk.snapshot(case.id) == before


def _awaiting_confirmation_keeps_the_resolution_and_tells_the_customer(desk) -> None:
    case = desk.case_in("in_progress")
    after = desk.svc.move(case.id, "awaiting_confirmation", note="Rebuilt the index.", actor="alice")
    assert after.resolution == "Rebuilt the index."
    sent = [o for o in desk.outbox(case.id) if o.kind == "awaiting_confirmation"]
    assert len(sent) == 1
    assert sent[0].to == "help@acme.example" and "Rebuilt the index." in sent[0].body


def _closing_needs_a_reason(desk) -> None:
    case = desk.case_in("in_progress")
    before = desk.snapshot(case.id)
    for reason in [None, "", "  "]:
        with pytest.raises(InvalidInput, match="reason"):
            desk.svc.close(case.id, reason=reason, actor="alice")
        with pytest.raises(InvalidInput, match="reason"):
            desk.svc.move(case.id, "closed", note=reason, actor="alice")
    assert desk.snapshot(case.id) == before


def _close_records_reason_time_and_sends_the_survey(desk) -> None:
    case = desk.case_in("in_progress")
    desk.later(hours=3)
    closed = desk.svc.close(case.id, reason="withdrawn by the customer", actor="alice")
    assert closed.status == "closed" and closed.close_reason == "withdrawn by the customer"
    assert closed.closed_at == desk.clock.now()
    assert [o.kind for o in desk.outbox(case.id)] == ["survey"]


def _closed_case_refuses_every_analyst_action(desk) -> None:
    case = desk.case_in("closed")
    before = desk.snapshot(case.id)
    svc = desk.svc
    refusals = [
        lambda: svc.close(case.id, reason="again", actor="alice"),
        lambda: svc.add_note(case.id, "more", actor="alice"),
        lambda: svc.assign(case.id, "bob", actor="mona"),
        lambda: svc.request_escalation(case.id, "urgent"),
        lambda: svc.log_engineering(case.id, "BUG-1", "crash", actor="alice"),
    ]
    for attempt in refusals:
        with pytest.raises(InvalidTransition, match=f"case {case.id} is closed"):
            attempt()
    assert desk.snapshot(case.id) == before


def _unknown_case_is_refused(desk) -> None:
    with pytest.raises(NotFound, match="unknown case 999"):
        desk.svc.move(999, "in_progress", actor="alice")
    with pytest.raises(NotFound):
        desk.svc.customer_reply(999, "hello")
    for huge in (2**63, 10**20, -1):  # beyond BIGINT: still a plain "unknown case", on both databases
        with pytest.raises(NotFound, match="unknown case"):
            desk.svc.get_case(huge)


# --- customer events -------------------------------------------------------------


def _reply_events(case):
    return [e for e in case.events if e.kind == "customer_replied"]


def _reply_on_awaiting_confirmation_reopens(desk) -> None:
    case = desk.case_in("awaiting_confirmation")
    after, notice = desk.svc.customer_reply(case.id, "It broke again this morning.")
    assert notice is None
    assert after.status == "reopened"
    assert after.auto_close_at is None  # the 14-day countdown stops
    assert _reply_events(after)[-1].body == "It broke again this morning."
    assert _reply_events(after)[-1].actor == "customer:acme"


def _reply_on_pending_means_update_received(desk) -> None:
    for sub in SUB_STATUSES:
        case = desk.case_in("pending", sub)
        after, notice = desk.svc.customer_reply(case.id, "Here is the screenshot.")
        assert notice is None
        assert (after.status, after.sub_status) == ("update_received", None), sub
        assert after.reminder_at is None and after.auto_close_at is None
        assert _reply_events(after)[-1].body == "Here is the screenshot."


def _reply_on_other_open_statuses_only_adds_to_the_timeline(desk) -> None:
    for source in ["new", "in_progress", "reopened", "update_received"]:
        case = desk.case_in(source)
        after, notice = desk.svc.customer_reply(case.id, "Any news?")
        assert notice is None
        assert (after.status, after.sub_status) == (case.status, case.sub_status), source
        assert len(_reply_events(after)) == len(_reply_events(case)) + 1
        assert _reply_events(after)[-1].body == "Any news?"


def test_reply_on_closed_is_kept_and_says_to_clone(desk) -> None:
    case = desk.case_in("closed")
    after, notice = desk.svc.customer_reply(case.id, "Actually it is still broken.")
    assert after.status == "closed"
    assert after.version == case.version  # a closed case never changes
    assert after.closed_at == case.closed_at
    assert _reply_events(after)[-1].body == "Actually it is still broken."
    assert notice and "clone" in notice and str(case.id) in notice
    assert desk.svc.get_case(case.id).events[-1].body == "Actually it is still broken."


def _blank_reply_is_refused(desk) -> None:
    case = desk.case_in("in_progress")
    before = desk.snapshot(case.id)
    with pytest.raises(InvalidInput):
        desk.svc.customer_reply(case.id, "   ")
    assert desk.snapshot(case.id) == before


def _confirmation_closes_a_case_awaiting_confirmation(desk) -> None:
    case = desk.case_in("awaiting_confirmation")
    desk.later(hours=5)
    closed = desk.svc.customer_confirm(case.id)
    assert closed.status == "closed"
    assert closed.closed_at == desk.clock.now()
    assert "confirmed" in closed.close_reason
    assert closed.auto_close_at is None
    assert closed.survey is not None and closed.survey.answered_at is None
    assert [e.kind for e in closed.events][-3:] == ["customer_confirmed", "status_changed", "article_drafted"]


def _confirmation_elsewhere_is_refused(desk) -> None:
    for source in [s for s in STATUSES if s != "awaiting_confirmation"]:
        case = desk.case_in(source)
        before = desk.snapshot(case.id)
        with pytest.raises(InvalidTransition) as refused:
            desk.svc.customer_confirm(case.id)
        assert f"case {case.id} is {source}" in str(refused.value)
        assert desk.snapshot(case.id) == before, source


# --- clones -------------------------------------------------------------------------


def _clone_of_a_closed_case_opens_a_new_linked_case(desk) -> None:
    case = desk.case_in("closed", title="Login loops back to the start page", severity="high")
    before = desk.snapshot(case.id)
    desk.later(days=3)
    clone = desk.svc.clone(case.id, actor="alice")
    assert clone.id != case.id
    assert clone.status == "new" and clone.cloned_from == case.id
    assert (clone.title, clone.customer, clone.priority) == (case.title, case.customer, "P2")
    assert clone.created_at == desk.clock.now()
    source = desk.svc.get_case(case.id)
    assert source.status == "closed" and source.version == case.version
    assert source.events[-1].kind == "cloned" and source.events[-1].data["clone"] == clone.id
    assert desk.snapshot(case.id)["case"] == before["case"]


def _clone_of_an_open_case_is_refused(desk) -> None:
    opened = len(desk.svc.list_cases())
    for source in [s for s in STATUSES if s != "closed"]:
        case = desk.case_in(source)
        opened += 1
        before = desk.snapshot(case.id)
        with pytest.raises(InvalidTransition, match=f"case {case.id}"):
            desk.svc.clone(case.id, actor="alice")
        assert desk.snapshot(case.id) == before, source
        assert len(desk.svc.list_cases()) == opened  # no clone was made


# --- the checks above, grouped: one fresh database per group keeps PostgreSQL runs short ---------


def test_pending_needs_a_sub_status_and_a_different_one_to_change_it(desk) -> None:
    _pending_needs_a_sub_status(desk)
    _pending_to_pending_needs_a_different_sub_status(desk)
    _unknown_sub_status_and_sub_status_off_pending_are_refused(desk)


def test_awaiting_confirmation_needs_a_resolution_and_sends_it(desk) -> None:
    _awaiting_confirmation_needs_a_resolution(desk)
    _awaiting_confirmation_keeps_the_resolution_and_tells_the_customer(desk)
    _refusal_lists_exactly_the_allowed_next_statuses(desk)


def test_closing_needs_a_reason_and_records_it(desk) -> None:
    _closing_needs_a_reason(desk)
    _close_records_reason_time_and_sends_the_survey(desk)


def test_closed_and_unknown_cases_refuse_analyst_actions(desk) -> None:
    _closed_case_refuses_every_analyst_action(desk)
    _unknown_case_is_refused(desk)


def test_customer_reply_on_open_cases(desk) -> None:
    _reply_on_awaiting_confirmation_reopens(desk)
    _reply_on_pending_means_update_received(desk)
    _reply_on_other_open_statuses_only_adds_to_the_timeline(desk)
    _blank_reply_is_refused(desk)


def test_customer_confirmation(desk) -> None:
    _confirmation_closes_a_case_awaiting_confirmation(desk)
    _confirmation_elsewhere_is_refused(desk)


def test_clones(desk) -> None:
    _clone_of_a_closed_case_opens_a_new_linked_case(desk)
    _clone_of_an_open_case_is_refused(desk)
