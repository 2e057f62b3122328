"""Timer firings as effects (domain/firing.py): what each kind of timer writes, the one writer that
stores it for one timer or a chunk, and the bulk builder's cells of the same effects."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from tests.conftest import QUESTION

from deskconsole.bulk.lives import _cell
from deskconsole.bulkload import Day, Iso, Seed, Text, Time
from deskconsole.domain.effects import CaseChange, Event, Move, Outbox, SlaFiring, Slot, StartTimer, slots
from deskconsole.domain.firing import CaseFacts, EscalationFacts, fire, followup
from deskconsole.domain.lifecycle import Status
from deskconsole.domain.timers import Durations, TimerKind
from deskconsole.store.models import Event as EventRow
from deskconsole.store.models import Outbox as OutboxRow

DAY = timedelta(days=1)
DUE = datetime(2026, 3, 9, 9, 30, tzinfo=UTC)
CASE = CaseFacts(7, "Printer on fire", "acme", "help@acme.example", "pending")


def test_a_reminder_flags_the_case_and_quotes_the_question_with_the_close_date() -> None:
    effects = fire(CASE, TimerKind.REMINDER, DUE, DUE + DAY, Durations(), asked={"question": "Which model?"})
    change, event, message = effects
    assert change == CaseChange("timer", DUE, "sent the customer a reminder",
                                {"attention": "chase by phone: customer input overdue"})
    assert event == Event("timer_fired", "timer", DUE, {"timer": "reminder", "due": DUE.isoformat(),
                                                        "fired": (DUE + DAY).isoformat(), "question": "Which model?"})
    assert isinstance(message, Outbox) and message.to == "help@acme.example"
    subject, body = message.text()
    assert subject == "[case 7] We are waiting for your answer"
    # the reminder fires on day 7 of the stay; the case closes on day 28: 21 days after it
    assert body == ("Your case 7 (Printer on fire) is waiting for information from you. Please reply to this "
                    "message with what we asked for.\n\nWe asked:\n\n    Which model?\n\n"
                    "Without an answer the case closes on 2026-03-30.")


def test_a_reminder_for_a_question_asked_by_phone_says_so() -> None:
    (_, _, message) = fire(CASE, TimerKind.REMINDER, DUE, DUE, Durations(), asked={"asked_outside": "phone"})
    assert isinstance(message, Outbox)
    assert "\n\nWe asked you for it by phone.\n\nWithout an answer" in message.text()[1]


def test_an_auto_close_gives_the_reason_of_the_status_it_ends() -> None:
    confirming = CaseFacts(7, "t", "acme", "a@b", "awaiting_confirmation")
    assert fire(confirming, TimerKind.AUTO_CLOSE, DUE, DUE, Durations())[-1] == Move(
        Status.CLOSED, None, "timer", DUE, reason="auto-closed: resolution not confirmed in time")
    assert fire(CASE, TimerKind.AUTO_CLOSE, DUE, DUE, Durations())[-1] == Move(
        Status.CLOSED, None, "timer", DUE, reason="auto-closed: no customer input in time")


def test_a_status_update_is_owed_only_while_the_escalation_is_approved_and_rearms_on_its_beat() -> None:
    late = DUE + 2 * DAY + timedelta(hours=3)  # two daily updates missed: the next is on the same beat
    approved = fire(CASE, TimerKind.STATUS_UPDATE, DUE, late, Durations(),
                    escalation=EscalationFacts("approved", "erin"))
    assert [type(e) for e in approved] == [Event, CaseChange, Outbox, StartTimer]
    message, timer = approved[2], approved[3]
    assert isinstance(message, Outbox) and message.to == "erin"
    assert message.text() == ("[case 7] Daily status update due",
                              "Escalated case 7 (Printer on fire) is due its daily status update to acme.")
    assert timer == StartTimer(TimerKind.STATUS_UPDATE, DUE + 2 * DAY, DAY)  # due DUE + 3 days
    for escalation in (None, EscalationFacts("requested", "max")):
        assert [type(e) for e in fire(CASE, TimerKind.STATUS_UPDATE, DUE, late, Durations(),
                                      escalation=escalation)] == [Event]


def test_service_level_timers_are_the_service_level_steps() -> None:
    (effect,) = fire(CASE, TimerKind.SLA_BREACH, DUE, DUE, Durations())
    assert effect == SlaFiring(TimerKind.SLA_BREACH, DUE, {"timer": "sla_breach", "due": DUE.isoformat(),
                                                           "fired": DUE.isoformat()})


def test_the_bulk_builder_gets_the_same_texts_as_cells_of_its_seed_row() -> None:
    bulk = CaseFacts(Slot("cid"), Slot("title"), Slot("customer"), Slot("address"), "closed")
    event, message = followup(bulk, Slot("fd", "time"), Slot("ff", "time"))
    assert isinstance(event, Event) and isinstance(message, Outbox)
    assert _cell(event.at) == Time("fd") and _cell(message.to) == Seed("address")
    assert _cell(json.dumps(dict(event.data))) == Text(
        ('{"timer": "followup", "due": "', Iso("fd"), '", "fired": "', Iso("ff"), '"}'))
    subject, body = message.text()
    assert slots(subject) == ["[case ", Slot("cid"), "] Following up"]
    assert _cell(body).parts[:4] == ("Your case ", Seed("cid"), " (", Seed("title"))
    # and the day a reminder names
    (_, _, reminder) = fire(bulk, TimerKind.REMINDER, DUE, DUE, Durations())
    assert isinstance(reminder, Outbox)
    assert isinstance(reminder.values["close_date"], str) and "{{" not in reminder.values["close_date"]
    from deskconsole.domain.firing import reminder as remind
    (_, _, sent) = remind(bulk, Slot("rd", "time"), Slot("rf", "time"), Slot("cd", "time"), {})
    assert isinstance(sent, Outbox) and _cell(sent.text()[1]).parts[-2:] == (Day("cd"), ".")


def test_a_reminder_fired_by_an_action_writes_what_the_tick_writes(desk) -> None:
    """The per-timer path (an action settling its case's overdue timers) and tick's set-based one
    write the same event, message and chase flag for a reminder."""

    start = desk.clock.now()
    ticked = desk.case_in("pending", "customer_input", title="Same title")
    desk.clock.set(start + 8 * DAY)
    assert [(f.case, f.timer) for f in desk.svc.tick()] == [(ticked.id, "reminder")]
    acted = desk.case_in("pending", "customer_input", title="Same title")
    desk.clock.set(start + 16 * DAY)  # its reminder (day 15) is overdue: the note's action fires it first
    desk.svc.add_note(acted.id, "Called, no answer.", actor="alice")

    for case, began in ((ticked, start), (acted, start + 8 * DAY)):
        data, (subject, body), (attention, _) = _reminder_rows(desk, case.id)
        assert data == {"timer": "reminder", "due": (began + 7 * DAY).isoformat(),
                        "fired": data["fired"], "question": QUESTION}
        assert subject == f"[case {case.id}] We are waiting for your answer"
        assert body == (f"Your case {case.id} (Same title) is waiting for information from you. Please reply "
                        f"to this message with what we asked for.\n\nWe asked:\n\n    {QUESTION}\n\n"
                        f"Without an answer the case closes on {began + 28 * DAY:%Y-%m-%d}.")
        assert attention == "chase by phone: customer input overdue"


def _reminder_rows(desk, case_id: int) -> tuple[dict, tuple[str, str], tuple[str | None, str | None]]:
    (event,) = list(desk.rows(EventRow, case_id=case_id, kind="timer_fired"))
    (message,) = list(desk.rows(OutboxRow, case_id=case_id, kind="reminder"))
    case = desk.svc.get_case(case_id)
    return json.loads(event.data), (message.subject, message.body), (case.attention, case.last_change)
