"""Macros (issue 16): the team's named replies and actions, loaded from TOML, stored in the database,
applied as one action through the single actions' rules. On both databases (the `desk` fixture)."""

from __future__ import annotations

import json

import pytest

from deskconsole.domain.errors import Conflict, InvalidInput, InvalidTransition, NotFound, PermissionDenied
from deskconsole.domain.macros import MacroFileError, fuzzy_rank, load_toml, render, variables_of

MACROS = """\
# the team's macros
[macros.ask-logs]
reply = "Hello {customer}, could you send us the logs for case {case.id}? Regards, {agent}"
status = "pending"
sub_status = "customer_input"
note = "asked for logs"

[macros.resolve-cache]
reply = "We cleared the stale cache on our side; {contact} should see the right totals now."
status = "awaiting_confirmation"

[macros.duplicate]
note = "Duplicate of an older case"
status = "closed"

[macros.urgent-to-bob]
priority = "P1"
assignee = "bob"
note = "customer's production is down: bob takes it"

[macros.thanks]
reply = "Thank you, {customer}! Braces stay as written: {{not a variable}}."
"""


def loaded(desk, text: str = MACROS, actor: str = "mona"):
    return desk.svc.load_macros(text, actor=actor)


def macro_rows(desk) -> list[tuple]:
    from deskconsole.store.models import MacroRow

    return [(r.name, r.reply, r.note, r.status, r.sub_status, r.priority, r.assignee) for r in desk.rows(MacroRow)]


# --------------------------------------------------------------------------- the file


def test_a_macro_file_is_loaded_listed_and_replaced_whole(desk) -> None:
    done = loaded(desk)
    assert done.added == ["ask-logs", "duplicate", "resolve-cache", "thanks", "urgent-to-bob"]
    listed = desk.svc.list_macros()
    assert [m.name for m in listed] == done.added
    ask = listed[0]
    assert (ask.status, ask.sub_status, ask.note) == ("pending", "customer_input", "asked for logs")
    assert ask.describe() == "question · note · pending/customer_input"
    # loading again replaces the set: a macro no longer in the file is removed
    again = desk.svc.load_macros('[macros.thanks]\nreply = "Thanks!"\n', actor="sue")
    assert (again.added, again.replaced, again.removed) == (
        [], ["thanks"], ["ask-logs", "duplicate", "resolve-cache", "urgent-to-bob"])
    assert [(m.name, m.reply) for m in desk.svc.list_macros()] == [("thanks", "Thanks!")]


@pytest.mark.parametrize(("text", "line", "words"), [
    ('[macros.a]\nreply = "x"\nstatus = "pending"\n', 3, "pending needs a sub_status"),
    ('[macros.a]\nreply = "hi {name}"\n', 2, "unknown variable {name}"),
    ('[macros.a]\nreply = "hi {customer"\n', 2, "a lone '{'"),
    ('[macros.a]\nnote = "x"\ncolour = "red"\n', 3, "macros.a.colour: unknown key"),
    ('[macros.a]\nstatus = "new"\n', 2, "a macro moves a case to one of in_progress, pending"),
    ('[macros.a]\nstatus = "closed"\nreply = "bye"\n', 2, "the note is the close reason"),
    ('[macros.a]\nstatus = "pending"\nsub_status = "customer_input"\n', 2, "the reply is the question"),
    ('[macros.a]\nstatus = "awaiting_confirmation"\n', 2, "the reply is the resolution"),
    ('[macros.a]\nnote = "x"\nsub_status = "development"\n', 3, 'only status = "pending" takes a sub_status'),
    ('[macros.a]\npriority = "P9"\n', 2, "'P9': one of P1, P2, P3, P4"),
    ('[macros.a]\npriority = 1\n', 2, "must be a string, not int"),
    ('[macros.ok]\nnote = "x"\n\n[macros.a]\nreply = "x"\nreply = "y"\n', 6, "not valid TOML"),
    ('[macros.a]\n', 1, "does nothing"),
    ('title = "x"\n', 1, "unknown key: the file holds [macros.NAME] tables only"),
    ('', 1, "no macros"),
    ('[macros."with space"]\nnote = "x"\n', 1, "macro name 'with space'"),
])
def test_a_bad_file_is_refused_whole_with_its_line_and_reason(desk, text, line, words) -> None:
    loaded(desk)
    before = macro_rows(desk)
    good_first = '[macros.fine]\nnote = "a good macro before the bad one"\n\n'
    for body, at in ((text, line), (good_first + text, line + 3 if text.startswith("[macros") else None)):
        if at is None:
            continue
        with pytest.raises(MacroFileError) as refused:
            desk.svc.load_macros(body, actor="mona")
        assert str(refused.value).startswith(f"line {at}: ")
        assert words in str(refused.value)
        assert macro_rows(desk) == before


def test_an_assignee_must_be_an_analyst_of_the_desk(desk) -> None:
    loaded(desk)
    before = macro_rows(desk)
    for name, words in (("zed", "unknown agent 'zed'"), ("max", "max is a manager: cases are assigned to analysts")):
        with pytest.raises(MacroFileError) as refused:
            desk.svc.load_macros(f'[macros.a]\nnote = "x"\n\n[macros.b]\nnote = "y"\nassignee = "{name}"\n',
                                 actor="mona")
        assert str(refused.value) == f"line 6: macros.b.assignee: {words}" + (
            ": add them with 'deskconsole agent add' first" if name == "zed" else "")
    assert macro_rows(desk) == before


def test_only_managers_and_supervisors_load_macros(desk) -> None:
    with pytest.raises(PermissionDenied, match="alice is an analyst: only a manager or supervisor may load macros"):
        loaded(desk, actor="alice")
    assert macro_rows(desk) == []
    loaded(desk, actor="sue")
    assert len(desk.svc.list_macros()) == 5


def test_variables_render_literally_once() -> None:
    values = {"customer": "{agent} <b>[red]Evil[/red]\x1b[31m", "agent": "alice", "case.id": "7", "contact": ""}
    text = "Dear {customer}, case {case.id} ({contact}) by {agent}; due {sla.resolution.due} {{x}}"
    assert render(text, values) == "Dear {agent} <b>[red]Evil[/red]\x1b[31m, case 7 (—) by alice; due — {x}"
    assert variables_of(text) == ["customer", "case.id", "contact", "agent", "sla.resolution.due"]
    [m] = load_toml('[macros.x]\nreply = "{ customer }"\n')
    assert m.rendered({"customer": "acme"}) == ("acme", None)


def test_fuzzy_ranking_of_names() -> None:
    names = ["ask-logs", "resolve-cache", "duplicate", "urgent-to-bob", "thanks"]
    assert fuzzy_rank("", names) == sorted(names)
    assert fuzzy_rank("ask", names) == ["ask-logs"]
    assert fuzzy_rank("lg", names) == ["ask-logs"]
    assert fuzzy_rank("u", names)[0] == "urgent-to-bob"  # begins with it
    assert fuzzy_rank("ae", names) == ["duplicate", "resolve-cache"]  # the tightest match first
    assert fuzzy_rank("CACHE", names) == ["resolve-cache"]  # case ignored
    assert fuzzy_rank("zzz", names) == []


# --------------------------------------------------------------------------- applying


def test_a_macro_that_asks_sends_its_reply_as_the_question(desk) -> None:
    loaded(desk)
    case = desk.open(customer="acme")
    version = desk.svc.get_case(case.id).version
    after = desk.svc.apply_macro(case.id, "ask-logs", actor="alice", expected_version=version)
    assert (after.status, after.sub_status, after.assignee) == ("pending", "customer_input", "alice")
    question = f"Hello acme, could you send us the logs for case {case.id}? Regards, alice"
    [row] = desk.outbox(case.id)
    assert row.kind == "question" and question in row.body
    kinds = [e.kind for e in after.events]
    assert kinds[kinds.index("macro_applied"):] == ["macro_applied", "note", "assigned", "status_changed"] or \
        kinds[kinds.index("macro_applied"):] == ["macro_applied", "assigned", "note", "status_changed"]
    moved = [e for e in after.events if e.kind == "status_changed"][-1]
    assert moved.body == question and moved.data["asked"] == "message"
    assert [e.body for e in after.events if e.kind == "note"] == ["asked for logs"]
    applied = [e for e in after.events if e.kind == "macro_applied"][0]
    assert applied.data["macro"] == "ask-logs" and applied.actor == "alice"
    assert after.reminder_at is not None  # the 7-day reminder runs, quoting the question


def test_a_macro_that_resolves_sends_the_resolution_for_confirmation(desk) -> None:
    loaded(desk)
    case = desk.case_in("in_progress")
    after = desk.svc.apply_macro(case.id, "resolve-cache", actor="alice")
    assert after.status == "awaiting_confirmation"
    assert after.resolution == ("We cleared the stale cache on our side; help@acme.example should see the right "
                                "totals now.")
    assert [o.kind for o in desk.outbox(case.id)] == ["awaiting_confirmation"]


def test_a_reply_only_macro_is_sent_as_a_reply(desk) -> None:
    loaded(desk)
    case = desk.case_in("in_progress", customer="{agent}")
    after = desk.svc.apply_macro(case.id, "thanks", actor="alice")
    [row] = desk.outbox(case.id)
    assert row.kind == "comment" and row.body == "Thank you, {agent}! Braces stay as written: {not a variable}."
    assert after.status == "in_progress"


def test_priority_and_assignee_follow_the_reassignment_rules(desk) -> None:
    loaded(desk)
    case = desk.case_in("in_progress")  # alice's
    before = desk.snapshot(case.id)
    with pytest.raises(PermissionDenied, match="only a manager or supervisor may reassign cases"):
        desk.svc.apply_macro(case.id, "urgent-to-bob", actor="alice")
    assert desk.snapshot(case.id) == before  # nothing of it: not the note, not the priority, no event
    after = desk.svc.apply_macro(case.id, "urgent-to-bob", actor="mona")
    assert (after.priority, after.assignee) == ("P1", "bob")
    changed = [e for e in after.events if e.kind == "priority_changed"][-1]
    assert (changed.actor, changed.data["from"], changed.data["to"]) == ("mona", "P3", "P1")
    again = desk.svc.apply_macro(case.id, "urgent-to-bob", actor="mona")  # only its note this time
    assert [e.kind for e in again.events][len(after.events):] == ["macro_applied", "note"]
    desk.svc.load_macros('[macros.p1]\npriority = "P1"\n', actor="mona")
    before = desk.snapshot(case.id)
    with pytest.raises(InvalidInput, match=f"macro p1 changes nothing on case {case.id}: it is already P1"):
        desk.svc.apply_macro(case.id, "p1", actor="mona")
    assert desk.snapshot(case.id) == before


def test_a_refused_step_refuses_the_whole_macro(desk) -> None:
    loaded(desk)
    case = desk.case_in("awaiting_confirmation")
    before = desk.snapshot(case.id)
    with pytest.raises(InvalidTransition, match="cannot move to pending"):
        desk.svc.apply_macro(case.id, "ask-logs", actor="alice")  # its note would have gone first
    assert desk.snapshot(case.id) == before
    stale = desk.svc.get_case(case.id).version - 1
    with pytest.raises(Conflict):
        desk.svc.apply_macro(case.id, "thanks", actor="alice", expected_version=stale)
    with pytest.raises(NotFound, match="unknown macro 'nope'"):
        desk.svc.apply_macro(case.id, "nope", actor="alice")
    with pytest.raises(PermissionDenied, match="sue is a supervisor: only an analyst or manager may move cases"):
        desk.svc.apply_macro(desk.case_in("in_progress").id, "ask-logs", actor="sue")
    assert desk.snapshot(case.id) == before


def test_a_closing_macro_closes_with_its_note_and_holds_the_survey(desk, clock) -> None:
    loaded(desk)
    case = desk.case_in("in_progress")
    after = desk.svc.apply_macro(case.id, "duplicate", actor="alice")
    assert (after.status, after.close_reason) == ("closed", "Duplicate of an older case")
    [survey] = desk.outbox(case.id)
    assert survey.kind == "survey" and survey.held_until == clock.now() + desk.svc.durations.undo_window
    assert json.loads(json.dumps(survey.to_json()))["held_until"]


def test_the_demo_desk_has_two_macros_that_apply(tmp_path) -> None:
    from deskconsole.demo import build_demo
    from deskconsole.domain.clock import FixedClock
    from deskconsole.service import Service
    from deskconsole.store.engine import init_schema, make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    init_schema(engine)
    service = Service(engine, FixedClock("2026-11-25T09:00:00Z"))
    build_demo(service, cases=12)
    assert [m.name for m in service.list_macros()] == ["ask-for-logs", "resolved-config"]
    case = next(c for c in service.list_cases(status="in_progress") if c.assignee)
    after = service.apply_macro(case.id, "ask-for-logs", actor=case.assignee)
    assert (after.status, after.sub_status) == ("pending", "customer_input")
    assert f"to look into case {case.id} we need the log files" in after.events[-1].body
    engine.dispose()


def test_cli_macro_load_list_and_case_macro(desk, tmp_path, capsys) -> None:
    from deskconsole.cli import main

    url = desk.svc.engine.url.render_as_string(hide_password=False)
    run = ["--db", url, "--as"]
    good, bad = tmp_path / "macros.toml", tmp_path / "bad.toml"
    good.write_text(MACROS, encoding="utf-8")
    bad.write_text('[macros.ok]\nnote = "fine"\n\n[macros.oops]\nreply = "Dear {name}"\n', encoding="utf-8")
    assert main([*run, "mona", "macro", "load", str(good)]) == 0
    assert capsys.readouterr().out == "loaded 5 macros: 5 new, 0 replaced\n"
    assert main([*run, "mona", "macro", "load", str(bad)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == ("error: line 5: macros.oops.reply: unknown variable {name} (known: {customer}, "
                            "{contact}, {case.id}, {agent}, {sla.resolution.due})\n")
    assert main([*run, "alice", "macro", "load", str(tmp_path / "missing.toml")]) == 1
    assert capsys.readouterr().err.startswith("error: cannot read ")
    assert main([*run, "alice", "macro", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [m["name"] for m in listed] == ["ask-logs", "duplicate", "resolve-cache", "thanks", "urgent-to-bob"]
    assert listed[0]["does"] == "question · note · pending/customer_input"
    assert main([*run, "alice", "macro", "list"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["NAME", "DOES", "TEXT"] and table[1].startswith("ask-logs")
    case = desk.case_in("in_progress")
    assert main([*run, "alice", "case", "macro", str(case.id), "ask-logs"]) == 0
    assert capsys.readouterr().out.startswith(f"case {case.id} is now pending/customer_input, P3")
    assert main([*run, "alice", "case", "macro", str(case.id), "nope"]) == 1
    assert capsys.readouterr().err == "error: unknown macro 'nope': 'deskconsole macro list' shows the team's macros\n"
