"""Issue 13: the threading rules (deskconsole.mail.thread) as pure functions."""

from __future__ import annotations

from deskconsole.mail.parse import parse_message
from deskconsole.mail.thread import (
    CaseFacts,
    SentMail,
    decide,
    is_confirmation,
    parse_our_id,
    subject_tag,
    survey_score,
    trusted_sender,
)

OURS = "<c12.o345.AbCdEfGh1234@support.example>"
CASE12 = CaseFacts(12, "pending", "ann@initech.example", "initech")


def msg(sender="ann@initech.example", subject="Re: hello", body="More details.", headers=""):
    return parse_message(f"From: {sender}\nSubject: {subject}\nMessage-ID: <m@x>\n{headers}\n{body}\n".encode())


def test_our_message_ids_name_case_and_outbox_row():
    assert parse_our_id(OURS) == (12, 345)
    assert parse_our_id("<outbox-1.2026@support.example>") is None
    assert parse_our_id("<c12.o345.short@support.example>") is None  # the token is at least 8 characters


def test_a_reply_to_our_message_id_threads_by_in_reply_to_whoever_sends_it():
    d = decide(msg(sender="someone@else.example", headers=f"In-Reply-To: {OURS}\n"),
               sent={OURS: SentMail(12, "comment")}, earlier={}, cases={12: CASE12}, recent_from_sender=0)
    assert (d.action, d.case_id, d.threaded) == ("reply", 12, "by In-Reply-To")
    d = decide(msg(headers=f"References: <case-12@support.example> {OURS}\n"),
               sent={OURS: SentMail(12, "comment")}, earlier={}, cases={12: CASE12}, recent_from_sender=0)
    assert (d.action, d.case_id, d.threaded) == ("reply", 12, "by References")


def test_a_made_up_or_mismatched_id_of_our_shape_does_not_thread():
    forged = "<c12.o345.GuessedToken99@support.example>"
    d = decide(msg(sender="eve@evil.example", headers=f"In-Reply-To: {forged}\n"),
               sent={}, earlier={}, cases={12: CASE12}, recent_from_sender=0)
    assert d.action == "open"
    # an id whose case number does not match its stored row's case is not trusted either
    d = decide(msg(sender="eve@evil.example", headers="In-Reply-To: <c12.o7.AbCdEfGh1234@support.example>\n"),
               sent={"<c12.o7.AbCdEfGh1234@support.example>": SentMail(99, "comment")}, earlier={},
               cases={12: CASE12, 99: CaseFacts(99, "new", "x@y.example", "y")}, recent_from_sender=0)
    assert d.action == "open"


def test_subject_tag_is_trusted_from_the_contact_or_their_domain_only():
    assert subject_tag("Re: [case 12] Please confirm") == 12
    assert subject_tag("AW: [Case #7] x") == 7 and subject_tag("case 12") is None
    assert trusted_sender("ann@initech.example", CASE12)
    assert trusted_sender("Bob@INITECH.example", CASE12)
    assert not trusted_sender("eve@evil.example", CASE12)
    assert not trusted_sender("eve@initech.example.evil.example", CASE12)
    gmail = CaseFacts(3, "new", "ann@gmail.com", "ann")
    assert trusted_sender("ann@gmail.com", gmail) and not trusted_sender("eve@gmail.com", gmail)
    d = decide(msg(sender="bob@initech.example", subject="Re: [case 12] x"), sent={}, earlier={},
               cases={12: CASE12}, recent_from_sender=0)
    assert (d.action, d.case_id, d.threaded) == ("reply", 12, "by subject tag")
    d = decide(msg(sender="eve@evil.example", subject="Re: [case 12] x"), sent={}, earlier={},
               cases={12: CASE12}, recent_from_sender=0)
    assert d.action == "open" and d.case_id is None and d.mentioned_case == 12
    assert "not that case's contact" in d.notes[0]


def test_confirm_word_confirms_only_a_case_awaiting_confirmation():
    awaiting = CaseFacts(12, "awaiting_confirmation", "ann@initech.example", "initech")
    sent = {OURS: SentMail(12, "awaiting_confirmation")}
    reply = f"In-Reply-To: {OURS}\n"
    assert decide(msg(body="CONFIRM\n\nthanks", headers=reply), sent=sent, earlier={}, cases={12: awaiting},
                  recent_from_sender=0).action == "confirm"
    assert decide(msg(body="Confirmed, works.", headers=reply), sent=sent, earlier={}, cases={12: awaiting},
                  recent_from_sender=0).action == "confirm"
    # not clearly a confirmation: a reply (which reopens the case)
    for body in ("I cannot confirm this, still broken", "Please confirm when fixed", "Thanks!"):
        assert decide(msg(body=body, headers=reply), sent=sent, earlier={}, cases={12: awaiting},
                      recent_from_sender=0).action == "reply"
    # CONFIRM on a case that is not awaiting confirmation is just a reply
    assert decide(msg(body="CONFIRM", headers=reply), sent=sent, earlier={}, cases={12: CASE12},
                  recent_from_sender=0).action == "reply"
    assert is_confirmation("confirm.") and is_confirmation("Bestätigt") and not is_confirmation("")


def test_a_score_answers_the_survey_only_as_a_reply_to_the_survey():
    closed = CaseFacts(12, "closed", "ann@initech.example", "initech", survey_open=True)
    survey = "<c12.o9.SurveyToken123@support.example>"
    d = decide(msg(body="4 quick and friendly", headers=f"In-Reply-To: {survey}\n"),
               sent={survey: SentMail(12, "survey")}, earlier={}, cases={12: closed}, recent_from_sender=0)
    assert (d.action, d.score, d.comment) == ("survey", 4, "quick and friendly")
    # the same words on a reply to another message are a reply
    d = decide(msg(body="4 quick and friendly", headers=f"In-Reply-To: {OURS}\n"),
               sent={OURS: SentMail(12, "followup")}, earlier={}, cases={12: closed}, recent_from_sender=0)
    assert d.action == "reply"
    answered = CaseFacts(12, "closed", "ann@initech.example", "initech", survey_open=False)
    d = decide(msg(body="5", headers=f"In-Reply-To: {survey}\n"),
               sent={survey: SentMail(12, "survey")}, earlier={}, cases={12: answered}, recent_from_sender=0)
    assert d.action == "reply"
    assert survey_score("5/5") == (5, None) and survey_score("3.") == (3, None)
    assert survey_score("6") is None and survey_score("10 out of 10") is None and survey_score("") is None


def test_machine_mail_and_loops_are_parked_unless_released():
    auto = msg(headers="Auto-Submitted: auto-replied\n")
    d = decide(auto, sent={}, earlier={}, cases={}, recent_from_sender=0)
    assert d.action == "park" and "Auto-Submitted" in d.reason
    assert decide(auto, sent={}, earlier={}, cases={}, recent_from_sender=0, release=True).action == "open"
    d = decide(msg(), sent={}, earlier={}, cases={}, recent_from_sender=20, loop_limit=20)
    assert d.action == "park" and "more than 20 messages from ann@initech.example" in d.reason
    assert decide(msg(), sent={}, earlier={}, cases={}, recent_from_sender=19, loop_limit=20).action == "open"


def test_a_follow_up_to_the_customers_own_earlier_mail_threads_when_trusted():
    d = decide(msg(headers="In-Reply-To: <first@initech.example>\n"), sent={},
               earlier={"<first@initech.example>": 12}, cases={12: CASE12}, recent_from_sender=0)
    assert (d.action, d.case_id, d.threaded) == ("reply", 12, "by In-Reply-To")
    d = decide(msg(sender="eve@evil.example", headers="In-Reply-To: <first@initech.example>\n"), sent={},
               earlier={"<first@initech.example>": 12}, cases={12: CASE12}, recent_from_sender=0)
    assert d.action == "open"
