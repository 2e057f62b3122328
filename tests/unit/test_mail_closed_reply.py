"""Issue 13: a customer's mail to a closed case, on SQLite and PostgreSQL.

The words are kept on the closed case (its status stays), the case asks for someone's attention,
and the sender is told by mail to write a new message: an outbox row of kind closed_reply, sent
as Auto-Submitted: auto-replied, at most once a day per sender and case, never for machine mail.
"""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from sqlmodel import Session, select
from test_mail_intake import DESK, START, World, run_cli

from deskconsole.mail.intake import Intake
from deskconsole.service.cases import CLOSED_REPLY_ATTENTION
from deskconsole.store.models import Outbox


@pytest.fixture
def world(db_url):
    w = World(db_url)
    yield w
    w.engine.dispose()


def closed_case(world: World, *, language: str | None = None) -> int:
    case, _ = world.svc.open_case("Login fails", "initech", contact="ann@initech.example", language=language)
    world.svc.close(case.id, reason="fixed", actor="alice")
    world.deliver()  # the survey goes out first
    world.transport.sent.clear()
    return case.id


def answers(world: World, case_id: int) -> list[Outbox]:
    with Session(world.engine) as s:
        return list(s.exec(select(Outbox).where(Outbox.case_id == case_id, Outbox.kind == "closed_reply")
                           .order_by(Outbox.id)).all())


def test_the_sender_is_told_once_by_mail_and_the_case_asks_for_attention(world):
    case_id = closed_case(world)
    r = world.receive(world.mail("It broke again", subject=f"Re: [case {case_id}] How did we do?"))
    assert (r.ok, r.outcome, r.case) == (True, "replied", case_id)
    assert "ann@initech.example is told by mail to write a new message" in r.reason
    after = world.svc.get_case(case_id)
    assert after.status == "closed" and after.events[-1].body == "It broke again"
    assert after.attention == CLOSED_REPLY_ATTENTION
    rows = answers(world, case_id)
    assert [(row.to, row.state) for row in rows] == [("ann@initech.example", "queued")]

    world.deliver()
    [sent] = world.transport.sent
    assert sent["To"] == "ann@initech.example" and sent["Auto-Submitted"] == "auto-replied"
    assert sent["Subject"] == f"[case {case_id}] This case is closed"
    text = sent.get_body(("plain",)).get_content()
    assert "is closed" in text and "new message" in text
    assert "Please keep [case" not in text  # the usual footer would invite a reply to the closed case
    # the row keeps the same words (its template's English text: there is no second wording)
    assert (rows[0].subject, rows[0].body + "\n") == (sent["Subject"], text)


def test_at_most_once_a_day_per_sender_and_case(world):
    case_id = closed_case(world)
    subject = f"Re: [case {case_id}] Following up"
    world.receive(world.mail("First", subject=subject))
    second = world.receive(world.mail("Second", subject=subject))
    assert second.outcome == "replied" and "already told within a day" in second.reason
    colleague = world.receive(world.mail("Me too", sender="bob@initech.example", subject=subject))
    assert "bob@initech.example is told" in colleague.reason
    assert [row.to for row in answers(world, case_id)] == ["ann@initech.example", "bob@initech.example"]
    # every word is still kept on the case
    bodies = [e.body for e in world.svc.get_case(case_id).events if e.kind == "customer_replied"]
    assert bodies == ["First", "Second", "Me too"]

    world.clock.advance(timedelta(hours=23))
    world.receive(world.mail("Still there?", subject=subject))
    assert len(answers(world, case_id)) == 2
    world.clock.advance(timedelta(hours=1, seconds=1))
    world.receive(world.mail("Hello?", subject=subject))
    assert [row.to for row in answers(world, case_id)] == ["ann@initech.example", "bob@initech.example",
                                                          "ann@initech.example"]


def test_machine_mail_is_never_answered_even_when_released(world):
    case_id = closed_case(world)
    parked = world.receive(world.mail("I am out of office", subject=f"Re: [case {case_id}] Following up",
                                      headers="Auto-Submitted: auto-replied\r\n"))
    assert parked.outcome == "parked" and answers(world, case_id) == []
    assert world.svc.get_case(case_id).attention is None  # parked mail changes no case
    released = world.intake.release(parked.inbound, actor="alice")
    assert (released.outcome, released.case) == ("replied", case_id)
    assert "told" not in released.reason and answers(world, case_id) == []
    assert world.svc.get_case(case_id).events[-1].body == "I am out of office"


def test_our_answer_coming_back_makes_no_loop(world):
    case_id = closed_case(world)
    world.receive(world.mail("One more thing", subject=f"Re: [case {case_id}] Following up"))
    world.deliver()
    [answer] = world.transport.sent
    # the customer's mail system answers our answer, without saying it is automatic: kept, not answered again
    bounce_back = world.receive(world.mail("Thanks, received.", subject=f"Re: {answer['Subject']}",
                                           headers=f"In-Reply-To: {answer['Message-ID']}\r\n"))
    assert (bounce_back.outcome, bounce_back.case) == ("replied", case_id)
    assert len(answers(world, case_id)) == 1
    # our own answer delivered back to the desk is parked
    echoed = world.receive(answer.as_bytes())
    assert echoed.outcome == "parked" and len(answers(world, case_id)) == 1


def test_the_answer_is_in_the_case_language(world):
    case_id = closed_case(world, language="de-CH")
    world.receive(world.mail("Geht wieder nicht", subject=f"AW: [case {case_id}] Nachfrage"))
    world.deliver()
    [sent] = world.transport.sent
    assert sent["Subject"] == f"[case {case_id}] Dieser Fall ist abgeschlossen"
    assert "neue Nachricht" in sent.get_body(("plain",)).get_content()
    assert sent["Content-Language"] == "de"


def test_a_reply_after_close_from_any_channel_asks_for_attention_and_cloning_answers_it(world):
    case, _ = world.svc.open_case("Login fails", "initech", contact="ann@initech.example")
    world.svc.close(case.id, reason="fixed", actor="alice")
    _, notice = world.svc.customer_reply(case.id, "Called back: it fails again", channel="phone", actor="alice")
    assert "clone" in (notice or "")
    assert world.svc.get_case(case.id).attention == CLOSED_REPLY_ATTENTION
    assert answers(world, case.id) == []  # only mail is answered by mail
    world.svc.clone(case.id, actor="alice")
    assert world.svc.get_case(case.id).attention is None


def test_cli_receive_tells_the_sender_and_outbox_lists_it(world, db_url, monkeypatch):
    case_id = closed_case(world)
    monkeypatch.setenv("DESKCONSOLE_NOW", START)
    monkeypatch.setenv("DESKCONSOLE_SMTP_FROM", DESK)
    base = ["--db", db_url, "--as", "alice"]
    code, out, _ = run_cli([*base, "mail", "receive"], monkeypatch,
                           world.mail("Again", subject=f"Re: [case {case_id}] How did we do?"))
    line = json.loads(out)
    assert code == 0 and (line["outcome"], line["case"]) == ("replied", case_id) and "told by mail" in line["reason"]
    code, out, _ = run_cli([*base, "outbox", "list", "--case", str(case_id), "--json"], monkeypatch)
    rows = [row for row in json.loads(out) if row["kind"] == "closed_reply"]
    assert code == 0 and [(row["to"], row["subject"]) for row in rows] == [
        ("ann@initech.example", f"[case {case_id}] This case is closed")]
    code, out, _ = run_cli([*base, "case", "show", str(case_id), "--json"], monkeypatch)
    assert json.loads(out)["attention"] == CLOSED_REPLY_ATTENTION


def test_four_messages_at_once_from_one_sender_get_one_answer(world):
    case_id = closed_case(world)
    raws = [world.mail(f"Message {n}", subject=f"Re: [case {case_id}] Following up") for n in range(4)]
    results, barrier = [], threading.Barrier(4)

    def go(raw: bytes) -> None:
        intake = Intake(world.svc, own_addresses=frozenset({DESK}))
        barrier.wait()
        results.append(intake.receive(raw))

    threads = [threading.Thread(target=go, args=(raw,)) for raw in raws]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.outcome for r in results) == ["replied"] * 4
    assert sum("is told by mail" in r.reason for r in results) == 1
    assert [row.to for row in answers(world, case_id)] == ["ann@initech.example"]
    bodies = sorted(e.body for e in world.svc.get_case(case_id).events if e.kind == "customer_replied")
    assert bodies == [f"Message {n}" for n in range(4)]
