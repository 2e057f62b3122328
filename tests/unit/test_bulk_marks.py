"""Bulk actions on several cases (issue 17): Service.apply_many closes, moves, assigns, replies and applies
a macro to each case on its own, versions checked per case, and reports each refusal with its reason;
Service.undo_many takes a bulk close or assign back as a whole within the undo window. Both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest

from deskconsole.domain.errors import Conflict, InvalidInput, InvalidTransition
from deskconsole.service import ApplyMacro, Assign, Close, Move, Reply

MACROS = """\
[macros.duplicate]
note = "Duplicate of an older case"
status = "closed"

[macros.ask-for-logs]
reply = "Hello {customer}, please send the logs of case {case.id}."
status = "pending"
sub_status = "customer_input"
"""


def test_a_bulk_close_closes_each_case_and_refuses_the_one_changed_since_it_was_read(desk) -> None:
    cases = [desk.case_in("in_progress") for _ in range(3)]
    shown = {c.id: c.version for c in cases}
    desk.svc.add_note(cases[1].id, "someone else wrote meanwhile", actor="bob")  # after the console read it
    outcomes = desk.svc.apply_many(list(shown), Close(reason="withdrawn"), actor="alice", versions=shown)
    assert [o.case_id for o in outcomes] == list(shown)
    assert [o.done for o in outcomes] == [True, False, True]
    refused = outcomes[1]
    assert isinstance(refused.error, Conflict) and "bob added an internal note" in str(refused.error)
    assert desk.svc.get_case(cases[1].id).status == "in_progress"
    for o in (outcomes[0], outcomes[2]):
        view = desk.svc.get_case(o.case_id)
        assert (view.status, view.close_reason) == ("closed", "withdrawn")
        assert [e.kind for e in view.events if e.actor == "alice"][-1] == "status_changed"  # audited, per case
        assert o.case is not None and o.case.version == view.version


def test_a_bulk_reply_writes_one_text_to_each_customer_through_the_outbox(desk) -> None:
    a = desk.case_in("in_progress", customer="acme")
    b = desk.case_in("new", customer="globex")
    closed = desk.case_in("closed", customer="initech")
    outcomes = desk.svc.apply_many([a.id, b.id, closed.id], Reply("We are on it: a fix ships on Friday."),
                                   actor="alice")
    assert [o.done for o in outcomes] == [True, True, False]
    assert "closed" in str(outcomes[2].error)
    for case, to in ((a, "help@acme.example"), (b, "help@globex.example")):
        [sent] = [o for o in desk.outbox(case.id) if o.kind == "comment"]
        assert sent.to == to and sent.body == "We are on it: a fix ships on Friday."
    assert [o for o in desk.outbox(closed.id) if o.kind == "comment"] == []
    with pytest.raises(InvalidInput, match="reply is required"):
        desk.svc.apply_many([a.id], Reply(None), actor="alice")  # type: ignore[arg-type]


def test_a_bulk_macro_applies_to_each_case_and_refuses_a_closed_one(desk) -> None:
    desk.svc.load_macros(MACROS, actor="mona")
    a = desk.case_in("in_progress", customer="acme")
    closed = desk.case_in("closed")
    outcomes = desk.svc.apply_many([a.id, closed.id], ApplyMacro("ask-for-logs"), actor="alice")
    assert [o.done for o in outcomes] == [True, False]
    view = desk.svc.get_case(a.id)
    assert (view.status, view.sub_status) == ("pending", "customer_input")
    [question] = [o for o in desk.outbox(a.id) if o.kind == "question"]
    assert f"Hello acme, please send the logs of case {a.id}." in question.body


def test_a_bulk_move_to_pending_asks_each_customer_the_question(desk) -> None:
    cases = [desk.case_in("in_progress") for _ in range(2)]
    new = desk.case_in("awaiting_confirmation")
    outcomes = desk.svc.apply_many([c.id for c in cases] + [new.id],
                                   Move("pending", "customer_input", note="Which version do you run?"),
                                   actor="alice")
    assert [o.done for o in outcomes] == [True, True, False]
    assert isinstance(outcomes[2].error, InvalidTransition)
    for c in cases:
        assert [o.body for o in desk.outbox(c.id) if o.kind == "question"][-1].count("Which version do you run?")


def test_undo_many_takes_a_bulk_close_back_and_reports_what_it_could_not(desk, clock) -> None:
    cases = [desk.case_in("in_progress") for _ in range(3)]
    outcomes = desk.svc.apply_many([c.id for c in cases], Close(reason="duplicate"), actor="alice")
    done = {o.case_id: o.case.version for o in outcomes if o.case is not None}
    clock.advance(timedelta(seconds=5))
    desk.svc.undo_close(cases[2].id, actor="mona")  # a manager already took that close back
    undone = desk.svc.undo_many(done, Close(reason="duplicate"), actor="alice")
    assert [o.done for o in undone] == [True, True, False]
    assert isinstance(undone[2].error, Conflict)
    assert [desk.svc.get_case(c.id).status for c in cases] == ["in_progress"] * 3
    assert "mona undid the close" in str(undone[2].error)
    survey_states = {o.state for o in desk.outbox(cases[0].id) if o.kind == "survey"}
    assert survey_states == {"cancelled"}


def test_undo_many_after_the_window_changes_nothing(desk, clock) -> None:
    cases = [desk.case_in("in_progress") for _ in range(2)]
    outcomes = desk.svc.apply_many([c.id for c in cases], Close(reason="duplicate"), actor="alice")
    clock.advance(timedelta(seconds=10))
    undone = desk.svc.undo_many({o.case_id: o.case.version for o in outcomes}, Close("duplicate"), actor="alice")
    assert not any(o.done for o in undone)
    assert all("undo window" in str(o.error) for o in undone)
    assert {desk.svc.get_case(c.id).status for c in cases} == {"closed"}


def test_a_bulk_assign_is_undone_back_to_each_previous_assignee(desk, clock) -> None:
    a = desk.case_in("in_progress", actor="alice")
    b = desk.case_in("in_progress", actor="bob")
    outcomes = desk.svc.apply_many([a.id, b.id], Assign(None), actor="mona")
    assert [desk.svc.get_case(c.id).assignee for c in (a, b)] == [None, None]
    clock.advance(timedelta(seconds=3))
    undone = desk.svc.undo_many({o.case_id: o.case.version for o in outcomes}, Assign(None), actor="mona")
    assert [o.done for o in undone] == [True, True]
    assert [desk.svc.get_case(c.id).assignee for c in (a, b)] == ["alice", "bob"]
    with pytest.raises(InvalidInput, match="only a bulk close or a bulk assign"):
        desk.svc.undo_many({a.id: 1}, Reply("x"), actor="mona")  # type: ignore[arg-type]


def test_the_consoles_brief_bulk_refuses_one_case_alone_inside_its_transaction(desk) -> None:
    cases = [desk.case_in("in_progress") for _ in range(4)]
    shown = {c.id: c.version for c in cases}
    desk.svc.add_note(cases[2].id, "changed underneath", actor="bob")
    before = desk.snapshot(cases[2].id)
    outcomes = desk.svc.apply_many(list(shown) + [cases[0].id, 999_999], Close(reason="withdrawn"),
                                   actor="alice", versions=shown, brief=True)
    assert [o.case_id for o in outcomes] == list(shown) + [999_999]
    assert [o.done for o in outcomes] == [True, True, False, True, False]
    assert "unknown case 999999" in str(outcomes[-1].error)
    assert desk.snapshot(cases[2].id) == before  # the refused case: nothing of the close written
    for o in outcomes:
        if o.done:
            view = desk.svc.get_case(o.case_id)
            assert view.status == "closed" and o.version == view.version and o.case is None
    undone = desk.svc.undo_many({o.case_id: o.version for o in outcomes if o.done}, Close("withdrawn"),
                                actor="alice")
    assert all(o.done for o in undone)
    assert [desk.svc.get_case(c.id).status for c in cases] == ["in_progress"] * 4


def test_a_brief_bulk_close_refusing_a_case_after_its_overdue_reminder_fired_keeps_that_case_whole(desk) -> None:
    # The console's bulk close runs a chunk without a savepoint per case; a case refused after it had
    # written (its overdue reminder fired, then its version found stale) sends the chunk round again,
    # each case in a savepoint: the refused case is left as it was, each other one closed once.
    cases = [desk.case_in("pending", "customer_input") for _ in range(3)]
    shown = {c.id: c.version for c in cases}
    desk.svc.add_note(cases[1].id, "changed underneath", actor="bob")
    desk.later(days=8)  # every case's reminder to the customer is overdue now
    before = desk.snapshot(cases[1].id)
    outcomes = desk.svc.apply_many(list(shown), Close(reason="withdrawn"), actor="alice", versions=shown,
                                   brief=True)
    assert [o.done for o in outcomes] == [True, False, True]
    assert isinstance(outcomes[1].error, Conflict) and "bob" in str(outcomes[1].error)
    assert desk.snapshot(cases[1].id) == before  # not even its reminder sent
    for o in (outcomes[0], outcomes[2]):
        view = desk.svc.get_case(o.case_id)
        assert view.status == "closed" and o.version == view.version
        kinds = [e.kind for e in view.events]
        # the reminder fired once and the case closed once (the chunk's first round left nothing)
        assert kinds.count("timer_fired") == 1 and kinds.count("status_changed") == 2
        assert kinds[-2:] == ["timer_fired", "status_changed"]
        reminders = [m for m in desk.outbox(o.case_id) if m.kind == "reminder"]
        assert len(reminders) == 1  # the overdue reminder went out once


SLA_POLICY = """\
[calendars.eu]
timezone = "Europe/Berlin"
hours = "mon-fri 08:00-18:00"
[policies.P3]
calendar = "eu"
first_response = "8h"
next_response = "4h"
resolution = "5d"
"""


def test_a_bulk_close_reads_its_cases_ahead_in_one_statement_not_one_per_case(desk, sla_metric_reads) -> None:
    """The console's bulk close reads the marked cases' service-level history ahead for the chunk,
    as ingest does for its lines, and each case still ends closed with none of its timers left."""
    from sqlmodel import Session, select

    from deskconsole.store.models import Timer

    desk.clock.set("2026-11-30T09:00:00Z")  # Monday 10:00 in Berlin
    desk.svc.load_sla(SLA_POLICY, actor="sue")
    cases = [desk.case_in("in_progress") for _ in range(12)]
    desk.later(hours=1)
    sla_metric_reads.clear()  # (from here: the bulk close's reads)
    outcomes = desk.svc.apply_many([c.id for c in cases], Close(reason="fixed in 4.2"), actor="alice", brief=True)
    assert [o.error for o in outcomes] == [None] * 12
    assert len(sla_metric_reads) == 1 and " IN (" in sla_metric_reads[0], sla_metric_reads
    assert {desk.svc.get_case(c.id).status for c in cases} == {"closed"}
    with Session(desk.svc.engine) as s:
        left = s.exec(select(Timer).where(Timer.case_id.in_([c.id for c in cases]),  # type: ignore[attr-defined]
                                          Timer.state == "pending", Timer.kind.like("sla%"))).all()  # type: ignore[attr-defined]
    assert left == []


def test_a_bulk_close_of_cases_whose_reminder_is_due_reads_what_they_were_asked_once(desk, monkeypatch) -> None:
    """Cases waiting for the customer, their reminder overdue: closing them fires the reminder first
    (as the case's next action always does). What each reminder says (the question the case was
    asked) is read ahead for the chunk in one statement, and each case gets its own question."""
    import json

    from sqlmodel import Session, select

    from deskconsole.service.timers import TimersMixin
    from deskconsole.store.models import Outbox, Timer

    cases = []
    for k in range(6):
        case = desk.open(title=f"Export {k} fails")
        desk.svc.move(case.id, "in_progress", actor="alice")
        cases.append(desk.svc.move(case.id, "pending", sub_status="customer_input", actor="alice",
                                   note=f"Which file ({k})?"))
    desk.later(days=8)  # past the reminder (7 days), short of the auto-close (28)
    reads: list[int] = []
    original = TimersMixin._asked

    def asked(s, case_ids):  # type: ignore[no-untyped-def]
        reads.append(len(case_ids))
        return original(s, case_ids)

    monkeypatch.setattr(TimersMixin, "_asked", staticmethod(asked))
    outcomes = desk.svc.apply_many([c.id for c in cases], Close(reason="no answer"), actor="alice", brief=True)
    assert [o.error for o in outcomes] == [None] * 6
    assert reads == [6], reads  # one read for the chunk, none per case
    with Session(desk.svc.engine) as s:
        reminders = s.exec(select(Outbox).where(Outbox.kind == "reminder").order_by(Outbox.case_id)).all()
        fired = s.exec(select(Timer).where(Timer.kind == "reminder", Timer.state == "fired")).all()
    assert [json.loads(r.template_values)["question"] for r in reminders] == [f"Which file ({k})?" for k in range(6)]
    assert [f"Which file ({k})?" in r.body for k, r in enumerate(reminders)] == [True] * 6
    assert len(fired) == 6  # each claimed once
    assert {desk.svc.get_case(c.id).status for c in cases} == {"closed"}
