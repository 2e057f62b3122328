"""How soon one console shows a change another process committed (live refresh between consoles).

    .venv/bin/python benchmarks/refresh.py                  # SQLite
    .venv/bin/python benchmarks/refresh.py --pg URL         # and PostgreSQL (or DESKCONSOLE_TEST_PG_URL)

Console B runs headless in this process (App.run_test, 120x40, as `deskconsole` runs it: the change
watcher on, the timer ticker on, the real clock), showing the queue of a desk of --cases cases. A
second process (a Service of its own, as another console or the CLI would be) reassigns a case on B's
first page, alternately to two analysts, --changes times. Each figure runs from the moment that
process's commit returned to the end of the first screen refresh of B that shows the new assignee.
PostgreSQL runs on a fresh database created on the given server and dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from screenwatch import ScreenWatch

ANALYSTS = ("alice", "bob")


def build(url: str, cases: int) -> list[int]:
    from deskconsole.service import Service
    from deskconsole.store.engine import init_schema, make_engine

    engine = make_engine(url)
    init_schema(engine)
    svc = Service(engine)
    svc.add_agent("sue", "supervisor", actor=None)
    svc.add_agent("maria", "manager", actor="sue")
    for name in ANALYSTS:
        svc.add_agent(name, "analyst", actor="sue", skills=["billing"], manager="maria")
    ids = [svc.open_case(f"Case number {i}", f"Customer {i % 37}", product_area="billing")[0].id
           for i in range(cases)]
    engine.dispose()
    return ids


def writer(url: str, conn) -> None:
    """The other process: reassign on request; answer with the time the commit returned."""
    from deskconsole.service import Service
    from deskconsole.store.engine import make_engine

    svc = Service(make_engine(url))
    svc.get_agent("maria")  # connect before the first measured change
    conn.send("ready")
    while (job := conn.recv()) is not None:
        case_id, analyst = job
        try:
            svc.assign(case_id, analyst, actor="maria")
        except Exception as exc:  # noqa: BLE001 - reported by the measuring process
            conn.send(f"{type(exc).__name__}: {exc}")
            continue
        conn.send(time.time())


async def measure(url: str, targets: list[int], changes: int) -> list[float]:
    from deskconsole.service import Service
    from deskconsole.store.engine import make_engine
    from deskconsole.tui.app import make_app
    from deskconsole.tui.screens.queue import QueueScreen

    service = Service(make_engine(url))
    app = make_app(service, "sue", live=True)  # ticker on, real clock: as `deskconsole` runs
    watch = ScreenWatch(app, time.time)  # wall-clock: the other process stamps its commits with it

    async def wait_for(name: str, limit: float = 30.0) -> float:
        await watch.wait([name], limit)
        return watch.hits.pop(name)

    ctx = multiprocessing.get_context("spawn")
    ours, theirs = ctx.Pipe()
    proc = ctx.Process(target=writer, args=(url, theirs), daemon=True)
    proc.start()
    delays: list[float] = []
    try:
        async with app.run_test(size=(120, 40)):
            watch.expect("painted", lambda: isinstance(app.screen, QueueScreen) and app.screen.table.row_count > 0)
            await wait_for("painted", 60.0)
            while not app.watching:
                await asyncio.sleep(0.01)
            assert await asyncio.to_thread(ours.recv) == "ready"
            queue = app.screen
            for i in range(changes):
                case_id = targets[i % len(targets)]
                key = str(case_id)
                analyst = ANALYSTS[1] if queue.rows[key].assignee == ANALYSTS[0] else ANALYSTS[0]

                def shown(key: str = key, analyst: str = analyst) -> bool:
                    row = queue.rows.get(key)
                    return row is not None and row.assignee == analyst and \
                        str(queue.table.get_cell(key, "assignee")) == analyst

                watch.expect(f"change {i}", shown)
                ours.send((case_id, analyst))
                committed = await asyncio.to_thread(ours.recv)
                if isinstance(committed, str):
                    raise RuntimeError(f"the other process could not reassign case {case_id}: {committed}")
                seen = await wait_for(f"change {i}")
                delays.append(seen - committed)
                await asyncio.sleep(0.3)  # changes a person apart, not a burst
    finally:
        ours.send(None)
        proc.join(10)
        service.engine.dispose()
    return delays


def report(name: str, delays: list[float]) -> None:
    ms = sorted(d * 1000 for d in delays)
    print(f"{name:<11} {len(ms):>3} changes   median {statistics.median(ms):7.0f} ms   max {max(ms):7.0f} ms   "
          f"(min {min(ms):.0f} ms)")


def run(name: str, url: str, cases: int, changes: int) -> None:
    ids = build(url, cases)
    targets = ids[:10]  # on B's first page (oldest first)
    report(name, asyncio.run(measure(url, targets, changes)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", help="a PostgreSQL server URL (default: DESKCONSOLE_TEST_PG_URL, if set)")
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--changes", type=int, default=10)
    args = parser.parse_args()
    print(f"refresh delay between two consoles: commit in another process -> console B's screen shows it "
          f"({args.cases} cases)")
    with tempfile.TemporaryDirectory() as tmp:
        run("SQLite", f"sqlite:///{Path(tmp) / 'desk.db'}", args.cases, args.changes)
    pg = args.pg or os.environ.get("DESKCONSOLE_TEST_PG_URL")
    if pg:
        import psycopg
        from sqlalchemy.engine import make_url

        base = make_url(pg)
        if base.drivername == "postgresql":
            base = base.set(drivername="postgresql+psycopg")
        name = f"refresh_{uuid.uuid4().hex[:12]}"
        admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            run("PostgreSQL", base.set(database=name).render_as_string(hide_password=False), args.cases,
                args.changes)
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main())
