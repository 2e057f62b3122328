"""Each message's words are written once: the subject and body an outbox row keeps are its
template's English text (domain/templates.py), the words an English-speaking customer is sent,
and delivery adds the footer once (issue 12)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select
from tests.conftest import QUESTION

from deskconsole.domain.templates import render, row_text
from deskconsole.store.models import Outbox

DAY = timedelta(days=1)
FOOTER = "Please keep [case {case}] in the subject when you reply."

# every kind the domain's rules queue with values (domain/moves.py, domain/firing.py), as they queue it
QUEUED = [
    ("awaiting_confirmation", {"case": 7, "title": "Printer on fire", "resolution": "New toner.\nAnd a new drum.",
                               "close_date": "2026-12-09"}),
    ("question", {"case": 7, "title": "Printer on fire", "question": "Which model?"}),
    ("reminder", {"case": 7, "title": "Printer on fire", "close_date": "2026-12-09", "question": "Which model?",
                  "asked_outside": None}),
    ("reminder", {"case": 7, "title": "Printer on fire", "close_date": "2026-12-09", "question": None,
                  "asked_outside": "phone"}),
    ("survey", {"case": 7, "title": "Printer on fire"}),
    ("followup", {"case": 7, "title": "Printer on fire"}),
    ("status_update_due", {"case": 7, "title": "Printer on fire", "customer": "acme"}),
]


@pytest.mark.parametrize(("kind", "values"), QUEUED, ids=[f"{k}-{n}" for n, (k, _) in enumerate(QUEUED)])
def test_a_rows_words_are_its_templates_english_words(kind: str, values: dict) -> None:
    subject, body = row_text(kind, values)
    sent = render(kind, None, values, fallback_subject="unused", fallback_body="unused")
    assert sent.language == "en" and subject == sent.subject
    if kind == "status_update_due":  # to the team: no footer
        assert sent.text == body + "\n"
    else:
        assert sent.text == f"{body}\n\n{FOOTER.format(case=7)}\n"
    assert "[case 7]" in subject and "(Printer on fire)" in body
    for value in values.values():
        if isinstance(value, str) and value != "phone":
            for line in value.split("\n"):  # customer text, literally (a quotation: each line set apart)
                assert line in body


def test_a_kind_whose_template_quotes_the_rows_body_has_no_text_to_make() -> None:
    for kind in ("comment", "status_update", "sla_breach", "no_such_kind"):
        with pytest.raises(ValueError, match=kind):
            row_text(kind, {"case": 7, "title": "t", "body": "b"})


def test_every_templated_row_is_what_an_english_customer_is_sent_less_the_footer(desk) -> None:
    """Through the service, on both databases: each templated kind written keeps the English render
    of its template (the one text), and the message as sent carries the footer once."""
    start = desk.clock.now()
    asked = desk.case_in("pending", "customer_input")  # question
    desk.svc.tick(start + 7 * DAY)  # its reminder
    confirming = desk.case_in("awaiting_confirmation")
    closed = desk.case_in("closed")  # the survey (held for the undo window), then the follow-up
    desk.svc.tick(desk.clock.now() + 2 * DAY)
    escalated = desk.case_in("in_progress", title="Payroll <blocked>", product_area="billing")
    desk.svc.request_escalation(escalated.id, "Blocked since Monday")
    desk.svc.decide_escalation(escalated.id, "approve", actor="mona", engineer="max")
    desk.svc.tick(desk.clock.now() + DAY)  # its daily status update is due
    desk.svc.de_escalate(escalated.id, actor="mona", plan_accepted=True, rca_on_track=True, customer_agreed=True)
    denied = desk.case_in("in_progress", product_area="billing")
    desk.svc.request_escalation(denied.id, "Urgent")
    desk.svc.decide_escalation(denied.id, "deny", actor="mona", reason="Not a business stop")
    desk.svc.log_engineering(denied.id, "BUG-42", "Totals double", actor="alice")

    made: dict[str, list[int]] = {}
    for case in (asked, confirming, closed, escalated, denied):
        rows = desk.svc.list_outbox(case_id=case.id)
        sent = desk.svc.list_outbox(case_id=case.id, rendered=True)
        for row, message in zip(rows, sent, strict=True):
            made.setdefault(row.kind, []).append(row.case)
            assert row.subject == message.subject
            footer = FOOTER.format(case=row.case)
            if row.kind in ("escalation_requested", "escalation_denied", "status_update_due"):  # to the team
                assert message.body == row.body + "\n"
            else:
                assert message.body == f"{row.body}\n\n{footer}\n" and message.body.count(footer) == 1
    assert made == {"awaiting_confirmation": [confirming.id], "question": [asked.id], "reminder": [asked.id],
                    "survey": [closed.id], "followup": [closed.id],
                    "escalation_requested": [escalated.id, denied.id], "escalation_approved": [escalated.id],
                    "status_update_due": [escalated.id], "de_escalated": [escalated.id],
                    "escalation_denied": [denied.id], "defect_logged": [denied.id]}
    [question] = [o for o in desk.outbox(asked.id) if o.kind == "question"]
    assert f"    {QUESTION}" in question.body
    [waiting] = desk.outbox(confirming.id)
    assert f"the case closes on {start + 14 * DAY:%Y-%m-%d}." in waiting.body
    requested, approved = desk.outbox(escalated.id)[:2]
    assert requested.subject == f"[case {escalated.id}] Escalation requested: Payroll <blocked>"
    assert f"escalate case {escalated.id} (P3, in progress) for acme" in requested.body
    assert "    Blocked since Monday" in requested.body
    assert "max is your escalation engineer" in approved.body and "priority P2" in approved.body
    [logged] = [o for o in desk.outbox(denied.id) if o.kind == "defect_logged"]
    assert logged.subject == f"[case {denied.id}] Logged with engineering as BUG-42"
    assert "as defect BUG-42" in logged.body


def test_a_message_in_another_language_carries_one_footer_in_that_language(desk) -> None:
    case = desk.case_in("awaiting_confirmation", language="de-CH")
    [row] = desk.outbox(case.id)
    [sent] = desk.svc.list_outbox(case_id=case.id, rendered=True)
    assert row.subject == f"[case {case.id}] Please confirm our resolution"  # the row: English
    assert sent.subject == f"[case {case.id}] Bitte bestätigen Sie unsere Lösung"
    assert sent.body.count(f"[case {case.id}]") == 1 and FOOTER.format(case=case.id) not in sent.body
    assert "    Cleared the stale cache." in sent.body


def test_a_row_written_before_keeps_its_words_and_is_still_sent_from_its_template(desk) -> None:
    """Rows queued before each message had one text keep theirs (nothing rewrites them); their kept
    values (a resolution's close_days then) still fill the template, the close date read when sent."""
    case = desk.case_in("awaiting_confirmation")
    old_body = (f"We believe case {case.id} (Invoice total is wrong) is resolved:\n\nCleared the stale cache.\n\n"
                "Reply if it is not; to confirm it and close the case, reply with the word CONFIRM first. "
                "Without an answer the case closes in 14 days.")
    with Session(desk.svc.engine) as s:
        row = s.exec(select(Outbox).where(Outbox.case_id == case.id)).one()
        row.body = old_body
        row.template_values = (f'{{"case": {case.id}, "title": "Invoice total is wrong", '
                               '"resolution": "Cleared the stale cache.", "close_days": 14}')
        s.add(row)
        s.commit()
    desk.case_in("closed")  # other rows written meanwhile
    [kept] = desk.outbox(case.id)
    assert kept.body == old_body
    [sent] = desk.svc.list_outbox(case_id=case.id, rendered=True)
    assert sent.body.startswith(f"We believe your case {case.id} (Invoice total is wrong) is resolved.")
    assert f"closes on {desk.clock.now() + 14 * DAY:%Y-%m-%d}." in sent.body and "14 days" not in sent.body
