"""Macros and the undo of a close under real PostgreSQL logins: the grants and row-level security of the
macro table and of a withdrawn survey (store/identity.py), as an analyst, a manager and a supervisor."""

from __future__ import annotations

import json

import pytest
from psycopg import errors
from test_pg_identity import cli, logins, ok, opened, refused, team  # noqa: F401 - the fixtures and helpers

MACROS = """\
[macros.ask-export]
reply = "Dear {customer}, which export format fails for you? ({agent}, case {case.id})"
status = "pending"
sub_status = "customer_input"
"""
LONG_WINDOW = {"DESKCONSOLE_UNDO_WINDOW": "10m"}  # the server's clock runs: room for the commands in between


def test_macros_and_undo_under_agents_logins(team, cli, tmp_path) -> None:  # noqa: F811 - the fixtures
    path = tmp_path / "macros.toml"
    path.write_text(MACROS, encoding="utf-8")
    refused(cli("macro", "load", str(path), login=team.alice), "alice is an analyst: only a manager or supervisor "
                                                                 "may load macros")
    ok(cli("macro", "load", str(path), login=team.sofia))
    ok(cli("macro", "load", str(path), login=team.helen))
    with team.sql(team.alice) as conn:
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("INSERT INTO macro (name, note, loaded_by, loaded_at) VALUES ('mine', 'x', 'alice', now())")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("UPDATE macro SET reply = 'rewritten'")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("DELETE FROM macro")
        assert conn.execute("SELECT name FROM macro").fetchall() == [("ask-export",)]
    listed = ok(cli("macro", "list", "--json", login=team.alice)).json()
    assert [(m["name"], m["status"], m["sub_status"]) for m in listed] == [("ask-export", "pending", "customer_input")]

    case = opened(cli, team.alice)
    shown = ok(cli("case", "macro", str(case), "ask-export", "--json", login=team.alice)).json()
    assert (shown["status"], shown["sub_status"]) == ("pending", "customer_input")
    [question] = [o for o in ok(cli("outbox", "list", "--json", login=team.alice)).json() if o["case"] == case]
    assert question["kind"] == "question"
    assert f"Dear ACME, which export format fails for you? (alice, case {case})" in question["body"]

    ok(cli("case", "close", str(case), "--reason", "customer withdrew it", login=team.alice, env=LONG_WINDOW))
    with team.sql(team.alice) as conn:  # an unanswered survey is withdrawn only by an undo (no other delete)
        assert conn.execute("SELECT count(*) FROM survey WHERE case_id = %s", (case,)).fetchone() == (1,)
    back = ok(cli("case", "undo", str(case), "--json", login=team.alice, env=LONG_WINDOW)).json()
    assert (back["status"], back["sub_status"], back["assignee"]) == ("pending", "customer_input", "alice")
    assert back["reminder_at"] is not None
    rows = [o for o in ok(cli("outbox", "list", "--json", login=team.alice)).json() if o["case"] == case]
    assert [(o["kind"], o["state"]) for o in rows] == [("question", "queued"), ("survey", "cancelled")]
    with team.sql() as conn:
        assert conn.execute("SELECT count(*) FROM survey WHERE case_id = %s", (case,)).fetchone() == (0,)
        undone = conn.execute("SELECT actor, login, data FROM event WHERE case_id = %s AND kind = 'close_undone'",
                              (case,)).fetchone()
    assert undone[:2] == ("alice", team.alice) and json.loads(undone[2])["to"] == "pending"

    # an answered survey is no analyst's to delete
    other = opened(cli, team.alice, title="Second export")
    ok(cli("case", "close", str(other), "--reason", "duplicate", login=team.alice))
    answer = json.dumps({"type": "survey.answered", "case": other, "score": 2})
    assert ok(cli("ingest", login=team.alice, stdin=answer + "\n")).lines()[0]["ok"]
    with team.sql(team.alice) as conn:
        assert conn.execute("DELETE FROM survey WHERE case_id = %s", (other,)).rowcount == 0
