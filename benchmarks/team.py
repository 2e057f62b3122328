"""A team on one database: 8 consoles ticking the same 1,000 due timers, 8 analysts taking at once.

    .venv/bin/python benchmarks/team.py                  # SQLite (a file in a temporary directory)
    .venv/bin/python benchmarks/team.py --pg URL         # and PostgreSQL (a fresh database on that server)

The desk is built through the lifecycle service itself at earlier (fixed) times, so every row is
what deskconsole would have written; then 8 OS processes, released together, each run
`deskconsole tick` with DESKCONSOLE_NOW set to the tick time. Printed per database: processes,
timers due, firings reported, duplicates, outbox rows written by the tick, seconds (release to the
last process done). The taker scenario: 8 processes each take cases until nothing fits.

tests/unit/test_team_scale.py uses the same builder and runner (and asserts what this prints).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from deskconsole.domain.clock import FixedClock, format_time
from deskconsole.service import Service
from deskconsole.store.engine import init_schema, make_engine
from deskconsole.store.models import Outbox

TICK_AT = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
DAY, HOUR = timedelta(days=1), timedelta(hours=1)
ANALYSTS = [f"analyst{i}" for i in range(8)]
# The mix of the 1,000 due timers (kind -> count); the builder scales it for other totals.
MIX = {"reminder": 300, "auto_close": 300, "followup": 250, "status_update": 150}
# What each firing queues in the outbox.
MESSAGE_OF = {"reminder": "reminder", "auto_close": "survey", "followup": "followup",
              "status_update": "status_update_due"}


@dataclass
class Due:
    """What the builder left due at TICK_AT: kind -> case ids (one due timer per case)."""

    cases: dict[str, list[int]]

    @property
    def total(self) -> int:
        return sum(len(ids) for ids in self.cases.values())


def staff(svc: Service) -> None:
    svc.add_agent("mona", "manager", actor=None)
    svc.add_agent("max", "manager", actor="mona")
    svc.add_agent("sue", "supervisor", actor="mona")
    for name in ANALYSTS:
        svc.add_agent(name, "analyst", actor="mona", skills=["billing"], manager="mona")


def build_due_desk(svc: Service, clock: FixedClock, total: int = 1000) -> Due:
    """Cases whose timers fall due between TICK_AT - 2h and TICK_AT - 1h, built through `svc`.

    Nothing the tick starts (the follow-up after an auto-close, the next daily status update) is
    due at TICK_AT yet, so exactly `total` timers fire.
    """
    counts = {kind: n * total // 1000 for kind, n in MIX.items()}
    counts["reminder"] += total - sum(counts.values())
    due: dict[str, list[int]] = {kind: [] for kind in MIX}

    def open_case(i: int, kind: str) -> int:
        return svc.open_case(f"{kind} case {i}", f"customer {i % 97}", contact=f"c{i}@example.com",
                             product_area="billing")[0].id

    def actor(case_id: int) -> str:
        return svc.get_case(case_id).assignee or "analyst0"

    # awaiting confirmation since 14 days + 2 hours: the auto-close is due 2 hours ago
    clock.set(TICK_AT - 14 * DAY - 2 * HOUR)
    for i in range(counts["auto_close"]):
        cid = open_case(i, "auto_close")
        who = actor(cid)
        svc.move(cid, "in_progress", actor=who)
        svc.move(cid, "awaiting_confirmation", note=f"Fix number {i} applied.", actor=who)
        due["auto_close"].append(cid)
    # waiting for customer input for 7 days + 1 hour: the reminder is due (the auto-close is not)
    clock.set(TICK_AT - 7 * DAY - HOUR)
    for i in range(counts["reminder"]):
        cid = open_case(i, "reminder")
        svc.move(cid, "pending", sub_status="customer_input", note=f"Question {i}: which version do you run?",
                 actor=actor(cid))
        due["reminder"].append(cid)
    # closed a day and an hour ago: the follow-up is due; approved then: the daily update is due
    clock.set(TICK_AT - DAY - HOUR)
    for i in range(counts["followup"]):
        cid = open_case(i, "followup")
        svc.close(cid, reason="duplicate of an older case", actor=actor(cid))
        due["followup"].append(cid)
    for i in range(counts["status_update"]):
        cid = open_case(i, "status_update")
        who = actor(cid)
        svc.move(cid, "in_progress", actor=who)
        svc.request_escalation(cid, "Production is down for the whole team", actor=who)
        svc.decide_escalation(cid, "approve", actor="max" if who == "mona" else "mona", reason="Real impact")
        due["status_update"].append(cid)
    clock.set(TICK_AT)
    return Due(due)


def build_take_desk(svc: Service, clock: FixedClock, cases: int) -> list[int]:
    """`cases` unassigned open cases (every analyst away while they came in), then everyone back."""
    clock.set(TICK_AT - HOUR)
    for name in ANALYSTS:
        svc.set_availability(name, "away", actor=name)
    ids = [svc.open_case(f"Question {i}", f"customer {i}", product_area="billing")[0].id for i in range(cases)]
    for name in ANALYSTS:
        svc.set_availability(name, "available", actor=name)
    clock.set(TICK_AT)
    return ids


# A worker waits, connected and imported, until the go file exists, then runs one job:
#   cli ARGS...    deskconsole's own main() with those arguments (stdout: its output)
#   takeall NAME   Service.take_next for NAME until nothing is left (stdout: a JSON list of case ids)
WORKER = r"""
import json, os, sys, time
go, job, url, *rest = sys.argv[1:]
from deskconsole.cli import main
from deskconsole.settings import load_settings
svc = load_settings(db=url, user=rest[0] if job == "takeall" else None).make_service()
svc.list_agents()  # connected before the start line, not after it
print("ready", flush=True)
while not os.path.exists(go):
    time.sleep(0.001)
if job == "cli":
    code = main(["--db", url, *rest])
    sys.stdout.flush()
    sys.exit(code)
taken = []
while (case := svc.take_next(actor=rest[0])) is not None:
    taken.append(case.id)
print(json.dumps(taken))
"""


@dataclass
class Run:
    outputs: list[str]
    errors: list[str]
    codes: list[int]
    seconds: float


def run_together(url: str, jobs: list[list[str]], workdir: Path, *, now: datetime = TICK_AT,
                 timeout: float = 300) -> Run:
    """One OS process per job; once all are connected and waiting, release them at once."""
    go = workdir / f"go-{uuid.uuid4().hex}"
    env = dict(os.environ, DESKCONSOLE_NOW=format_time(now))
    env.pop("DESKCONSOLE_USER", None)
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(go), job[0], url, *job[1:]], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for job in jobs]
    try:
        for proc in procs:
            line = proc.stdout.readline().strip()
            if line != "ready":
                raise RuntimeError(f"worker did not start: {line} {proc.stderr.read()}")
        start = time.perf_counter()
        go.touch()
        outputs, errors, codes = [], [], []
        for proc in procs:
            out, err = proc.communicate(timeout=timeout)
            outputs.append(out)
            errors.append(err)
            codes.append(proc.returncode)
        return Run(outputs, errors, codes, time.perf_counter() - start)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def fired_lines(run: Run) -> list[dict]:
    return [json.loads(line) for out in run.outputs for line in out.splitlines() if line.strip()]


def outbox_count(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(Outbox)).scalar_one()
    finally:
        engine.dispose()


def clone_desk(source: str, target: str) -> None:
    """Copy every row of the desk at `source` into the empty database at `target` (ids kept).

    Lets a desk built once through the service (slow: one transaction per action) be reused on
    both databases and by several tests, each starting from exactly the same rows.
    """
    from sqlalchemy import insert, text
    from sqlmodel import SQLModel

    src, dst = make_engine(source), make_engine(target)
    init_schema(dst)
    try:
        with src.connect() as a, dst.begin() as b:
            for table in SQLModel.metadata.sorted_tables:
                rows = [dict(r._mapping) for r in a.execute(select(table).order_by(*table.primary_key.columns))]
                for first in range(0, len(rows), 5000):
                    b.execute(insert(table), rows[first:first + 5000])
                if rows and dst.dialect.name == "postgresql" and "id" in table.c:
                    b.execute(text(f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                                   f"(SELECT max(id) FROM \"{table.name}\"))"))
    finally:
        src.dispose()
        dst.dispose()


def fresh_service(url: str) -> tuple[Service, FixedClock]:
    engine = make_engine(url)
    init_schema(engine)
    clock = FixedClock(TICK_AT)
    return Service(engine, clock), clock


def build_source(url: str, timers: int) -> Due:
    """The due desk, built once through the service at `url` (copied into each target with clone_desk)."""
    svc, clock = fresh_service(url)
    staff(svc)
    due = build_due_desk(svc, clock, timers)
    svc.engine.dispose()
    return due


def tickers(url: str, workdir: Path, processes: int, source: str, due: Due) -> dict[str, object]:
    clone_desk(source, url)
    before = outbox_count(url)
    run = run_together(url, [["cli", "tick"]] * processes, workdir)
    if any(run.codes):
        raise RuntimeError("a ticker failed: " + " | ".join(e for e in run.errors if e))
    lines = fired_lines(run)
    per_timer = Counter((f["case"], f["timer"], f["due"]) for f in lines)
    return {"processes": processes, "timers": due.total, "firings": len(lines),
            "duplicates": sum(n - 1 for n in per_timer.values()), "outbox rows": outbox_count(url) - before,
            "seconds": round(run.seconds, 2)}


def takers(url: str, workdir: Path, processes: int = 8, cases: int = 400) -> dict[str, object]:
    svc, clock = fresh_service(url)
    staff(svc)
    ids = build_take_desk(svc, clock, cases)
    svc.engine.dispose()
    run = run_together(url, [["takeall", name] for name in ANALYSTS[:processes]], workdir)
    if any(run.codes):
        raise RuntimeError("a taker failed: " + " | ".join(e for e in run.errors if e))
    taken = [cid for out in run.outputs for cid in json.loads(out)]
    counts = Counter(taken)
    return {"processes": processes, "cases": len(ids), "taken": len(taken),
            "duplicates": sum(n - 1 for n in counts.values()), "left": len(set(ids) - set(taken)),
            "seconds": round(run.seconds, 2)}


def _pg_database(base: str) -> tuple[str, object]:
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"team_{uuid.uuid4().hex[:12]}"
    admin = make_url(base).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return make_url(base).set(database=name).render_as_string(hide_password=False), drop


# ------------------------------------------------- a console typing among pollers and tickers (run.py)
POLLERS, TICKERS = 20, 8


def poller(url: str, stop: str, analyst: str) -> None:
    """One console's change poller (in a process of its own): LISTEN as the console's watcher does, and on
    each change read the console's window again (its first page, as the queue refreshes), until `stop`
    exists; prints how many changes it heard."""
    import psycopg

    from deskconsole.store.watch import open_watcher
    from deskconsole.store.window import read_window
    from deskconsole.tui.queuespec import PAGE

    engine = make_engine(url)
    watcher = open_watcher(engine)
    conn = psycopg.connect(engine.url.set(drivername="postgresql").render_as_string(hide_password=False),
                           autocommit=True)
    me = conn.execute("SELECT id FROM agent WHERE name = %s", (analyst,)).fetchone()
    heard = 0
    while not os.path.exists(stop):
        change = watcher.wait(0.25)
        if change is None:
            continue
        heard += 1
        read_window(conn.cursor(), "format", view="mine", sort="oldest", text=None, after=None, limit=PAGE,
                    me=me[0] if me else None)
    watcher.close()
    conn.close()
    print(heard)


def ticker(url: str, stop: str, now: str) -> None:
    """One console's ticker (in a process of its own): Service.tick at `now`, again and again until `stop`
    exists (a console ticks every few seconds; eight of them, at once, are this much busier); prints the ticks."""
    svc = Service(make_engine(url), FixedClock(datetime.fromisoformat(now)))
    ticks = 0
    while not os.path.exists(stop):
        svc.tick()
        ticks += 1
        time.sleep(0.2)
    print(ticks)


def console_under_load(pristine: Path, console: object, presses: int) -> dict:
    """run.py's team row: POLLERS pollers and TICKERS tickers on a fresh copy of the PostgreSQL desk while
    `console(url, presses)` (run.bench_console) times the console's keys; its figures, with the ticks done
    and the changes heard meanwhile."""
    from desk import NOW, drop_copy, pristine_copy

    url = pristine_copy(pristine, "bench-team")
    with tempfile.TemporaryDirectory() as tmp:
        stop = str(Path(tmp) / "stop")
        here = str(Path(__file__).resolve().parent)
        start = f"import sys; sys.path.insert(0, {here!r}); import team; team.{{}}(*sys.argv[1:])"
        procs = [subprocess.Popen([sys.executable, "-c", start.format("poller"), url, stop, f"analyst{i % 20}"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for i in range(POLLERS)]
        procs += [subprocess.Popen([sys.executable, "-c", start.format("ticker"), url, stop, NOW.isoformat()],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                  for _ in range(TICKERS)]
        try:
            result = console(url, presses)  # type: ignore[operator]  # (run.bench_console)
        finally:
            Path(stop).touch()
            outputs = [p.communicate(timeout=120) for p in procs]
            drop_copy(url)
    failed = [err for p, (_, err) in zip(procs, outputs, strict=True) if p.returncode]
    if failed and "error" not in result:
        result = {"error": failed[0].strip() or "a poller or ticker failed"}
    counts = [int(out.strip() or 0) for out, _ in outputs]
    result["notices"] = sum(counts[:POLLERS])
    result["ticks"] = sum(counts[POLLERS:])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pg", metavar="URL", help="also run on this PostgreSQL server (a fresh database is made)")
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--timers", type=int, default=1000)
    parser.add_argument("--cases", type=int, default=400, help="cases for the taker scenario")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        source = f"sqlite:///{workdir}/source.db"
        built = time.perf_counter()
        due = build_source(source, args.timers)
        print(f"built the desk through the service: {due.total:,} timers due "
              f"({', '.join(f'{k} {len(v)}' for k, v in due.cases.items())}) in {time.perf_counter() - built:.1f} s")
        targets = [("sqlite", lambda name: (f"sqlite:///{workdir}/{name}.db", lambda: None))]
        if args.pg:
            targets.append(("postgresql", lambda name: _pg_database(args.pg)))
        for label, make in targets:
            for scenario in ("tick", "take next"):
                url, drop = make(f"{scenario.replace(' ', '')}")
                try:
                    if scenario == "tick":
                        figures = tickers(url, workdir, args.processes, source, due)
                    else:
                        figures = takers(url, workdir, args.processes, args.cases)
                finally:
                    drop()
                print(f"{label:<10} {scenario:<9} " + "  ".join(f"{k} {v}" for k, v in figures.items()), flush=True)


if __name__ == "__main__":
    main()
