"""Benchmark rows for presence and the customer context (service/presence.py, service/customer.py).

    .venv/bin/python benchmarks/rows_presence.py DESK.db [CASES]    # on its own, on a copy of DESK.db

run.py calls rows(pristine, cases) with its cached desk. Each measurement runs in this process
on a fresh copy of the desk (migrated to this schema first), through the Service:

  heartbeat       Service.presence_beat: one console's beat at a case (the upsert and the read of who
                  else is there, one transaction), another agent at the case; median of 50.
  queue marks     Service.presence_at for a page of 100 case ids with 20 of them occupied; median of 50.
  customer context Service.customer_context of the customer with the most cases; median of 20.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def _median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def _verdict(value: float, target: float) -> str:
    return "PASS" if value <= target else "MISS"


def rows(pristine: Path, cases: int) -> list[tuple[str, str, str, str, str]]:
    from sqlalchemy import text

    from desk import drop_copy, pristine_copy
    from deskconsole.domain.presence import TYPING
    from deskconsole.service import Service
    from deskconsole.store.engine import init_schema, make_engine

    work = pristine_copy(pristine, "bench-presence.db")  # a SQLite file or a PostgreSQL database
    try:
        engine = make_engine(work)
        t = time.perf_counter()
        init_schema(engine)  # (a desk cached at an older schema: migration 0010's table and index)
        migrate_s = time.perf_counter() - t
        try:
            svc = Service(engine)
            with engine.connect() as conn:
                names = [r[0] for r in conn.execute(text("SELECT name FROM agent ORDER BY id LIMIT 2"))]
                top = conn.execute(text("SELECT max(id) FROM \"case\"")).scalar_one()
                customer_case = conn.execute(text(
                    "SELECT min(id) FROM \"case\" WHERE customer = (SELECT customer FROM \"case\" "
                    "GROUP BY customer ORDER BY count(*) DESC LIMIT 1)")).scalar_one()
                customer_cases = conn.execute(text(
                    "SELECT count(*) FROM \"case\" WHERE customer = (SELECT customer FROM \"case\" WHERE id = :i)"),
                    {"i": customer_case}).scalar_one()
            me, other = names[0], names[1]
            page = list(range(max(1, top - 99), top + 1))
            for case_id in page[::5]:
                svc.presence_beat(case_id, actor=other, state=TYPING)
            beat = _median_ms(lambda: svc.presence_beat(page[0], actor=me), 50)
            marks = _median_ms(lambda: svc.presence_at(page, actor=me), 50)
            context = _median_ms(lambda: svc.customer_context(customer_case), 20)
        finally:
            engine.dispose()
    finally:
        drop_copy(work)
    return [
        ("presence heartbeat, median", f"{beat:.2f} ms", "<= 10 ms", _verdict(beat, 10),
         f"upsert + who else is there, one transaction; migration 0010 on this desk took {migrate_s:.1f} s"),
        ("presence marks, page of 100, median", f"{marks:.2f} ms", "<= 10 ms", _verdict(marks, 10),
         "20 of the 100 occupied; one query on the primary key"),
        ("customer context, median", f"{context:.1f} ms", "<= 50 ms", _verdict(context, 50),
         f"the customer with the most cases ({customer_cases:,}): 50 shown, counts, CSAT, escalations"),
    ]


if __name__ == "__main__":
    desk = Path(sys.argv[1])
    for row in rows(desk, int(sys.argv[2]) if len(sys.argv) > 2 else 0):
        print(" | ".join(row))
