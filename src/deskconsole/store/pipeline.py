"""Rows kept for later on a PostgreSQL connection and sent together in a pipeline.

Inside a batch (service/batch.py) the rows whose ids nothing reads at once, a case's changed
columns and timer cancellations are kept on the batch's connection (Runner, store/prepared.py)
instead of being sent one statement at a time; flush_deferred sends them, as statements of many
rows wherever the order cannot matter (_may_pass), in one pipeline. Between a batch's actions they
may go without waiting (the server stores them while the next actions are worked out); every
statement that is not kept waits for them first. defer_inserts turns this on for a connection.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

if TYPE_CHECKING:
    from deskconsole.store.prepared import Prepared


def _raise(conn: Connection, exc: BaseException, sql: str, params: Any) -> None:
    # SQLAlchemy's own handling: the DB-API error wrapped as Connection.execute would raise it,
    # a lost connection invalidated (the cursor is closed by the caller).
    conn._handle_dbapi_exception(exc, sql, params, None, None)


class Kept(list[tuple["Prepared", list[Any], "list[Later] | None"]]):
    """The rows kept for later on a connection (see Runner), in order, and the tables they go into
    (so a statement is checked against them in one set operation, however many rows wait)."""

    __slots__ = ("pipeline", "sent", "sent_sql", "tables")

    def __init__(self) -> None:
        super().__init__()
        self.tables: set[str] = set()
        # PostgreSQL: rows sent without waiting (flush_deferred(wait=False)) are in this open psycopg
        # pipeline; `sent`: each statement's cursor, the Laters its rows give ids to, and whether it
        # sent them as one statement; `sent_sql`: their text, for an error's message
        self.pipeline: Any = None
        self.sent: list[tuple[Any, list[Later | None], bool]] = []
        self.sent_sql: list[str] = []

    def keep(self, prepared: Prepared, params: list[Any], laters: list[Later] | None) -> None:
        self.append((prepared, params, laters))
        self.tables |= prepared.tables

    def forget(self) -> None:
        self.clear()
        self.tables.clear()


WRITES = "deskconsole_writes"  # Connection.info key: write statements Runners sent on it
DEFERRED = "deskconsole_deferred"  # Connection.info key: the rows kept for later, while inserts are deferred


def flush_deferred(conn: Connection, *, wait: bool = True, at_least: int = 0) -> None:
    """Send the rows Runners kept for later on this connection, in the order they were given
    wherever it matters, in a pipeline, and wait for them (one round trip; an error is raised as
    Connection.execute would raise it).

    `wait=False` (a batch, between its actions): send them and go on without waiting, once at least
    `at_least` statements' rows are kept; the server stores them while the next actions are worked
    out here. Every statement that is not kept (a read, a savepoint, the commit, anything through
    SQLAlchemy) waits for them first, and an error among them is raised then."""
    kept = conn.info.get(DEFERRED)
    if kept is None or len(kept) < at_least:
        return
    if kept:
        _send_kept(conn, kept)
    if wait and kept.pipeline is not None:
        _settle(conn, kept)


def _send_kept(conn: Connection, kept: Kept) -> None:
    rows = list(kept)
    kept.forget()
    # Rows of one statement kept at different times go in together when they may be sent before what
    # was kept between them (see _may_pass): one statement for many rows, not one per row.
    merged: list[tuple[Prepared, list[Any], list[Later | None]]] = []
    for prepared, params, laters in rows:
        target = None
        for k in range(len(merged) - 1, -1, -1):
            other = merged[k][0]
            if other is prepared:
                target = merged[k]
                break
            passes = prepared.passes.get(other)
            if passes is None:
                passes = prepared.passes[other] = _may_pass(prepared, other)
            if not passes:
                break
        if target is None:
            target = (prepared, [], [])
            merged.append(target)
        target[1].extend(params)
        target[2].extend(laters if laters is not None else [None] * len(params))
    from psycopg import RawCursor

    dbapi: Any = conn.connection.dbapi_connection  # (psycopg's: pipeline(), executemany(returning=))
    try:
        if kept.pipeline is None:
            kept.pipeline = dbapi.pipeline()
            kept.pipeline.__enter__()
        for prepared, params, ids_for in merged:
            kept.sent_sql.append(prepared.sql)
            returning = any(later is not None for later in ids_for)
            done = 0
            if returning and len(params) > 1 and prepared.id_at is not None:
                # (rows given their ids, as timers in a batch: each Later is its row's own)
                for later, row in zip(ids_for, params, strict=True):
                    if later is not None:
                        later.value = row[prepared.id_at]
                returning = False
            for sql, values, size in prepared.rows_sql(params, returning=returning) if len(params) > 1 else ():
                cursor = RawCursor(dbapi)
                kept.sent.append((cursor, ids_for[done:done + size] if returning else [], True))
                done += size
                cursor.execute(sql, values, prepare=True)  # (a few texts, each sent many times)
            if done:
                continue
            cursor = dbapi.cursor() if prepared.cursor is None else prepared.cursor(dbapi)
            kept.sent.append((cursor, ids_for if returning else [], False))
            cursor.executemany(prepared.sql, params, returning=returning)
    except BaseException as exc:
        _settle(conn, kept, failed=exc)
        raise


def _settle(conn: Connection, kept: Kept, *, failed: BaseException | None = None) -> None:
    """Wait for the rows sent in the open pipeline and give their Laters their ids; an error among
    them is raised (`failed`: an error sending them, raised as it is, the pipeline closed)."""
    pipeline, kept.pipeline = kept.pipeline, None
    sent, kept.sent = kept.sent, []
    sql, kept.sent_sql = kept.sent_sql, []
    try:
        if failed is not None:
            if pipeline is not None:
                with contextlib.suppress(Exception):
                    pipeline.__exit__(type(failed), failed, None)
            _raise(conn, failed, "; ".join(sql), None)
            return
        try:
            pipeline.__exit__(None, None, None)  # (one wait for every result; the first error raised)
            for cursor, laters, together in sent:
                if together and laters:
                    # (a serial id is drawn row by row in the order of VALUES: the ids in order are the rows')
                    ids = sorted(row[0] for row in cursor.fetchall())
                    for later, found in zip(laters, ids, strict=True):
                        if later is not None:
                            later.value = found
                    continue
                for k, later in enumerate(laters):
                    if k:
                        cursor.nextset()
                    found = cursor.fetchone()
                    if later is not None:
                        later.value = found[0]
        except BaseException as exc:  # (in a pipeline an error comes when it ends)
            _raise(conn, exc, "; ".join(sql), None)
            raise
    finally:
        for cursor, _, _ in sent:
            with contextlib.suppress(Exception):
                cursor.close()


def _may_pass(later: Prepared, earlier: Prepared) -> bool:
    """Whether a statement kept after `earlier` may be sent before it with the same result.

    Not when both write one table (rows of a table go in the order given), except a new row going
    before an update of other rows by their key (a row kept later is not one an update kept earlier
    was meant for); not when `earlier` adds or removes rows of a table `later`'s rows refer to (a new
    case before its events); not when `later` removes rows `earlier`'s rows refer to."""
    if not later.tables.isdisjoint(earlier.tables) and not (later.adds and earlier.by_key):
        return False
    if (earlier.adds or earlier.removes) and not earlier.tables.isdisjoint(later.refers):
        return False
    return not (later.removes and not later.tables.isdisjoint(earlier.refers))


class Later:
    """The id of a row Runner.insert_later wrote, or kept for later: asked for, the kept rows are
    sent first if it is not known yet."""

    __slots__ = ("conn", "value")

    def __init__(self, conn: Connection, value: int | None) -> None:
        self.conn = conn
        self.value = value

    @property
    def id(self) -> int:
        if self.value is None:
            flush_deferred(self.conn)
        if self.value is None:
            raise RuntimeError("the row was rolled back before its id was read")
        return self.value


@contextlib.contextmanager
def defer_inserts(conn: Connection) -> Iterator[None]:
    """While the block runs, Runners on `conn` keep the rows of insert_many and insert_later and
    send them together (see Runner). PostgreSQL only (on SQLite a statement is no round trip):
    elsewhere nothing changes. The rows still kept when the block ends are sent then, unless it
    ends by an exception (the transaction is then rolled back)."""
    if conn.dialect.name != "postgresql" or DEFERRED in conn.info:
        yield
        return
    from sqlalchemy import event

    # what else happens on the connection meanwhile sends (or forgets) the kept rows first
    listeners = [("before_cursor_execute", _before_statement), ("savepoint", _send),
                 ("release_savepoint", _send), ("commit", _send), ("rollback", _forget),
                 ("rollback_savepoint", _forget)]
    for name, fn in listeners:
        event.listen(conn, name, fn)
    kept = conn.info[DEFERRED] = Kept()
    try:
        yield
        flush_deferred(conn)
    finally:
        if kept.pipeline is not None:  # (the block failed: the rows sent are rolled back with it)
            with contextlib.suppress(Exception):
                _settle(conn, kept)
        conn.info.pop(DEFERRED, None)
        for name, fn in listeners:
            event.remove(conn, name, fn)


def _send(conn: Connection, *_: Any) -> None:
    kept = conn.info.get(DEFERRED)
    if kept is not None and (kept or kept.pipeline is not None):
        flush_deferred(conn)


def _forget(conn: Connection, *_: Any) -> None:
    """A rollback (to a savepoint): the rows kept since are forgotten, and those sent without
    waiting are waited for (the pipeline closed; their errors do not matter: they are rolled back)."""
    kept = conn.info.get(DEFERRED)
    if kept is None:
        return
    kept.forget()
    if kept.pipeline is not None:
        with contextlib.suppress(Exception):
            _settle(conn, kept)


def _before_statement(conn: Connection, _cursor: Any, statement: str, *_: Any) -> None:
    """Any statement not sent by a Runner waits for the rows sent without waiting. Of the kept
    rows, those of a table it names go first; the others can wait (deskconsole has no views, and its
    row-level policies read no table these rows go into)."""
    kept = conn.info.get(DEFERRED)
    if kept is None:
        return
    if kept.pipeline is not None:
        flush_deferred(conn)
    elif kept:
        text = statement.lower()
        if any(name in text for name in kept.tables):
            flush_deferred(conn)


def writes_sent(conn: Connection) -> int:
    """How many write statements Runners have sent on this connection (it only grows): a caller that
    compares two readings knows whether anything was written in between through them."""
    return int(conn.info.get(WRITES, 0))


__all__ = ["DEFERRED", "WRITES", "Kept", "Later", "defer_inserts", "flush_deferred", "writes_sent"]
