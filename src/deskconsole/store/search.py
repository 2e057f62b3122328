"""The case filter: words matched through a full-text index, not a scan of every title.

Migration 0002 made the index: on SQLite the FTS5 table `case_fts` (external content: the rows
of `case`, kept in step by triggers), on PostgreSQL a GIN index over the `simple` tsvector of
title and customer.

Matching, the same on both: the filter is split into words at white space (at most
MAX_WORDS); each word is split into its letters-and-digits parts the way the index splits titles
(`a:b` -> `a`, `b`; `"login"` -> `login`). Every word must be found in the case's title or
customer: each part begins a word there (`log` matches "Login fails"), the parts of one word
next to each other and in order (`a:b` matches "a:b" and "A B", not "b ... a"). A word that is a
number also matches the case with that id. Anything else in a word (quotes, `*`, `-`, `:`, parentheses, `%`, `_`, NEAR, AND, OR) is
plain text to the filter, never query syntax. A word with no letters or digits at all (`-`, `%`)
constrains nothing; a filter made only of such words matches no case.

Bulk loaders that write `case` rows with plain SQL: call `pause_case_index(conn)` before a big
insert (it drops the SQLite triggers, so the rows go in at full speed) and
`rebuild_case_index(conn)` after it (it refills the index from the table and puts the triggers
back, in the caller's transaction). `rebuild_case_index` alone, without the pause, is also
correct, only slower to insert. PostgreSQL keeps its index by itself: both calls do nothing there.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Connection

MAX_WORDS = 6
_PART = re.compile(r"[^\W_]+")  # letters and digits, as unicode61 and PostgreSQL's parser see words
_MAX_ID_DIGITS = 18  # a longer number cannot be a case id (64-bit)

#: The SQLite triggers that keep `case_fts` in step with `case` (as migration 0002 makes them).
SQLITE_TRIGGERS = {
    "case_fts_insert": 'CREATE TRIGGER case_fts_insert AFTER INSERT ON "case" BEGIN '
    "INSERT INTO case_fts(rowid, title, customer) VALUES (new.id, new.title, new.customer); END",
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
        pause_case_index_on(conn.connection.driver_connection.cursor())


def rebuild_case_index(conn: Connection) -> None:
    """Refill the SQLite index from every case and keep it in step again (after a bulk insert)."""
    if conn.dialect.name == "sqlite":
        rebuild_case_index_on(conn.connection.driver_connection.cursor())


def pause_case_index_on(cursor: Any) -> None:
    """pause_case_index on a sqlite3 cursor, in its connection's transaction."""
    for name in SQLITE_TRIGGERS:
        cursor.execute(f"DROP TRIGGER IF EXISTS {name}")


def rebuild_case_index_on(cursor: Any) -> None:
    """rebuild_case_index on a sqlite3 cursor, in its connection's transaction."""
    present = {row[0] for row in cursor.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'case_fts_%'").fetchall()}
    cursor.execute("INSERT INTO case_fts(case_fts) VALUES ('rebuild')")
    # One segment, merged now: a rebuilt index is left in several large segments, and the first
    # cases written after it would pay for merging them (seconds at a million cases at the first
    # commit, then about 1 ms per new case instead of 0.1 ms).
    cursor.execute("INSERT INTO case_fts(case_fts) VALUES ('optimize')")
    for name, ddl in SQLITE_TRIGGERS.items():
        if name not in present:
            cursor.execute(ddl)
