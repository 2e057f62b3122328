"""Issue 2: several consoles (OS processes) on one database at the same moment.

Each worker is a separate Python process that builds its own Service on the same URL, waits for
a shared start instant, then acts. Run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import timedelta

from sqlmodel import Session, select

from deskconsole.domain.clock import format_time, to_utc
from deskconsole.store.models import Case, Event, Outbox, Timer

WORKERS = 3
START = "2026-11-25T09:00:00Z"

WORKER = r"""
import json, os, sys, time
from deskconsole.domain.clock import FixedClock
from deskconsole.service import Service
from deskconsole.store.engine import make_engine

url, now, go, job, who = sys.argv[1:6]
svc = Service(make_engine(url), FixedClock(now))
svc.list_agents()  # import and connect before the start line, not after it
print("ready", flush=True)
while not os.path.exists(go):
    time.sleep(0.001)
if job == "tick":
    out = [[f.case, f.timer, f.due.isoformat()] for f in svc.tick()]
elif job == "move":  # work every case, newest first, while a ticker goes oldest first
    from deskconsole.domain.errors import DeskError
    out = {}
    for row in reversed(svc.list_cases()):
        try:
            svc.move(row.id, "in_progress", actor=who)
            out[row.id] = "moved"
        except DeskError as exc:
            out[row.id] = str(exc)
else:
    out = []
    while (case := svc.take_next(actor=who)) is not None:
        out.append(case.id)
print(json.dumps(out))
"""


def _run_together(url: str, now: str, jobs: list[tuple[str, str]], tmp_path) -> list[list]:
    """Start one process per job; once every one is connected and waiting, let them all go."""
    go = tmp_path / "go"
    procs = [
        subprocess.Popen([sys.executable, "-c", WORKER, url, now, str(go), job, who],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for job, who in jobs
    ]
    try:
        for proc in procs:
            assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        go.touch()
        results = []
        for proc in procs:
            out, err = proc.communicate(timeout=180)
            assert proc.returncode == 0, err
            results.append(json.loads(out))
        return results
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_concurrent_ticks_fire_every_due_timer_exactly_once(db_url, engine, desk, tmp_path) -> None:
    t0 = desk.clock.now()
    day = timedelta(days=1)
    # 200 cases: 100 waiting for customer input (reminder + auto-close), 100 awaiting
    # confirmation (auto-close): 300 timers due when the consoles tick at 28 days + 1 hour.
    with Session(engine) as s:
        cases = []
        for i in range(200):
            waiting = i % 2 == 0
            cases.append(Case(
                title=f"case {i}", customer=f"cust{i}", contact=f"c{i}@example.com", priority="P3",
                status="pending" if waiting else "awaiting_confirmation",
                sub_status="customer_input" if waiting else None,
                resolution=None if waiting else f"fix number {i}",
                created_at=t0, updated_at=t0,
            ))
        s.add_all(cases)
        s.flush()
        for case in cases:
            if case.status == "pending":
                s.add(Timer(case_id=case.id, kind="reminder", started_at=t0, due_at=t0 + 7 * day))
                s.add(Timer(case_id=case.id, kind="auto_close", started_at=t0, due_at=t0 + 28 * day))
            else:
                s.add(Timer(case_id=case.id, kind="auto_close", started_at=t0 + 14 * day, due_at=t0 + 28 * day))
        s.commit()

    now = t0 + 28 * day + timedelta(hours=1)
    results = _run_together(db_url, format_time(now), [("tick", "")] * WORKERS, tmp_path)

    reported = [tuple(item) for result in results for item in result]
    assert len(reported) == 300, [len(r) for r in results]
    assert len(set(reported)) == 300, "two consoles fired the same timer"

    with Session(engine) as s:
        timers = s.exec(select(Timer)).all()
        events = s.exec(select(Event).where(Event.kind == "timer_fired")).all()
        outbox = s.exec(select(Outbox)).all()
        closed = s.exec(select(Case).where(Case.status == "closed")).all()
    # the auto-closes started 200 follow-ups, due a day after closing: not yet
    assert Counter((t.kind, t.state) for t in timers) == {
        ("reminder", "fired"): 100, ("auto_close", "fired"): 200, ("followup", "pending"): 200}
    fired = [t for t in timers if t.state == "fired"]
    assert all(to_utc(t.fired_at) == now for t in fired)
    per_timer = Counter((e.case_id, json.loads(e.data)["timer"], to_utc(e.at)) for e in events)
    assert len(events) == 300 and set(per_timer.values()) == {1}
    assert set(per_timer) == {(t.case_id, t.kind, to_utc(t.due_at)) for t in fired}
    per_message = Counter((o.case_id, o.kind) for o in outbox)
    assert set(per_message.values()) == {1}, "an outbox message was queued twice"
    assert Counter(kind for _, kind in per_message) == {"reminder": 100, "survey": 200}
    assert len(closed) == 200 and all(to_utc(c.closed_at) == t0 + 28 * day for c in closed)

    # and nothing is left to fire
    assert desk.svc.tick(now) == []


def test_two_analysts_taking_next_at_once_never_get_the_same_case(db_url, desk, tmp_path) -> None:
    desk.svc.set_availability("alice", "away", actor="alice")
    desk.svc.set_availability("bob", "away", actor="bob")
    ids = [desk.open(title=f"Question {i}").id for i in range(30)]
    assert all(c.assignee is None for c in desk.svc.list_cases())

    alice, bob = _run_together(db_url, START, [("take", "alice"), ("take", "bob")], tmp_path)

    assert not set(alice) & set(bob), "both analysts got the same case"
    assert sorted(alice + bob) == ids
    assignees = {c.id: c.assignee for c in desk.svc.list_cases()}
    assert all(assignees[i] == "alice" for i in alice) and all(assignees[i] == "bob" for i in bob)
    for case_id in ids:
        takes = [e for e in desk.svc.get_case(case_id).events if e.data.get("taken")]
        assert len(takes) == 1


def test_a_move_racing_the_auto_close_either_wins_or_is_refused(db_url, engine, desk, tmp_path) -> None:
    """An analyst works a case the very moment its auto-close falls due: either the move comes
    first (the countdown is cancelled, never fired) or the auto-close does (the case is closed
    and the move refused). Never both."""
    t0 = desk.clock.now()
    with Session(engine) as s:
        cases = [Case(title=f"case {i}", customer=f"cust{i}", priority="P3", status="pending",
                      sub_status="customer_input", created_at=t0, updated_at=t0) for i in range(80)]
        s.add_all(cases)
        s.flush()
        for case in cases:
            s.add(Timer(case_id=case.id, kind="auto_close", started_at=t0, due_at=t0 + timedelta(days=28)))
        s.commit()
    now = format_time(t0 + timedelta(days=28, minutes=1))
    ticked, moves = _run_together(db_url, now, [("tick", ""), ("move", "alice")], tmp_path)

    closed_by_tick = {case for case, kind, _ in ticked if kind == "auto_close"}
    with Session(engine) as s:
        timers = {t.case_id: t for t in s.exec(select(Timer).where(Timer.kind == "auto_close")).all()}
        rows = {c.id: c for c in s.exec(select(Case)).all()}
    assert len(moves) == 80
    for case_id, outcome in ((int(k), v) for k, v in moves.items()):
        case, timer = rows[case_id], timers[case_id]
        if outcome == "moved":
            assert case_id not in closed_by_tick and timer.state == "cancelled" and case.status == "in_progress"
        else:
            assert f"case {case_id} is closed" in outcome
            assert case_id in closed_by_tick and timer.state == "fired" and case.status == "closed"
    assert closed_by_tick == {cid for cid, c in rows.items() if c.status == "closed"}
