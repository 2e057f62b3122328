"""Change watchers: learn that another connection committed, without reading the tables.

`open_watcher(engine)` opens one on its own connection (never the engine's pool):

- SQLite: a read-only sqlite3 connection polls `PRAGMA data_version`, which moves
  when any other connection commits; which cases changed is not known
  (`Change.cases` is None). Commits that wrote only QUIET tables (presence: each
  console's heartbeat, read for the visible page on its own schedule) are not
  changes: when the version moves, the watcher reads the page numbers of the
  frames committed to the write-ahead log since its last look (WalFrames) and
  compares them with the quiet tables' pages (the `dbstat` table). Whatever it
  cannot tell (no log, a log started afresh by a checkpoint, a page it does not
  know, no `dbstat` in this SQLite) counts as a change, as every commit did.
- PostgreSQL: a psycopg connection `LISTEN deskconsole`. The service sends
  `pg_notify('deskconsole', ids)` inside every write transaction (delivered at
  commit, dropped on rollback) with the touched case ids, or "*" when there are too
  many to name or none can be named. Presence heartbeats write through a plain
  connection and announce nothing (service/presence.py): the same as on SQLite.

`wait(timeout)` gives back a Change, or None when nothing happened in time. When
the connection is lost, `wait` raises WatchLost; later calls try to reconnect (at
most once per `retry` seconds) and, once connected again, give back an unspecific
Change with `reconnected=True` (what happened meanwhile is not known). Call
`wait` and `close` from one thread.
"""

from __future__ import annotations

import sqlite3
import struct
import threading
import time
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Engine, event
from sqlmodel import Session

from deskconsole.store.changes import Change, WatchLost, connection_lost

if TYPE_CHECKING:
    import psycopg
    from sqlalchemy.orm import ORMExecuteState

CHANNEL = "deskconsole"
PAYLOAD_LIMIT = 7900  # PostgreSQL refuses payloads of 8000 bytes or more
EVERYTHING = "*"
QUIET = ("presence",)  # tables whose writes are no change to the other consoles (see the module doc)


class WatchUnavailable(Exception):
    """This database cannot be watched (an in-memory SQLite, an unknown kind): poll instead."""


class Watcher(Protocol):
    def wait(self, timeout: float) -> Change | None: ...

    def close(self) -> None: ...


def payload(case_ids: set[int] | frozenset[int] | None) -> str:
    """The NOTIFY payload for these case ids: comma-separated, or "*" (unknown or too many)."""
    if not case_ids:
        return EVERYTHING
    text = ",".join(str(i) for i in sorted(case_ids))
    return text if len(text) <= PAYLOAD_LIMIT else EVERYTHING


def parse_payload(text: str) -> Change:
    try:
        ids = frozenset(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        return Change(None)
    return Change(ids or None)


class WalFrames:
    """The page numbers SQLite's write-ahead log (`DB-wal`) received from commits since the last look.

    The log's format (sqlite.org/fileformat2.html#walformat): a 32-byte header (magic, version, page
    size, checkpoint sequence, two salts, checksum), then frames of a 24-byte header (page number,
    the database's size in pages for the frame that ends a commit, else 0, the two salts, checksum)
    and one page. A checkpoint lets the next writer start the log afresh from its top with new salts;
    frames left from before keep the old salts, and the reading stops at the first of those.
    """

    HEADER = 32
    FRAME = 24

    def __init__(self, path: str) -> None:
        self.path = path
        self._salts: bytes | None = None
        self._page_size = 0
        self._offset = self.HEADER
        self.since()  # (from the log's end as it is now)

    def since(self) -> set[int] | None:
        """The pages written by the commits appended since the last call (an empty set: none); None
        when that cannot be told (no log, a log started afresh, one that cannot be read)."""
        try:
            with open(self.path, "rb") as f:
                return self._read(f)
        except OSError:
            self._salts = None
            return None

    def _read(self, f: Any) -> set[int] | None:
        header = f.read(self.HEADER)
        if len(header) < self.HEADER or struct.unpack(">I", header[:4])[0] not in (0x377F0682, 0x377F0683):
            self._salts = None
            return None
        page_size = struct.unpack(">I", header[8:12])[0]
        page_size = 65536 if page_size == 1 else page_size
        salts = header[16:24]
        same = salts == self._salts and page_size == self._page_size
        if not same:  # a log started afresh (or the first look): read it from its top
            self._salts, self._page_size, self._offset = salts, page_size, self.HEADER
        pages: set[int] = set()
        pending: set[int] = set()
        at = end = self._offset
        while True:
            f.seek(at)
            frame = f.read(self.FRAME)
            if len(frame) < self.FRAME or frame[8:16] != salts:
                break  # the log's end (or frames left from before it started afresh)
            number, commit = struct.unpack(">II", frame[:8])
            pending.add(number)
            at += self.FRAME + page_size
            if commit:  # the frame that ends a commit
                pages |= pending
                pending = set()
                end = at
        self._offset = end  # (frames of a commit still being written are read at the next look)
        return pages if same else None


class SqliteWatcher:
    """Polls `PRAGMA data_version` on a read-only connection of its own; commits that wrote only the
    `quiet` tables' pages are passed over (see the module doc)."""

    def __init__(self, path: str, *, interval: float = 0.25, retry: float = 1.0,
                 quiet: tuple[str, ...] = QUIET) -> None:
        self.path = path
        self.interval = interval
        self.retry = retry
        self.quiet = quiet
        self._stop = threading.Event()
        self._conn: sqlite3.Connection | None = None
        self._version: int | None = None
        self._next_try = 0.0
        self._wal: WalFrames | None = None
        self._connect()

    def _connect(self) -> None:
        resolved = Path(self.path).expanduser().resolve()
        uri = resolved.as_uri() + "?mode=ro"
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False, timeout=1.0)
        try:
            version = conn.execute("PRAGMA data_version").fetchone()[0]
            conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()  # the file is a database
        except sqlite3.Error:
            conn.close()
            raise
        self._conn, self._version = conn, version
        self._wal = WalFrames(str(resolved) + "-wal") if self.quiet else None

    def wait(self, timeout: float) -> Change | None:
        deadline = time.monotonic() + timeout
        while not self._stop.is_set():
            if self._conn is None:
                if time.monotonic() >= self._next_try:
                    try:
                        self._connect()
                        return Change(None, reconnected=True)
                    except sqlite3.Error as exc:
                        self._next_try = time.monotonic() + self.retry
                        raise WatchLost(str(exc)) from exc
            else:
                try:
                    version = self._conn.execute("PRAGMA data_version").fetchone()[0]
                    if version != self._version:
                        self._version = version
                        if not self._only_quiet(self._conn):
                            return Change(None)
                except sqlite3.Error as exc:
                    self._drop()
                    raise WatchLost(str(exc)) from exc
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._stop.wait(min(self.interval, left))
        return None

    def _only_quiet(self, conn: sqlite3.Connection) -> bool:
        """Whether every commit since the last look wrote only pages of the quiet tables."""
        pages = self._wal.since() if self._wal is not None else None
        if not pages:
            return False  # (nothing read: a change, as it always was)
        names = [name for (name,) in conn.execute(
            f"SELECT name FROM sqlite_master WHERE tbl_name IN ({','.join('?' * len(self.quiet))})", self.quiet)]
        quiet: set[int] = set()
        try:
            for name in names:
                quiet.update(n for (n,) in conn.execute("SELECT pageno FROM dbstat WHERE name = ?", (name,)))
        except sqlite3.OperationalError:  # this SQLite has no dbstat: every commit counts
            return False
        return pages <= quiet

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except sqlite3.Error:
                pass
        self._conn = None
        self._next_try = time.monotonic() + self.retry

    def close(self) -> None:
        self._stop.set()
        if self._conn is not None:
            self._conn.close()
            self._conn = None

class PgWatcher:
    """`LISTEN deskconsole` on a psycopg connection of its own; checks the connection when idle."""

    def __init__(self, conninfo: str, *, retry: float = 1.0, keepalive: float = 5.0,
                 connect_timeout: int = 5) -> None:
        self.conninfo = conninfo
        self.retry = retry
        self.keepalive = keepalive
        self.connect_timeout = connect_timeout
        self._conn: psycopg.Connection | None = None
        self._checked = 0.0
        self._next_try = 0.0
        self._closed = False
        self._connect()

    def _connect(self) -> None:
        import psycopg

        conn = psycopg.connect(self.conninfo, autocommit=True, connect_timeout=self.connect_timeout,
                               keepalives=1, keepalives_idle=10, keepalives_interval=5, keepalives_count=3,
                               application_name="deskconsole watch")
        try:
            conn.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error:
            conn.close()
            raise
        self._conn = conn
        self._checked = time.monotonic()

    def wait(self, timeout: float) -> Change | None:
        import psycopg

        if self._closed:
            return None
        if self._conn is None:
            left = self._next_try - time.monotonic()
            if left > 0:
                time.sleep(min(left, timeout))
                if time.monotonic() < self._next_try:
                    return None
            try:
                self._connect()
            except psycopg.Error as exc:
                self._next_try = time.monotonic() + self.retry
                raise WatchLost(str(exc).strip()) from exc
            return Change(None, reconnected=True)
        conn = self._conn
        try:
            got = [parse_payload(n.payload) for n in conn.notifies(timeout=timeout, stop_after=1)]
            if got:
                # a burst of commits: take what has already arrived too
                got += [parse_payload(n.payload) for n in conn.notifies(timeout=0.01)]
                self._checked = time.monotonic()
                change = got[0]
                for more in got[1:]:
                    change = change.merge(more)
                return change
            if time.monotonic() - self._checked >= self.keepalive:
                conn.execute("SELECT 1")
                self._checked = time.monotonic()
        except psycopg.Error as exc:
            self._drop()
            raise WatchLost(str(exc).strip()) from exc
        return None

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # noqa: BLE001 - the connection is broken already
                pass
        self._conn = None
        self._next_try = time.monotonic()  # first reconnect right away, then once per `retry`

    def close(self) -> None:
        self._closed = True
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def open_watcher(engine: Engine) -> Watcher:
    """A watcher on its own connection to the engine's database (raises WatchUnavailable when it cannot be)."""
    url = engine.url
    backend = url.get_backend_name()
    if backend == "sqlite":
        database = url.database
        if not database or database == ":memory:" or database.startswith("file:"):
            raise WatchUnavailable("an in-memory SQLite database cannot be watched from another connection")
        try:
            return SqliteWatcher(database)
        except sqlite3.Error as exc:
            raise WatchUnavailable(f"cannot open {database} to watch it: {exc}") from exc
    if backend == "postgresql":
        import psycopg

        conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        try:
            return PgWatcher(conninfo)
        except psycopg.Error as exc:
            raise WatchUnavailable(f"cannot listen for changes: {str(exc).strip()}") from exc
    raise WatchUnavailable(f"no change watcher for {backend}")




# --------------------------------------------------------------- announcing (PostgreSQL)

TOUCHED = "deskconsole_touched"
WROTE = "deskconsole_wrote"


class TrackedSession(Session):
    """A Session that remembers which cases its flushes touched, for `announce`."""


@event.listens_for(TrackedSession, "after_flush")
def _collect(session: Session, _context: Any) -> None:
    from deskconsole.store.models import Case

    touched: set[int] = session.info.setdefault(TOUCHED, set())
    for obj in chain(session.new, session.dirty, session.deleted):
        case_id = obj.id if isinstance(obj, Case) else getattr(obj, "case_id", None)
        if isinstance(case_id, int):
            touched.add(case_id)
    session.info[WROTE] = True
    session.info[FLUSHES] = session.info.get(FLUSHES, 0) + 1


@event.listens_for(TrackedSession, "do_orm_execute")
def _statement(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[WROTE] = True
        state.session.info[FLUSHES] = state.session.info.get(FLUSHES, 0) + 1


FLUSHES = "deskconsole_session_writes"  # TrackedSession.info: flushes and write statements through it


def session_writes(session: Session) -> int:
    """How many flushes and write statements a TrackedSession has sent (it only grows)."""
    return int(session.info.get(FLUSHES, 0))


def note_write(session: Session, case_id: int | None) -> None:
    """A write the session's flushes do not see (a Core insert on its connection): remember its case."""
    if case_id is not None:
        session.info.setdefault(TOUCHED, set()).add(case_id)
    session.info[WROTE] = True


def announce(session: Session) -> None:
    """Queue `NOTIFY deskconsole` with the cases this transaction touched (call it last, inside it).

    PostgreSQL delivers the notification when the transaction commits and drops it
    on rollback. A transaction that wrote nothing announces nothing; one that wrote
    without touching a known case (an agent added, say) announces "*".
    """
    session.flush()
    if not session.info.get(WROTE):
        return
    text = payload(session.info.get(TOUCHED))
    session.connection().exec_driver_sql("SELECT pg_notify(%s, %s)", (CHANNEL, text))


__all__ = [
    "CHANNEL",
    "Change",
    "PgWatcher",
    "SqliteWatcher",
    "TrackedSession",
    "WalFrames",
    "WatchLost",
    "WatchUnavailable",
    "Watcher",
    "announce",
    "connection_lost",
    "note_write",
    "open_watcher",
    "parse_payload",
    "payload",
    "session_writes",
]
