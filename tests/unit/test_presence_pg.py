"""Presence under real PostgreSQL logins (store/identity.py): every agent reads everyone's
heartbeats, each writes and removes only their own, whatever SQL the login types."""

from __future__ import annotations

import pytest
from psycopg import errors
from test_pg_identity import as_login, cli, logins, opened, team  # noqa: F401 - the fixtures and helpers

from deskconsole.domain.errors import PermissionDenied
from deskconsole.domain.presence import TYPING
from deskconsole.service import Service
from deskconsole.store.engine import make_engine


def _service(url: str, login: str) -> Service:
    return Service(make_engine(as_login(url, login)))


def test_each_login_writes_only_its_own_presence_and_reads_everyones(team, cli) -> None:  # noqa: F811
    case = opened(cli, team.alice)
    alice, helen = _service(team.url, team.alice), _service(team.url, team.helen)
    try:
        assert alice.presence_beat(case, actor="alice", state=TYPING) == []
        seen = helen.presence_beat(case, actor="helen")
        assert [(p.agent, p.state) for p in seen] == [("alice", TYPING)]
        assert [p.agent for p in alice.presence_at([case], actor="alice")[case]] == ["helen"]
        with pytest.raises(PermissionDenied, match="you cannot act as helen"):
            alice.presence_beat(case, actor="helen")
    finally:
        alice.engine.dispose()
        helen.engine.dispose()
    with team.sql(team.alice) as conn:
        with pytest.raises(errors.InsufficientPrivilege):  # a row in someone else's name: RLS
            conn.execute("INSERT INTO presence (case_id, agent, state, beat) VALUES (%s, 'sofia', 'viewing', now())",
                         (case,))
        assert conn.execute("UPDATE presence SET state = 'typing' WHERE agent = 'helen'").rowcount == 0
        assert conn.execute("DELETE FROM presence WHERE agent = 'helen'").rowcount == 0
        with pytest.raises(errors.InsufficientPrivilege):  # (the case and agent of a row never change)
            conn.execute("UPDATE presence SET agent = 'helen' WHERE agent = 'alice'")
        assert conn.execute("SELECT agent, state FROM presence ORDER BY agent").fetchall() == [
            ("alice", "typing"), ("helen", "viewing")]
        assert conn.execute("DELETE FROM presence WHERE agent = 'alice'").rowcount == 1
