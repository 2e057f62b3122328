"""`make bench` rows: each built-in view's count at the bench desk (issue 17: <= 50 ms each).

A view's tab counts its cases with one indexed query capped at COUNT_CAP (service/saved_views.py):
a view over most of the desk (All: 80 % of it is closed) reads at most that many index entries and
shows "10k+". Each count is timed in-process on a copy of the desk, median of RUNS after one
warm-up; Mine is counted for an analyst, the others for the supervisor.

    .venv/bin/python benchmarks/rows_views.py --desk benchmarks/.cache/desk-100000-1000-....db
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
RUNS = 7
TARGET_MS = 50.0


def rows(pristine: Path, cases: int) -> list[tuple[str, str, str, str, str]]:
    sys.path.insert(0, str(HERE))
    from desk import AGENTS, NOW, drop_copy, pristine_copy
    from deskconsole.domain.clock import FixedClock
    from deskconsole.domain.saved_views import BUILT_IN, count_text
    from deskconsole.service import Service
    from deskconsole.store.engine import init_schema, make_engine

    work = pristine_copy(pristine, "bench-views.db")  # a SQLite file or a PostgreSQL database
    out: list[tuple[str, str, str, str, str]] = []
    try:
        engine = make_engine(work)
        init_schema(engine)  # (the saved views' table, when the cached desk is older)
        service = Service(engine, FixedClock(NOW))
        analyst = next(name for name, role, _, _ in AGENTS if role == "analyst")
        for view in BUILT_IN:
            actor = analyst if view.name == "Mine" else AGENTS[0][0]
            count = service.count_view(view, actor=actor)  # warm-up
            times = []
            for _ in range(RUNS):
                start = time.perf_counter()
                service.count_view(view, actor=actor)
                times.append((time.perf_counter() - start) * 1000)
            ms = statistics.median(times)
            out.append((f"view count: {view.name}", f"{ms:.1f} ms", f"<= {TARGET_MS:.0f} ms",
                        "PASS" if ms <= TARGET_MS else "MISS",
                        f"shows {count_text(count)} at {cases:,} cases; median of {RUNS}, max {max(times):.1f} ms"))
        engine.dispose()
    finally:
        drop_copy(work)
    return out


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--desk", type=Path, required=True, help="a bench desk (SQLite file; copied, not changed)")
    parser.add_argument("--cases", type=int, default=0, help="how many cases it holds (for the note)")
    args = parser.parse_args()
    for what, measured, target, result, note in rows(args.desk.resolve(), args.cases):
        print(f"{what:28} {measured:>10}  {target:8}  {result:4}  {note}")


if __name__ == "__main__":
    main()
