"""Close with a grace period (issue 16): an agent's close writes its survey at once, held from sending for
the undo window; `case undo` within the window puts the case back and withdraws what the close wrote.
On both databases (the `desk` and `world` fixtures), delivery through a real SMTP server (aiosmtpd)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import test_delivery

from deskconsole.domain.clock import format_time
from deskconsole.domain.errors import Conflict, InvalidInput, InvalidTransition, PermissionDenied
from deskconsole.domain.timers import Durations
from deskconsole.store.models import Survey, Timer

smtp = test_delivery.smtp  # the real SMTP server (aiosmtpd) of the delivery tests
world = test_delivery.world
WINDOW = timedelta(seconds=10)


def test_an_agents_close_holds_its_survey_and_undo_puts_everything_back(desk, clock) -> None:
    case = desk.case_in("awaiting_confirmation")  # an auto-close timer runs
    desk.svc.assign(case.id, "bob", actor="mona")
    before = desk.svc.get_case(case.id)
    timers_before = [(t.kind, t.due) for t in before.timers]
    closed = desk.svc.close(case.id, reason="confirmed by phone", actor="bob")
    assert closed.status == "closed" and closed.auto_close_at is None
    [survey] = [o for o in desk.outbox(case.id) if o.kind == "survey"]
    assert survey.state == "queued" and survey.held_until == clock.now() + WINDOW
    assert desk.rows(Survey, case_id=case.id)  # answerable at once
    clock.advance(timedelta(seconds=9))
    undone = desk.svc.undo_close(case.id, actor="bob")
    assert (undone.status, undone.sub_status, undone.assignee) == ("awaiting_confirmation", None, "bob")
    assert undone.closed_at is None and undone.close_reason is None
    assert [(t.kind, t.due) for t in undone.timers] == timers_before  # the auto-close, due as it was
    assert [t.kind for t in desk.rows(Timer, case_id=case.id, state="pending")] == ["auto_close"]
    shown = desk.outbox(case.id)
    assert [(o.kind, o.state) for o in shown if o.kind == "survey"] == [("survey", "cancelled")]
    assert [o["state"] for o in (r.to_json() for r in shown) if o["kind"] == "survey"] == ["cancelled"]
    assert desk.rows(Survey, case_id=case.id) == []
    event = undone.events[-1]
    assert (event.kind, event.actor) == ("close_undone", "bob")
    assert (event.data["from"], event.data["to"], event.data["withdrawn"]) == ("closed", "awaiting_confirmation",
                                                                                [survey.id])
    # the case works on as before: the customer confirms later and it closes, not held
    desk.later(days=1)
    again = desk.svc.customer_confirm(case.id)
    assert again.status == "closed"
    [second] = [o for o in desk.outbox(case.id) if o.kind == "survey" and o.state == "queued"]
    assert second.held_until is None


def test_a_closed_cases_view_says_until_when_its_close_may_be_undone(desk, clock) -> None:
    case = desk.case_in("in_progress")
    closed = desk.svc.close(case.id, reason="withdrawn", actor="alice")
    # the view the close returns, and the case as read again, carry the service's answer
    assert closed.undo_until == desk.svc.get_case(case.id).undo_until == clock.now() + WINDOW
    assert closed.to_json()["undo_until"] == format_time(clock.now() + WINDOW) == "2026-11-25T09:00:10Z"
    clock.advance(WINDOW)
    ended = desk.svc.get_case(case.id)
    assert ended.undo_until is None and "undo_until" not in ended.to_json()
    # a timer's auto-close is never undone: its view offers nothing
    asked = desk.case_in("awaiting_confirmation")
    clock.advance(timedelta(days=15))
    desk.svc.tick()
    assert desk.svc.get_case(asked.id).status == "closed" and desk.svc.get_case(asked.id).undo_until is None


def test_undo_is_refused_after_the_window_and_changes_nothing(desk, clock) -> None:
    case = desk.case_in("in_progress")
    desk.svc.close(case.id, reason="withdrawn", actor="alice")
    clock.advance(WINDOW)
    before = desk.snapshot(case.id)
    with pytest.raises(InvalidTransition, match=f"case {case.id}: the undo window of its close ended at "):
        desk.svc.undo_close(case.id, actor="alice")
    assert desk.snapshot(case.id) == before
    assert desk.svc.undo_until(case.id) is None


def test_only_an_agents_close_is_undone(desk, clock) -> None:
    confirmed = desk.case_in("awaiting_confirmation")
    desk.svc.customer_confirm(confirmed.id)
    auto = desk.case_in("awaiting_confirmation")
    desk.svc.tick(clock.now() + timedelta(days=14))
    assert desk.svc.get_case(auto.id).status == "closed"
    for case, who in ((confirmed, "customer:acme"), (auto, "timer")):
        assert [o.held_until for o in desk.outbox(case.id) if o.kind == "survey"] == [None]  # not held
        before = desk.snapshot(case.id)
        with pytest.raises(InvalidTransition, match=f"case {case.id} was closed by {who} .*only an agent's close"):
            desk.svc.undo_close(case.id, actor="alice")
        assert desk.snapshot(case.id) == before
    open_case = desk.case_in("in_progress")
    with pytest.raises(InvalidTransition, match=f"case {open_case.id} is in_progress: there is no close to undo"):
        desk.svc.undo_close(open_case.id, actor="alice")


def test_who_may_undo_and_version_checks(desk, clock) -> None:
    case = desk.case_in("pending", "development")
    closed = desk.svc.close(case.id, reason="fixed in 4.2", actor="alice")
    before = desk.snapshot(case.id)
    with pytest.raises(PermissionDenied, match="closed by alice: only they or a manager may undo"):
        desk.svc.undo_close(case.id, actor="bob")
    with pytest.raises(PermissionDenied, match="sue is a supervisor"):
        desk.svc.undo_close(case.id, actor="sue")
    with pytest.raises(Conflict):
        desk.svc.undo_close(case.id, actor="alice", expected_version=closed.version - 1)
    assert desk.snapshot(case.id) == before
    assert desk.svc.undo_until(case.id) == clock.now() + WINDOW
    undone = desk.svc.undo_close(case.id, actor="mona", expected_version=closed.version)
    assert (undone.status, undone.sub_status) == ("pending", "development")
    with pytest.raises(InvalidTransition, match="there is no close to undo"):
        desk.svc.undo_close(case.id, actor="mona")


def test_a_message_already_on_its_way_keeps_the_close(desk, clock) -> None:
    from sqlmodel import Session, update

    from deskconsole.store.models import Outbox

    case = desk.case_in("in_progress")
    desk.svc.close(case.id, reason="done", actor="alice")
    with Session(desk.svc.engine) as s:  # a sender whose clock ran ahead claimed the survey
        s.exec(update(Outbox).where(Outbox.case_id == case.id).values(state="sending"))
        s.commit()
    before = desk.snapshot(case.id)
    with pytest.raises(InvalidTransition, match=f"case {case.id}: the messages of its close are already sending"):
        desk.svc.undo_close(case.id, actor="alice")
    assert desk.snapshot(case.id) == before


def test_an_answered_survey_keeps_the_close(desk, clock) -> None:
    case = desk.case_in("in_progress")
    desk.svc.close(case.id, reason="done", actor="alice")
    desk.svc.answer_survey(case.id, 5)
    before = desk.snapshot(case.id)
    with pytest.raises(InvalidTransition, match="already answered its survey"):
        desk.svc.undo_close(case.id, actor="alice")
    assert desk.snapshot(case.id) == before


def test_undoing_a_closing_macro_restores_the_assignee_before_it(desk, clock) -> None:
    desk.svc.load_macros('[macros.dup]\nnote = "duplicate"\nstatus = "closed"\nassignee = "bob"\n', actor="mona")
    case = desk.case_in("reopened")  # alice's, with the customer's comment
    desk.svc.apply_macro(case.id, "dup", actor="mona")
    assert desk.svc.get_case(case.id).assignee == "bob"
    undone = desk.svc.undo_close(case.id, actor="mona")
    assert (undone.status, undone.assignee) == ("reopened", "alice")


def test_the_window_is_configurable_and_validated(desk, clock) -> None:
    assert Durations().undo_window == WINDOW
    assert Durations.from_env({"DESKCONSOLE_UNDO_WINDOW": "2m"}).undo_window == timedelta(minutes=2)
    for bad, words in (("0s", "not a duration"), ("soon", "not a duration"), ("2h", "at most 1 hour")):
        with pytest.raises(InvalidInput, match=f"{words}.*DESKCONSOLE_UNDO_WINDOW"):
            Durations.from_env({"DESKCONSOLE_UNDO_WINDOW": bad})
    too_soon = r"the follow-up after a close \(1 minute, DESKCONSOLE_FOLLOWUP_AFTER_CLOSE\) must come after the undo"
    with pytest.raises(InvalidInput, match=too_soon + r" window \(2 minutes"):
        Durations.from_env({"DESKCONSOLE_UNDO_WINDOW": "2m", "DESKCONSOLE_FOLLOWUP_AFTER_CLOSE": "1m"})
    desk.svc.durations = Durations(undo_window=timedelta(minutes=2))
    case = desk.case_in("in_progress")
    desk.svc.close(case.id, reason="done", actor="alice")
    clock.advance(timedelta(seconds=90))
    assert desk.svc.undo_close(case.id, actor="alice").status == "in_progress"


def test_delivery_does_not_send_during_the_window_and_sends_after(world, smtp) -> None:
    a = world.awaiting(title="Printer jams")
    b = world.awaiting(title="Login loops")
    for case in (a, b):
        world.svc.close(case.id, reason="confirmed by phone", actor="alice")
    before = len(smtp.messages)  # the two confirmation requests are not held: sent at the first pass
    first = world.deliver(smtp.url)
    assert [r.state for r in first] == ["sent", "sent"]
    assert [m["Subject"] for m in smtp.messages[before:]] == [
        f"[case {a.id}] Please confirm our resolution", f"[case {b.id}] Please confirm our resolution"]
    world.clock.advance(timedelta(seconds=9))
    assert world.deliver(smtp.url) == []  # both surveys held
    world.svc.undo_close(b.id, actor="alice")
    world.clock.advance(timedelta(seconds=1))  # the window ends
    [sent] = world.deliver(smtp.url)
    assert sent.state == "sent"
    assert [m["Subject"] for m in smtp.messages] [-1] == f"[case {a.id}] How did we do?"
    assert len(smtp.messages) == 3  # b's survey withdrawn, never sent
    world.clock.advance(timedelta(days=1))
    assert world.deliver(smtp.url) == []
    states = {(r.case_id, r.kind): r.state for r in world.rows()}
    assert states[(a.id, "survey")] == "sent" and states[(b.id, "survey")] == "cancelled"


def test_cli_case_undo(desk, clock, tmp_path, monkeypatch, capsys) -> None:
    from deskconsole.cli import main

    url = str(desk.svc.engine.url.render_as_string(hide_password=False))
    case = desk.case_in("in_progress")
    monkeypatch.setenv("DESKCONSOLE_NOW", "2026-11-25T09:00:00Z")
    assert main(["--db", url, "--as", "alice", "case", "close", str(case.id), "--reason", "done"]) == 0
    capsys.readouterr()
    import json

    assert main(["--db", url, "--as", "alice", "outbox", "list", "--json"]) == 0
    rows = [r for r in json.loads(capsys.readouterr().out) if r["case"] == case.id]
    assert [(r["kind"], r["state"], r["held_until"]) for r in rows] == [("survey", "queued", "2026-11-25T09:00:10Z")]
    monkeypatch.setenv("DESKCONSOLE_NOW", "2026-11-25T09:00:05Z")
    assert main(["--db", url, "--as", "alice", "case", "undo", str(case.id)]) == 0
    assert capsys.readouterr().out == f"case {case.id} is now in_progress, P3, version 4 (assignee alice)\n"
    assert main(["--db", url, "--as", "alice", "outbox", "list", "--json"]) == 0
    rows = [r for r in json.loads(capsys.readouterr().out) if r["case"] == case.id]
    assert [(r["kind"], r["state"]) for r in rows] == [("survey", "cancelled")]
    assert main(["--db", url, "--as", "alice", "case", "close", str(case.id), "--reason", "done"]) == 0
    monkeypatch.setenv("DESKCONSOLE_NOW", "2026-11-25T09:00:20Z")
    capsys.readouterr()
    before = desk.snapshot(case.id)
    assert main(["--db", url, "--as", "alice", "case", "undo", str(case.id)]) == 1
    err = capsys.readouterr().err
    assert err == (f"error: case {case.id}: the undo window of its close ended at 2026-11-25T09:00:15Z; the close "
                   "stands (clone it to start new work)\n")
    assert desk.snapshot(case.id) == before
