"""Saved views under real PostgreSQL logins: the grants and row-level security of the saved_view
table (store/identity.py, migration 0010): each agent's login reads and writes its own views only,
whatever SQL it types; counts under a login count for that login's agent."""

from __future__ import annotations

import pytest
from psycopg import errors
from test_pg_identity import cli, logins, ok, opened, refused, team  # noqa: F401 - the fixtures and helpers


def test_saved_views_are_each_logins_own(team, cli) -> None:  # noqa: F811 - the fixtures
    ok(cli("view", "save", "My billing", "--filter", "area:billing assignee:me", login=team.alice))
    ok(cli("view", "save", "Desk P1", "--filter", "prio:P1", "--sort", "sla", login=team.sofia))
    names = [v["name"] for v in ok(cli("view", "list", "--json", login=team.alice)).json() if v["source"] == "saved"]
    assert names == ["My billing"]
    names = [v["name"] for v in ok(cli("view", "list", "--json", login=team.sofia)).json() if v["source"] == "saved"]
    assert names == ["Desk P1"]
    refused(cli("view", "delete", "Desk P1", login=team.alice), "no saved view called 'Desk P1'")
    refused(cli("view", "save", "Sneaky", "--filter", "prio:P1", user="sofia", login=team.alice),
            "you cannot act as sofia")
    with team.sql(team.alice) as conn:
        # her own rows only, whatever the query says
        assert conn.execute("SELECT name FROM saved_view").fetchall() == [("My billing",)]
        assert conn.execute("DELETE FROM saved_view WHERE name = 'Desk P1'").rowcount == 0
        assert conn.execute("UPDATE saved_view SET filter = 'prio:P4'").rowcount == 1  # (hers)
        sofia_id = conn.execute("SELECT id FROM agent WHERE name = 'sofia'").fetchone()[0]
        with pytest.raises(errors.InsufficientPrivilege):  # a view written in someone else's name
            conn.execute("INSERT INTO saved_view (agent_id, name, name_key, filter, created_at) "
                         "VALUES (%s, 'Planted', 'planted', '', now())", (sofia_id,))
        with pytest.raises(errors.InsufficientPrivilege):  # nor moved to them
            conn.execute("UPDATE saved_view SET agent_id = %s", (sofia_id,))
    with team.sql() as conn:  # the administrator sees both, unchanged but for alice's own edit
        assert conn.execute("SELECT name, filter FROM saved_view ORDER BY id").fetchall() == [
            ("My billing", "prio:P4"), ("Desk P1", "prio:P1")]
    ok(cli("view", "delete", "my billing", login=team.alice))
    with team.sql() as conn:
        assert conn.execute("SELECT name FROM saved_view").fetchall() == [("Desk P1",)]


def test_case_list_by_view_under_a_login(team, cli) -> None:  # noqa: F811 - the fixtures
    case = opened(cli, team.alice)
    if ok(cli("case", "show", str(case), "--json", login=team.alice)).json()["assignee"] != "alice":
        ok(cli("case", "assign", str(case), "alice", login=team.alice))
    mine = ok(cli("case", "list", "--view", "mine", "--json", login=team.alice)).json()
    assert [r["id"] for r in mine] == [case]
    breached = ok(cli("case", "list", "--view", "Breached", "--json", login=team.sofia)).json()
    assert breached == []
