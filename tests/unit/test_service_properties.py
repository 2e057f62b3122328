"""Issue 2, property-based: random histories of actions on a few cases keep the life cycle's
invariants after every step. SQLite gets the full run (a fresh file per example); PostgreSQL a
shorter one on a database emptied between examples."""

from __future__ import annotations

import json
import shutil
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lifecycle_table import ALLOWED, STATUSES, SUB_STATUSES
from sqlalchemy import text
from sqlmodel import Session, SQLModel, select

from deskconsole.domain.clock import FixedClock, to_utc
from deskconsole.domain.errors import DeskError
from deskconsole.service import Service
from deskconsole.service.cases import CLOSED_REPLY_ATTENTION
from deskconsole.store.engine import init_schema, make_engine
from deskconsole.store.models import (
    Article,
    Case,
    CaseArticle,
    EngineeringItem,
    Escalation,
    Event,
    Outbox,
    Survey,
    Timer,
)

START = "2026-11-25T09:00:00Z"
N_CASES = 2
SUBS = [None, *SUB_STATUSES]
TABLES = [Case, Event, Timer, Outbox, Escalation, Survey, Article, CaseArticle, EngineeringItem]

case_ix = st.integers(0, N_CASES - 1)
note = st.sampled_from(["Restarted the service.", "Patched the config.", "[b]x[/b]", None, "  "])
# A move names a target; a sub-status goes with pending (and a rarer "bad" move sends one anyway
# or leaves it out), so most moves are legal and histories reach every status.
move = st.tuples(st.just("move"), case_ix, st.sampled_from(STATUSES), st.sampled_from(SUBS[1:]), note,
                 st.sampled_from(["alice", "alice", "bob", "sue"]))
bad_move = st.tuples(st.just("bad_move"), case_ix, st.sampled_from(STATUSES), st.sampled_from(SUBS), note)
# A walk takes a legal next step from wherever the case is (per LIFECYCLE.md), so histories
# go deep; moves and bad moves try anything, so refusals are exercised too.
walk = st.tuples(st.just("walk"), case_ix, st.integers(0, 11),
                 st.sampled_from(["customer_input", "customer_input", "development", "third_party"]))
actions = st.one_of(
    walk, walk, walk, walk, move, move, bad_move,
    st.tuples(st.just("reply"), case_ix, st.sampled_from(["portal", "phone"])),
    st.tuples(st.just("confirm"), case_ix),
    st.tuples(st.just("escalate"), case_ix, st.sampled_from([None, "alice", "mona"])),
    st.tuples(st.just("decide"), case_ix, st.sampled_from(["approve", "deny"]),
              st.sampled_from(["mona", "max", "alice"]), note),
    st.tuples(st.just("tick"), st.one_of(st.integers(1, 3600), st.integers(3600, 40 * 86400))),
    st.tuples(st.just("tick"), st.integers(6 * 86400, 30 * 86400)),
    st.tuples(st.just("survey"), case_ix, st.integers(0, 6)),
    st.tuples(st.just("clone"), case_ix),
    st.tuples(st.just("wait"), st.integers(1, 6 * 3600)),
)


def _dump(engine) -> dict:
    """Every row of every table, raw (cheap enough to take before each step)."""
    with engine.connect() as conn:
        return {
            m.__tablename__: conn.exec_driver_sql(f'SELECT * FROM "{m.__tablename__}" ORDER BY id').fetchall()
            for m in TABLES
        }


def _rows(engine, model):
    with Session(engine) as s:
        return list(s.exec(select(model).order_by(model.id)).all())


def _apply(svc: Service, clock: FixedClock, ids: list[int], action: tuple) -> None:
    kind, *args = action
    if kind == "move":
        i, target, sub, text, actor = args
        svc.move(ids[i], target, sub_status=sub if target == "pending" else None, note=text, actor=actor)
    elif kind == "walk":
        i, pick, sub = args
        case = svc.get_case(ids[i])
        nexts = sorted(ALLOWED[case.status] - {"closed"})  # closing is final: only now and then
        if not ALLOWED[case.status]:
            return
        target = "closed" if pick >= 10 or not nexts else nexts[pick % len(nexts)]
        if target == "pending" and sub == case.sub_status:
            sub = SUBS[1:][(SUBS.index(sub)) % 4]
        svc.move(ids[i], target, sub_status=sub if target == "pending" else None,
                 note="Applied the fix." if target in ("awaiting_confirmation", "closed")
                 else "Could you send the logs?" if (target, sub) == ("pending", "customer_input") else None,
                 actor="alice")
    elif kind == "bad_move":
        i, target, sub, text = args
        svc.move(ids[i], target, sub_status=sub, note=text, actor="bob")
    elif kind == "reply":
        i, channel = args
        svc.customer_reply(ids[i], "Here is more detail.", channel=channel)
    elif kind == "confirm":
        svc.customer_confirm(ids[args[0]])
    elif kind == "escalate":
        i, actor = args
        svc.request_escalation(ids[i], "Business impact is high", actor=actor)
    elif kind == "decide":
        i, decision, manager, reason = args
        svc.decide_escalation(ids[i], decision, actor=manager, reason=reason)
    elif kind == "tick":
        clock.advance(seconds=args[0])
        svc.tick()
    elif kind == "survey":
        i, score = args
        svc.answer_survey(ids[i], score)
    elif kind == "clone":
        svc.clone(ids[args[0]], actor="alice")
    elif kind == "wait":
        clock.advance(seconds=args[0])


def _check_invariants(engine, closed_rows: dict[int, tuple]) -> None:
    cases = _rows(engine, Case)
    timers = _rows(engine, Timer)
    events = _rows(engine, Event)
    for case in cases:
        if case.status == "pending":
            assert case.sub_status in SUBS[1:], f"case {case.id} pending without a sub-status"
        else:
            assert case.sub_status is None, f"case {case.id} is {case.status} with sub-status {case.sub_status}"
        # the status's timers run exactly while the case is in it
        running = Counter(t.kind for t in timers if t.case_id == case.id and t.state == "pending")
        if case.status == "awaiting_confirmation":
            assert running["auto_close"] == 1 and running["reminder"] == 0
        elif (case.status, case.sub_status) == ("pending", "customer_input"):
            assert running["auto_close"] == 1 and running["reminder"] <= 1
        else:
            assert running["auto_close"] == running["reminder"] == 0, (case.id, case.status, running)
        if case.status == "closed":
            assert running["status_update"] == 0 and case.closed_at is not None
        # (a customer's reply raises a closed case's attention flag, and cloning it lowers it: nothing else changes)
        attention = None if case.attention == CLOSED_REPLY_ATTENTION else case.attention
        snap = (case.title, case.status, case.sub_status, case.priority, case.version, case.closed_at,
                case.close_reason, case.resolution, case.assignee_id, attention)
        if case.id in closed_rows:
            assert snap == closed_rows[case.id], f"closed case {case.id} changed"
        elif case.status == "closed":
            closed_rows[case.id] = snap

    # a timer fires once and only once
    fired = [t for t in timers if t.state == "fired"]
    assert all(t.fired_at is not None for t in fired)
    fired_events = [e for e in events if e.kind == "timer_fired"]
    assert len(fired_events) == len(fired)
    by_key = Counter((e.case_id, json.loads(e.data)["timer"], to_utc(e.at)) for e in fired_events)
    assert by_key == Counter((t.case_id, t.kind, to_utc(t.due_at)) for t in fired)

    # everything sent has its audit event on the same case
    event_case = {e.id: e.case_id for e in events}
    for row in _rows(engine, Outbox):
        assert event_case.get(row.event_id) == row.case_id, f"outbox {row.id} ({row.kind}) has no audit event"


def _run_history(engine, history: list[tuple]) -> None:
    clock = FixedClock(START)
    svc = Service(engine, clock)
    svc.add_agent("mona", "manager", actor=None)
    svc.add_agent("max", "manager", actor="mona")
    svc.add_agent("sue", "supervisor", actor="mona")
    svc.add_agent("alice", "analyst", actor="mona", skills=["billing", "login"], manager="mona")
    svc.add_agent("bob", "analyst", actor="mona", skills=["billing"], manager="max")
    ids = [svc.open_case(f"Case {i}", f"cust{i}", product_area="billing")[0].id for i in range(N_CASES)]
    closed_rows: dict[int, tuple] = {}
    _check_invariants(engine, closed_rows)
    for action in history:
        before = _dump(engine)
        try:
            _apply(svc, clock, ids, action)
        except DeskError:
            assert _dump(engine) == before, f"refused {action} changed the database"
        _check_invariants(engine, closed_rows)


HISTORY = st.lists(actions, min_size=12, max_size=30)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=HISTORY)
def test_random_histories_keep_the_invariants_on_sqlite(tmp_path_factory, sqlite_template, history) -> None:
    path = tmp_path_factory.mktemp("prop") / "desk.db"
    shutil.copyfile(sqlite_template, path)  # a fresh desk at the current schema (conftest.py's template)
    engine = make_engine(f"sqlite:///{path}")
    try:
        init_schema(engine)
        _run_history(engine, history)
    finally:
        engine.dispose()


@pytest.fixture
def pg_engine(pg_url):
    engine = make_engine(pg_url)
    init_schema(engine)
    yield engine
    engine.dispose()


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(history=HISTORY)
def test_random_histories_keep_the_invariants_on_postgres(pg_engine, history) -> None:
    names = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with pg_engine.begin() as conn:  # one database for all examples: empty it between them
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    _run_history(pg_engine, history)
