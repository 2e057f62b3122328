"""No queue query walks the case table, on either database, at 100,000 cases (issue 18).

Every window the queue asks for (each view x each sort x with and without a filter word: a rare
word, an absent one, a common one, a customer's name, a word with a case number) and the filter
language's counts are EXPLAINed on a 100,000-case desk written by the bulk builder once for this
module (then ANALYZE, as a new desk gets it); a sequential scan or an index walked whole that
throws rows away fails (tests/queueplans.py says what passes).
"""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from desk_cache import copy_desk
from deskconsole import demo
from deskconsole.bulk import build_bulk
from deskconsole.domain.clock import FixedClock
from deskconsole.domain.timers import Durations
from deskconsole.service import Service
from deskconsole.store.engine import init_schema, make_engine
from deskconsole.store.window import Plan, window_sql
from queueplans import Query, pg_walks, queries, sqlite_walks

pytestmark = pytest.mark.slow
CASES = 100_000
END = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def _build(url: str) -> int:
    """A desk of CASES cases as the bulk demo writes it; the id of the analyst whose queue is read."""
    engine = make_engine(url)
    try:
        init_schema(engine)
        service = Service(engine, FixedClock(END), Durations())
        first = demo.AGENTS[0][0]
        for name, role, skills, manager in demo.AGENTS:
            service.add_agent(name, role, actor=None if name == first else first, skills=skills, manager=manager)
        build_bulk(engine, CASES, end=END, seed=5)
        analyst = next(name for name, role, *_ in demo.AGENTS if role == "analyst")
        return _agent_id(url, analyst)
    finally:
        engine.dispose()


def _agent_id(url: str, name: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.exec_driver_sql("SELECT id FROM agent WHERE name = %s" if "postgresql" in url
                                            else "SELECT id FROM agent WHERE name = ?", (name,)).scalar_one())
    finally:
        engine.dispose()


def _build_analyzed(path: Path) -> int:
    me = _build(f"sqlite:///{path}")
    con = sqlite3.connect(path)
    try:
        con.execute("ANALYZE")
    finally:
        con.close()
    return me


@pytest.fixture(scope="module")
def sqlite_desk(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """A copy of the desk (built once for every worker and kept in tests/.cache/ until the sources change)."""
    path = tmp_path_factory.mktemp("plans") / "desk.db"
    me = copy_desk(f"plans-{CASES}", _build_analyzed, path)
    assert isinstance(me, int)
    return path, me


@pytest.fixture(scope="module")
def pg_desk(request: pytest.FixtureRequest) -> Iterator[tuple[str, int]]:
    """A database of its own (from the migrated template), filled in bulk, then ANALYZEd."""
    template = request.getfixturevalue("pg_template")
    base = make_url(request.getfixturevalue("pg_base_url"))
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"plans_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    url = base.set(database=name)
    try:
        me = _build(url.render_as_string(hide_password=False))
        plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute("ANALYZE")
        yield plain, me
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def pg_base_url() -> str:
    import os

    base = os.environ.get("DESKCONSOLE_TEST_PG_URL", "").strip()
    if not base:
        pytest.skip("PostgreSQL not available: set DESKCONSOLE_TEST_PG_URL (scripts/pg-throwaway.sh)")
    return base


def _report(walks: dict[str, list[str]]) -> str:
    return "\n".join(f"{name}: {'; '.join(found)}" for name, found in walks.items())


def test_no_queue_query_walks_the_case_table_on_sqlite(sqlite_desk: tuple[Path, int]) -> None:
    path, me = sqlite_desk
    con = sqlite3.connect(path)
    try:
        assert con.execute('SELECT count(*) FROM "case"').fetchone()[0] == CASES
        asked = list(queries("sqlite", me, END))
        walks = {q.name: found for q in asked if (found := sqlite_walks(con, q))}
    finally:
        con.close()
    assert len(asked) > 150
    assert not walks, _report(walks)


@pytest.mark.postgres
def test_no_queue_query_walks_the_case_table_on_postgres(pg_desk: tuple[str, int]) -> None:
    url, me = pg_desk
    with psycopg.connect(url) as conn, conn.cursor() as cursor:
        cursor.execute('SELECT count(*) FROM "case"')
        assert cursor.fetchone()[0] == CASES
        asked = list(queries("postgresql", me, END))
        walks = {q.name: found for q in asked if (found := pg_walks(cursor, q))}
    assert len(asked) > 150
    assert not walks, _report(walks)


# The check itself fails on a walk: a condition no index serves reads every case.
_WALK = Plan("SELECT c.id FROM \"case\" c WHERE c.title LIKE ? ORDER BY c.id LIMIT 100", ("%zzzq%",))


def test_the_check_catches_a_walk(sqlite_desk: tuple[Path, int]) -> None:
    path, _ = sqlite_desk
    con = sqlite3.connect(path)
    try:
        assert sqlite_walks(con, Query("walk", _WALK, False))
    finally:
        con.close()


@pytest.mark.postgres
def test_the_check_catches_a_walk_on_postgres(pg_desk: tuple[str, int]) -> None:
    url, _ = pg_desk
    with psycopg.connect(url) as conn, conn.cursor() as cursor:
        assert pg_walks(cursor, Query("walk", _WALK, False))


# ---------------------------------------------------------------- the "sla" sort, SLA timers present
# The sort's first part reads the pending breach timers in due order through their own partial index
# (migration 0014), a range from a page's anchor on; never every pending timer (reminders, auto-closes)
# through the (state, due_at) index nor the timer table whole. The timers are put on a fifth of the
# open cases inside a transaction that is rolled back (the desk stays as the other tests read it).
SLA_TIMERS = ("INSERT INTO timer (case_id, kind, state, started_at, due_at) "
              "SELECT id, 'sla_breach', 'pending', created_at, updated_at FROM \"case\" "
              "WHERE status <> 'closed' AND id % 5 = 0")
ANCHOR = "SELECT min(due_at) FROM timer WHERE state = 'pending' AND kind = 'sla_breach'"


def _sla_pages(dialect: str, me: int, anchor: object) -> Iterator[Query]:
    for view in ("all", "open", "mine", "unassigned"):
        # (views all and open: the cases without a running target are their index in id order, up to the LIMIT)
        walk_ok = view in ("all", "open")
        yield Query(f"{view}/sla first page", window_sql(view=view, sort="sla", me=me, limit=60, dialect=dialect),
                    walk_ok)
        yield Query(f"{view}/sla next page", window_sql(view=view, sort="sla", me=me, limit=60, dialect=dialect,
                                                         after=1000, anchor=anchor), walk_ok)


def _sqlite_timer_walks(con: sqlite3.Connection, q: Query) -> list[str]:
    rows = con.execute("EXPLAIN QUERY PLAN " + q.plan.sql, q.plan.params).fetchall()
    return [row[-1] for row in rows
            if (row[-1].startswith(("SCAN t", "SEARCH t ")) and "ix_timer_sla_due" not in row[-1]
                and "ix_timer_case_state" not in row[-1] and "PRIMARY KEY" not in row[-1])
            or "ix_timer_pending_due" in row[-1]]


def test_the_sla_sort_reads_breach_timers_through_their_index_on_sqlite(sqlite_desk: tuple[Path, int]) -> None:
    path, me = sqlite_desk
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("BEGIN")
        added = con.execute(SLA_TIMERS).rowcount
        con.execute("ANALYZE")
        (anchor,) = con.execute(ANCHOR).fetchone()
        asked = list(_sla_pages("sqlite", me, anchor))
        walks = {q.name: found for q in asked if (found := _sqlite_timer_walks(con, q) + sqlite_walks(con, q))}
        con.execute("ROLLBACK")
    finally:
        con.close()
    assert added > 1000
    assert not walks, _report(walks)


@pytest.mark.postgres
def test_the_sla_sort_reads_breach_timers_through_their_index_on_postgres(pg_desk: tuple[str, int]) -> None:
    url, me = pg_desk
    with psycopg.connect(url) as conn, conn.cursor() as cursor:
        added = cursor.execute(SLA_TIMERS).rowcount
        cursor.execute("ANALYZE timer")
        cursor.execute(ANCHOR)
        (anchor,) = cursor.fetchone()
        walks: dict[str, list[str]] = {}
        for q in _sla_pages("postgresql", me, anchor):
            p = q.plan.for_driver("format")
            cursor.execute("EXPLAIN (FORMAT JSON) " + p.sql, p.params)
            (raw,) = cursor.fetchone()
            found = [f"{node['Node Type']} on timer using {node.get('Index Name')}" for node in _nodes(raw[0]["Plan"])
                     if node.get("Relation Name") == "timer"
                     and (node["Node Type"] == "Seq Scan" or node.get("Index Name") == "ix_timer_pending_due")]
            if found := found + pg_walks(cursor, q):
                walks[q.name] = found
        conn.rollback()
    assert added > 1000
    assert not walks, _report(walks)


def _nodes(node: dict) -> Iterator[dict]:
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


# ------------------------------------------------------------------ the Breached view's count
# The Breached tab counts the open cases among the breached ones: the breached ids first (their own
# tables' indexes), then each id read by the case table's primary key. A join of the two let
# PostgreSQL hash every open case (a whole index, 43 ms at 1,000,000 cases) to meet a few thousand
# ids. Breaches are recorded for a fifth of the open cases in a transaction that is rolled back.
SLA_BREACHES = ("INSERT INTO sla_metric (case_id, target, kind, at) "
                "SELECT id, 'resolution', 'breach', updated_at FROM \"case\" WHERE status <> 'closed' AND id % 5 = 0")


def _breached_count(dialect: str) -> Plan:
    from deskconsole.domain.saved_views import BUILT_IN
    from deskconsole.store.case_filter import capped_count_sql, filter_sql

    whole = next(v for v in BUILT_IN if v.name == "Breached").count_filter()
    assert whole is not None
    return capped_count_sql(filter_sql(whole, now=END, me=None, agents={}, dialect=dialect), dialect)


def test_the_breached_count_reads_each_breached_case_by_its_key_on_sqlite(sqlite_desk: tuple[Path, int]) -> None:
    path, _ = sqlite_desk
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("BEGIN")
        added = con.execute(SLA_BREACHES).rowcount
        con.execute("ANALYZE")
        plan = _breached_count("sqlite")
        steps = [row[-1] for row in con.execute("EXPLAIN QUERY PLAN " + plan.sql, plan.params)]
        (count,) = con.execute(plan.sql, plan.params).fetchone()
        con.execute("ROLLBACK")
    finally:
        con.close()
    assert added > 1000 and count == added
    case_reads = [s for s in steps if _CASE_READ_STEP.match(s)]
    assert case_reads == ["SEARCH c USING INTEGER PRIMARY KEY (rowid=?)"], steps
    # the ids are the outer loop: read before the case table is
    assert steps.index("SCAN b") < steps.index(case_reads[0]), steps


_CASE_READ_STEP = re.compile(r"^(SCAN|SEARCH) c\b")


@pytest.mark.postgres
def test_the_breached_count_reads_each_breached_case_by_its_key_on_postgres(pg_desk: tuple[str, int]) -> None:
    url, _ = pg_desk
    with psycopg.connect(url) as conn, conn.cursor() as cursor:
        added = cursor.execute(SLA_BREACHES).rowcount
        cursor.execute("ANALYZE sla_metric")
        plan = _breached_count("postgresql").for_driver("format")
        cursor.execute("EXPLAIN (FORMAT JSON) " + plan.sql, plan.params)
        (raw,) = cursor.fetchone()
        cursor.execute(plan.sql, plan.params)
        (count,) = cursor.fetchone()
        conn.rollback()
    nodes = list(_nodes(raw[0]["Plan"]))
    case_reads = [n for n in nodes if n.get("Relation Name") == "case"]
    assert added > 1000 and count == added
    assert [(n["Node Type"], n.get("Index Name")) for n in case_reads] == [("Index Scan", "case_pkey")], case_reads
    assert "ANY" in case_reads[0]["Index Cond"]  # all the ids: the one scan's keys
    assert not [n for n in nodes if n["Node Type"] in ("Hash Join", "Merge Join")]
