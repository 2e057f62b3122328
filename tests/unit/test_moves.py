"""Status moves as effects (domain/moves.py): what entering a status writes, and the outbox row that
keeps the values its message is filled with (migration 0015)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from deskconsole.domain.clock import FixedClock
from deskconsole.domain.effects import CancelTimers, CaseChange, Event, Outbox, StartTimer, Survey
from deskconsole.domain.firing import REMINDER_ATTENTION, CaseFacts
from deskconsole.domain.lifecycle import Status, SubStatus
from deskconsole.domain.moves import enter
from deskconsole.domain.timers import Durations, TimerKind
from deskconsole.service import Service
from deskconsole.store.engine import init_schema, make_engine
from deskconsole.store.models import Outbox as OutboxRow

AT = datetime(2026, 3, 9, 9, 30, tzinfo=UTC)
ASKING = CaseFacts(7, "Printer on fire", "acme", "help@acme.example", "pending", "customer_input",
                   REMINDER_ATTENTION)
# the case's pending timers, in the order they were started: its stay's two, and a service level's
PENDING = [(11, "reminder"), (12, "auto_close"), (13, "sla_breach")]


def test_leaving_customer_input_cancels_its_timers_and_its_chase_flag_and_records_them() -> None:
    effects = enter(ASKING, PENDING, Status.UPDATE_RECEIVED, None, "customer:acme", AT, Durations(),
                    data={"cause": "customer_replied"})
    cancel, change, event = effects  # nothing started, nothing sent
    assert cancel == CancelTimers(frozenset({TimerKind.REMINDER, TimerKind.AUTO_CLOSE}), AT, (11, 12))
    assert change == CaseChange("customer:acme", AT, "moved it to update_received",
                                {"status": "update_received", "sub_status": None, "attention": None})
    assert event == Event("status_changed", "customer:acme", AT, {
        "from": "pending", "from_sub_status": "customer_input", "to": "update_received", "sub_status": None,
        "cancelled_timers": ["reminder", "auto_close"], "cause": "customer_replied"})


def test_asking_the_customer_starts_the_stay_and_sends_the_question_unless_asked_outside() -> None:
    working = CaseFacts(7, "Printer on fire", "acme", "help@acme.example", "in_progress")
    effects = enter(working, [], Status.PENDING, SubStatus.CUSTOMER_INPUT, "alice", AT, Durations(),
                    question="Which model?", data={"asked": "message"})
    assert [e for e in effects if isinstance(e, StartTimer)] == [
        StartTimer(TimerKind.REMINDER, AT, timedelta(days=7)), StartTimer(TimerKind.AUTO_CLOSE, AT, timedelta(days=28))]
    event = next(e for e in effects if isinstance(e, Event))
    assert event.body == "Which model?" and "cancelled_timers" not in event.data  # (nothing was pending)
    (message,) = [e for e in effects if isinstance(e, Outbox)]
    assert message.to == "help@acme.example"
    assert message.values == {"case": 7, "title": "Printer on fire", "question": "Which model?"}
    assert "Which model?" in message.text()[1]
    by_phone = enter(working, [], Status.PENDING, SubStatus.CUSTOMER_INPUT, "alice", AT, Durations(),
                     question="Which model?", data={"asked_outside": "phone"})
    assert not [e for e in by_phone if isinstance(e, Outbox)]


def test_a_close_cancels_every_timer_sends_the_survey_held_for_the_undo_window_and_starts_the_follow_up() -> None:
    until = AT + timedelta(seconds=10)
    effects = enter(ASKING, PENDING, Status.CLOSED, None, "alice", AT, Durations(), reason="Fixed on site",
                    hold_until=until)
    assert effects[0] == CancelTimers(None, AT, (11, 12, 13))
    change = effects[1]
    assert isinstance(change, CaseChange)
    assert change.fields == {"status": "closed", "sub_status": None, "attention": None, "close_reason": "Fixed on site",
                             "closed_at": AT}
    assert effects[2:] == [
        Event("status_changed", "alice", AT, {"from": "pending", "from_sub_status": "customer_input", "to": "closed",
                                              "sub_status": None,
                                              "cancelled_timers": ["reminder", "auto_close", "sla_breach"]},
              "Fixed on site"),
        StartTimer(TimerKind.FOLLOWUP, AT, timedelta(days=1)),
        Survey("help@acme.example", AT),
        Outbox("survey", "help@acme.example", {"case": 7, "title": "Printer on fire"}, until),
    ]
    # a merge's close: nothing sent after it, nothing started
    quiet = enter(ASKING, PENDING, Status.CLOSED, None, "alice", AT, Durations(), reason="merged", quiet=True)
    assert not [e for e in quiet if isinstance(e, StartTimer | Survey | Outbox)]


def test_a_resolution_awaiting_confirmation_says_the_day_it_closes() -> None:
    working = CaseFacts(7, "Printer on fire", "acme", "help@acme.example", "in_progress")
    effects = enter(working, [], Status.AWAITING_CONFIRMATION, None, "alice", AT,
                    Durations(awaiting_confirmation_close=timedelta(days=5)), resolution="New toner")
    (message,) = [e for e in effects if isinstance(e, Outbox)]
    closes = AT + timedelta(days=5)
    assert message.values == {"case": 7, "title": "Printer on fire", "resolution": "New toner",
                              "close_date": f"{closes:%Y-%m-%d}"}
    assert message.text()[1].endswith(f"Without an answer the case closes on {closes:%Y-%m-%d}.")
    assert effects[-2] == StartTimer(TimerKind.AUTO_CLOSE, AT, timedelta(days=5))


# ------------------------------------------------------------------ the outbox row's values
START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def desk(request: pytest.FixtureRequest):
    engine = make_engine(request.getfixturevalue("pg_url" if request.param == "postgres" else "sqlite_url"))
    init_schema(engine)
    clock = FixedClock(START)
    svc = Service(engine, clock)
    svc.add_agent("mona", "manager", actor=None)
    svc.add_agent("alice", "analyst", actor="mona", skills=["billing"])
    try:
        yield svc, clock
    finally:
        engine.dispose()


def _kept(svc: Service, kind: str) -> dict:
    with Session(svc.engine) as s:
        row = s.exec(select(OutboxRow).where(OutboxRow.kind == kind)).one()
        return json.loads(row.template_values or "null")


def test_a_message_is_sent_with_the_values_it_was_queued_with(desk) -> None:
    svc, _ = desk
    case, _ = svc.open_case("Invoice total is wrong", "acme", contact="help@acme.example", product_area="billing")
    svc.move(case.id, "in_progress", actor="alice")
    svc.move(case.id, "awaiting_confirmation", note="Cleared the stale cache.", actor="alice")
    assert _kept(svc, "awaiting_confirmation") == {"case": case.id, "title": "Invoice total is wrong",
                                                   "resolution": "Cleared the stale cache.",
                                                   "close_date": "2026-12-09"}
    svc.edit_case(case.id, title="Invoice totals double", actor="alice")
    [row] = svc.list_outbox(case_id=case.id)
    [sent] = svc.list_outbox(case_id=case.id, rendered=True)
    # the row's own words and the e-mail name the case as it was when the message was written
    assert "(Invoice total is wrong)" in row.body
    assert f"your case {case.id} (Invoice total is wrong) is resolved" in sent.body
    assert "Invoice totals double" not in sent.body
    # when it closes is read when it is sent: the auto-close still pending
    assert "Without an answer the case closes on 2026-12-09." in sent.body


def test_a_reminder_sent_after_the_customer_answered_no_longer_says_when_the_case_closes(desk) -> None:
    svc, clock = desk
    case, _ = svc.open_case("Login loops", "acme", contact="help@acme.example", product_area="billing")
    svc.move(case.id, "in_progress", actor="alice")
    svc.move(case.id, "pending", sub_status="customer_input", note="Which browser?", actor="alice")
    clock.set(START + timedelta(days=7, minutes=1))
    assert [f.timer for f in svc.tick()] == ["reminder"]
    assert _kept(svc, "reminder")["close_date"] == "2026-12-23"
    reminder = next(o for o in svc.list_outbox(case_id=case.id, rendered=True) if o.kind == "reminder")
    assert "Without an answer the case closes on 2026-12-23." in reminder.body
    svc.customer_reply(case.id, "Firefox 128")
    reminder = next(o for o in svc.list_outbox(case_id=case.id, rendered=True) if o.kind == "reminder")
    assert "Which browser?" in reminder.body and "closes on" not in reminder.body
