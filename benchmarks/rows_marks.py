"""Bench rows of the queue's bulk actions (issue 17): one Service.apply_many call over 500 marked open cases.

    .venv/bin/python benchmarks/rows_marks.py --cases 100000          # the cached desk of that size
    .venv/bin/python benchmarks/rows_marks.py --desk path/to/desk.db  # any desk file (copied first)

What each row measures, on a fresh copy of the desk, in-process, the service's connection warmed by one
read: the one service call the console makes for a bulk action over 500 marked open cases (the oldest
500 open cases of the desk: Service.apply_many(..., brief=True), transactions of 100 cases (a savepoint
per case only when one is refused after writing), each case's version checked against the version the
queue showed, its overdue timers settled first and its audit event(s) written) — a close (the status
event, the survey and the follow-up held for the undo window, its timers cancelled) by the desk's
manager, then an assign of 500 other open cases back to the team queue. Target: 2 s each at 1,000,000 cases.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
MARKED = 500
TARGET_S = 2.0


def _drop(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def measure(pristine: Path) -> dict[str, float | int]:
    from sqlmodel import col, select

    from desk import NOW, drop_copy, pristine_copy
    from deskconsole.domain.clock import FixedClock
    from deskconsole.service import Assign, Close, Service
    from deskconsole.store.engine import make_engine
    from deskconsole.store.models import Case, Event

    work = pristine_copy(pristine, "bench-marks.db")  # a SQLite file or a PostgreSQL database
    engine = make_engine(work)
    service = Service(engine, FixedClock(NOW))
    try:
        with service._read() as s:  # the cases the queue would show and mark, with the versions it showed
            rows = s.exec(select(Case.id, Case.version).where(Case.status != "closed")
                          .order_by(col(Case.id)).limit(2 * MARKED)).all()
            events_before = s.exec(select(Event.id).order_by(col(Event.id).desc()).limit(1)).one()
        shown = {int(i): int(v) for i, v in rows}
        ids = list(shown)
        close_ids, assign_ids = ids[:MARKED], ids[MARKED:2 * MARKED]
        service.get_case(close_ids[0], events=False)  # (the connection and the statements warmed)
        t, cpu = time.perf_counter(), time.process_time()
        closed = service.apply_many(close_ids, Close(reason="duplicate of a known outage"), actor="mona",
                                    versions=shown, brief=True)
        close_s, close_cpu = time.perf_counter() - t, time.process_time() - cpu
        t, cpu = time.perf_counter(), time.process_time()
        assigned = service.apply_many(assign_ids, Assign(None), actor="mona", versions=shown, brief=True)
        assign_s, assign_cpu = time.perf_counter() - t, time.process_time() - cpu
        with service._read() as s:
            events = len(s.exec(select(Event.id).where(col(Event.id) > events_before)).all())
        return {"close_s": close_s, "close_cpu": close_cpu, "assign_cpu": assign_cpu,
                "closed": sum(o.done for o in closed), "assign_s": assign_s,
                "assigned": sum(o.done for o in assigned),
                "refused": sum(not o.done for o in closed + assigned), "events": events}
    finally:
        engine.dispose()
        drop_copy(work)


def rows(pristine: Path, cases: int) -> list[tuple[str, str, str, str, str]]:
    """run.py's rows: (what, measured, target, PASS/MISS, note)."""
    m = measure(pristine)
    out = []
    for what, key, done in (("close", "close", "closed"), ("assign", "assign", "assigned")):
        seconds = float(m[f"{key}_s"])
        out.append((f"bulk {what}, {MARKED} marked cases", f"{seconds:.2f} s", f"<= {TARGET_S:.0f} s",
                    "PASS" if seconds <= TARGET_S else "MISS",
                    f"CPU {float(m[f'{key}_cpu']):.2f} s; one apply_many call (brief), a version check per "
                    f"case; {m[done]} done, "
                    f"{m['refused']} refused; {m['events']:,} audit events written by both"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--desk", type=Path, help="a desk file to measure on (copied first)")
    args = parser.parse_args()
    if args.desk is not None:
        pristine = args.desk
    else:
        from desk import cached

        work = cached(args.cases, args.due)
        pristine = work.with_name(work.name.replace("work-", "bench-marks-pristine-"))
        _drop(pristine)
        work.rename(pristine)
    for row in rows(pristine, args.cases):
        print(f"{row[0]}: {row[1]} (target {row[2]}: {row[3]}); {row[4]}")
    if args.desk is None:
        _drop(pristine)


if __name__ == "__main__":
    main()
