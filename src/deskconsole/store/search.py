"""The case filter: words matched through a full-text index, not a scan of every title.

Migration 0002 made the index: on SQLite the FTS5 table `case_fts` (external content: the rows
of `case`; a new case's row written with the case, by the service's write path and the ORM
(store/models.py: CASE_INDEX_NEW), an edit or a deletion kept in step by triggers), on PostgreSQL
a GIN index over the `simple` tsvector of title and customer.

Matching, the same on both: the filter is split into words at white space (at most
MAX_WORDS); each word is split into its letters-and-digits parts the way the index splits titles
(`a:b` -> `a`, `b`; `"login"` -> `login`). Every word must be found in the case's title or
customer: each part begins a word there (`log` matches "Login fails"), the parts of one word
next to each other and in order (`a:b` matches "a:b" and "A B", not "b ... a"). A word that is a
number also matches the case with that id. Anything else in a word (quotes, `*`, `-`, `:`,
parentheses, `%`, `_`, NEAR, AND, OR) is plain text to the filter, never query syntax. A word
with no letters or digits at all (`-`, `%`) constrains nothing; a filter made only of such words
matches no case.

Bulk loaders that write `case` rows with plain SQL: call `pause_case_index(conn)` before a big
insert (it drops the SQLite triggers, so the rows go in at full speed) and
`rebuild_case_index(conn)` after it (it refills the index from the table and puts the triggers
back, in the caller's transaction). Rows inserted with plain SQL are in the index only once it is
rebuilt. PostgreSQL keeps its index by itself: both calls do nothing there.
A new desk filled in bulk can instead get its index built in a file of its own (CaseIndexFile,
by another process while the cases are written) and copied in whole (copy_case_index_on).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Connection

MAX_WORDS = 6
_PART = re.compile(r"[^\W_]+")  # letters and digits, as unicode61 and PostgreSQL's parser see words
_MAX_ID_DIGITS = 18  # a longer number cannot be a case id (64-bit)

#: The SQLite triggers that keep `case_fts` in step with `case` when a case's title or customer is
#: edited and when a case is deleted (as migration 0002 makes them). A new case's row goes in with
#: the write that adds the case (store/models.py: CASE_INDEX_NEW; migration 0016 dropped the trigger
#: that did it: a trigger on INSERT gives each insert a savepoint, and FTS5 writes what it holds
#: to disk at each one, a segment per new case).
SQLITE_TRIGGERS = {
    "case_fts_delete": 'CREATE TRIGGER case_fts_delete AFTER DELETE ON "case" BEGIN '
    "INSERT INTO case_fts(case_fts, rowid, title, customer) VALUES ('delete', old.id, old.title, old.customer); "
    "END",
    "case_fts_update": 'CREATE TRIGGER case_fts_update AFTER UPDATE OF title, customer ON "case" BEGIN '
    "INSERT INTO case_fts(case_fts, rowid, title, customer) VALUES ('delete', old.id, old.title, old.customer); "
    "INSERT INTO case_fts(rowid, title, customer) VALUES (new.id, new.title, new.customer); END",
}
#: The indexed expression of ix_case_search over the case table aliased `c` (the index's own
#: expression, so PostgreSQL uses it).
PG_DOCUMENT = "to_tsvector('simple', c.title || ' ' || c.customer)"


def filter_words(text: str | None) -> list[list[str]]:
    """The filter's words, each as its lower-case letters-and-digits parts (empty: no such parts)."""
    if not text:
        return []
    return [_PART.findall(word.lower()) for word in text.split()[:MAX_WORDS]]


def case_number(parts: list[str]) -> int | None:
    """The case id a word may stand for (a plain number), or None."""
    if len(parts) == 1 and parts[0].isascii() and parts[0].isdigit() and len(parts[0]) <= _MAX_ID_DIGITS:
        return int(parts[0])
    return None


def match_expression(words: list[list[str]], dialect: str) -> str:
    """The index query for these words (each a list of parts): an FTS5 MATCH or a tsquery.

    Each part is letters and digits only, so it is never query syntax. FTS5: a quoted part with
    `*` matches every word that begins with it; `+` keeps the parts of one word next to each other
    and in order (`a:b` -> "a"* + "b"*); AND joins the words. tsquery: the same with `:*`, `<->`
    and `&`.
    """
    if dialect == "sqlite":
        return " AND ".join(" + ".join(f'"{part}"*' for part in parts) for parts in words)
    return " & ".join("(" + " <-> ".join(f"'{part}':*" for part in parts) + ")" for parts in words)


# --- for bulk loaders ---------------------------------------------------------------------------------


def pause_case_index(conn: Connection) -> None:
    """Stop keeping the SQLite index in step (before a bulk insert); rebuild_case_index resumes it."""
    if conn.dialect.name == "sqlite":
        pause_case_index_on(_driver(conn).cursor())


def rebuild_case_index(conn: Connection) -> None:
    """Refill the SQLite index from every case and keep it in step again (after a bulk insert)."""
    if conn.dialect.name == "sqlite":
        rebuild_case_index_on(_driver(conn).cursor())


def _driver(conn: Connection) -> Any:
    """The driver's own connection (sqlite3) under a live SQLAlchemy connection."""
    driver = conn.connection.driver_connection
    if driver is None:
        raise RuntimeError("the database connection is closed")
    return driver


def pause_case_index_on(cursor: Any) -> None:
    """pause_case_index on a sqlite3 cursor, in its connection's transaction."""
    for name in SQLITE_TRIGGERS:
        cursor.execute(f"DROP TRIGGER IF EXISTS {name}")


def rebuild_case_index_on(cursor: Any) -> None:
    """rebuild_case_index on a sqlite3 cursor, in its connection's transaction."""
    cursor.execute("INSERT INTO case_fts(case_fts) VALUES ('rebuild')")
    # One segment, merged now: a rebuilt index is left in several large segments, and the first
    # cases written after it would pay for merging them (seconds at a million cases at the first
    # commit, then about 1 ms per new case instead of 0.1 ms).
    cursor.execute("INSERT INTO case_fts(case_fts) VALUES ('optimize')")
    resume_case_index_on(cursor)


def resume_case_index_on(cursor: Any) -> None:
    """Keep the SQLite index in step again: put back the triggers pause_case_index_on dropped."""
    present = {row[0] for row in cursor.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'case_fts_%'").fetchall()}
    for name, ddl in SQLITE_TRIGGERS.items():
        if name not in present:
            cursor.execute(ddl)


#: The ordinary tables in which FTS5 keeps `case_fts` (its index, document sizes and settings).
SQLITE_INDEX_TABLES = ("case_fts_data", "case_fts_idx", "case_fts_docsize", "case_fts_config")


class CaseIndexFile:
    """The SQLite index of cases being written in bulk, built in a file of its own (another process can
    build it while the cases are written), then copied into a new desk by copy_case_index_on.

    `ddl` is the desk's own CREATE VIRTUAL TABLE of case_fts, so the index is made the same way.
    The cases are indexed as the insert trigger indexes them: by id, title and customer.
    """

    HASH_BYTES = 256 * 1024 * 1024

    def __init__(self, path: str, ddl: str) -> None:
        self.path = path
        self.ddl = ddl
        self.seconds = 0.0
        self._con: Any = None

    def _open(self) -> Any:
        import sqlite3

        con = sqlite3.connect(self.path, isolation_level=None)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-262144"):
            con.execute(f"PRAGMA {pragma}")
        con.execute(self.ddl)
        # terms gathered in memory before a segment is written: fewer, larger segments to merge
        # (a million cases: 4 s instead of 14 s); a setting of this file only, dropped in finish()
        con.execute("INSERT INTO case_fts(case_fts, rank) VALUES ('hashsize', ?)", (self.HASH_BYTES,))
        con.execute("BEGIN")
        return con

    def add(self, rows: Iterable[tuple[int, str, str]]) -> None:
        """Index these cases: (id, title, customer) each."""
        import time

        start = time.perf_counter()
        if self._con is None:
            self._con = self._open()
        self._con.executemany("INSERT INTO case_fts(rowid, title, customer) VALUES (?, ?, ?)", rows)
        self.seconds += time.perf_counter() - start

    def finish(self) -> None:
        """Merge the index into one segment (as rebuild_case_index does) and close the file."""
        import sqlite3

        con = self._con or self._open()
        self._con = None
        con.execute("INSERT INTO case_fts(case_fts) VALUES ('optimize')")
        con.execute("DELETE FROM case_fts_config WHERE k = 'hashsize'")  # the desk keeps FTS5's default
        con.execute("COMMIT")
        con.close()
        con = sqlite3.connect(self.path, isolation_level=None)  # the tables only: FTS5 is not loaded
        try:
            (record,) = con.execute("SELECT block FROM case_fts_data WHERE id = ?", (_STRUCTURE_ID,)).fetchone()
            raised = _segment_raised(record, INDEX_LEVEL)
            if raised is not None:
                con.execute("UPDATE case_fts_data SET block = ? WHERE id = ?", (raised, _STRUCTURE_ID))
        finally:
            con.close()


# Where the index's one segment sits among FTS5's merge levels. New cases are written as small
# segments on level 0, and a level is merged into the next when it holds 4 segments (automerge).
# A rebuild of a million cases leaves its merged segment on level 5, where the next thousands of
# new cases do not reach it. An index made with a large hash (CaseIndexFile) is left on level 0,
# where the 4th new case would rewrite all of it, and on a million cases a few hundred later a
# crisis merge does it again in one commit (5 s, and 150 MB of free pages): it is moved to level 5.
INDEX_LEVEL = 5
_STRUCTURE_ID = 10  # the rowid of FTS5's structure record in case_fts_data


def _varint(data: bytes, i: int) -> tuple[int, int]:
    """SQLite's varint at data[i]: (value, the index after it)."""
    value = 0
    for n in range(9):
        byte = data[i]
        i += 1
        if n == 8:
            return (value << 8) | byte, i
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, i
    raise AssertionError("unreachable")


def _put_varint(value: int) -> bytes:
    if value > 0x00FFFFFFFFFFFFFF:
        raise ValueError("too large for this structure record")  # 9-byte varints are not written here
    groups = [value & 0x7F]
    value >>= 7
    while value:
        groups.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(groups))


def _segment_raised(record: bytes, level: int) -> bytes | None:
    """FTS5's structure record (the version 1 layout: a 4-byte cookie, then varints: levels, segments,
    write counter, and for each level its merge count, segment count and segments (id, first page,
    last page)) with its one segment moved to `level`; None if it is not such a record, it holds
    more than one segment or a merge, or the segment is there already. The record is read back
    exactly as it was written before anything is changed: an unknown layout is left alone."""
    try:
        i = 4
        n_levels, i = _varint(record, i)
        n_segments, i = _varint(record, i)
        writes, i = _varint(record, i)
        levels = []
        for _ in range(n_levels):
            merging, i = _varint(record, i)
            count, i = _varint(record, i)
            segments = []
            for _ in range(count):
                segid, i = _varint(record, i)
                first, i = _varint(record, i)
                last, i = _varint(record, i)
                segments.append((segid, first, last))
            levels.append((merging, segments))
    except IndexError:
        return None

    def encode(levels: list[tuple[int, list[tuple[int, int, int]]]]) -> bytes:
        out = [record[:4], _put_varint(len(levels)), _put_varint(n_segments), _put_varint(writes)]
        for merging, segments in levels:
            out += [_put_varint(merging), _put_varint(len(segments))]
            out += [_put_varint(v) for segment in segments for v in segment]
        return b"".join(out)

    try:
        if i != len(record) or encode(levels) != record or n_segments != 1:
            return None
    except ValueError:
        return None
    (at,) = [n for n, (merging, segments) in enumerate(levels) if segments]
    if at >= level or any(merging for merging, _ in levels):
        return None
    return encode([(0, [])] * level + [(0, levels[at][1])])


def copy_case_index_on(cursor: Any, path: str) -> None:
    """Take the index built by CaseIndexFile in `path` as this desk's, and keep it in step again.

    For a desk whose index holds no cases yet (a new desk filled in bulk), outside a transaction
    (it attaches the file): in one transaction of its own, the index's tables are copied whole
    (SQLite copies their records without decoding them). The cursor's connection must not have
    used case_fts yet (FTS5 would keep what it read of the old index).
    """
    cursor.execute("ATTACH DATABASE ? AS bulk_index", (path,))
    try:
        cursor.execute("BEGIN")
        for table in SQLITE_INDEX_TABLES:
            cursor.execute(f"DELETE FROM main.{table}")
            cursor.execute(f"INSERT INTO main.{table} SELECT * FROM bulk_index.{table}")
        resume_case_index_on(cursor)
        cursor.execute("COMMIT")
    finally:
        if cursor.connection.in_transaction:
            cursor.execute("ROLLBACK")
        cursor.execute("DETACH DATABASE bulk_index")
