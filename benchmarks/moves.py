"""A status move and tick on a large desk: `tick` with 1,000 due, then 500 moves (250 cases asked a
question, pending/customer_input: a message and two timers; then back to in_progress: both timers
cancelled), on a fresh copy of the cached desk each run.

    .venv/bin/python benchmarks/moves.py [--cases 100000] [--runs 3] [--desk PATH]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from sqlalchemy import text

from desk import NOW, cached
from deskconsole.domain.clock import FixedClock
from deskconsole.service import Service
from deskconsole.store.engine import init_schema, make_engine


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--desk", type=Path, help="a cached desk to copy (default: benchmarks/.cache's)")
    args = parser.parse_args()
    pristine = args.desk or cached(args.cases, 1_000)
    work = pristine.with_name("bench-moves.db")
    ticks, moves = [], []
    for _ in range(args.runs):
        shutil.copy(pristine, work)
        engine = make_engine(f"sqlite:///{work}")
        init_schema(engine)  # (an older cached desk is upgraded first, outside the measurement)
        for old in work.parent.glob(work.name + ".bak-*"):
            old.unlink()
        svc = Service(engine, FixedClock(NOW))
        svc.tick(now=NOW.replace(day=NOW.day - 1))  # warm the connection; nothing is due a day earlier
        t = time.perf_counter()
        fired = svc.tick(now=NOW)
        ticks.append(time.perf_counter() - t)
        with engine.connect() as conn:
            rows = conn.execute(text(
                'SELECT c.id, a.name FROM "case" c JOIN agent a ON a.id = c.assignee_id '
                "WHERE c.status = 'in_progress' AND a.role = 'analyst' ORDER BY c.id LIMIT 250")).all()
        t = time.perf_counter()
        for case_id, who in rows:
            svc.move(case_id, "pending", sub_status="customer_input", actor=who, note="Which version do you run?")
            svc.move(case_id, "in_progress", actor=who)
        moves.append((time.perf_counter() - t) / (2 * len(rows)) * 1000)
        engine.dispose()
        print(f"tick, {len(fired):,} due among {args.cases:,}: {ticks[-1]:.3f} s; "
              f"{2 * len(rows)} moves: {moves[-1]:.2f} ms a move", flush=True)
    work.unlink(missing_ok=True)
    print(f"median of {args.runs}: tick {statistics.median(ticks):.3f} s, move {statistics.median(moves):.2f} ms")


if __name__ == "__main__":
    main()
