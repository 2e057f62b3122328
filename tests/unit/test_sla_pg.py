"""Service levels on PostgreSQL where the bulk builder and the fast first frame meet the server:
bulk SLA rows take explicit ids (the sla_metric sequence is set past them after the insert), and the
quick connection's probe of the desk's policies (store/window.py SLA_PROBE) under an analyst's own
login (row-level security and grants, store/identity.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from test_pg_identity import Team, as_login, cli, libpq, logins, opened, team  # noqa: F401 -- fixtures

from deskconsole import demo
from deskconsole.bulk import build_bulk
from deskconsole.bulk.slalife import DEMO_POLICY
from deskconsole.domain.clock import FixedClock
from deskconsole.service import Service
from deskconsole.store.engine import make_engine
from deskconsole.store.window import SLA_PROBE, read_window

pytestmark = pytest.mark.postgres
END = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def test_a_bulk_desk_with_service_levels_then_the_service_writes_new_metric_rows(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        service = Service(engine, FixedClock(END))
        first = demo.AGENTS[0][0]
        for name, role, skills, manager in demo.AGENTS:
            service.add_agent(name, role, actor=None if name == first else first, skills=skills, manager=manager)
        service.load_sla(DEMO_POLICY, actor=first)
        build_bulk(engine, 120, end=END, seed=3, open_share=0.4, sla=DEMO_POLICY, sla_since=END - timedelta(days=3))
        with psycopg.connect(libpq(pg_url), autocommit=True) as conn:
            (bulk_rows, bulk_max) = conn.execute("SELECT count(*), max(id) FROM sla_metric").fetchone()
        assert bulk_rows >= 20  # the bulk desk's cases active since the policies have their metric events

        later = Service(engine, FixedClock(END + timedelta(minutes=5)))
        case = later.open_case("Export stalls", "ACME", severity="high", actor="sue")[0].id
        with psycopg.connect(libpq(pg_url), autocommit=True) as conn:
            new = conn.execute("SELECT id, target, kind FROM sla_metric WHERE case_id = %s ORDER BY id",
                               (case,)).fetchall()
        # a P2 opened now: its first response and resolution start, under ids after the bulk rows'
        assert [(target, kind) for _, target, kind in new] == [("first_response", "start"), ("resolution", "start")]
        assert all(row_id > bulk_max for row_id, _, _ in new)
        sla = later.get_case(case).sla
        assert sla is not None and sla["first_response"]["state"] == "running"
    finally:
        engine.dispose()


def test_the_first_frames_policy_probe_works_under_an_analysts_own_login(team: Team) -> None:  # noqa: F811
    admin = make_engine(team.url)
    try:
        Service(admin, FixedClock(END)).load_sla(DEMO_POLICY, actor="sofia")
    finally:
        admin.dispose()
    case = opened(team.cli, login=team.alice)
    with psycopg.connect(libpq(as_login(team.url, team.alice))) as conn, conn.cursor() as cursor:
        cursor.execute(SLA_PROBE)
        assert cursor.fetchone()[0] == 1  # the analyst reads that policies are loaded
        rows = read_window(cursor, "format", view="all", sort="sla", limit=10)
    assert [r.id for r in rows] == [case]
    assert rows[0].sla_due is not None  # its first response runs: the page shows when it breaches
