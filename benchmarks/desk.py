"""Build large benchmark databases quickly and cache them under benchmarks/.cache/.

The cases are written by deskconsole.bulk (the builder `deskconsole demo --cases N` uses for
its history): every case has the rows the lifecycle service would have written for its life
cycle, 80 % of them closed; `due` open cases have their reminder due a second before NOW.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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
SLA_DAYS = 7  # the desk's policies were loaded this long before NOW (bulk/slalife.py walks each case since)
CUSTOMERS = [(f"Customer {k}", None) for k in range(997)]


def build(path: Path, cases: int, due: int = 0, seed: int = 1) -> Path:
    """A SQLite desk with `cases` cases (80 % closed) and `due` reminders already due at NOW."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    build_url(f"sqlite:///{path}", path.name, cases, due, seed)
    return path


def build_url(url: str, name: str, cases: int, due: int = 0, seed: int = 1) -> None:
    """The desk of build() in the (empty) database at `url`, SQLite or PostgreSQL."""
    engine = make_engine(url)
    init_schema(engine)
    service = Service(engine, FixedClock(NOW))
    for agent, role, skills, manager in AGENTS:  # (not `name`: the progress line below shows the desk's)
        service.add_agent(agent, role, actor=None if agent == AGENTS[0][0] else AGENTS[0][0], skills=skills,
                          manager=manager)
    start = time.perf_counter()

    def progress(done: int, total: int) -> None:
        print(f"\r  building {name}: {done:,}/{total:,} cases ({time.perf_counter() - start:.0f} s)",
              end="", flush=True)

    # the demo's service levels, loaded SLA_DAYS before NOW: the cases active since have their rows
    service.load_sla(DEMO_POLICY, actor="sue")
    build_bulk(engine, cases, end=NOW, seed=seed, due=due, open_share=0.2, customers=CUSTOMERS, progress=progress,
               sla=DEMO_POLICY, sla_since=NOW - timedelta(days=SLA_DAYS))
    print()
    engine.dispose()


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
    import deskconsole.domain
    import deskconsole.store.search

    # a desk written by an older builder (its plans, its SQL, the search index builder, the domain's
    # rules and texts it writes by) is rebuilt too: every module of the bulk and domain packages
    sources = [Path(deskconsole.bulkload.__file__), Path(deskconsole.store.search.__file__)]
    for package in (deskconsole.bulk, deskconsole.domain):
        sources += sorted(Path(package.__file__).parent.glob("*.py"))
    for source in sources:
        ddl.append(source.read_text())
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


# ------------------------------------------------------------------ PostgreSQL
# On PostgreSQL the pristine desk is a database on the server, `deskbench_<cases>_<due>_<tag>`, built
# once and kept; each measurement gets a copy (CREATE DATABASE ... TEMPLATE: a file copy on the
# server, seconds even at a million cases). What run.py and the rows_*.py modules are handed as
# `pristine` is then a small file under .cache/ naming that database (suffix .pg); pristine_copy()
# and drop_copy() below work on either kind.
PG_SUFFIX = ".pg"
PG_PREFIX = "deskbench_"


def admin_url(server: str) -> str:
    """A libpq URL for psycopg to the server's `postgres` database (never one it copies or drops), from
    deskconsole's SQLAlchemy URL (postgresql+psycopg://...) of any database on it."""
    from sqlalchemy.engine import make_url

    return make_url(server).set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)


def with_database(server: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(server).set(database=name).render_as_string(hide_password=False)


def _admin(server: str, *statements: str) -> list[tuple]:
    import psycopg

    rows: list[tuple] = []
    with psycopg.connect(admin_url(server), autocommit=True) as conn:
        for statement in statements:
            cur = conn.execute(statement)
            if cur.description is not None:
                rows = cur.fetchall()
    return rows


def cached_pg(server: str, cases: int, due: int) -> Path:
    """The pristine PostgreSQL desk on `server` (built the first time), as the .pg file naming it."""
    CACHE.mkdir(exist_ok=True)
    tag = schema_tag()
    name = f"{PG_PREFIX}{cases}_{due}_{tag}"
    existing = {row[0] for row in _admin(server, "SELECT datname FROM pg_database")}
    for stale in existing:
        if (stale.startswith(f"{PG_PREFIX}{cases}_{due}_") and stale != name) or stale.startswith(f"{PG_PREFIX}work_"):
            _admin(server, f'DROP DATABASE IF EXISTS "{stale}" WITH (FORCE)')  # an older schema, a run cut short
    if name not in existing:
        building = name + "_tmp"
        _admin(server, f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)', f'CREATE DATABASE "{building}"')
        build_url(with_database(server, building), building, cases, due)
        _admin(server, f'ALTER DATABASE "{building}" RENAME TO "{name}"')
    marker = CACHE / f"pg-{cases}-{due}{PG_SUFFIX}"
    marker.write_text(with_database(server, name) + "\n")
    return marker


def is_pg(pristine: Path) -> bool:
    return pristine.suffix == PG_SUFFIX


def pristine_copy(pristine: Path, name: str) -> str:
    """The database URL of a fresh copy of the pristine desk (SQLite file or PostgreSQL database), named
    after `name` (a measurement's own): what a benchmark row measures on. Give it back with drop_copy."""
    if is_pg(pristine):
        template = pristine.read_text().strip()
        from sqlalchemy.engine import make_url

        source = make_url(template).database
        target = f"{PG_PREFIX}work_{name}".replace("-", "_").replace(".", "_")
        _admin(template, f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)',
               f'CREATE DATABASE "{target}" TEMPLATE "{source}"')
        return with_database(template, target)
    target = CACHE / name
    for suffix in ("", "-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    shutil.copyfile(pristine, target)
    return f"sqlite:///{target}"


def drop_copy(url: str) -> None:
    """Remove a copy pristine_copy made."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        _admin(url, f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        return
    for suffix in ("", "-wal", "-shm"):
        Path(str(parsed.database) + suffix).unlink(missing_ok=True)


def sqlite_path(url: str) -> Path | None:
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None


def dbapi(url: str) -> tuple[Any, str]:
    """A plain driver connection to the desk at `url` and its parameter style (as the fast start)."""
    path = sqlite_path(url)
    if path is not None:
        return sqlite3.connect(path), "qmark"
    import psycopg
    from sqlalchemy.engine import make_url

    return psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)), "format"
