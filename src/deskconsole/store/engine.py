"""The engine factory: SQLite (embedded default) or PostgreSQL, by SQLAlchemy URL."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlmodel import SQLModel

from deskconsole.domain.errors import InvalidInput

SQLITE_BUSY_TIMEOUT_MS = 30_000


def default_db_url() -> str:
    from platformdirs import user_data_dir

    return f"sqlite:///{Path(user_data_dir('deskconsole', appauthor=False)) / 'deskconsole.db'}"


def resolve_db_url(url: str | None = None) -> str:
    return url or os.environ.get("DESKCONSOLE_DB") or default_db_url()


def safe_url(url: str) -> str:
    """The URL with any password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def make_engine(url: str | None = None, *, echo: bool = False) -> Engine:
    url = resolve_db_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InvalidInput(f"not a database URL: {url!r}") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url, parsed.database, echo)
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, echo=echo, pool_pre_ping=True, pool_size=5, max_overflow=5)
    raise InvalidInput(f"unsupported database {backend!r}: use sqlite:///path.db or postgresql+psycopg://…")


def _sqlite_engine(url: str, database: str | None, echo: bool) -> Engine:
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        echo=echo,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # noqa: ANN001
        # Let SQLAlchemy's "begin" hook below issue BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # noqa: ANN001
        # Writers take the write lock up front: a read-then-write never loses an update.
        # Read-only work (the console's lists) asks for a plain deferred BEGIN.
        if conn.get_execution_options().get("deskconsole_readonly"):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def init_schema(engine: Engine) -> None:
    """Create any missing tables (idempotent)."""
    from deskconsole.store import models  # noqa: F401  (registers the tables)

    with engine.begin() as conn:
        if is_postgres(engine):
            # consoles starting together on a fresh database: one creates, the others wait
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7411953)")
        SQLModel.metadata.create_all(conn)
