"""Writing a bulk desk set-based: one seed row per case, joined with the rows its kind of case gets.

deskconsole.bulk describes, once, the rows each kind of case gets (its "life": the case row,
its events, timers, outbox rows and survey), with cells that are constants or expressions over
the case's seed row (its id, title, customer, the times things happened, ...). This module turns
those descriptions into template tables and one `INSERT ... SELECT` per table and chunk:

    INSERT INTO event (...) SELECT <cells> FROM bulk_seed AS s CROSS JOIN bulk_t_event AS t
    WHERE t.v = s.v

so the database makes the rows (1-3 us a row on SQLite, against ~9 us for a row made in Python
and bound by executemany). Every row's id is given (the case's, or counted from a base in its
seed row), so the rows do not depend on the order they come in. The same statements run on
SQLite and PostgreSQL: the seed's times travel as one text ('YYYY-MM-DD HH:MM:SS.ffffff', UTC,
one after the other), a row's time is picked by its offset, stored as it is on SQLite and cast
to timestamptz on PostgreSQL. On PostgreSQL each time in that text is followed by its whole seconds since
the epoch, and the seed row carries them as arrays too (`ts`: those seconds, `ti`: their isoformat text): a
time column made only of seed times picks its value from `ts` (to_timestamp), a text its piece from `ti`, as
reading `tt` costs a walk along it (and a parse).

On SQLite the seed rows can also be made in another process: `Beside` runs the planner in a
second process (fork), which puts each chunk's seed rows, and the rows of some tables made from
them, into an in-memory database (SeedImage) whose image this process takes (SeedLoad.take) and
copies from (the same table definitions on both sides: SQLite's transfer optimisation copies the
records without decoding them).
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import queue
import socket
import sqlite3
import struct
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

SEED_TABLE = "bulk_seed"
SEED_SCHEMA = "bulk_seed_image"  # the attached in-memory database SeedLoad.take fills
ROWS_PER_INSERT = 100  # SQLite: seed rows to one INSERT statement


# --------------------------------------------------------------------------- cells
TIME_WIDTH = 26  # 'YYYY-MM-DD HH:MM:SS.ffffff': a seed row's times, one after the other, in one text
EPOCH_WIDTH = 10  # PostgreSQL: and after each its whole seconds since the epoch (Dialect.width, seed_arrays)


@dataclass(frozen=True)
class Seed:
    """The value of a column of the case's seed row."""

    name: str


@dataclass(frozen=True)
class Time:
    """One of the seed row's times (Dialect.times names them, in the order they are packed)."""

    name: str


@dataclass(frozen=True)
class TimeText:
    """A seed time written another way: "iso" as datetime.isoformat() writes it (the timer stamps in
    event data), "day" its date (YYYY-MM-DD)."""

    name: str
    form: str


def Iso(name: str) -> TimeText:  # noqa: N802  (reads as the cell it makes)
    return TimeText(name, "iso")


def Day(name: str) -> TimeText:  # noqa: N802
    return TimeText(name, "day")


@dataclass(frozen=True)
class Text:
    """Text joined from literal pieces (str) and Seed or TimeText values."""

    parts: tuple[Any, ...]


@dataclass(frozen=True)
class Id:
    """The id of the case's index-th row in a table whose ids the seed row counts from `base`
    (1: its first row)."""

    base: str
    index: int


@dataclass(frozen=True)
class Unless:
    """`value`, or NULL where the seed row's `seed` equals it (SQL NULLIF)."""

    value: str
    seed: Seed


Cell = Any  # a constant (str, int, bool, None) or one of the classes above


def text(*parts: Any) -> Text:
    return Text(tuple(parts))


@dataclass
class Dialect:
    pg: bool
    iso_tail: str  # what follows HH:MM:SS in an isoformat() time: the microseconds if any, and +00:00
    times: Sequence[str] = ()  # the seed's times, as packed in its column `tt`

    @property
    def mark(self) -> str:
        return "%s" if self.pg else "?"

    def temp(self, name: str, columns: str, key: str) -> str:
        rowid = "" if self.pg else " WITHOUT ROWID"
        return f"CREATE TEMP TABLE {name} ({columns}, PRIMARY KEY ({key})){rowid}"

    @property
    def width(self) -> int:
        """The characters of a time in the seed's `tt`: on PostgreSQL its text and then its whole seconds
        since the epoch (EPOCH_WIDTH digits), from which the planner makes the seed's `ts` and `ti` (seed_arrays)."""
        return TIME_WIDTH + EPOCH_WIDTH if self.pg else TIME_WIDTH

    def offset(self, name: str) -> int:
        return 1 + self.width * list(self.times).index(name)

    def place(self, name: str) -> int:
        """PostgreSQL: the place of a seed time in the seed's `ts` (1: the first)."""
        return 1 + list(self.times).index(name)

    def epoch_time(self, hole: str) -> str:
        """PostgreSQL: the seed time at place `hole` of `ts` (NULL: none), with the seed's microseconds."""
        micro = self.iso_tail[:7] if self.iso_tail.startswith(".") else ""
        return f"to_timestamp(s.ts[{hole}])" + (f" + INTERVAL '0{micro} seconds'" if micro else "")


def seed_arrays(tt: str) -> tuple[str, str]:
    """PostgreSQL: a seed's times (its `tt`, Dialect.width characters each) as two arrays (COPY's text of them,
    NULL for a blank time): `ts`, their whole seconds since the epoch (BIGINT[]), and `ti`, their text as
    isoformat() writes it up to the seconds ('YYYY-MM-DDTHH:MM:SS', TEXT[]).

    The server picks a time from them at once: read from `tt`, each would cost a walk along the text
    (substr counts characters) and, for a time value, the parsing of a timestamp, about 1 us a row made."""
    width = TIME_WIDTH + EPOCH_WIDTH
    starts = range(0, len(tt), width)
    seconds = ",".join("NULL" if tt[i] == " " else tt[i + TIME_WIDTH:i + width] for i in starts)
    texts = ",".join("NULL" if tt[i] == " " else tt[i:i + 10] + "T" + tt[i + 11:i + 19] for i in starts)
    return "{" + seconds + "}", "{" + texts + "}"


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _is_literal(sql: str) -> bool:
    """Whether `sql` is one SQL string literal, as _literal writes them."""
    return len(sql) >= 2 and sql[0] == sql[-1] == "'" and "'" not in sql[1:-1].replace("''", "")


def _shape(cell: Cell, hole: str, d: Dialect) -> tuple[str, Any]:
    """The SQL of a cell over seed row `s` and its template value (read as `hole`), if any."""
    if isinstance(cell, Seed):
        return f"s.{cell.name}", None
    if isinstance(cell, Time):
        return f"substr(s.tt, {hole}, {TIME_WIDTH})", d.offset(cell.name)
    if isinstance(cell, Id):
        return f"s.{cell.base} + {hole}", cell.index
    if isinstance(cell, Unless):
        return f"NULLIF({_literal(cell.value)}, s.{cell.seed.name})", None
    if isinstance(cell, Text):
        pieces: list[str] = []
        for part in cell.parts:
            if isinstance(part, str):
                if pieces and pieces[-1].startswith("'") and pieces[-1].endswith("'"):
                    pieces[-1] = _literal(pieces[-1][1:-1].replace("''", "'") + part)
                else:
                    pieces.append(_literal(part))
            elif isinstance(part, Seed):
                pieces.append(f"CAST(s.{part.name} AS TEXT)" if d.pg else f"s.{part.name}")
            elif isinstance(part, TimeText) and part.form == "iso" and d.pg:
                pieces.append(f"s.ti[{d.place(part.name)}] || {_literal(d.iso_tail)}")
            elif isinstance(part, TimeText) and part.form == "day" and d.pg:
                pieces.append(f"left(s.ti[{d.place(part.name)}], 10)")
            elif isinstance(part, TimeText) and part.form == "iso":
                at = d.offset(part.name)
                pieces.append(f"substr(s.tt, {at}, 10) || 'T' || substr(s.tt, {at + 11}, 8) || "
                              f"{_literal(d.iso_tail)}")
            elif isinstance(part, TimeText) and part.form == "day":
                pieces.append(f"substr(s.tt, {d.offset(part.name)}, 10)")
            else:
                raise TypeError(f"not a text part: {part!r}")
        return " || ".join(pieces), None
    if isinstance(cell, TimeText):
        return _shape(Text((cell,)), hole, d)
    return hole, cell  # a constant, kept in the template row


class TableLoad:
    """One table's rows for every kind of case: the template table and the INSERT ... SELECT.

    The rows come out in seed order (case id), each case's in template order (the join's own
    order); every id is given (the case's, or counted from a base in its seed row), so the rows
    do not depend on that order, which only keeps the inserts appending.
    """

    def __init__(self, table: str, columns: Sequence[str], rows: Sequence[tuple[int, int, dict[str, Cell]]],
                 types: dict[str, str], times: set[str], d: Dialect) -> None:
        """`rows`: (kind of case, position, cells by column); `types`: each column's SQL type on PostgreSQL
        (BIGINT, BOOLEAN or TEXT); `times`: the columns that hold times."""
        self.table = table
        exprs, tpl_cols, tpl_types = [], ["v", "seq"], ["BIGINT", "BIGINT"]
        values: list[list[Any]] = [[v, seq] for v, seq, _ in rows]
        for col in columns:
            hole = f"t.k_{col}"
            cells = [cells[col] for _, _, cells in rows]
            if col in times and any(isinstance(c, Time) for c in cells):
                cells = [Time("") if c is None else c for c in cells]  # substr(tt, NULL, ..) is NULL
            if d.pg and col in times and cells and all(isinstance(c, Time) for c in cells):
                # PostgreSQL: the time made from its seconds since the epoch (`ts`), not read from `tt`
                tpl_cols.append(f"k_{col}")
                tpl_types.append("INTEGER")
                for row, c in zip(values, cells, strict=True):
                    row.append(None if c == Time("") else d.place(c.name))
                exprs.append(d.epoch_time(hole))
                continue
            shapes = [(f"substr(s.tt, {hole}, {TIME_WIDTH})", None) if c == Time("") else _shape(c, hole, d)
                      for c in cells]
            kinds = Counter(sql for sql, _ in shapes)
            order = [sql for sql, _ in kinds.most_common()]  # the commonest shape last: the ELSE
            if any(hole in sql for sql in order):
                tpl_cols.append(f"k_{col}")
                tpl_types.append("INTEGER" if col in times else types[col])  # a time: its offset in tt
                for row, (_, value) in zip(values, shapes, strict=True):
                    row.append(value)
            if len(order) == 1:
                expr = order[0]
            else:
                tpl_cols.append(f"x_{col}")
                tpl_types.append("BIGINT")
                branches = order[1:] + order[:1]
                for row, (sql, _) in zip(values, shapes, strict=True):
                    row.append(branches.index(sql))
                expr = "CASE t.x_" + col + " " + " ".join(
                    f"WHEN {i} THEN {sql}" for i, sql in enumerate(branches[:-1])) + f" ELSE {branches[-1]} END"
            if d.pg and col in times and _is_literal(expr):
                # a constant time (every event's recorded_at): a typed literal, read once with the statement,
                # not a text made and read again for each row (~0.75 us a row)
                expr = f"CAST({_literal(expr[1:-1].replace(chr(39) * 2, chr(39)) + '+00')} AS TIMESTAMPTZ)"
            elif d.pg and col in times:
                expr = f"CAST(({expr}) || '+00' AS TIMESTAMPTZ)"
            exprs.append(expr)
        name = f"bulk_t_{table}"
        self.template_table = name
        decl = ", ".join(f"{c} {t if d.pg else ''}".rstrip() for c, t in zip(tpl_cols, tpl_types, strict=True))
        self.create = d.temp(name, decl, "v, seq")
        self.template_rows = [tuple(r) for r in values]
        self.fill = f"INSERT INTO {name} VALUES ({', '.join([d.mark] * len(tpl_cols))})"
        names = ", ".join(f'"{c}"' for c in columns)
        self.insert = (f'INSERT INTO "{table}" ({names}) SELECT {", ".join(exprs)} FROM {SEED_TABLE} AS s '
                       f"CROSS JOIN {name} AS t WHERE t.v = s.v")


class SeedLoad:
    """The seed table and the tables made from it, on one DBAPI cursor (SQLite or PostgreSQL).

    The seed rows are either inserted here (`load`) or, on SQLite, handed over as the image of an
    in-memory database that SeedImage made in another process (`take`), with the rows of the tables
    it made there (`made`): those are copied in as they are (the same table definitions on both
    sides: SQLite's transfer optimisation copies the records without decoding them; it adds each
    index's entries in that index's order), the others made here.
    """

    def __init__(self, cur: Any, d: Dialect, seed_columns: Sequence[tuple[str, str]], tables: Sequence[TableLoad],
                 *, images: bool = False, made: Sequence[str] = ()) -> None:
        self.cur = cur
        self.d = d
        self.tables = [t for t in tables if t.table not in made]
        self.images = images
        self.seed = f"{SEED_SCHEMA}.{SEED_TABLE}" if images else SEED_TABLE
        self.create = None if images else seed_ddl(d, seed_columns, temp=True)
        mark = d.mark
        one = "(" + ", ".join([mark] * len(seed_columns)) + ")"
        self.one = f"INSERT INTO {SEED_TABLE} VALUES {one}"
        self.many = f"INSERT INTO {SEED_TABLE} VALUES " + ", ".join([one] * ROWS_PER_INSERT)
        self.inserts = [(f"{table} (copy)", f'INSERT INTO main."{table}" SELECT * FROM {SEED_SCHEMA}."{table}"')
                        for table in made]
        self.inserts += [(t.table, t.insert.replace(f" FROM {SEED_TABLE} AS s ", f" FROM {self.seed} AS s "))
                         for t in self.tables]

    def __enter__(self) -> SeedLoad:
        cur = self.cur
        if self.images:
            cur.execute(f"ATTACH DATABASE ':memory:' AS {SEED_SCHEMA}")
        else:
            cur.execute(self.create)
        for t in self.tables:
            cur.execute(t.create)
            cur.executemany(t.fill, t.template_rows)
        return self

    def __exit__(self, *exc: Any) -> None:
        if exc[0] is None:
            for name in ([] if self.images else [SEED_TABLE]) + [t.template_table for t in self.tables]:
                self.cur.execute(f"DROP TABLE {name}")

    def detach(self) -> None:
        """Outside a transaction (SQLite will not detach inside one): let go of the seed images."""
        if self.images:
            self.cur.execute(f"DETACH DATABASE {SEED_SCHEMA}")

    def load(self, rows: list[tuple], timings: Counter[str] | None = None) -> None:
        """Write the tables' rows for these seed rows (the seed table holds this chunk only)."""
        start = time.perf_counter()
        if self.d.pg:  # COPY: the seed rows in one stream, not a statement each
            self.cur.execute(f"TRUNCATE {SEED_TABLE}")
            with self.cur.copy(f"COPY {SEED_TABLE} FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            self.cur.execute(f"DELETE FROM {SEED_TABLE}")
            insert_many(self.cur, self.d, self.many, self.one, rows)
        if timings is not None:
            timings["seed"] += time.perf_counter() - start
        self._make(timings)

    def take(self, image: bytes, timings: Counter[str] | None = None) -> None:
        """Write the tables' rows for the seed rows of this image (SeedImage.image)."""
        start = time.perf_counter()
        self.cur.connection.deserialize(image, name=SEED_SCHEMA)
        if timings is not None:
            timings["seed"] += time.perf_counter() - start
        self._make(timings)

    def _make(self, timings: Counter[str] | None) -> None:
        start = time.perf_counter()
        for table, insert in self.inserts:
            self.cur.execute(insert)
            if timings is not None:
                now = time.perf_counter()
                timings[table] += now - start
                start = now


class SeedImage:
    """Seed rows, and the rows of `tables` made from them, as the image of an in-memory SQLite database
    (for SeedLoad.take in another process). `ddl`: the CREATE statements of those tables and of their
    indexes, as the desk has them."""

    def __init__(self, seed_columns: Sequence[tuple[str, str]], d: Dialect, tables: Sequence[TableLoad] = (),
                 ddl: Sequence[str] = ()) -> None:
        self.d = d
        self.con = con = sqlite3.connect(":memory:", isolation_level=None)
        con.execute(seed_ddl(d, seed_columns, temp=False))
        for statement in ddl:
            con.execute(statement)
        self.tables = tables
        for t in tables:
            con.execute(t.create)  # a TEMP table: not in the image
            con.executemany(t.fill, t.template_rows)
        one = "(" + ", ".join(["?"] * len(seed_columns)) + ")"
        self.one = f"INSERT INTO {SEED_TABLE} VALUES {one}"
        self.many = f"INSERT INTO {SEED_TABLE} VALUES " + ", ".join([one] * ROWS_PER_INSERT)
        self.seconds: Counter[str] = Counter()

    def image(self, rows: list[tuple]) -> bytes:
        con = self.con
        start = time.perf_counter()
        con.execute("BEGIN")
        con.execute(f"DELETE FROM {SEED_TABLE}")
        insert_many(con, self.d, self.many, self.one, rows)
        for t in self.tables:
            now = time.perf_counter()
            self.seconds["seed"] += now - start
            start = now
            con.execute(f'DELETE FROM "{t.table}"')
            con.execute(t.insert)
            now = time.perf_counter()
            self.seconds[t.table] += now - start
            start = now
        con.execute("COMMIT")
        image = con.serialize()
        self.seconds["seed"] += time.perf_counter() - start
        return image


def seed_ddl(d: Dialect, seed_columns: Sequence[tuple[str, str]], temp: bool) -> str:
    """The seed table: keyed by its first column, the case id (on SQLite the rowid: rows in id order). On
    PostgreSQL two last columns, `ts` and `ti`, hold the times of `tt` as numbers and as isoformat text
    (seed_arrays)."""
    (key, key_type), rest = seed_columns[0], seed_columns[1:]
    if d.pg:
        cols = f"{key} {key_type} PRIMARY KEY, " + ", ".join(f"{n} {t}" for n, t in rest) + ", ts BIGINT[], ti TEXT[]"
    else:
        cols = f"{key} INTEGER PRIMARY KEY, " + ", ".join(n for n, _ in rest)
    return f"CREATE {'TEMP ' if temp else ''}TABLE {SEED_TABLE} ({cols})"


def copy_rows(cur: Any, table: str, columns: Sequence[str], rows: Sequence[tuple]) -> None:
    """PostgreSQL: `rows` (tuples of `columns`' values) into `table` by COPY: one stream, no
    statement per row for the server to parse and plan."""
    names = ", ".join(f'"{c}"' for c in columns)
    with cur.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)


def insert_many(cur: Any, d: Dialect, many: str, one: str, rows: list[tuple]) -> None:
    """executemany; on SQLite with ROWS_PER_INSERT rows to a statement (fewer, larger steps: faster)."""
    per = ROWS_PER_INSERT
    full = 0 if d.pg else len(rows) // per * per
    if full:
        flat = chain.from_iterable
        cur.executemany(many, [tuple(flat(rows[i:i + per])) for i in range(0, full, per)])
    if full < len(rows):
        cur.executemany(one, rows[full:])


# ---------------------------------------------------------------------- the second process
class BesideFailed(RuntimeError):
    """The second process of a bulk build stopped with an error."""


class Beside:
    """Makes the chunks in a second process (fork) while this process writes them.

    The child runs `make()` (an iterator of picklable chunks; the code after each `yield` runs
    once the chunk is on its way) and sends each chunk here; then `finish()`, whose result is the
    last message. A chunk whose last item is bytes (a seed image) sends those as they are, read
    here into one reused buffer: the chunk then ends with a memoryview of it, good until the next
    chunk is read. The child's failure is raised here as BesideFailed; this process's failure (or
    Ctrl-C) ends the child (stop).
    """

    QUEUE = 4  # chunks made ahead of the writer
    # a message: its kind (b"c" chunk, b"r" result, b"e" error), the length of its pickled (or error) part,
    # the length of the image that follows
    _HEAD = struct.Struct("!cQQ")

    def __init__(self, make: Callable[[], Iterable[Any]], finish: Callable[[], Any]) -> None:
        ctx = multiprocessing.get_context("fork")
        self._sock, child = socket.socketpair()
        self._proc = ctx.Process(target=self._child, args=(child, make, finish), daemon=True)
        self._proc.start()
        child.close()
        self._buffer = bytearray()
        self.result: Any = None

    @staticmethod
    def available() -> bool:
        return "fork" in multiprocessing.get_all_start_methods()

    @classmethod
    def _child(cls, sock: socket.socket, make: Callable[[], Iterable[Any]], finish: Callable[[], Any]) -> None:
        outbox: queue.Queue[tuple[bytes, bytes, bytes] | None] = queue.Queue(cls.QUEUE)

        def sender() -> None:
            while (message := outbox.get()) is not None:
                kind, body, image = message
                sock.sendall(cls._HEAD.pack(kind, len(body), len(image)))
                sock.sendall(body)
                if image:
                    sock.sendall(image)

        thread = threading.Thread(target=sender, daemon=True)
        thread.start()
        try:
            for chunk in make():
                image = chunk[-1] if isinstance(chunk, tuple) and chunk and isinstance(chunk[-1], bytes) else b""
                head = chunk[:-1] if image else chunk
                outbox.put((b"c", pickle.dumps(head, pickle.HIGHEST_PROTOCOL), image))
            outbox.put((b"r", pickle.dumps(finish(), pickle.HIGHEST_PROTOCOL), b""))
        except BaseException:  # noqa: BLE001  (everything goes back to the writer)
            outbox.put((b"e", traceback.format_exc().encode(), b""))
        outbox.put(None)
        thread.join()
        sock.close()

    def _read(self, size: int, reuse: bool = False) -> Any:
        """The next `size` bytes from the child: a bytearray, or a view of the reused buffer."""
        if reuse:
            if len(self._buffer) < size:
                self._buffer = bytearray(size)
            view = memoryview(self._buffer)[:size]
        else:
            view = memoryview(bytearray(size))
        got = 0
        while got < size:
            n = self._sock.recv_into(view[got:])
            if n == 0:
                self._proc.join()
                raise BesideFailed(f"the second bulk process ended without finishing "
                                   f"(exit code {self._proc.exitcode})")
            got += n
        return view

    def __iter__(self) -> Iterator[Any]:
        """The chunks, as the child makes them; then self.result is the child's result."""
        while True:
            kind, size, image = self._HEAD.unpack(self._read(self._HEAD.size))
            body = self._read(size)
            if kind == b"c":
                yield pickle.loads(body) + (self._read(image, reuse=True),) if image else pickle.loads(body)
            elif kind == b"r":
                self.result = pickle.loads(body)
                self._proc.join()
                return
            else:
                self._proc.join()
                raise BesideFailed("the second bulk process failed:\n" + bytes(body).decode(errors="replace"))

    def stop(self) -> None:
        """End the child if it still runs (this process failed)."""
        if self._proc.is_alive():
            self._proc.kill()
        self._proc.join()
        self._sock.close()


def remove_database(path: str) -> None:
    """Remove a SQLite file and its journals, if there."""
    for suffix in ("", "-journal", "-wal", "-shm"):
        try:
            os.remove(path + suffix)
        except FileNotFoundError:
            pass
