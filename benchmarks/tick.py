"""How long `tick` takes on a large desk: nothing due, and 1,000 due among N cases.

    .venv/bin/python benchmarks/tick.py [--cases 100000] [--due 1000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from desk import NOW, cached
from deskconsole.domain.clock import FixedClock
from deskconsole.service import Service
from deskconsole.store.engine import init_schema, make_engine


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=1_000)
    args = parser.parse_args()

    path = cached(args.cases, args.due)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    init_schema(engine)
    early = FixedClock(NOW.replace(year=2026, month=11, day=24))
    svc = Service(engine, early)
    svc.tick()  # warm the connection and caches
    runs = []
    for _ in range(50):
        t = time.perf_counter()
        fired = svc.tick()
        runs.append(time.perf_counter() - t)
        assert not fired
    print(f"tick, nothing due, {args.cases:,} cases, in-process: median {statistics.median(runs) * 1000:.2f} ms")

    env = dict(os.environ, DESKCONSOLE_NOW=NOW.isoformat())
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "deskconsole", "--db", url, "tick"], env=env,
                         capture_output=True, text=True, check=True)
    whole = time.perf_counter() - t
    lines = [line for line in out.stdout.splitlines() if line.strip()]
    print(f"deskconsole tick, {len(lines):,} due among {args.cases:,} cases (whole process): {whole:.2f} s")
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "deskconsole", "--db", url, "tick"], env=env,
                         capture_output=True, text=True, check=True)
    print(f"deskconsole tick again (nothing left due, whole process): {time.perf_counter() - t:.2f} s, "
          f"{len(out.stdout.splitlines())} fired")


if __name__ == "__main__":
    main()
