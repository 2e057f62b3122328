"""Issue 13: applying inbound mail to the desk (deskconsole.mail.intake), on SQLite and PostgreSQL.

Replies thread by the Message-ID the delivery worker really gave the desk's mail (a delivery
pass through a transport that keeps the messages), then by trusted subject tag.
"""

from __future__ import annotations

import io
import json
import sys
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from deskconsole.cli import main
from deskconsole.delivery.worker import DeliveryOptions, deliver_once
from deskconsole.domain.clock import FixedClock
from deskconsole.domain.errors import InvalidInput, NotFound
from deskconsole.mail import parse
from deskconsole.mail.intake import Intake
from deskconsole.service import Service
from deskconsole.store.engine import init_schema, make_engine
from deskconsole.store.models import Case, Event, InboundMessage, MailAttachment, Outbox

START = "2026-11-30T09:00:00Z"
DESK = "desk@support.example"


class KeepTransport:
    """A delivery transport that keeps what it is given (the real worker builds and numbers the messages)."""

    def __init__(self) -> None:
        self.sent = []

    def send(self, message, sender, recipients):
        self.sent.append(message)
        return {}

    def close(self) -> None:
        pass


class World:
    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        init_schema(self.engine)
        self.clock = FixedClock(START)
        self.svc = Service(self.engine, self.clock)
        self.svc.add_agent("mona", "manager", actor=None)
        self.svc.add_agent("alice", "analyst", actor="mona", manager="mona", skills=["login"])
        self.intake = Intake(self.svc, own_addresses=frozenset({DESK}), loop_limit=5)
        self.transport = KeepTransport()
        self.n = 0

    def deliver(self) -> dict[str, str]:
        """Send what the outbox holds; {kind: Message-ID} of what went out."""
        deliver_once(self.engine, self.clock, self.transport, DeliveryOptions(sender=DESK))
        return {m["X-Deskconsole-Kind"]: m["Message-ID"] for m in self.transport.sent}

    def mail(self, body: str = "Hello", *, sender: str = "ann@initech.example", subject: str = "Login fails",
             headers: str = "", message_id: str | None = None) -> bytes:
        self.n += 1
        mid = message_id or f"<m{self.n}@mail.initech.example>"
        return (f"From: Ann <{sender}>\r\nTo: {DESK}\r\nSubject: {subject}\r\nMessage-ID: {mid}\r\n"
                f"Date: Mon, 30 Nov 2026 09:00:00 +0000\r\n{headers}\r\n{body}\r\n").encode()

    def receive(self, raw: bytes):
        return self.intake.receive(raw)

    def count(self, model) -> int:
        with Session(self.engine) as s:
            return s.execute(select(func.count()).select_from(model)).scalar_one()

    def events(self, case_id: int) -> list:
        return self.svc.get_case(case_id).events


@pytest.fixture
def world(db_url):
    w = World(db_url)
    yield w
    w.engine.dispose()


def test_a_new_thread_opens_a_case_with_stripped_description_and_where_it_came_from(world):
    raw = world.mail("The login page hangs.\n\nOn Sun, Ann wrote:\n> old stuff\n\n-- \nAnn, Initech",
                     subject="Re: Fwd: Login fails on tablets")
    r = world.receive(raw)
    assert (r.ok, r.outcome, r.case) == (True, "opened", 1)
    case = world.svc.get_case(1)
    assert case.title == "Login fails on tablets" and case.description == "The login page hangs."
    assert case.contact == "ann@initech.example" and case.customer == "initech.example"
    assert case.product_area == "login" and case.assignee == "alice"  # routed like any new case
    opened = case.events[0].data
    assert opened["channel"] == "email" and opened["from"] == "ann@initech.example"
    assert opened["subject"] == "Re: Fwd: Login fails on tablets" and "> old stuff" in opened["full_text"]
    assert world.intake.raw(r.inbound) == raw  # the raw message stays retrievable


def test_the_customer_is_found_by_address_then_by_domain(world):
    world.svc.open_case("Old case", "Initech Ltd", contact="bob@initech.example")
    r = world.receive(world.mail("New problem", sender="carol@initech.example", subject="Export"))
    assert world.svc.get_case(r.case).customer == "Initech Ltd"
    world.svc.open_case("Other", "Ann Personal", contact="ann@gmail.com")
    r = world.receive(world.mail("Hi", sender="ann@gmail.com", subject="Mine"))
    assert world.svc.get_case(r.case).customer == "Ann Personal"
    r = world.receive(world.mail("Hi", sender="zed@gmail.com", subject="Zed's"))  # a free-mail domain: not one customer
    assert world.svc.get_case(r.case).customer == "zed@gmail.com"


def test_a_reply_to_the_desks_question_threads_by_its_message_id_and_moves_pending_to_update_received(world):
    case, _ = world.svc.open_case("Login fails", "initech", contact="ann@initech.example")
    # the question is mailed to the customer as the case starts waiting for them
    world.svc.move(case.id, "pending", sub_status="customer_input", actor="alice", note="Which browser?")
    question = world.deliver()["question"]
    assert question.startswith(f"<c{case.id}.o") and question.endswith("@support.example>")
    with Session(world.engine) as s:
        assert s.execute(select(Outbox.message_id)).scalar_one() == question  # the token is on the row
    r = world.receive(world.mail("Firefox 140\n\n> Which browser?", sender="it-desk@other.example",
                                 subject="Re: your question", headers=f"In-Reply-To: {question}\r\n"))
    assert (r.outcome, r.case) == ("replied", case.id)
    assert r.reason == f"reply by In-Reply-To: case {case.id} is update_received"
    after = world.svc.get_case(case.id)
    assert after.status == "update_received"
    reply = [e for e in after.events if e.kind == "customer_replied"][0]
    assert reply.body == "Firefox 140" and reply.data["threaded"] == "by In-Reply-To"
    assert reply.data["channel"] == "email" and reply.data["from"] == "it-desk@other.example"


def test_confirm_by_mail_closes_and_anything_else_reopens(world):
    for body, status, outcome in (("CONFIRM - all good now", "closed", "confirmed"),
                                  ("Sorry, it is still broken", "reopened", "replied")):
        case, _ = world.svc.open_case("Login fails", "initech", contact="ann@initech.example")
        world.svc.move(case.id, "in_progress", actor="alice")
        world.svc.move(case.id, "awaiting_confirmation", note="Cleared the cache", actor="alice")
        asked = world.deliver()["awaiting_confirmation"]
        world.transport.sent.clear()
        r = world.receive(world.mail(body, headers=f"In-Reply-To: {asked}\r\nReferences: {asked}\r\n"))
        assert (r.outcome, r.case) == (outcome, case.id)
        assert world.svc.get_case(case.id).status == status


def test_the_awaiting_confirmation_mail_tells_the_customer_to_answer_confirm(world):
    case, _ = world.svc.open_case("Login fails", "initech", contact="ann@initech.example")
    world.svc.move(case.id, "in_progress", actor="alice")
    world.svc.move(case.id, "awaiting_confirmation", note="Cleared the cache", actor="alice")
    world.deliver()
    text = world.transport.sent[0].get_body(("plain",)).get_content()
    assert "CONFIRM" in text and world.transport.sent[0]["Auto-Submitted"] == "auto-generated"
    assert world.transport.sent[0]["Subject"].startswith(f"[case {case.id}]")


def test_a_reply_to_a_closed_case_is_kept_and_the_answer_says_to_clone(world):
    case, _ = world.svc.open_case("Login fails", "initech", contact="ann@initech.example")
    world.svc.close(case.id, reason="fixed", actor="alice")
    r = world.receive(world.mail("One more thing", subject=f"Re: [case {case.id}] How did we do?"))
    assert (r.outcome, r.case) == ("replied", case.id) and "clone" in r.reason
    after = world.svc.get_case(case.id)
    assert after.status == "closed" and after.events[-1].body == "One more thing"


def test_a_score_in_reply_to_the_survey_answers_it(world):
    case, _ = world.svc.open_case("Login fails", "initech", contact="ann@initech.example")
    world.svc.close(case.id, reason="fixed", actor="alice")
    world.clock.advance(world.svc.durations.undo_window)  # an agent's close holds its survey until then
    survey = world.deliver()["survey"]
    r = world.receive(world.mail("2\nToo slow.\n\n> Please rate", headers=f"In-Reply-To: {survey}\r\n"))
    assert (r.outcome, r.case) == ("survey", case.id)
    sv = world.svc.get_case(case.id).survey
    assert (sv.score, sv.comment, sv.flagged) == (2, "Too slow.", True)
    again = world.receive(world.mail("5", headers=f"In-Reply-To: {survey}\r\n"))
    assert again.outcome == "replied"  # one answer per case: a second one is kept as a reply


def test_a_strangers_subject_tag_opens_a_new_case_noting_the_mention(world):
    case, _ = world.svc.open_case("Login fails", "initech", contact="ann@initech.example")
    before = world.svc.get_case(case.id).version
    r = world.receive(world.mail("Let me in", sender="eve@evil.example", subject=f"Re: [case {case.id}] Login"))
    assert r.outcome == "opened" and r.case != case.id and f"names case {case.id}" in r.reason
    assert world.svc.get_case(case.id).version == before
    opened = world.events(r.case)[0].data
    assert opened["mentioned_case"] == case.id and "not that case's contact" in opened["note"]
    ok = world.receive(world.mail("me again", sender="bob@initech.example", subject=f"[case {case.id}] x"))
    assert (ok.outcome, ok.case) == ("replied", case.id)
    assert world.events(case.id)[-1].data["threaded"] == "by subject tag"


def test_the_same_message_twice_is_a_duplicate_naming_the_first_case(world):
    raw = world.mail("Printer on fire")
    first = world.receive(raw)
    second = world.receive(raw)
    assert (second.outcome, second.case, second.ok) == ("duplicate", first.case, True)
    assert world.count(Case) == 1 and world.count(InboundMessage) == 1
    no_id = b"From: ann@initech.example\r\nSubject: no id\r\n\r\nsame words\r\n"
    a, b = world.receive(no_id), world.receive(b"Received: from elsewhere\r\n" + no_id)
    assert a.outcome == "opened" and (b.outcome, b.case) == ("duplicate", a.case)


def test_concurrent_copies_of_one_message_make_one_case(world):
    raw = world.mail("Printer on fire")
    results, barrier = [], threading.Barrier(4)

    def go() -> None:
        intake = Intake(world.svc, own_addresses=frozenset({DESK}))
        barrier.wait()
        results.append(intake.receive(raw))

    threads = [threading.Thread(target=go) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.outcome for r in results) == ["duplicate", "duplicate", "duplicate", "opened"]
    assert {r.case for r in results} == {1} and world.count(Case) == 1


def test_machine_mail_is_parked_changes_nothing_and_can_be_released(world):
    case, _ = world.svc.open_case("Login fails", "initech", contact="ann@initech.example")
    world.svc.move(case.id, "pending", sub_status="customer_input", actor="alice", note="Which printer model?")
    before = world.svc.get_case(case.id)
    outbox = world.count(Outbox)
    r = world.receive(world.mail("I am away until Monday", subject=f"Out of office: [case {case.id}]",
                                 headers="Auto-Submitted: auto-replied\r\n"))
    assert (r.outcome, r.case) == ("parked", None) and "Auto-Submitted" in r.reason
    assert world.svc.get_case(case.id).version == before.version and world.count(Outbox) == outbox
    parked = world.intake.parked()
    assert [p.reason for p in parked] == [r.reason] and parked[0].from_ == "ann@initech.example"
    released = world.intake.release(parked[0].id, actor="alice")
    assert (released.outcome, released.case) == ("replied", case.id)
    assert world.svc.get_case(case.id).status == "update_received" and world.intake.parked() == []
    with pytest.raises(InvalidInput, match="not parked"):
        world.intake.release(parked[0].id, actor="alice")
    with pytest.raises(NotFound):
        world.intake.release(999, actor="alice")
    with pytest.raises(NotFound, match="unknown agent"):
        world.intake.release(parked[0].id, actor="nobody")


def test_bounces_and_the_desks_own_mail_are_parked(world):
    case, _ = world.svc.open_case("Login fails", "initech", contact="ann@initech.example")
    world.svc.add_note(case.id, "We are on it", actor="alice", internal=False)
    mine = world.deliver()["comment"]
    looped = world.transport.sent[0].as_bytes()
    r = world.receive(looped)
    assert r.outcome == "parked" and r.message_id == mine
    assert world.receive(world.mail("hi", sender=DESK)).outcome == "parked"
    bounce = world.receive(world.mail("undeliverable", sender="MAILER-DAEMON@mx.initech.example",
                                      headers="Return-Path: <>\r\n"))
    assert bounce.outcome == "parked"
    assert world.count(Case) == 1 and len(world.events(case.id)) == len(world.svc.get_case(case.id).events)


def test_more_than_the_limit_from_one_address_within_an_hour_are_parked(world):
    outcomes = [world.receive(world.mail(f"message {i}", subject=f"s{i}")).outcome for i in range(7)]
    assert outcomes == ["opened"] * 5 + ["parked"] * 2
    assert "more than 5 messages from ann@initech.example" in world.intake.parked()[0].reason
    assert world.receive(world.mail("other", sender="bob@initech.example")).outcome == "opened"
    world.clock.advance(timedelta(hours=1, seconds=1))
    assert world.receive(world.mail("an hour later")).outcome == "opened"


def test_attachments_are_stored_once_and_listed_on_the_event(world):
    def with_file(data: bytes, name: str) -> bytes:
        return world.mail(
            "--B\r\nContent-Type: text/plain\r\n\r\nsee log\r\n--B\r\nContent-Type: text/plain\r\n"
            f'Content-Disposition: attachment; filename="{name}"\r\n\r\n{data.decode()}\r\n--B--',
            headers='MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="B"\r\n', subject=name)

    a = world.receive(with_file(b"ERROR 42", "log1.txt"))
    b = world.receive(with_file(b"ERROR 42", "log2.txt"))
    assert a.outcome == b.outcome == "opened"
    assert world.count(MailAttachment) == 1
    listed = world.events(b.case)[0].data["attachments"]
    assert listed[0]["name"] == "log2.txt" and listed[0]["stored"] is True and listed[0]["size"] == 8


def test_a_message_over_the_limit_is_refused_with_its_reason_and_changes_nothing(world, monkeypatch):
    monkeypatch.setattr(parse, "MAX_MESSAGE_BYTES", 2000)
    raw = world.mail("x" * 5000)
    r = world.receive(raw)
    assert (r.ok, r.outcome, r.case) == (False, None, None) and "limit" in r.reason
    assert r.to_json()["error"] == r.reason and r.handled
    again = world.receive(raw)
    assert (again.ok, again.reason) == (False, r.reason)
    assert world.count(Case) == 0 and world.count(InboundMessage) == 1


def test_a_crash_while_applying_leaves_neither_the_record_nor_the_case(world, monkeypatch):
    raw = world.mail("Printer on fire")
    real = Intake._do

    def crash(self, *args, **kwargs):
        real(self, *args, **kwargs)  # the case is opened in the transaction …
        raise RuntimeError("power cut")  # … which then never commits

    monkeypatch.setattr(Intake, "_do", crash)
    with pytest.raises(RuntimeError):
        world.receive(raw)
    assert world.count(Case) == 0 and world.count(InboundMessage) == 0 and world.count(Event) == 0
    monkeypatch.setattr(Intake, "_do", real)
    assert world.receive(raw).outcome == "opened"


def run_cli(args: list[str], monkeypatch, stdin: bytes = b"") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    try:
        code = main(args)
    except SystemExit as exc:  # argparse: bad usage
        code = exc.code
    return code, out.getvalue(), err.getvalue()


def test_cli_receive_parked_release_and_case_show(world, db_url, monkeypatch):
    monkeypatch.setenv("DESKCONSOLE_NOW", START)
    monkeypatch.setenv("DESKCONSOLE_SMTP_FROM", DESK)
    base = ["--db", db_url, "--as", "alice"]
    code, out, err = run_cli([*base, "mail", "receive"], monkeypatch, world.mail("The \x1b[31mexport\x1b[0m fails"))
    line = json.loads(out)
    assert code == 0 and set(line) == {"message_id", "ok", "outcome", "case", "reason"} and line["outcome"] == "opened"
    code, out, _ = run_cli([*base, "case", "show", str(line["case"])], monkeypatch)
    assert "by e-mail from ann@initech.example; subject 'Login fails'" in out and "\x1b" not in out
    code, out, _ = run_cli([*base, "mail", "receive"], monkeypatch, world.mail("away", headers="X-Autoreply: yes\r\n"))
    assert json.loads(out)["outcome"] == "parked"
    code, out, _ = run_cli([*base, "mail", "parked", "--json"], monkeypatch)
    parked = json.loads(out)
    assert code == 0 and {"id", "message_id", "from", "subject", "reason", "received_at"} <= set(parked[0])
    assert parked[0]["received_at"] == START
    code, out, _ = run_cli([*base, "mail", "release", str(parked[0]["id"])], monkeypatch)
    assert code == 0 and json.loads(out)["outcome"] in ("opened", "replied")
    code, out, err = run_cli([*base, "mail", "release", str(parked[0]["id"])], monkeypatch)
    assert code == 1 and out == "" and err.startswith("error: ") and "not parked" in err
    code, _, err = run_cli([*base, "mail", "release", "abc"], monkeypatch)
    assert code == 2 and err.startswith("error: ")
    code, out, err = run_cli([*base, "mail", "receive"], monkeypatch, b"")
    assert code == 1 and json.loads(out)["ok"] is False and json.loads(out)["error"] == "the message is empty"


def test_case_show_says_where_each_mail_came_from_and_how_to_get_it(world, db_url, monkeypatch):
    monkeypatch.setenv("DESKCONSOLE_NOW", START)
    base = ["--db", db_url, "--as", "alice"]
    first = world.receive(world.mail("Export fails", subject="Export"))
    reply = world.receive(world.mail("Still failing", subject=f"Re: [case {first.case}] Export"))
    assert (reply.outcome, reply.case) == ("replied", first.case)
    code, out, _ = run_cli([*base, "case", "show", str(first.case)], monkeypatch)
    assert code == 0
    assert (f"by e-mail from ann@initech.example; subject 'Re: [case {first.case}] Export'; threaded by subject tag; "
            f"message #{reply.inbound} (deskconsole mail raw {reply.inbound})") in out
    code, out, _ = run_cli([*base, "case", "show", str(first.case), "--json"], monkeypatch)
    events = [e for e in json.loads(out)["events"] if (e.get("data") or {}).get("channel") == "email"]
    assert [(e["kind"], e["data"]["from"], e["data"]["subject"], e["data"].get("threaded"), e["data"]["raw"])
            for e in events] == [
        ("opened", "ann@initech.example", "Export", None, f"deskconsole mail raw {first.inbound}"),
        ("customer_replied", "ann@initech.example", f"Re: [case {first.case}] Export", "by subject tag",
         f"deskconsole mail raw {reply.inbound}"),
    ]
    assert b"Still failing" in world.intake.raw(reply.inbound)
