"""Build large benchmark databases quickly and cache them under benchmarks/.cache/.

The rows are written in bulk with SQLAlchemy Core (not through the service, which
would take hours for a million cases); they follow the service's shapes: every
case has its 'opened' event, pending/customer_input and awaiting_confirmation
cases have their running timers, closed cases their survey.
"""

from __future__ import annotations

import hashlib
import random
import shutil
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import insert

from deskconsole.store.engine import init_schema, make_engine
from deskconsole.store.models import Agent, Case, Event, Survey, Timer
from deskconsole.store.search import pause_case_index, rebuild_case_index

CACHE = Path(__file__).parent / ".cache"
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
STATUSES = ["new", "in_progress", "pending", "awaiting_confirmation", "reopened", "update_received"]
SKILLS = ["billing", "login", "reporting", "integrations", "mobile", "performance"]
CHUNK = 20_000


def build(path: Path, cases: int, due: int = 0, seed: int = 1) -> Path:
    """A SQLite desk with `cases` cases (80 % closed) and `due` timers already due at NOW."""
    rng = random.Random(seed)
    if path.exists():
        path.unlink()
    engine = make_engine(f"sqlite:///{path}")
    init_schema(engine)
    with engine.begin() as conn:
        conn.execute(insert(Agent), [
            {"id": 1, "name": "mona", "role": "manager", "skills": "", "availability": "available", "created_at": NOW},
            {"id": 2, "name": "sue", "role": "supervisor", "skills": "", "availability": "available",
             "created_at": NOW},
        ] + [
            {"id": 3 + i, "name": f"analyst{i}", "role": "analyst", "skills": ",".join(rng.sample(SKILLS, 2)),
             "manager_id": 1, "availability": "available", "created_at": NOW}
            for i in range(20)
        ])
    with engine.begin() as conn:
        pause_case_index(conn)  # the search index is refilled once after the insert (cheaper than per row)
    due_ids = set(rng.sample(range(1, cases + 1), min(due, cases)))
    start = time.perf_counter()
    for first in range(1, cases + 1, CHUNK):
        ids = range(first, min(cases, first + CHUNK - 1) + 1)
        case_rows, event_rows, timer_rows, survey_rows = [], [], [], []
        for cid in ids:
            opened = NOW - timedelta(minutes=(cases - cid) * 3 + 60)
            if cid in due_ids:
                status, sub = "pending", "customer_input"
            elif rng.random() < 0.8:
                status, sub = "closed", None
            else:
                status = rng.choice(STATUSES)
                sub = "customer_input" if status == "pending" else None
            case_rows.append({
                "id": cid, "title": f"Case {cid}: {rng.choice(SKILLS)} trouble for customer {cid % 997}",
                "description": "", "customer": f"Customer {cid % 997}", "severity": "normal",
                "priority": rng.choice(["P1", "P2", "P3", "P3", "P4"]), "status": status, "sub_status": sub,
                "assignee_id": 3 + cid % 20, "created_at": opened, "updated_at": opened, "version": 2,
                "closed_at": opened + timedelta(days=2) if status == "closed" else None,
            })
            event_rows.append({"case_id": cid, "at": opened, "recorded_at": opened, "actor": "customer",
                               "kind": "opened"})
            if cid in due_ids:
                timer_rows.append({"case_id": cid, "kind": "reminder", "state": "pending",
                                   "started_at": NOW - timedelta(days=7, seconds=1),
                                   "due_at": NOW - timedelta(seconds=1)})
                timer_rows.append({"case_id": cid, "kind": "auto_close", "state": "pending",
                                   "started_at": NOW - timedelta(days=7, seconds=1),
                                   "due_at": NOW + timedelta(days=21)})
            elif status == "pending":
                for kind, days in (("reminder", 7), ("auto_close", 28)):
                    timer_rows.append({"case_id": cid, "kind": kind, "state": "pending", "started_at": NOW,
                                       "due_at": NOW + timedelta(days=days, minutes=cid % 500)})
            elif status == "awaiting_confirmation":
                timer_rows.append({"case_id": cid, "kind": "auto_close", "state": "pending", "started_at": NOW,
                                   "due_at": NOW + timedelta(days=14, minutes=cid % 500)})
            elif status == "closed":
                timer_rows.append({"case_id": cid, "kind": "followup", "state": "fired", "started_at": opened,
                                   "due_at": opened + timedelta(days=3), "fired_at": opened + timedelta(days=3)})
                survey_rows.append({"case_id": cid, "sent_at": opened + timedelta(days=2), "to": "customer",
                                    "answered_at": opened + timedelta(days=2, hours=5),
                                    "score": rng.choice([1, 2, 3, 4, 4, 5, 5, 5]), "flagged": False})
        for row in timer_rows:
            row.setdefault("fired_at", None)
        with engine.begin() as conn:
            conn.execute(insert(Case), case_rows)
            conn.execute(insert(Event), event_rows)
            if timer_rows:
                conn.execute(insert(Timer), timer_rows)
            if survey_rows:
                conn.execute(insert(Survey), survey_rows)
        done = ids[-1]
        print(f"\r  building {path.name}: {done:,}/{cases:,} cases ({time.perf_counter() - start:.0f} s)",
              end="", flush=True)
    print()
    with engine.begin() as conn:
        rebuild_case_index(conn)
    engine.dispose()
    return path


def schema_tag() -> str:
    """A short fingerprint of the tables: a cached desk built before a schema change is not reused."""
    from sqlalchemy.dialects import sqlite
    from sqlalchemy.schema import CreateIndex, CreateTable
    from sqlmodel import SQLModel

    import deskconsole.store.models  # noqa: F401  (registers the tables)

    dialect = sqlite.dialect()
    ddl = []
    for table in sorted(SQLModel.metadata.tables.values(), key=lambda t: t.name):
        ddl.append(str(CreateTable(table).compile(dialect=dialect)))
        ddl.extend(sorted(str(CreateIndex(ix).compile(dialect=dialect)) for ix in table.indexes))
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
