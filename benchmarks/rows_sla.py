"""Service levels at scale: the reports, the Insight pane's figures, tick with SLA timers pending and
the queue sorted by SLA due, on the benchmark desk (its policies and the cases walked since they
were loaded: desk.py).

    .venv/bin/python benchmarks/rows_sla.py [--cases 100000]

`make bench` prints these rows (run.py calls rows()).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

Row = tuple[str, str, str, str, str]
REPORT_S = 1.0  # each report and each chart's figures, at a million cases
TICK_MS = 2.0  # tick with nothing due
PAGE_MS = 50.0  # the queue sorted by SLA due, one page (`]`)
PAGES = 30
PAGE_SIZE = 60


def _timed(fn: Callable[[], Any], runs: int = 3) -> tuple[float, Any]:
    """The best of `runs` (seconds) and the last result."""
    best, result = float("inf"), None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def _verdict(value: float, target: float) -> str:
    return "PASS" if value <= target else "MISS"


def rows(pristine: Path, cases: int) -> list[Row]:
    from desk import NOW, drop_copy, pristine_copy
    from deskconsole.domain.clock import FixedClock
    from deskconsole.service import Service
    from deskconsole.store.engine import make_engine

    work = pristine_copy(pristine, "bench-sla.db")  # a SQLite file or a PostgreSQL database (desk.py)
    engine = make_engine(work)
    service = Service(engine, FixedClock(NOW))
    out: list[Row] = []
    try:
        with engine.connect() as conn:
            metrics = conn.exec_driver_sql("SELECT count(*) FROM sla_metric").scalar() or 0
            pending = conn.exec_driver_sql(
                "SELECT count(*) FROM timer WHERE state = 'pending' AND kind IN ('sla_warning', 'sla_breach')"
            ).scalar() or 0
        note = f"{cases:,} cases, {metrics:,} metric events, {pending:,} SLA timers pending"
        since = NOW - timedelta(days=90)
        for name, report in (("sla", service.sla_report), ("backlog", service.backlog_report),
                             ("csat", service.csat_report)):
            for by in (None, "priority", "agent", "customer"):
                seconds, found = _timed(lambda report=report, by=by: report(since=since, by=by))
                what = f"report {name}" + (f" --by {by}" if by else "") + " (90 days)"
                out.append((what, f"{seconds:.3f} s", f"<= {REPORT_S:g} s", _verdict(seconds, REPORT_S),
                            f"{len(found)} rows; {note}"))
        seconds, figures = _timed(service.insight)
        out.append(("Insight pane figures (every chart)", f"{seconds:.3f} s", f"<= {REPORT_S:g} s",
                    _verdict(seconds, REPORT_S), f"{len(figures.sla)} SLA rows, {len(figures.csat)} CSAT weeks"))

        earlier = NOW - timedelta(hours=1)  # the pending SLA timers and reminders fall due later
        service.tick(now=earlier)
        runs = []
        for _ in range(50):
            start = time.perf_counter()
            fired = service.tick(now=earlier)
            runs.append(time.perf_counter() - start)
            assert not fired
        idle = statistics.median(runs) * 1000
        out.append(("tick, nothing due, SLA timers pending", f"{idle:.2f} ms", f"<= {TICK_MS:g} ms",
                    _verdict(idle, TICK_MS), f"median of 50; {pending:,} SLA timers pending"))

        page = service.list_cases(sort="sla", limit=PAGE_SIZE)
        times = []
        for _ in range(PAGES):
            if not page:
                break
            after = page[-1].id
            start = time.perf_counter()
            page = service.list_cases(sort="sla", after=after, limit=PAGE_SIZE)
            times.append((time.perf_counter() - start) * 1000)
        worst = max(times) if times else 0.0
        out.append(("queue sorted by SLA due, next page (])", f"{statistics.median(times):.1f} ms" if times else "n/a",
                    f"<= {PAGE_MS:g} ms", _verdict(worst, PAGE_MS),
                    f"{len(times)} pages of {PAGE_SIZE}, worst {worst:.1f} ms"))
    finally:
        engine.dispose()
        drop_copy(work)
    return out


def main() -> None:
    from desk import cached

    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    args = parser.parse_args()
    for row in rows(cached(args.cases, 0), args.cases):
        print("  ".join(row))


if __name__ == "__main__":
    main()
