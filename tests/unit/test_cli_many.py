"""The command line for many cases: `case list --filter`, `case close|move|assign ID [ID ...]`,
`case merge SOURCE --into TARGET` (one process per command, as in test_cli)."""

from __future__ import annotations

from pathlib import Path

from test_cli import Desk, add_people, desk, desk_template, opened  # noqa: F401 - fixtures


def five(desk: Desk) -> None:  # noqa: F811 - the fixture's name
    """Cases 1-5: Acme's invoices (billing: al), Globex's login (bo), Acme's report (nobody: reporting... al)."""
    run = desk.ingest(
        opened("Invoice wrong"),
        opened("Invoice total wrong again"),
        opened("SSO login loop", customer="Globex", contact="it@globex.example", product_area="login",
               severity="high"),
        opened("Month end report slow", product_area="reporting", severity="production_down"),
        opened("Invoice missing", customer="Initech", contact="ann@initech.example"),
    )
    assert run.code == 0, run.out


def ids(run) -> list[int]:
    return [r["id"] for r in run.json()]


def test_list_takes_the_filter_language_with_limit_and_json(desk: Desk) -> None:  # noqa: F811
    five(desk)
    assert ids(desk.ok("case", "list", "--filter", "customer:acme", "--json")) == [1, 2, 4]
    assert ids(desk.ok("case", "list", "--filter", "customer:acme invoice", "--json")) == [1, 2]
    assert ids(desk.ok("case", "list", "--filter", "prio:P1,P2", "--json")) == [3, 4]
    assert ids(desk.ok("case", "list", "--filter", '"total wrong"', "--json")) == [2]
    assert ids(desk.ok("case", "list", "--filter", "assignee:me", "--json", user="bo")) == [3]
    assert ids(desk.ok("case", "list", "--filter", "customer:acme", "--limit", "1", "--json")) == [1]
    table = desk.ok("case", "list", "--filter", "area:login").out.splitlines()
    assert len(table) == 2 and table[1].split()[:2] == ["3", "P2"] and "SSO login loop" in table[1]
    assert desk.ok("case", "list", "--filter", "status:closed", "--json").json() == []


def test_a_bad_filter_term_is_one_error_line_and_exit_1(desk: Desk) -> None:  # noqa: F811
    five(desk)
    for expr, words in [
        ("stat:new", "stat:new: unknown filter key 'stat'"),
        ("status:open", "status:open: unknown status 'open'"),
        ("age:3d", "age:3d: bad age '3d'"),
        ("assignee:zed", "assignee:zed: no agent is called 'zed'"),
        ("sla:late", "sla:late: unknown service-level state 'late'"),
    ]:
        run = desk.refused("case", "list", "--filter", expr, "--json")
        assert run.out == "" and words in run.err, run.err


def test_several_ids_are_each_applied_or_refused(desk: Desk) -> None:  # noqa: F811
    five(desk)
    desk.ok("case", "close", "5", "--reason", "withdrawn", user="al")
    before = {n: desk.show(n) for n in (3, 5)}
    run = desk("case", "close", "1", "99", "2", "5", "3", "--reason", "duplicate", user="al")
    assert run.code == 1
    assert run.out.splitlines() == [
        "case 1 is now closed, P3, version 2 (assignee al)",
        "case 2 is now closed, P3, version 2 (assignee al)",
        "case 3 is now closed, P2, version 2 (assignee bo)",
    ]
    assert run.err.splitlines() == [
        "error: case 99: unknown case 99",
        "error: case 5: case 5 is closed: cannot move to closed; allowed next: none (closed cases never change; "
        "clone to start new work)",
    ]
    assert desk.show(5) == before[5]
    assert [desk.show(n)["status"] for n in (1, 2, 3)] == ["closed"] * 3
    assert desk.show(3)["close_reason"] == "duplicate"


def test_several_ids_move_and_assign_and_all_done_is_exit_0(desk: Desk) -> None:  # noqa: F811
    five(desk)
    run = desk.ok("case", "move", "1", "2", "pending", "--sub-status", "customer_input", "--note", "Which invoice?",
                  user="al")
    assert [line.split(",")[0] for line in run.out.splitlines()] == [
        "case 1 is now pending/customer_input", "case 2 is now pending/customer_input"]
    assert run.err == ""
    moved = desk.ok("case", "move", "1", "2", "in_progress", "--json", user="al").lines()
    assert [(c["id"], c["status"]) for c in moved] == [(1, "in_progress"), (2, "in_progress")]
    run = desk("case", "assign", "1", "2", "3", "bo", user="boss")
    assert run.code == 1 and run.err == "error: case 3: case 3 is already assigned to bo\n"
    assert [desk.show(n)["assignee"] for n in (1, 2, 3)] == ["bo", "bo", "bo"]
    # an analyst does not hand cases to others: each refusal on its own line
    run = desk("case", "assign", "1", "2", "al", user="bo")
    assert run.code == 1 and run.out == "" and len(run.err.splitlines()) == 2
    assert run.err.splitlines()[0].startswith("error: case 1: bo is an analyst: only a manager or supervisor")
    refused = desk.refused("case", "close", "1", "2", "--reason", "x", "--expect-version", "3", user="al")
    assert "--expect-version names one case's version" in refused.err
    assert desk.show(1)["status"] == "in_progress"


def test_one_id_reads_as_before(desk: Desk) -> None:  # noqa: F811
    five(desk)
    assert desk.ok("case", "move", "1", "in_progress", user="al").out == \
        "case 1 is now in_progress, P3, version 2 (assignee al)\n"
    assert desk.refused("case", "close", "99", "--reason", "x", user="al").err == "error: unknown case 99\n"
    assert desk.refused("case", "assign", "3", "bo", user="boss").err == "error: case 3 is already assigned to bo\n"
    assert desk.ok("case", "close", "1", "--reason", "dup", "--expect-version", "2", user="al").out == \
        "case 1 is now closed, P3, version 3 (assignee al)\n"


def test_merge_from_the_command_line(desk: Desk) -> None:  # noqa: F811
    five(desk)
    desk.ok("case", "note", "2", "Customer sent invoice 4711", user="al")
    run = desk.ok("case", "merge", "2", "--into", "1", user="al")
    assert run.out.splitlines() == ["case 2 is merged into case 1 and closed",
                                    "case 1 is now new, P3, version 2 (assignee al)"]
    shown = desk.ok("case", "show", "2").out
    assert "merged into:    case 1" in shown and "closed" in shown and "merged into 1" in shown
    target = desk.ok("case", "show", "1").out
    assert "merged from:    case 2" in target
    assert "merged_from: case 2 (1 conversation events, 0 mail messages)" in target
    assert "note: from case 2" in target and "Customer sent invoice 4711" in target
    assert [o["kind"] for o in desk.ok("outbox", "list", "--json").json() if o["case"] == 2] == []

    before = desk.show(5)
    err = desk.refused("case", "merge", "5", "--into", "1", user="al").err
    assert err == ("error: case 5 is for 'Initech' and case 1 for 'Acme': merging across customers needs "
                   "--force\n")
    assert desk.show(5) == before
    desk.refused("case", "merge", "1", "--into", "1", user="al")
    desk.refused("case", "merge", "2", "--into", "1", user="al")  # closed by the first merge
    merged = desk.ok("case", "merge", "5", "--into", "1", "--force", "--json", user="al").json()
    assert merged["merged_from"] == [2, 5]
    assert desk.show(5)["merged_into"] == 1
    # a reply for a merged case, fed by ingest, lands on the case kept
    answer = desk.ingest({"type": "customer.replied", "case": 2, "body": "Any news?"})
    assert answer.lines() == [{"line": 1, "ok": True, "case": 1, "status": "new"}]


def test_many_and_merge_on_both_databases(db_url: str, tmp_path: Path) -> None:
    desk = Desk(db_url, tmp_path)  # noqa: F811
    add_people(desk)
    five(desk)
    assert ids(desk.ok("case", "list", "--filter", "customer:acme status:new", "--json")) == [1, 2, 4]
    run = desk("case", "close", "1", "42", "--reason", "duplicate", user="al")
    assert (run.code, run.err) == (1, "error: case 42: unknown case 42\n")
    desk.ok("case", "merge", "4", "--into", "2", user="boss")
    assert ids(desk.ok("case", "list", "--filter", "customer:acme status:new", "--json")) == [2]
    assert desk.show(2)["merged_from"] == [4]


def test_take_with_nothing_to_take_says_why_as_the_console_does(desk: Desk) -> None:  # noqa: F811
    """`case take` finding nothing names the analyst's skills and what waits unassigned elsewhere (the
    console's words, domain/explain.py), on one line after "nothing to take:"; --json still prints null."""
    five(desk)  # (routed: al and bo have each of their areas' cases)
    assert desk.ok("case", "take", user="bo").out.splitlines() == [
        "nothing to take: nothing unassigned in login — your skills"]
    assert desk.ingest(opened("Array degraded", product_area="storage"),
                       opened("Disk full", product_area="storage")).code == 0  # nobody's skill: unassigned
    assert desk.ok("case", "take", user="bo").out.splitlines() == [
        "nothing to take: nothing unassigned in login — your skills; 2 unassigned in other areas (storage 2)"]
    assert desk.ok("case", "take", "--json", user="bo").json() is None
