"""Core statements compiled once and run straight on the driver's connection.

The service's hottest statements (read a case, append an event, start or cancel a timer,
write the changed columns of a case) are plain indexed statements that SQLite runs in a few
tens of microseconds; SQLAlchemy's execute path around each of them (the compiled cache,
the parameters, the result set-up, the events) costs several times that. A Prepared statement
is the same Core statement, compiled once for the engine's dialect; it binds values as the
columns' types do (SQLite: the DateTime text format; psycopg takes aware datetimes), runs on
a DB-API cursor (one per statement, closed at once) of the connection the session's transaction
already holds (so it is part of that transaction and its savepoints), and turns the driver's errors into SQLAlchemy's
(IntegrityError, OperationalError, a lost connection invalidated) as Connection.execute does.

What this leaves out of SQLAlchemy's path: the engine's statement logging (echo) and its
cursor events, which deskconsole does not use.
"""

from __future__ import annotations

import contextlib
import operator
import re
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import BinaryExpression, BindParameter, BooleanClauseList, Connection, Delete, Insert, Update
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement, operators
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.util import find_tables
from sqlmodel.sql.sqltypes import UTCDateTime

from deskconsole.store.pipeline import DEFERRED, WRITES, Later, _raise, defer_inserts, flush_deferred, writes_sent

_REQUIRED = object()


def sqlite_time(value: datetime | None) -> str | None:
    """An aware datetime as a SQLite table stores it (SQLAlchemy's DateTime text, in UTC)."""
    if value is None:
        return None
    text = _TIMES.get(value)  # (an action's instant goes into several rows: its text is made once)
    if text is not None:
        return text
    key = value
    if value.tzinfo is not UTC:
        if value.utcoffset() is None:  # as UTCDateTime refuses it
            raise ValueError("Datetime values must have timezone information.")
        value = value.astimezone(UTC)
    text = value.isoformat(" ", "microseconds")[:26]
    if len(_TIMES) >= 4096:
        _TIMES.clear()
    _TIMES[key] = text
    return text


_TIMES: dict[datetime, str] = {}  # the texts sqlite_time made lately (equal instants: the same text)


class Prepared:
    """One Core statement compiled for one dialect (see the module's text)."""

    def __init__(self, statement: ClauseElement, dialect: Dialect, keys: Iterable[str] | None = None) -> None:
        compiled = cast(SQLCompiler,
                        statement.compile(dialect=dialect, column_keys=list(keys) if keys is not None else None))
        if getattr(compiled, "update_prefetch", None):
            raise TypeError("a Prepared statement cannot run Python-side onupdate defaults")
        prefetch = {}
        for column in getattr(compiled, "insert_prefetch", ()):
            if not column.default.is_scalar:
                raise TypeError(f"a Prepared insert takes scalar defaults only ({column.key})")
            prefetch[column.key] = column.default.arg
        self.sql = str(compiled)
        # the tables it reads or writes: a row kept for later (Runner) goes first when it goes into one
        tables = find_tables(statement, include_crud=True, include_joins=True)
        self.tables = frozenset(t.name for t in tables)
        # and those its rows may refer to (an INSERT's foreign keys): a kept row of one goes first too
        self.refers = frozenset(fk.column.table.name for t in tables for fk in getattr(t, "foreign_keys", ()))
        # what flush_deferred needs to know to send it earlier than it was given (see _may_pass)
        self.adds = isinstance(statement, Insert)
        self.removes = isinstance(statement, Delete)
        self.by_key = isinstance(statement, Update) and _by_primary_key(statement)
        self.passes: dict[Prepared, bool] = {}  # _may_pass(self, other), worked out once per other
        self.positional = dialect.positional
        names = list(compiled.positiontup or ()) if self.positional else list(compiled.construct_params(_check=False))
        processors: Mapping[str, Any] = compiled._bind_processors
        sqlite = dialect.name == "sqlite"
        slots: list[tuple[str, str, Any, Callable[[Any], Any] | None]] = []
        for name in names:
            bind = compiled.binds[name]
            if bind.expanding:
                raise TypeError(f"a Prepared statement takes no expanding parameter ({name})")
            default = _REQUIRED if bind.required else prefetch.get(name, bind.value)
            process = processors.get(name)
            if sqlite and isinstance(bind.type, UTCDateTime):
                process = sqlite_time  # what UTCDateTime + SQLite's DATETIME write, without their layers
            slots.append((compiled.escaped_bind_names.get(name, name), name, default, process))
        self._slots = slots
        self._binds = [(name, default, process) for _, name, default, process in slots]
        self._names = [slot[0] for slot in slots]
        self.returning = bool(getattr(compiled, "effective_returning", None))
        self.keys: list[str] = []
        self._results: list[Callable[[Any], Any] | None] = []
        for entry in getattr(compiled, "_result_columns", ()) or ():
            self.keys.append(entry.keyname)
            self._results.append(entry.type._cached_result_processor(dialect, None))
        self._convert = any(p is not None for p in self._results)
        # PostgreSQL: the statement with the server's own placeholders ($1, $2, ...), run on a psycopg
        # RawCursor with the values in their order: the driver neither parses nor caches the text
        # (a long one, as the read-ahead's IN lists, it parsed again every time)
        self.cursor: Callable[[Any], Any] | None = None
        self._order: list[int] | None = None
        self.id_at: int | None = None  # where the row's "id" is among the values, if it names one
        # and an INSERT of one row, as the head, the row's group as a %-template of its placeholders
        # and the RETURNING clause (see rows_sql)
        self._rows: tuple[str, str, int, str] | None = None
        self._rows_texts: dict[tuple[int, bool], str] = {}
        if dialect.name == "postgresql" and not self.positional:
            from psycopg import RawCursor

            order: list[str] = []

            def number(found: re.Match[str]) -> str:
                if found.group(1) not in order:
                    order.append(found.group(1))
                return f"${order.index(found.group(1)) + 1}"

            self.sql = _NAMED.sub(number, self.sql).replace("%%", "%")
            where = {slot[0]: k for k, slot in enumerate(slots)}
            self._order = [where[name] for name in order]
            self.id_at = order.index("id") if "id" in order else None
            self.cursor = RawCursor
            self._binds = [self._binds[k] for k in self._order]
            found = _ONE_ROW_INSERT.match(self.sql)
            if found is not None and _DOLLAR.findall(found.group(2)) == [str(k + 1) for k in range(len(order))]:
                head, group, returning = found.group(1, 2, 3)
                self._rows = (head, _DOLLAR.sub("%s", group.replace("%", "%%")), len(order), returning or "")

    def rows_sql(self, params: Sequence[Mapping[str, Any]], *, returning: bool) -> Iterator[tuple[str, list[Any], int]]:
        """An INSERT of many rows as a few statements of many rows each (VALUES (...), (...), ...) and
        their parameters, or nothing when this is not a one-row INSERT on PostgreSQL. The statements
        use the server's own placeholders ($1, $2, ...: run them on a psycopg RawCursor), so the driver
        does not parse a long text again each time. A statement
        of many rows costs the driver and the server far less than one statement per row; the rows
        go in in the order given (and a serial id is drawn in that order). The sizes come from a
        short list, so the driver's cache of prepared statements keeps a few texts of each. Yields
        (statement, parameters, rows in it)."""
        if self._rows is None:
            return
        head, group, width, tail = self._rows
        start = 0
        while start < len(params):
            left = len(params) - start
            size = next(n for n in _ROWS_SIZES if n <= left)
            part = params[start:start + size]
            start += size
            key = (size, returning)
            sql = self._rows_texts.get(key)
            if sql is None:
                groups = (group % tuple(f"${r * width + k + 1}" for k in range(width)) for r in range(size))
                sql = self._rows_texts[key] = f"{head}{', '.join(groups)}{tail if returning else ''}"
            yield sql, [value for row in part for value in row], size

    def params(self, values: Mapping[str, Any]) -> Any:
        """The statement's parameters for these values, converted as the columns' types convert them."""
        out: list[Any] = []
        append = out.append
        get = values.get
        for name, default, process in self._binds:  # (in the order the statement takes them)
            value = values[name] if default is _REQUIRED else get(name, default)
            append(value if process is None or value is None else process(value))
        if self.positional or self._order is not None:
            return out
        return dict(zip(self._names, out, strict=True))

    def _run(self, conn: Connection, dbapi: Any, params: Any, take: Callable[[Any], Any], *, many: bool = False) -> Any:
        # A cursor per statement, closed at once: a cursor kept open keeps SQLite's statement
        # open, and a closed connection with one open stays open (its WAL not checkpointed).
        cursor = dbapi.cursor() if self.cursor is None else self.cursor(dbapi)
        try:
            if many:
                cursor.executemany(self.sql, params)
            else:
                cursor.execute(self.sql, params)
            result = take(cursor)
        except BaseException as exc:
            # The cursor first, quietly: after a full disk SQLite may have closed the connection
            # under it, and "cannot operate on a closed database" must not hide the error itself.
            with contextlib.suppress(Exception):
                cursor.close()
            _raise(conn, exc, self.sql, params)
            raise
        cursor.close()
        return result

    def execute(self, conn: Connection, dbapi: Any, values: Mapping[str, Any]) -> int:
        """Run it; the number of rows it changed."""
        return self._run(conn, dbapi, self.params(values), _ROWCOUNT)

    def executemany(self, conn: Connection, dbapi: Any, rows: Sequence[Mapping[str, Any]]) -> None:
        self._run(conn, dbapi, [self.params(row) for row in rows], _NOTHING, many=True)

    def insert(self, conn: Connection, dbapi: Any, values: Mapping[str, Any]) -> int:
        """Run an INSERT of one row; its new primary key."""
        return self._run(conn, dbapi, self.params(values), _RETURNED_ID if self.returning else _LAST_ROW_ID)

    def row(self, values: Sequence[Any]) -> dict[str, Any]:
        """A result row as {column: value}, the values as the columns' types give them."""
        if self._convert:
            values = [v if p is None or v is None else p(v) for p, v in zip(self._results, values, strict=True)]
        return dict(zip(self.keys, values, strict=True))

    def first(self, conn: Connection, dbapi: Any, values: Mapping[str, Any]) -> dict[str, Any] | None:
        found = self._run(conn, dbapi, self.params(values), _FETCH_ONE)
        return None if found is None else self.row(found)

    def all(self, conn: Connection, dbapi: Any, values: Mapping[str, Any]) -> list[Any]:
        """Every result row, as tuples (converted as row() does)."""
        rows = self._run(conn, dbapi, self.params(values), _FETCH_ALL)
        if not self._convert:
            return rows
        results = self._results
        return [tuple(v if p is None or v is None else p(v) for p, v in zip(results, r, strict=True)) for r in rows]


_ONE_ROW_INSERT = re.compile(r"(INSERT INTO .*? VALUES )(\([^()]*(?:\([^()]*\)[^()]*)*\))( RETURNING .*)?", re.S)
_NAMED = re.compile(r"%\(([^)]+)\)s")
_DOLLAR = re.compile(r"\$(\d+)")
_ROWS_SIZES = (256, 128, 64, 32, 16, 8, 4, 2, 1)  # rows per statement of rows_sql, largest first

_ROWCOUNT = operator.attrgetter("rowcount")
_LAST_ROW_ID = operator.attrgetter("lastrowid")
_FETCH_ONE = operator.methodcaller("fetchone")
_FETCH_ALL = operator.methodcaller("fetchall")


def _RETURNED_ID(cursor: Any) -> int:  # noqa: N802
    return cursor.fetchone()[0]


def _NOTHING(cursor: Any) -> None:  # noqa: N802
    return None



def _by_primary_key(statement: Update) -> bool:
    """Whether an UPDATE picks its rows by its table's primary key equal to a parameter (one row each)."""
    where = statement.whereclause
    terms = where.clauses if isinstance(where, BooleanClauseList) and where.operator is operators.and_ else [where]
    keys = set(getattr(statement.table, "primary_key", ()))
    return any(isinstance(term, BinaryExpression) and term.operator is operators.eq and term.left in keys
               and isinstance(term.right, BindParameter) for term in terms)


class Statements:
    """The Prepared statements of one dialect, each compiled the first time it is asked for:
    by the statement and, for an INSERT or the SET of an UPDATE, the names of the columns given."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self._cache: dict[Any, Prepared] = {}
        self._keep: list[ClauseElement] = []  # the statements keyed by id() stay alive

    def __call__(self, statement: ClauseElement, keys: tuple[str, ...] | None = None) -> Prepared:
        key = (id(statement), keys)
        prepared = self._cache.get(key)
        if prepared is None:
            prepared = self._cache[key] = Prepared(statement, self.dialect, keys)
            self._keep.append(statement)
        return prepared


_STATEMENTS: weakref.WeakKeyDictionary[Dialect, Statements] = weakref.WeakKeyDictionary()


def statements(dialect: Dialect) -> Statements:
    """The Prepared statements of this dialect (one engine's): compiled once for its lifetime."""
    found = _STATEMENTS.get(dialect)
    if found is None:
        found = _STATEMENTS[dialect] = Statements(dialect)
    return found


class Runner:
    """Prepared statements on one SQLAlchemy connection's driver connection, inside whatever
    transaction (and savepoint) that connection is in. Keep one per transaction.

    On a connection that defers inserts (see defer_inserts: PostgreSQL, a batch), the rows of
    insert_many and insert_later (and the updates of execute_many) are not sent at once but kept
    on the connection and sent together, in order, in one pipeline: before any statement that reads or writes a table
    they go into (or any statement at all that does not come through a Runner), before a
    savepoint begins, is released or the transaction commits. A rollback (to a savepoint)
    forgets the rows kept since. So they are in the database before anything could look for
    them, and the transaction is still all or nothing; what they save is a round trip each."""

    __slots__ = ("conn", "dbapi", "statements")

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dbapi = conn.connection.dbapi_connection
        self.statements = statements(conn.dialect)

    def first(self, statement: ClauseElement, values: Mapping[str, Any]) -> dict[str, Any] | None:
        """The first row of a SELECT as {column: value}, or None."""
        prepared = self.statements(statement)
        self._before(prepared)
        return prepared.first(self.conn, self.dbapi, values)

    def all(self, statement: ClauseElement, values: Mapping[str, Any]) -> list[Any]:
        """Every row of a SELECT, as tuples."""
        prepared = self.statements(statement)
        self._before(prepared)
        return prepared.all(self.conn, self.dbapi, values)

    def insert(self, statement: ClauseElement, row: Mapping[str, Any]) -> int:
        """INSERT one row (the columns it names; the others take their defaults): its new id."""
        self._wrote()
        prepared = self.statements(statement, tuple(row))
        self._before(prepared)
        return prepared.insert(self.conn, self.dbapi, row)

    def insert_many(self, statement: ClauseElement, rows: Sequence[Mapping[str, Any]]) -> None:
        """INSERT rows that all name the same columns, in one executemany (kept for later on a
        connection that defers inserts: nobody reads their ids)."""
        self._wrote()
        prepared = self.statements(statement, tuple(rows[0]))
        kept = self.conn.info.get(DEFERRED)
        if kept is not None:  # (behind the rows kept before: see _before)
            kept.keep(prepared, [prepared.params(row) for row in rows], None)
            return
        prepared.executemany(self.conn, self.dbapi, rows)

    def insert_later(self, statement: ClauseElement, row: Mapping[str, Any]) -> Later:
        """INSERT one row: at once, or kept for later (see the class). Its id, when asked for
        (Later.id), sends the kept rows first if it is not yet known."""
        kept = self.conn.info.get(DEFERRED)
        if kept is None:
            return Later(self.conn, self.insert(statement, row))
        self._wrote()
        prepared = self.statements(statement, tuple(row))
        later = Later(self.conn, None)
        kept.keep(prepared, [prepared.params(row)], [later] if prepared.returning else None)
        return later

    def execute(self, statement: ClauseElement, values: Mapping[str, Any], columns: Iterable[str] | None = None) -> int:
        """Run an UPDATE (SET: `columns`, when the statement does not name them itself) or any
        other statement without rows: the number of rows it changed."""
        self._wrote()
        prepared = self.statements(statement, None if columns is None else tuple(columns))
        self._before(prepared)
        return prepared.execute(self.conn, self.dbapi, values)

    def execute_many(self, statement: ClauseElement, rows: Sequence[Mapping[str, Any]],
                     columns: Iterable[str] | None = None) -> None:
        """Run an UPDATE or DELETE once per row (SET: `columns`, when the statement does not name them
        itself), in one executemany (nobody reads how many rows it changed: on a connection that
        defers inserts it is kept for later with them, behind the rows kept before it, and sent
        before anything reads or writes its table, as they are)."""
        self._wrote()
        prepared = self.statements(statement, None if columns is None else tuple(columns))
        kept = self.conn.info.get(DEFERRED)
        if kept is not None and prepared.tables:
            kept.keep(prepared, [prepared.params(row) for row in rows], None)
            return
        self._before(prepared)
        prepared.executemany(self.conn, self.dbapi, rows)

    def _before(self, prepared: Prepared) -> None:
        """Before a statement run at once: send the kept rows first when `prepared` touches a table they
        go into, or one of its rows may refer to one of them. (A statement kept too goes behind them:
        flush_deferred keeps the order wherever it matters, rows of one table and a row after the
        rows it refers to.)"""
        kept = self.conn.info.get(DEFERRED)
        if kept is None:
            return
        if kept.pipeline is not None:  # (rows sent without waiting: their results first)
            self.flush()
        elif kept and (not prepared.tables or not (prepared.tables | prepared.refers).isdisjoint(kept.tables)):
            self.flush()  # (a statement whose tables are not known: always)

    def flush(self) -> None:
        """Send the rows kept for later, if any (see the class)."""
        flush_deferred(self.conn)

    def _wrote(self) -> None:
        """Count a write statement sent on this connection (see writes_sent)."""
        info = self.conn.info
        info[WRITES] = info.get(WRITES, 0) + 1


__all__ = ["DEFERRED", "Later", "Prepared", "Runner", "Statements", "defer_inserts", "flush_deferred", "sqlite_time",
           "statements", "writes_sent"]
