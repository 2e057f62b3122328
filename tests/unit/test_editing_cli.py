"""`case edit`, `case tag`, `case split` on the command line (bad input: one `error:` line, exit 1, nothing
changed), and the same under real PostgreSQL logins (the case_tag table's grants and row-level security)."""

from __future__ import annotations

import pytest
from psycopg import errors
from test_cli import Desk, desk, desk_template  # noqa: F401 - fixtures
from test_cli_many import five
from test_pg_identity import cli, logins, ok, opened, refused, team  # noqa: F401 - the fixtures and helpers


def test_edit_and_tag_print_the_case_and_show_lists_it(desk: Desk) -> None:  # noqa: F811
    five(desk)
    run = desk.ok("case", "edit", "1", "--title", "Invoice 4711 wrong", "--priority", "P1", "--tag", "VIP,billing",
                  user="al")
    assert run.out.splitlines() == ["case 1 is now new, P1, version 2 (assignee al)"]
    shown = desk.show(1)
    assert (shown["title"], shown["priority"], shown["tags"]) == ("Invoice 4711 wrong", "P1", ["billing", "vip"])
    run = desk.ok("case", "tag", "1", "--remove", "vip", "--add", "month-end", user="al")
    assert run.out.splitlines()[0] == "case 1 tags: billing, month-end"
    text = desk.ok("case", "show", "1").out
    assert "  tags:           billing, month-end" in text
    assert "edited: title: " in text and "tagged: +month-end -vip" in text
    ids = [r["id"] for r in desk.ok("case", "list", "--filter", "tag:month-end", "--json").json()]
    assert ids == [1]
    assert desk.ok("case", "edit", "1", "--area", "", "--json", user="al").json()["product_area"] is None


@pytest.mark.parametrize(("argv", "words"), [
    (["case", "edit", "1"], "case edit: say what to change"),
    (["case", "edit", "1", "--title", "   "], "title"),
    (["case", "edit", "1", "--tag", "no good!"], "a tag is one word"),
    (["case", "edit", "1", "--priority", "P3"], "already has these values"),
    (["case", "edit", "1", "--title", "x", "--expect-version", "7"], "changed since you read it"),
    (["case", "edit", "99", "--title", "x"], "unknown case 99"),
    (["case", "tag", "1"], "give --add TAG or --remove TAG"),
    (["case", "tag", "1", "--add", "x", "--remove", "x"], "both added and removed"),
    (["case", "split", "1", "--event", "1"], "only a customer's message is split out"),
    (["case", "split", "1", "--event", "999"], "case 1 has no event 999"),
])
def test_bad_input_is_one_error_line_exit_1_and_changes_nothing(desk: Desk, argv, words) -> None:  # noqa: F811
    five(desk)
    before = desk.show(1)
    run = desk.refused(*argv, user="al")
    assert run.out == "" and words in run.err and run.err.count("\n") == 1, run.err
    assert desk.show(1) == before


def test_a_supervisor_may_not_split_and_a_closed_case_is_not_edited(desk: Desk) -> None:  # noqa: F811
    five(desk)
    desk.ok("case", "reply", "1", "Also my printer is broken", user="al")
    event = [e["id"] for e in desk.show(1)["events"] if e["kind"] == "customer_replied"][-1]
    assert "only an analyst or manager may split cases" in desk.refused(
        "case", "split", "1", "--event", str(event), user="boss").err
    run = desk.ok("case", "split", "1", "--event", str(event), "--title", "Printer broken", user="al")
    line = run.out.splitlines()[0]
    assert line.startswith("case 6 split out of case 1: new, P3, version 1")
    assert desk.show(6)["split_from"] == 1 and desk.show(1)["split_into"] == [6]
    assert desk.show(6)["description"] == "Also my printer is broken"
    desk.ok("case", "close", "2", "--reason", "withdrawn", user="al")
    assert "is closed: cannot edit it" in desk.refused("case", "edit", "2", "--title", "x", user="al").err


def test_tags_under_real_logins(team, cli) -> None:  # noqa: F811 - the fixtures
    case = opened(cli, team.alice)
    shown = ok(cli("case", "tag", str(case), "--add", "vip", "--json", login=team.alice)).json()
    assert shown["tags"] == ["vip"]
    ok(cli("case", "edit", str(case), "--untag", "vip", "--tag", "billing", "--priority", "P1", login=team.sofia))
    assert [r["id"] for r in ok(cli("case", "list", "--filter", "tag:billing", "--json", login=team.alice)).json()] \
        == [case]
    ok(cli("case", "reply", str(case), "Also the printer", login=team.alice))
    event = [e["id"] for e in ok(cli("case", "show", str(case), "--json", login=team.alice)).json()["events"]
             if e["kind"] == "customer_replied"][-1]
    new = ok(cli("case", "split", str(case), "--event", str(event), "--json", login=team.alice)).json()
    assert new["split_from"] == case
    refused(cli("case", "split", str(case), "--event", str(event), login=team.sofia),
            "sofia is a supervisor: only an analyst or manager may split cases")
    with team.sql(team.alice) as conn:
        assert conn.execute("SELECT tag FROM case_tag WHERE case_id = %s", (case,)).fetchall() == [("billing",)]
        # the tags are the desk's agents' to write; a tag's row never changes in place
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("UPDATE case_tag SET tag = 'other'")
