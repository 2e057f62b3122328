"""The engine factory: SQLite (embedded default) or PostgreSQL, by SQLAlchemy URL."""

from __future__ import annotations

import os
import re
import sys
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

from deskconsole.domain.errors import InvalidInput

if TYPE_CHECKING:
    import sqlite3

    from alembic.config import Config

SQLITE_BUSY_TIMEOUT_MS = 30_000
# A process that writes many cases at a time (make_engine's bulk_writes: ingest), on SQLite:
SQLITE_BULK_CACHE_KIB = 32 * 1024  # each connection's page cache (it grows to this as pages are read)
SQLITE_BULK_CHECKPOINT_PAGES = 10_000  # the WAL is copied into the file once it holds this many pages
PG_CONNECT_TIMEOUT_S = 10


def default_db_url() -> str:
    from platformdirs import user_data_dir

    return f"sqlite:///{Path(user_data_dir('deskconsole', appauthor=False)) / 'deskconsole.db'}"


def resolve_db_url(url: str | None = None) -> str:
    return url or os.environ.get("DESKCONSOLE_DB") or default_db_url()


_CREDENTIALS = re.compile(r"(?P<user>[^:/@\s]*):(?P<password>[^@/\s]*)@")


def safe_url(url: str) -> str:
    """The URL with any password hidden, for messages (also in text that does not parse as a URL)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return _CREDENTIALS.sub(lambda m: f"{m['user']}:***@", url)


def make_engine(url: str | None = None, *, echo: bool = False, bulk_writes: bool = False) -> Engine:
    """An engine for the database at `url`. `bulk_writes`: for a process that writes many cases a
    transaction (ingest): on SQLite its connections keep a bigger page cache and checkpoint the WAL
    less often (SQLITE_BULK_*); the console keeps SQLite's defaults (and its memory)."""
    url = resolve_db_url(url)
    try:
        parsed = make_url(url)
        port_ok = parsed.port is None or 0 < parsed.port < 65536
    except ArgumentError:
        raise InvalidInput(f"not a database URL: {safe_url(url)!r}") from None
    except ValueError:  # make_url's int() of the port
        port_ok = False
    if not port_ok:
        raise InvalidInput(f"not a database URL: {safe_url(url)!r}: the port must be a number from 1 to 65535")
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url, parsed.database, echo, bulk_writes)
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        # A server that does not answer is reported after a while instead of hanging the start.
        connect_args = {} if "connect_timeout" in parsed.query else {"connect_timeout": PG_CONNECT_TIMEOUT_S}
        return create_engine(parsed, echo=echo, pool_pre_ping=True, pool_size=5, max_overflow=5,
                             connect_args=connect_args)
    raise InvalidInput(f"unsupported database {backend!r}: use sqlite:///path.db or postgresql+psycopg://…")


def _sqlite_engine(url: str, database: str | None, echo: bool, bulk_writes: bool = False) -> Engine:
    if database and database != ":memory:" and not database.startswith("file:"):
        folder = Path(database).expanduser().parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise InvalidInput(f"cannot create the database at {safe_url(url)}: "
                               f"{_first_file(folder)} is a file, not a folder") from None
        except OSError as exc:
            raise InvalidInput(f"cannot create the database at {safe_url(url)}: "
                               f"cannot make the folder {folder}: {exc.strerror or exc}") from None
    engine = create_engine(
        url,
        echo=echo,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        # Let SQLAlchemy's "begin" hook below issue BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        _wal(cursor)
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        if bulk_writes:
            # A desk of a million cases is gigabytes, and a case row is in many indexes: with the
            # default 2 MiB page cache each case written reads the indexes' upper pages again.
            cursor.execute(f"PRAGMA cache_size=-{SQLITE_BULK_CACHE_KIB}")
            # A batch commits a few thousand pages: checkpointing the WAL after every such commit
            # (the default, at 1,000 pages) writes and syncs the same hot pages again and again.
            cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_BULK_CHECKPOINT_PAGES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the write lock up front: a read-then-write never loses an update.
        # Read-only work (the console's lists) asks for a plain deferred BEGIN.
        if conn.get_execution_options().get("deskconsole_readonly"):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    @event.listens_for(engine, "handle_error")
    def _on_error(context: Any) -> None:
        # On some errors (SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM) SQLite rolls the whole
        # transaction back by itself. The connection would then run every later statement in a
        # transaction of its own, committed at once, and the final COMMIT would do nothing and
        # report success. Treat the connection as lost instead: SQLAlchemy invalidates it, so
        # nothing more runs on it and the transaction can only be rolled back.
        conn = context.connection
        if watched is None or conn is None or not conn.in_transaction():
            return  # (an in-memory database would be lost with its one connection)
        driver = _driver(conn)
        if driver is not None and not driver.in_transaction:
            context.is_disconnect = True
            context.invalidate_pool_on_disconnect = False  # the other connections are fine

    @event.listens_for(engine, "commit")
    def _on_commit(conn: Connection) -> None:
        # The last guards: a transaction SQLite no longer holds must not be reported committed,
        # and neither must one written into a file that was deleted (or replaced) meanwhile.
        driver = _driver(conn)
        if driver is not None and not driver.in_transaction:
            raise TransactionLost(f"the database at {safe_url(url)} rolled this transaction back by itself; "
                                  "nothing of it is stored")
        if watched is not None:
            problem = watched.problem()
            if problem is not None:
                raise FileReplaced(problem + "; nothing of this transaction is stored")

    watched = None
    if database and database != ":memory:" and not database.startswith("file:"):
        _watch_file(engine, Path(database).expanduser())
        watched = _WATCHED[engine]
    return engine


class TransactionLost(OperationalError):
    """SQLite ended a transaction by itself (a full disk, an I/O error): nothing of it is stored."""

    def __init__(self, message: str) -> None:
        super().__init__(message, None, Exception(message))

    def __str__(self) -> str:
        return str(self.orig)


def _driver(conn: Connection) -> Any:
    """The sqlite3 connection under a SQLAlchemy one (None when it is gone)."""
    try:
        fairy = conn.connection
    except Exception:  # noqa: BLE001 - an invalidated or closed connection
        return None
    return getattr(fairy, "driver_connection", None)


class FileReplaced(OperationalError):
    """The SQLite file a process opened was deleted or replaced by another file while it ran."""

    def __init__(self, message: str) -> None:
        super().__init__(message, None, Exception(message))

    def __str__(self) -> str:
        return str(self.orig)


class _FileWatch:
    """The SQLite file an engine opened: which file it was (device and inode, taken at the first
    connection), so that a file deleted or replaced under a running process is noticed."""

    __slots__ = ("__weakref__", "identity", "path")

    def __init__(self, path: Path) -> None:
        self.path = path
        self.identity: tuple[int, int] | None = None

    def problem(self) -> str | None:
        """What happened to the file since it was opened, or None when it is still there."""
        if self.identity is None:
            return None
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return f"the database file {self.path} was deleted"
        except OSError:
            return None  # (a permission problem is reported by the database itself)
        if (st.st_dev, st.st_ino) != self.identity:
            return f"the database file {self.path} was replaced by another file"
        return None


_WATCHED: weakref.WeakKeyDictionary[Engine, _FileWatch] = weakref.WeakKeyDictionary()


def _watch_file(engine: Engine, path: Path) -> None:
    watch = _WATCHED[engine] = _FileWatch(path)

    @event.listens_for(engine, "do_connect")
    def _before_connect(_dialect: Any, _record: Any, _cargs: Any, _cparams: Any) -> None:
        # A new connection to a file that was deleted would make a new, empty one silently.
        problem = watch.problem()
        if problem is not None:
            raise FileReplaced(problem)

    @event.listens_for(engine, "connect")
    def _opened(_dbapi_connection: Any, _record: Any) -> None:
        if watch.identity is None:
            try:
                st = os.stat(path)
            except OSError:
                return
            watch.identity = (st.st_dev, st.st_ino)


def adopt_database_file(engine: Engine) -> None:
    """The engine's file was replaced on purpose (a bulk build writes a new file and moves it in
    place): the file now at the path is the database."""
    watch = _WATCHED.get(engine)
    if watch is not None:
        try:
            st = os.stat(watch.path)
        except OSError:
            return
        watch.identity = (st.st_dev, st.st_ino)


def database_file(engine: Engine) -> Path | None:
    """The SQLite file an engine works on (None: not a file)."""
    watch = _WATCHED.get(engine)
    return watch.path if watch is not None else None


def database_file_problem(engine: Engine) -> str | None:
    """For a SQLite engine: whether the file it opened was deleted or replaced since (a sentence),
    else None. One stat of the path."""
    watch = _WATCHED.get(engine)
    return watch.problem() if watch is not None else None


def transaction_alive(conn: Connection) -> bool:
    """Whether the transaction `conn` is in still exists in the database: False when the connection
    was invalidated, when SQLite rolled the transaction back by itself, or when PostgreSQL aborted it."""
    if conn.invalidated or not conn.in_transaction():
        return False
    driver = _driver(conn)
    if driver is None:
        return False
    if conn.dialect.name == "sqlite":
        return bool(driver.in_transaction)
    info = getattr(driver, "info", None)
    if info is None:
        return True
    from psycopg.pq import TransactionStatus

    # (psycopg begins the transaction with the first statement: IDLE until then)
    return not getattr(driver, "closed", False) and info.transaction_status in (
        TransactionStatus.INTRANS, TransactionStatus.ACTIVE, TransactionStatus.IDLE)


def missing_sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL when it does not exist (a new desk would be made there), else None."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # not a URL, or a port that is no number: make_engine says so
        return None
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = Path(database).expanduser()
    if path.exists():
        return None
    if _first_file(path.parent) != path.parent or (path.parent.exists() and not path.parent.is_dir()):
        return None  # a plain file where a folder should be: make_engine says so
    return path


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def refresh_statistics(engine: Engine) -> None:
    """Give the planner fresh statistics after a bulk load, so a new desk has sane plans at once:
    ANALYZE on PostgreSQL (every table, sampled), PRAGMA optimize on SQLite (what it finds worth
    analysing, with a bounded sample)."""
    with engine.connect() as conn:
        if is_postgres(engine):
            conn.exec_driver_sql("ANALYZE")
        else:
            conn.exec_driver_sql("PRAGMA analysis_limit=1000")
            conn.exec_driver_sql("PRAGMA optimize")
        conn.commit()


# --- the schema: versions and upgrades ------------------------------------------------------------

#: Every schema revision this deskconsole knows, oldest first (store/migrations/versions).
REVISIONS = ("0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009", "0010", "0011", "0012", "0013",
             "0014", "0015", "0016")
#: The revision this deskconsole's code works with.
HEAD_REVISION = REVISIONS[-1]
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_PG_SCHEMA_LOCK = 7411953
# A database made before deskconsole had migrations has these tables and no alembic_version.
_PRE_MIGRATION_TABLES = {"agent", "case", "event"}


def _wal(cursor: sqlite3.Cursor) -> None:
    """Put the file in WAL mode. While another process is creating the same new file, the switch
    can answer "database is locked" at once, without the busy handler's wait (seen with consoles
    starting together on a fresh file): it is tried again until the busy timeout."""
    import sqlite3
    import time

    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def init_schema(engine: Engine) -> None:
    """Bring the database to this deskconsole's schema (HEAD_REVISION).

    Up to date: one query (the alembic version row), and alembic is not even imported. Empty:
    created at head. Older (or made by deskconsole before it had migrations, which counts as
    0001): upgraded to head, a SQLite file first copied beside itself
    (`<file>.bak-<old revision>-<UTC time>`). At a revision this deskconsole does not know (a newer
    deskconsole made it): refused, untouched. Faults (server unreachable, not a database file,
    read-only file) come out as one-line DeskErrors naming the URL without its password.
    """
    where = safe_url(engine.url.render_as_string(hide_password=False))
    _check_sqlite_file(engine, where)
    version = _read_version(engine, where)
    if version == HEAD_REVISION:
        return
    if version is not None and version not in REVISIONS:
        raise _newer(version, where)
    _upgrade(engine, where)


def schema_version(engine: Engine) -> str | None:
    """The database's schema revision (None: no version recorded, or no SQLite file yet)."""
    path = _sqlite_file(engine)
    if path is not None and not path.exists():
        return None  # asking must not create the file
    where = safe_url(engine.url.render_as_string(hide_password=False))
    return _read_version(engine, where)


def _newer(version: str, where: str) -> InvalidInput:
    return InvalidInput(f"database {where} is at schema version {version}, newer than this deskconsole "
                        f"({HEAD_REVISION}): upgrade deskconsole")


def _sqlite_file(engine: Engine) -> Path | None:
    """The file behind a SQLite engine (None: in memory, a URI, or not SQLite)."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser()


def _first_file(folder: Path) -> Path:
    """The part of `folder`'s path that exists but is not a folder (why it cannot be made)."""
    for part in [*reversed(folder.parents), folder]:
        if part.exists() and not part.is_dir():
            return part
    return folder


def _check_sqlite_file(engine: Engine, where: str) -> None:
    """A SQLite file deskconsole cannot write is refused up front (not at the first change)."""
    path = _sqlite_file(engine)
    if path is None or not path.exists():
        return
    if path.is_dir():
        raise InvalidInput(f"cannot use the database at {where}: {path} is a folder")
    if not os.access(path, os.W_OK):
        raise InvalidInput(f"cannot use the database at {where}: the file is read-only "
                           "(deskconsole writes to it; give it write permission or use a copy)")
    if not os.access(path.parent, os.W_OK):
        raise InvalidInput(f"cannot use the database at {where}: its folder {path.parent} is read-only "
                           "(SQLite keeps the database's journal beside it)")


def _reason(exc: BaseException) -> str:
    """The driver's message, first line, without psycopg's 'connection failed:' prefix."""
    orig = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(orig).splitlines() if line.strip()]
    text = lines[0] if lines else type(orig).__name__
    text = text.removeprefix("connection failed: ")
    return text if len(text) <= 200 else text[:199] + "…"


def _open_fault(engine: Engine, where: str, exc: BaseException) -> InvalidInput:
    reason = _reason(exc)
    if engine.dialect.name == "sqlite":
        low = reason.lower()
        if "not a database" in low or "malformed" in low:
            return InvalidInput(f"{where} is not a deskconsole database ({reason})")
        if "readonly" in low or "read-only" in low:
            return InvalidInput(f"cannot use the database at {where}: the file is read-only ({reason})")
        if "unable to open" in low:
            return InvalidInput(f"cannot open the database at {where}: {reason} (is its folder writable?)")
        return InvalidInput(f"cannot use the database at {where}: {reason}")
    return InvalidInput(f"cannot reach the database at {where}: {reason}")


def _missing_table(exc: DBAPIError) -> bool:
    orig = exc.orig
    return getattr(orig, "sqlstate", None) == "42P01" or "no such table" in str(orig)


def _read_version(engine: Engine, where: str) -> str | None:
    """The recorded revision, by one query; None when nothing is recorded."""
    try:
        conn = engine.connect()
    except DBAPIError as exc:
        raise _open_fault(engine, where, exc) from None
    try:
        conn = conn.execution_options(deskconsole_readonly=True)
        try:
            rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
        except DBAPIError as exc:
            if _missing_table(exc):
                return None
            raise _open_fault(engine, where, exc) from None
    finally:
        conn.close()
    if len(rows) > 1:
        raise InvalidInput(f"database {where} records several schema versions "
                           f"({', '.join(sorted(r[0] for r in rows))}); this deskconsole knows one line of them")
    return rows[0][0] if rows else None


def _alembic_config(conn: Connection) -> Config:  # alembic imported late
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.attributes["connection"] = conn
    return config


def _backup_sqlite(path: Path, revision: str) -> Path:
    """A consistent copy of the file (WAL content included) beside it, named by revision and time."""
    import sqlite3
    from datetime import UTC, datetime

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.bak-{revision}-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.bak-{revision}-{stamp}-{n}")
    source = sqlite3.connect(path)
    try:
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            copy.close()
    finally:
        source.close()
    return target


def _upgrade(engine: Engine, where: str) -> None:
    """Create or upgrade under the schema lock; whoever comes second finds the work done."""
    from alembic import command
    from sqlalchemy import inspect

    try:
        conn = engine.connect()
    except DBAPIError as exc:
        raise _open_fault(engine, where, exc) from None
    with conn, conn.begin():
        # SQLite: this transaction began IMMEDIATE, so it holds the write lock already.
        if is_postgres(engine):
            # consoles starting together on a fresh database: one creates, the others wait
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_SCHEMA_LOCK})")
        tables = set(inspect(conn).get_table_names())
        rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all() \
            if "alembic_version" in tables else []
        version = rows[0][0] if len(rows) == 1 else None
        if version == HEAD_REVISION:
            return
        if version is not None and version not in REVISIONS:
            raise _newer(version, where)
        config = _alembic_config(conn)
        others = tables - {"alembic_version"}
        if version is None and not others:
            command.upgrade(config, "head")  # a new database
            return
        if version is None:
            if not _PRE_MIGRATION_TABLES <= others:
                raise InvalidInput(f"{where} is not a deskconsole database "
                                   f"(it has other tables: {', '.join(sorted(others)[:5])})")
            version = "0001"  # made by deskconsole before it had migrations: that schema is 0001
            adopt = True
        else:
            adopt = False
        path = _sqlite_file(engine)
        backup = _backup_sqlite(path, version) if path is not None else None
        if adopt:
            command.stamp(config, version)
        command.upgrade(config, "head")
    note = f"; the old one is kept as {backup}" if backup is not None else ""
    print(f"deskconsole: upgraded the database {where} from schema version {version} to {HEAD_REVISION}{note}",
          file=sys.stderr)
