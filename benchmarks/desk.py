"""Build large benchmark databases quickly and cache them under benchmarks/.cache/.

The cases are written by deskconsole.bulk (the builder `deskconsole demo --cases N` uses for
its history): every case has the rows the lifecycle service would have written for its life
cycle, 80 % of them closed; `due` open cases have their reminder due a second before NOW.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from deskconsole.bulk import build_bulk
from deskconsole.bulk.slalife import DEMO_POLICY
from deskconsole.domain.clock import FixedClock
from deskconsole.service import Service
from deskconsole.store.engine import init_schema, make_engine

CACHE = Path(__file__).parent / ".cache"
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
SKILLS = ["billing", "login", "reporting", "integrations", "mobile", "performance"]
# the desk's people: a manager, the supervisor the console runs as, 20 analysts with two skills each
AGENTS = [("sue", "supervisor", [], None), ("mona", "manager", [], None)] + [
    (f"analyst{i}", "analyst", [SKILLS[i % 6], SKILLS[(i + 1 + i // 6) % 6]], "mona") for i in range(20)
]
SLA_DAYS = 30  # the desk's policies were loaded this long before NOW (bulk/slalife.py walks each case since)
CUSTOMERS = [(f"Customer {k}", None) for k in range(997)]


def build(path: Path, cases: int, due: int = 0, seed: int = 1) -> Path:
    """A SQLite desk with `cases` cases (80 % closed) and `due` reminders already due at NOW."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{path}")
    init_schema(engine)
    service = Service(engine, FixedClock(NOW))
    for name, role, skills, manager in AGENTS:
        service.add_agent(name, role, actor=None if name == AGENTS[0][0] else AGENTS[0][0], skills=skills,
                          manager=manager)
    start = time.perf_counter()

    def progress(done: int, total: int) -> None:
        print(f"\r  building {path.name}: {done:,}/{total:,} cases ({time.perf_counter() - start:.0f} s)",
              end="", flush=True)

    # the demo's service levels, loaded SLA_DAYS before NOW: the cases active since have their rows
    service.load_sla(DEMO_POLICY, actor="sue")
    build_bulk(engine, cases, end=NOW, seed=seed, due=due, open_share=0.2, customers=CUSTOMERS, progress=progress,
               sla=DEMO_POLICY, sla_since=NOW - timedelta(days=SLA_DAYS))
    print()
    engine.dispose()
    return path


def schema_tag() -> str:
    """A short fingerprint of the tables and the builder: a desk cached before either changed is not reused."""
    from sqlalchemy.dialects import sqlite
    from sqlalchemy.schema import CreateIndex, CreateTable
    from sqlmodel import SQLModel

    import deskconsole.store.models  # registers the tables

    dialect = sqlite.dialect()
    ddl = []
    for table in sorted(SQLModel.metadata.tables.values(), key=lambda t: t.name):
        ddl.append(str(CreateTable(table).compile(dialect=dialect)))
        ddl.extend(sorted(str(CreateIndex(ix).compile(dialect=dialect)) for ix in table.indexes))
    import deskconsole.bulk
    import deskconsole.bulkload
    import deskconsole.store.search

    # a desk written by an older builder (its plans, its SQL, the search index builder) is rebuilt too
    for module in (deskconsole.bulk, deskconsole.bulkload, deskconsole.store.search):
        ddl.append(Path(module.__file__).read_text())
    return hashlib.sha256("\n".join(ddl).encode()).hexdigest()[:10]


def cached(cases: int, due: int) -> Path:
    """A pristine copy is built once and cached; each run gets a fresh working copy of it."""
    CACHE.mkdir(exist_ok=True)
    tag = schema_tag()
    for stale in CACHE.glob(f"desk-{cases}-{due}-*.db"):
        if stale.name != f"desk-{cases}-{due}-{tag}.db":
            stale.unlink()  # built for an older schema
    pristine = CACHE / f"desk-{cases}-{due}-{tag}.db"
    if not pristine.exists():
        build(pristine.with_suffix(".tmp"), cases, due)
        pristine.with_suffix(".tmp").rename(pristine)
    work = CACHE / f"work-{cases}-{due}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(work) + suffix).unlink(missing_ok=True)
    shutil.copyfile(pristine, work)
    return work
