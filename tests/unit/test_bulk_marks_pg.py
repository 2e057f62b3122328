"""The console's bulk actions under real PostgreSQL logins (issue 17): an analyst's login closes her marked
cases in one brief apply_many (batched transactions, a savepoint per case, row-level security applying) and
undoes the bulk close; a case her role may not touch is refused with its reason while the others go."""

from __future__ import annotations

from test_pg_identity import Team, as_login, cli, logins, ok, opened, team  # noqa: F401 - (fixtures)

from deskconsole.domain.errors import Conflict
from deskconsole.service import Assign, Close, Reply, Service
from deskconsole.store.engine import make_engine


def service_as(desk: Team, login: str) -> Service:
    return Service(make_engine(as_login(desk.url, login)))


def test_an_analysts_login_bulk_closes_replies_and_undoes(team: Team, cli) -> None:  # noqa: F811
    cases = [opened(cli, team.alice, title=f"Invoice export {i}") for i in range(3)]
    svc = service_as(team, team.alice)
    try:
        shown = {c: svc.get_case(c).version for c in cases}
        ok(cli("case", "note", str(cases[1]), "Looked at it", login=team.helen))  # changed underneath
        replied = svc.apply_many(cases, Reply("We are looking into the export."), actor="alice",
                                 versions=shown, brief=True)
        assert [o.done for o in replied] == [True, False, True]
        assert isinstance(replied[1].error, Conflict) and "helen" in str(replied[1].error)
        versions = {o.case_id: o.version for o in replied if o.done}
        closed = svc.apply_many(list(versions), Close("fixed in 4.2"), actor="alice", versions=versions,
                                brief=True)
        assert all(o.done for o in closed)
        assert [svc.get_case(c).status for c in cases] == ["closed", "new", "closed"]
        with team.sql() as conn:
            logins = {row[0] for row in conn.execute(
                "SELECT DISTINCT login FROM event WHERE case_id = ANY(%s) AND kind IN ('comment', 'status_changed')",
                (list(versions),)).fetchall()}
        assert logins == {team.alice}  # each event written under her login
        # reassigning is for leads: refused per case, nothing changed
        refused = svc.apply_many(cases[1:2], Assign(None), actor="alice", brief=True)
        assert not refused[0].done and "only a manager or supervisor" in str(refused[0].error)
        undone = svc.undo_many({o.case_id: o.version for o in closed}, Close("fixed in 4.2"), actor="alice")
        assert all(o.done for o in undone)
        assert [svc.get_case(c).status for c in cases] == ["new", "new", "new"]
    finally:
        svc.engine.dispose()
