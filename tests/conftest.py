"""Suite-wide fixtures and the CI policy for PostgreSQL tests.

Database fixtures (every one fresh per test, xdist-safe)
    sqlite_url        a SQLite file in the test's tmp_path, already at the current schema: a copy
                      of a template file this worker migrated once.
    pg_url            a PostgreSQL database of its own (on the server named by
                      DESKCONSOLE_TEST_PG_URL), already at the current schema: created from a
                      template database this worker migrated once (CREATE DATABASE ... TEMPLATE),
                      dropped afterwards.
    db_url            parametrized over both, ids "sqlite" and "postgres".
    seeded_db         parametrized the same way: seeded_db(key, seed) gives a database of its own
                      holding what seed(url) wrote, seeded once per worker and copied per test
                      (a file copy, or CREATE DATABASE ... TEMPLATE): for a desk every test of a
                      module starts from (people added through the command line, say).
    empty_sqlite_url, empty_pg_url, empty_db_url
                      the same, but brand-new and empty (no file yet for SQLite): for the tests
                      of migrations, upgrades and a first run.
  A migrated copy has the schema and no rows; init_schema on it is the one-query check.

CI policy (env CI == "true")
    PostgreSQL tests must run: a missing DESKCONSOLE_TEST_PG_URL fails pg_url instead
    of skipping it, and any skip whose reason mentions PostgreSQL is reported as a
    failure, whoever raised it.

Parallel runs (pytest-xdist, `make test`): each worker is its own process with its own
template file and template database (named after the worker); every database name has a
random part; files live in tmp_path.

Locally, `eval "$(scripts/pg-throwaway.sh start)"` provides a server; `.ci/run` does
the same for CI.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

pytest_plugins = ["pytester"]

PG_URL_ENV = "DESKCONSOLE_TEST_PG_URL"
# Skips that mean "a real server this suite needs was not there": failures under CI.
_PG_SKIP_REASON = re.compile(r"postgres|DESKCONSOLE_TEST_PG_URL|IMAP|DESKCONSOLE_TEST_IMAP_URL|tmpfs", re.IGNORECASE)


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def libpq_url(sqlalchemy_url: str) -> str:
    """`postgresql+psycopg://...` (SQLAlchemy) -> `postgresql://...` (psycopg/libpq)."""
    url = make_url(sqlalchemy_url)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


# --- CI policy ----------------------------------------------------------------


# The modules that take longest (seconds of test time, a whole-suite run with --durations=0 on
# 2026-12-05, the machine shared): run first, so that under `make test` (pytest-xdist, a module
# at a time, `--no-loadscope-reorder`) no long module starts late and runs alone at the end while
# the other worker is idle. A module missing here or listed that got faster costs only some
# balance, never a result.
HEAVY_FIRST = (
    "tests/unit/test_team_scale.py",  # 433
    "tests/unit/test_mail_imap.py",  # 170
    "tests/unit/test_hostile.py",  # 154
    "tests/unit/test_bulk.py",  # 139
    "tests/unit/test_ingest_crash.py",  # 130
    "tests/unit/test_queue_plans.py",  # 86
    "tests/unit/test_sla_service.py",  # 85
    "tests/unit/test_ingest_hostile.py",  # 80
    "tests/unit/test_open_faults.py",  # 76
    "tests/unit/test_service_concurrency.py",  # 75
    "tests/unit/test_cli.py",  # 71
    "tests/tui/test_manager.py",  # 68
    "tests/tui/test_console_editing.py",  # 68
    "tests/unit/test_permissions.py",  # 65
    "tests/tui/test_thread.py",  # 63
)


def _module_of(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0]


def _heavy_first(items: list[pytest.Item]) -> None:
    """The modules of HEAVY_FIRST first (in that order), then the others by their number of tests,
    most first (what pytest-xdist's loadscope does by default); tests keep their order in a module."""
    counts: dict[str, int] = {}
    for item in items:
        counts[_module_of(item)] = counts.get(_module_of(item), 0) + 1
    rank = {module: i for i, module in enumerate(HEAVY_FIRST)}

    def key(item: pytest.Item) -> tuple[int, int]:
        module = _module_of(item)
        return (0, rank[module]) if module in rank else (1, -counts[module])

    items.sort(key=key)  # (stable: the same order in every worker, as xdist requires)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that touches PostgreSQL, so `-m "not postgres"` works; the slowest modules first."""
    _heavy_first(items)
    for item in items:
        callspec = getattr(item, "callspec", None)
        uses_pg = bool({"pg_url", "empty_pg_url"} & set(getattr(item, "fixturenames", ()))) or (
            callspec is not None
            and "postgres" in (callspec.params.get("db_url"), callspec.params.get("empty_db_url"),
                               callspec.params.get("seeded_db"))
        )
        if uses_pg:
            item.add_marker(pytest.mark.postgres)


def _skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


def _fail_pg_skip_under_ci(report: pytest.TestReport | pytest.CollectReport) -> None:
    if not (in_ci() and report.skipped) or hasattr(report, "wasxfail"):
        return
    reason = _skip_reason(report)
    if _PG_SKIP_REASON.search(reason):
        report.outcome = "failed"
        report.longrepr = (
            f"PostgreSQL tests must not be skipped under CI (CI=true), "
            f"but this one was: {reason}"
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    report = yield
    _fail_pg_skip_under_ci(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):
    # Covers module-level `pytest.skip(..., allow_module_level=True)`.
    report = yield
    _fail_pg_skip_under_ci(report)
    return report


# --- hypothesis ---------------------------------------------------------------
# Each property test's own @settings say how many examples it explores (the same locally and
# under CI). Under CI (a clean clone every run) the example database is never read again: the
# "ci" profile keeps none and prints, for a failure, the blob that replays it (@reproduce_failure).
from hypothesis import settings as _hypothesis_settings  # noqa: E402

_hypothesis_settings.register_profile("ci", database=None, print_blob=True)
if in_ci():
    _hypothesis_settings.load_profile("ci")


# --- database fixtures --------------------------------------------------------


def worker_id() -> str:
    """This worker's id under pytest-xdist ("gw0", "gw1", ...); "main" in a plain run."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def _migrate(url: str) -> None:
    from deskconsole.store.engine import init_schema, make_engine

    engine = make_engine(url)
    try:
        init_schema(engine)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file at the current schema, migrated once per worker (tmp_path_factory's
    directory is the worker's own)."""
    path = tmp_path_factory.mktemp("template") / "desk.db"
    _migrate(_sqlite_url(path))
    # The last connection closed folds the write-ahead log into the file: the file alone is the
    # database (still in WAL mode: that is recorded in the file).
    assert not Path(f"{path}-wal").exists(), "the template's write-ahead log was left behind"
    return path


@pytest.fixture
def empty_sqlite_url(tmp_path: Path) -> str:
    """A SQLite file URL in the test's tmp_path; the file does not exist yet."""
    return _sqlite_url(tmp_path / "desk.db")


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A SQLite file in the test's tmp_path at the current schema (a copy of the template)."""
    path = tmp_path / "desk.db"
    shutil.copyfile(sqlite_template, path)
    return _sqlite_url(path)


def _pg_base() -> str:
    base = os.environ.get(PG_URL_ENV, "").strip()
    if not base:
        if in_ci():
            pytest.fail(f"PostgreSQL required under CI: {PG_URL_ENV} is not set")
        pytest.skip(f"PostgreSQL not available: set {PG_URL_ENV} (scripts/pg-throwaway.sh)")
    return base


@contextmanager
def _server_lock(base: str, mode: int) -> Iterator[None]:
    """A lock on the PostgreSQL server at `base`, shared by every worker of the run (a file in the
    temporary directory named after the server's URL): LOCK_SH around each CREATE or DROP DATABASE,
    LOCK_EX for a test that must have the server to itself (pg_server_alone)."""
    digest = hashlib.sha256(base.encode()).hexdigest()[:16]
    with (Path(tempfile.gettempdir()) / f"deskconsole-test-pg-{digest}.lock").open("w") as lock:
        fcntl.flock(lock, mode)
        yield  # (released when the file closes)


def _create_pg_database(base: str, name: str, template: str | None = None) -> str:
    admin = libpq_url(base)
    sql = f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
    try:
        with _server_lock(base, fcntl.LOCK_SH), psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql)
    except psycopg.OperationalError as exc:
        pytest.fail(f"cannot create a test database on PostgreSQL at {PG_URL_ENV}: {exc}")
    return make_url(base).set(database=name).render_as_string(hide_password=False)


def _drop_pg_database(base: str, name: str) -> None:
    # FORCE kicks out connections the test (or a leaked engine) left open.
    with _server_lock(base, fcntl.LOCK_SH), psycopg.connect(libpq_url(base), autocommit=True,
                                                              connect_timeout=10) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_server_alone(request: pytest.FixtureRequest) -> Iterator[None]:
    """No other worker creates or drops a database on the server while the test runs.

    For a test that fills a tablespace's disk (tests/unit/test_durable_pg.py): DROP DATABASE (and
    CREATE DATABASE ... TEMPLATE) make the server checkpoint, and a checkpoint fails while a
    tablespace is full ("checkpoint request failed" in another worker's test), while the test's
    own database, written by that checkpoint, takes the room the test counts on. This worker's
    template database is made first (it is made under the shared lock).
    """
    request.getfixturevalue("pg_template")
    with _server_lock(_pg_base(), fcntl.LOCK_EX):
        yield


@pytest.fixture(autouse=True)
def _alone_on_a_full_disk(request: pytest.FixtureRequest) -> None:
    """Tests on a PostgreSQL tablespace that fills up (the `small_pg` fixture) get pg_server_alone."""
    if "small_pg" in request.fixturenames:
        request.getfixturevalue("pg_server_alone")


@contextmanager
def _pg_database(template: str | None = None) -> Iterator[str]:
    base = _pg_base()
    name = f"t_{uuid.uuid4().hex}"
    url = _create_pg_database(base, name, template)
    try:
        yield url
    finally:
        _drop_pg_database(base, name)


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """The name of a PostgreSQL database at the current schema, migrated once per worker.

    Nothing stays connected to it (CREATE DATABASE ... TEMPLATE needs that), and only this
    worker copies it: another worker has its own.
    """
    base = _pg_base()
    name = f"tmpl_{worker_id()}_{uuid.uuid4().hex[:12]}"
    url = _create_pg_database(base, name)
    try:
        _migrate(url)
        yield name
    finally:
        _drop_pg_database(base, name)


@pytest.fixture
def empty_pg_url() -> Iterator[str]:
    """SQLAlchemy URL (postgresql+psycopg) of a brand-new empty database.

    CREATE DATABASE per test costs ~30 ms and DROP ~12 ms against the throwaway
    cluster (fsync off).
    """
    with _pg_database() as url:
        yield url


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """SQLAlchemy URL (postgresql+psycopg) of a database of its own at the current schema.

    Copying the template costs what creating an empty database costs; migrating one costs a
    second or more.
    """
    _pg_base()  # skip, or fail under CI, before the template is asked for
    with _pg_database(template=request.getfixturevalue("pg_template")) as url:
        yield url


class Seeds:
    """Databases seeded once per worker and copied for each test that asks for one.

    `seed(url)` fills a migrated database (through the service or the command line) and may
    return a value (case ids, say) handed back with every copy; it must leave no connection open.
    SQLite: the seeded file (and its -wal/-shm, if any) is copied. PostgreSQL: the seeded
    database is itself a template (CREATE DATABASE ... TEMPLATE), dropped when the worker ends.
    """

    def __init__(self, factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> None:
        self._factory = factory
        self._request = request
        self._sqlite: dict[str, tuple[Path, object]] = {}
        self._pg: dict[str, tuple[str, object]] = {}

    def sqlite(self, key: str, seed, dest: Path) -> tuple[str, object]:
        if key not in self._sqlite:
            path = self._factory.mktemp(f"seed-{key}") / "desk.db"
            shutil.copyfile(self._request.getfixturevalue("sqlite_template"), path)
            self._sqlite[key] = (path, seed(_sqlite_url(path)))
        source, value = self._sqlite[key]
        for suffix in ("", "-wal", "-shm"):
            if Path(f"{source}{suffix}").exists():
                shutil.copyfile(f"{source}{suffix}", f"{dest}{suffix}")
        return _sqlite_url(dest), value

    @contextmanager
    def pg(self, key: str, seed) -> Iterator[tuple[str, object]]:
        base = _pg_base()
        if key not in self._pg:
            name = f"seed_{key}_{worker_id()}_{uuid.uuid4().hex[:8]}"
            self._pg[key] = (name, seed(_create_pg_database(base, name, self._request.getfixturevalue("pg_template"))))
        template, value = self._pg[key]
        with _pg_database(template=template) as url:
            yield url, value

    def drop(self) -> None:
        if self._pg:
            base = _pg_base()
            for name, _ in self._pg.values():
                _drop_pg_database(base, name)


@pytest.fixture(scope="session")
def seeds(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Seeds]:
    made = Seeds(tmp_path_factory, request)
    try:
        yield made
    finally:
        made.drop()


@pytest.fixture(params=["sqlite", "postgres"], ids=["sqlite", "postgres"])
def seeded_db(request: pytest.FixtureRequest, seeds: Seeds, tmp_path: Path):
    """`seeded_db(key, seed) -> (url, value)`: a database of its own on the parametrized backend,
    a copy of one seeded once per worker by `seed(url)` (the same key, the same seed)."""
    with ExitStack() as stack:

        def make(key: str, seed) -> tuple[str, object]:
            if request.param == "sqlite":
                return seeds.sqlite(key, seed, tmp_path / "desk.db")
            return stack.enter_context(seeds.pg(key, seed))

        yield make


@pytest.fixture(params=["sqlite", "postgres"], ids=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


@pytest.fixture(params=["sqlite", "postgres"], ids=["sqlite", "postgres"])
def empty_db_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue("empty_sqlite_url" if request.param == "sqlite" else "empty_pg_url")


# --- service fixtures ---


from dataclasses import dataclass  # noqa: E402
from datetime import timedelta  # noqa: E402

from sqlmodel import Session, select  # noqa: E402

SERVICE_START = "2026-11-25T09:00:00Z"
# The question a case moved to pending/customer_input sends its customer (case_in).
QUESTION = "Could you send us the log file from the affected machine?"


@pytest.fixture
def clock():
    """A FixedClock at 2026-11-25T09:00:00Z; tests move it with .advance()/.set()."""
    from deskconsole.domain.clock import FixedClock

    return FixedClock(SERVICE_START)


@pytest.fixture
def engine(db_url: str):
    """A fresh schema on the parametrized backend (SQLite file or PostgreSQL database): a copy
    of the worker's migrated template, so init_schema here is the one-query check."""
    from deskconsole.store.engine import init_schema, make_engine

    eng = make_engine(db_url)
    init_schema(eng)
    try:
        yield eng
    finally:
        eng.dispose()


@pytest.fixture
def svc(engine, clock):
    from deskconsole.service import Service

    return Service(engine, clock)


@dataclass
class Desk:
    """A staffed desk over one Service, with helpers to put cases where a test needs them.

    Agents: managers mona and max, supervisor sue, analysts alice (billing, login;
    manager mona) and bob (billing; manager max).
    """

    svc: object
    clock: object

    # -- cases -----------------------------------------------------------------
    def open(self, title: str = "Invoice total is wrong", customer: str = "acme", **kw):
        kw.setdefault("contact", f"help@{customer}.example")
        case, created = self.svc.open_case(title, customer, **kw)
        assert created
        return case

    def case_in(self, status: str, sub_status: str | None = None, *, actor: str = "alice", **open_kw):
        """A case brought into `status` (and `sub_status`) through ordinary service calls."""
        svc = self.svc
        if status == "update_received":
            case = self.case_in("pending", sub_status or "customer_input", actor=actor, **open_kw)
            return svc.customer_reply(case.id, "Here are the logs you asked for.")[0]
        if status == "reopened":
            case = self.case_in("awaiting_confirmation", actor=actor, **open_kw)
            return svc.customer_reply(case.id, "Still broken on my side.")[0]
        case = self.open(**open_kw)
        if status == "new":
            return case
        if status == "closed":
            return svc.close(case.id, reason="duplicate of an older case", actor=actor)
        if status == "pending":
            sub = sub_status or "customer_input"
            return svc.move(case.id, "pending", sub_status=sub, actor=actor,
                            note=QUESTION if sub == "customer_input" else None)
        case = svc.move(case.id, "in_progress", actor=actor)
        if status == "in_progress":
            return case
        if status == "awaiting_confirmation":
            return svc.move(case.id, "awaiting_confirmation", note="Cleared the stale cache.", actor=actor)
        raise AssertionError(f"no recipe for {status}")

    # -- inspection --------------------------------------------------------------
    def rows(self, model, **where):
        with Session(self.svc.engine) as s:
            query = select(model)
            for name, value in where.items():
                query = query.where(getattr(model, name) == value)
            return list(s.exec(query.order_by(model.id)).all())

    def outbox(self, case_id: int | None = None):
        return self.svc.list_outbox(case_id=case_id)

    def snapshot(self, case_id: int) -> dict:
        """Everything a refused action must leave alone: the case row and all rows hanging off it."""
        from deskconsole.store.models import Case, Escalation, Event, Outbox, Survey, Timer

        def dump(row) -> tuple:
            return tuple(sorted(row.model_dump().items()))

        with Session(self.svc.engine) as s:
            out = {"case": dump(s.get(Case, case_id))}
            for name, model in (("events", Event), ("timers", Timer), ("outbox", Outbox),
                                ("escalations", Escalation), ("surveys", Survey)):
                rows = s.exec(select(model).where(model.case_id == case_id).order_by(model.id)).all()
                out[name] = [dump(r) for r in rows]
            return out

    def later(self, **delta) -> None:
        self.clock.advance(timedelta(**delta))


@pytest.fixture
def desk(svc, clock) -> Desk:
    svc.add_agent("mona", "manager", actor=None)
    svc.add_agent("max", "manager", actor="mona")
    svc.add_agent("sue", "supervisor", actor="mona")
    svc.add_agent("alice", "analyst", actor="mona", skills=["billing", "login"], manager="mona")
    svc.add_agent("bob", "analyst", actor="mona", skills=["billing"], manager="max")
    return Desk(svc, clock)


@pytest.fixture
def sla_metric_reads(monkeypatch) -> list[str]:
    """The SELECTs of service-level history (sla_metric) sent through prepared statements while the
    test runs, in order: whether an action reads them one case at a time or ahead for many."""
    from deskconsole.store import prepared

    reads: list[str] = []
    run = prepared.Prepared._run

    def counting(self, *args, **kw):  # type: ignore[no-untyped-def]
        if self.sql.lstrip().startswith("SELECT") and "FROM sla_metric" in self.sql:
            reads.append(self.sql)
        return run(self, *args, **kw)

    monkeypatch.setattr(prepared.Prepared, "_run", counting)
    return reads
