"""Issue 4: a whole team on one database. Run on SQLite and PostgreSQL.

- 8 consoles (OS processes, released together) tick a desk with 1,000 due timers of every kind:
  each timer fires exactly once in total, with exactly one event and one outbox message.
- 8 takers at once never get the same case; takers beyond the cases left get "nothing to take".
- A ticker killed with SIGKILL in the middle of its work leaves every case consistent, and the
  next tick fires the rest: all exactly once.

The 1,000-timer desk is built once through the service itself (at earlier fixed times, see
benchmarks/team.py; kept in tests/.cache/ for every worker) and copied row for row into each test's
database. The consoles and takers are forked from this process (tests/forkjobs.py: each an OS
process with its own connections, released together, without a Python start of its own); the
killed ticker and the tick after it are `python -m deskconsole` processes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from desk_cache import copy_desk
from deskconsole.domain.clock import FixedClock, format_time, to_utc
from deskconsole.service import Service
from deskconsole.store.engine import make_engine
from deskconsole.store.models import Case, Event, Outbox, Timer
from forkjobs import run_forked_together

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import team  # benchmarks/team.py: the builder and the process runner

TICK_AT = team.TICK_AT


def _build_team_desk(path: Path) -> dict[str, list[int]]:
    return team.build_source(f"sqlite:///{path}", 1000).cases


@pytest.fixture(scope="session")
def team_desk(tmp_path_factory) -> tuple[str, team.Due]:
    """A desk with 1,000 timers due at TICK_AT, built through the service (once for every worker,
    kept in tests/.cache/ until the sources change; this worker reads its own copy)."""
    path = tmp_path_factory.mktemp("team") / "team.db"
    cases = copy_desk("team-1000", _build_team_desk, path, uses=(Path(team.__file__),))
    assert isinstance(cases, dict)
    return f"sqlite:///{path}", team.Due(cases)


@pytest.fixture
def due_desk(db_url, team_desk) -> tuple[str, team.Due]:
    source, due = team_desk
    team.clone_desk(source, db_url)
    return db_url, due


def _high_water(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with Session(engine) as s:
            return {name: s.exec(select(func.coalesce(func.max(model.id), 0))).one()
                    for name, model in (("event", Event), ("outbox", Outbox))}
    finally:
        engine.dispose()


def _cli_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, DESKCONSOLE_NOW=format_time(TICK_AT), DESKCONSOLE_CONFIG="/nonexistent/deskconsole.toml")
    env.pop("DESKCONSOLE_USER", None)
    env.pop("DESKCONSOLE_TICK_PAUSE_AFTER", None)
    env.update(extra)
    return env


def _check_consistent(url: str, due: team.Due, before: dict[str, int]) -> dict[str, set[int]]:
    """Every firing the database holds came with all of its effects, once; nothing without its firing.

    Returns the cases whose due timer has fired, by kind.
    """
    expected = {(cid, kind) for kind, ids in due.cases.items() for cid in ids}
    engine = make_engine(url)
    try:
        with Session(engine) as s:
            timers = s.exec(select(Timer)).all()
            events = s.exec(select(Event).where(Event.id > before["event"])).all()
            outbox = s.exec(select(Outbox).where(Outbox.id > before["outbox"])).all()
            cases = {c.id: c for c in s.exec(select(Case)).all()}
    finally:
        engine.dispose()

    assert {t.state for t in timers} <= {"pending", "fired", "cancelled"}, "a timer in a state nobody resolves"
    fired_now = [t for t in timers if t.state == "fired" and to_utc(t.fired_at) == TICK_AT]
    fired = {(t.case_id, t.kind) for t in fired_now}
    assert len(fired) == len(fired_now)
    assert fired <= expected, "a timer fired that was not due"
    by_kind: dict[str, set[int]] = {kind: {cid for cid, k in fired if k == kind} for kind in due.cases}

    # one timer_fired event per firing, none for a timer still pending
    stamps = Counter((e.case_id, json.loads(e.data)["timer"]) for e in events if e.kind == "timer_fired")
    assert set(stamps) == fired and set(stamps.values()) <= {1}
    # one outbox message per firing, of the kind that firing sends
    messages = Counter((o.case_id, o.kind) for o in outbox)
    assert set(messages.values()) <= {1}, "a message was queued twice"
    assert set(messages) == {(cid, team.MESSAGE_OF[kind]) for cid, kind in fired}
    # an auto-close: the case closed as of the due time, its status event, its survey — or none of them
    closings = Counter(e.case_id for e in events if e.kind == "status_changed" and json.loads(e.data)["to"] == "closed")
    assert set(closings) == by_kind["auto_close"] and set(closings.values()) <= {1}
    for cid in due.cases["auto_close"]:
        case = cases[cid]
        if cid in by_kind["auto_close"]:
            assert case.status == "closed" and case.close_reason.startswith("auto-closed")
        else:
            assert case.status == "awaiting_confirmation" and case.closed_at is None
    for cid in due.cases["reminder"]:
        assert (cases[cid].attention is not None) == (cid in by_kind["reminder"])
    for cid in due.cases["status_update"]:
        assert (cases[cid].attention is not None) == (cid in by_kind["status_update"])
    # what the firings started (the follow-up after an auto-close, the next daily update) is not due yet
    started = Counter(t.kind for t in timers if t.state == "pending" and to_utc(t.started_at) < TICK_AT
                      and to_utc(t.due_at) > TICK_AT and t.kind in ("followup", "status_update"))
    assert started["followup"] == len(by_kind["auto_close"])
    assert started["status_update"] == len(by_kind["status_update"])
    return by_kind


# ------------------------------------------------------------------- many tickers


def test_eight_consoles_ticking_fire_each_of_1000_timers_exactly_once(due_desk, tmp_path) -> None:
    url, due = due_desk
    assert due.total == 1000 and all(len(ids) >= 100 for ids in due.cases.values())
    before = _high_water(url)

    run = run_forked_together(url, [["cli", "tick"]] * 8, tmp_path)

    assert run.codes == [0] * 8, run.errors
    assert not any(run.errors), run.errors
    lines = team.fired_lines(run)
    per_timer = Counter((f["case"], f["timer"], f["due"]) for f in lines)
    assert len(lines) == 1000, [len(o.splitlines()) for o in run.outputs]
    assert max(per_timer.values()) == 1, "two consoles fired the same timer"
    assert {(f["case"], f["timer"]) for f in lines} == {(c, k) for k, ids in due.cases.items() for c in ids}
    assert {f["fired"] for f in lines} == {"2026-11-25T09:00:00Z"}

    by_kind = _check_consistent(url, due, before)
    assert by_kind == {kind: set(ids) for kind, ids in due.cases.items()}

    # and a ninth console finds nothing left to fire
    engine = make_engine(url)
    try:
        assert Service(engine, FixedClock(TICK_AT)).tick() == []
    finally:
        engine.dispose()


# ----------------------------------------------------------------------- take next


def _take_desk(db_url: str, cases: int) -> list[int]:
    svc, clock = team.fresh_service(db_url)
    team.staff(svc)
    ids = team.build_take_desk(svc, clock, cases)
    svc.engine.dispose()
    return ids


def _takes(url: str) -> dict[int, list[str]]:
    """Who took each case, from the timeline."""
    engine = make_engine(url)
    try:
        with Session(engine) as s:
            events = s.exec(select(Event).where(Event.kind == "assigned")).all()
    finally:
        engine.dispose()
    out: dict[int, list[str]] = {}
    for e in events:
        if json.loads(e.data).get("taken"):
            out.setdefault(e.case_id, []).append(e.actor)
    return out


def test_eight_analysts_taking_at_once_share_out_the_queue_without_overlap(db_url, tmp_path) -> None:
    ids = _take_desk(db_url, 80)

    run = run_forked_together(db_url, [["takeall", name] for name in team.ANALYSTS], tmp_path)

    assert run.codes == [0] * 8, run.errors
    taken = {name: json.loads(out) for name, out in zip(team.ANALYSTS, run.outputs, strict=True)}
    everything = [cid for got in taken.values() for cid in got]
    assert sorted(everything) == ids, "a case was taken twice or not at all"
    takes = _takes(db_url)
    assert {cid: who for cid, (who,) in takes.items()} == {cid: name for name, got in taken.items() for cid in got}


def test_one_analyst_in_eight_consoles_gets_a_different_case_each_time(db_url, tmp_path) -> None:
    """The same person pressing "take next" in 8 consoles at once takes 8 cases, never one twice;
    with 5 cases, 5 presses get one each and the other 3 are told there is nothing to take."""
    ids = _take_desk(db_url, 5)

    run = run_forked_together(db_url, [["cli", "--as", "analyst3", "case", "take", "--json"]] * 8, tmp_path)

    assert run.codes == [0] * 8, run.errors
    assert not any(run.errors)
    answers = [json.loads(out) for out in run.outputs]
    got = [a["id"] for a in answers if a is not None]
    assert sorted(got) == ids
    assert answers.count(None) == 3
    assert all(a["assignee"] == "analyst3" for a in answers if a is not None)
    assert _takes(db_url) == {cid: ["analyst3"] for cid in ids}


def test_more_takers_than_cases_the_rest_hear_nothing_to_take(db_url, tmp_path) -> None:
    ids = _take_desk(db_url, 3)

    run = run_forked_together(db_url, [["cli", "--as", name, "case", "take"] for name in team.ANALYSTS], tmp_path)

    assert run.codes == [0] * 8, run.errors
    assert not any(run.errors)
    said = [out.strip() for out in run.outputs]
    nothing = [line for line in said if line.startswith("nothing to take")]
    took = [line for line in said if line.startswith("case ")]
    assert len(nothing) == 5 and len(took) == 3, said
    assert all("\n" not in line for line in said)
    takes = _takes(db_url)
    assert sorted(takes) == ids and all(len(who) == 1 for who in takes.values())
    winners = {name for name, line in zip(team.ANALYSTS, said, strict=True) if line.startswith("case ")}
    assert {who for (who,) in takes.values()} == winners


# ------------------------------------------------------------------- kill -9 mid-tick


@pytest.mark.parametrize("pause_after", [1, 700], ids=["first-firing", "mid-desk"])
def test_a_ticker_killed_mid_tick_leaves_cases_whole_and_the_next_tick_finishes(
    due_desk, pause_after: int, tmp_path
) -> None:
    """SIGKILL inside an open tick transaction (the hook holds the process there): what was
    committed is whole (and printed: tick prints each transaction's firings once it commits),
    what was not leaves no trace, and the next tick fires the rest once."""
    url, due = due_desk
    before = _high_water(url)
    printed_file = tmp_path / "killed-tick.out"  # (a file, not a pipe nobody reads while it waits)
    with printed_file.open("w") as printed_to:
        proc = subprocess.Popen([sys.executable, "-m", "deskconsole", "--db", url, "tick"],
                                env=_cli_env(DESKCONSOLE_TICK_PAUSE_AFTER=str(pause_after)),
                                stdout=printed_to, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
        assert line.startswith("tick paused after"), line + proc.stderr.read()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL

    survived = _check_consistent(url, due, before)
    committed = sum(len(ids) for ids in survived.values())
    printed = [json.loads(line) for line in printed_file.read_text().splitlines()]
    assert {(f["case"], f["timer"]) for f in printed} == {(c, k) for k, ids in survived.items() for c in ids}
    assert committed < pause_after <= 1000, "the firing in the killed transaction was committed"
    if pause_after > 500:
        assert committed > 0, "nothing committed before the kill: the test missed the middle of the tick"

    again = subprocess.run([sys.executable, "-m", "deskconsole", "--db", url, "tick"], env=_cli_env(),
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    lines = [json.loads(line) for line in again.stdout.splitlines()]
    assert len(lines) == 1000 - committed
    assert not {(f["case"], f["timer"]) for f in lines} & {(c, k) for k, ids in survived.items() for c in ids}

    assert _check_consistent(url, due, before) == {kind: set(ids) for kind, ids in due.cases.items()}
