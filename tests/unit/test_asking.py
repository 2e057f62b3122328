"""Asking is a message (issue 16): moving to pending/customer_input sends the question, or records
that it was asked outside the desk; the 7-day reminder quotes it. Confirmations logged by an agent
close the case. On both databases (the `desk` fixture runs on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from deskconsole.domain.errors import InvalidInput, InvalidTransition
from deskconsole.domain.templates import render

DAY = timedelta(days=1)
QUESTION = "Could you send us the log file from the affected machine?"  # what Desk.case_in asks (conftest.py)


def test_asking_without_a_question_is_refused_naming_both_ways_and_changes_nothing(desk) -> None:
    case = desk.case_in("in_progress")
    before = desk.snapshot(case.id)
    for note in (None, "", "   "):
        with pytest.raises(InvalidInput) as refused:
            desk.svc.move(case.id, "pending", sub_status="customer_input", note=note, actor="alice")
        message = str(refused.value)
        assert f"case {case.id}" in message and "--note QUESTION" in message and "--asked-outside" in message
        assert "--" not in refused.value.console and "already asked" in refused.value.console
        assert desk.snapshot(case.id) == before
    with pytest.raises(InvalidInput, match="only for asking the customer"):
        desk.svc.move(case.id, "pending", sub_status="development", asked_outside="phone", actor="alice")
    with pytest.raises(InvalidInput, match="only for asking the customer"):
        desk.svc.move(case.id, "closed", note="done", asked_outside="phone", actor="alice")
    assert desk.snapshot(case.id) == before


def test_the_question_goes_out_through_the_outbox_with_the_case_tag(desk) -> None:
    case = desk.case_in("in_progress")
    moved = desk.svc.move(case.id, "pending", sub_status="customer_input", actor="alice",
                          note="Which invoice number shows the wrong total?\nA screenshot helps.")
    event = [e for e in moved.events if e.kind == "status_changed"][-1]
    assert event.body == "Which invoice number shows the wrong total?\nA screenshot helps."
    assert event.data["asked"] == "message"
    assert "note" not in [e.kind for e in moved.events]  # the question is not an internal note
    [row] = desk.outbox(case.id)
    assert (row.kind, row.to, row.created_at) == ("question", "help@acme.example", desk.clock.now())
    assert row.subject == f"[case {case.id}] We need information from you"
    # the row keeps the template's English words, the question quoted line by line as written
    assert row.body.startswith(f"To go on with your case {case.id} (Invoice total is wrong) we need an answer")
    assert "    Which invoice number shows the wrong total?\n    A screenshot helps." in row.body
    # as sent: the template in the customer's language quotes it
    [shown] = desk.svc.list_outbox(case_id=case.id, rendered=True)
    assert shown.subject == f"[case {case.id}] We need information from you"
    assert "    Which invoice number shows the wrong total?\n    A screenshot helps." in shown.body
    assert f"[case {case.id}]" in shown.body  # the footer asks to keep the tag


def test_the_reminder_quotes_the_question_of_the_stay(desk) -> None:
    start = desk.clock.now()
    case = desk.case_in("pending", "customer_input")  # asked QUESTION
    desk.later(days=2)
    desk.svc.move(case.id, "in_progress", actor="alice")
    desk.later(days=1)
    desk.svc.move(case.id, "pending", sub_status="customer_input", note="And the printer's model?", actor="alice")
    again = start + 3 * DAY
    fired = desk.svc.tick(again + 7 * DAY)
    assert [f.timer for f in fired if f.case == case.id] == ["reminder"]
    reminder = [o for o in desk.outbox(case.id) if o.kind == "reminder"]
    assert len(reminder) == 1
    assert "We asked:\n\n    And the printer's model?\n\n" in reminder[0].body and QUESTION not in reminder[0].body
    assert f"closes on {(again + 28 * DAY):%Y-%m-%d}" in reminder[0].body
    fired_event = [e for e in desk.svc.get_case(case.id).events if e.kind == "timer_fired"][-1]
    assert fired_event.data["question"] == "And the printer's model?"
    [shown] = [o for o in desk.svc.list_outbox(case_id=case.id, rendered=True) if o.kind == "reminder"]
    assert "We asked:\n\n    And the printer's model?" in shown.body


def test_asked_by_phone_is_recorded_nothing_is_sent_and_the_reminder_says_so(desk) -> None:
    start = desk.clock.now()
    case = desk.case_in("in_progress")
    moved = desk.svc.move(case.id, "pending", sub_status="customer_input", asked_outside="phone", actor="alice")
    event = [e for e in moved.events if e.kind == "status_changed"][-1]
    assert event.data["asked_outside"] == "phone" and "asked" not in event.data and event.body is None
    assert desk.outbox(case.id) == []
    assert moved.reminder_at == start + 7 * DAY
    desk.svc.tick(start + 7 * DAY)
    [reminder] = desk.outbox(case.id)
    assert reminder.kind == "reminder" and "We asked you for it by phone." in reminder.body
    [shown] = desk.svc.list_outbox(case_id=case.id, rendered=True)
    assert "We asked you for it by phone." in shown.body

    # what was asked may be recorded with it (not sent); the reminder then quotes it
    other = desk.case_in("in_progress")
    desk.svc.move(other.id, "pending", sub_status="customer_input", asked_outside="in_person",
                  note="Bring the faulty badge to reception.", actor="alice")
    assert desk.outbox(other.id) == []
    desk.svc.tick(desk.clock.now() + 7 * DAY)
    [reminder] = desk.outbox(other.id)
    assert "We asked you in person:\n\n    Bring the faulty badge to reception.\n\n" in reminder.body


def test_the_question_and_reminder_in_the_customers_language() -> None:
    question = render("question", "de-CH", {"case": 7, "title": "Drucker", "question": "Welches Modell?"},
                      fallback_subject="x", fallback_body="y")
    assert question.language == "de" and "Welches Modell?" in question.text and "[case 7]" in question.subject
    reminder = render("reminder", "fr", {"case": 7, "title": "Imprimante", "close_date": "2026-12-30",
                                         "question": "Quel modèle ?", "asked_outside": "phone"},
                      fallback_subject="x", fallback_body="y")
    assert "Nous vous avons demandé par téléphone :" in reminder.text and "Quel modèle ?" in reminder.text
    sent = render("reminder", "en", {"case": 7, "title": "Printer", "close_date": "2026-12-30",
                                     "question": "Which model?"}, fallback_subject="x", fallback_body="y")
    assert "We asked:\n\n    Which model?" in sent.text
    bare = render("reminder", "en", {"case": 7, "title": "Printer", "close_date": "2026-12-30"},
                  fallback_subject="x", fallback_body="y")
    assert "We asked" not in bare.text and "closes on 2026-12-30" in bare.text


def test_a_confirmation_logged_by_an_agent_closes_and_never_reopens(desk) -> None:
    case = desk.case_in("awaiting_confirmation")
    closed = desk.svc.customer_confirm(case.id, actor="alice", channel="phone")
    assert closed.status == "closed"
    assert closed.close_reason == "resolution confirmed by the customer (by phone, logged by alice)"
    confirmed = [e for e in closed.events if e.kind == "customer_confirmed"]
    assert confirmed[0].data == {"channel": "phone", "logged_by": "alice"}
    assert confirmed[0].actor == "customer:acme"
    assert "reopened" not in [e.data.get("to") for e in closed.events]
    # on any other status it is refused and changes nothing (it never reopens a case)
    for status in ("in_progress", "reopened", "closed"):
        other = desk.case_in(status)
        before = desk.snapshot(other.id)
        with pytest.raises(InvalidTransition, match="only closes a case awaiting confirmation"):
            desk.svc.customer_confirm(other.id, actor="alice", channel="chat")
        assert desk.snapshot(other.id) == before
    with pytest.raises(InvalidInput, match="one of phone, email, chat"):
        desk.svc.customer_confirm(desk.case_in("awaiting_confirmation").id, actor="alice", channel="fax")
