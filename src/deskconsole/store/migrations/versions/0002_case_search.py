"""0002: a full-text index over each case's title and customer, for the list filter.

SQLite: an FTS5 table `case_fts` with external content (the `case` table itself), kept in step
by three triggers, filled here from the existing cases. PostgreSQL: a GIN index over the
`simple` tsvector of title and customer (an expression index; nothing to keep in step).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SQLITE_UP = [
    # prefix: the filter matches words by their beginning. FTS5 answers a beginning of 2 to 8
    # letters from a ready list, lazily in id order (a page costs a page); a longer one it
    # expands by merging every matching word's list first, which costs all the matches.
    "CREATE VIRTUAL TABLE case_fts USING fts5(title, customer, content='case', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2', prefix='2 3 4 5 6 7 8')",
    'CREATE TRIGGER case_fts_insert AFTER INSERT ON "case" BEGIN '
    "INSERT INTO case_fts(rowid, title, customer) VALUES (new.id, new.title, new.customer); END",
    'CREATE TRIGGER case_fts_delete AFTER DELETE ON "case" BEGIN '
    "INSERT INTO case_fts(case_fts, rowid, title, customer) VALUES ('delete', old.id, old.title, old.customer); "
    "END",
    'CREATE TRIGGER case_fts_update AFTER UPDATE OF title, customer ON "case" BEGIN '
    "INSERT INTO case_fts(case_fts, rowid, title, customer) VALUES ('delete', old.id, old.title, old.customer); "
    "INSERT INTO case_fts(rowid, title, customer) VALUES (new.id, new.title, new.customer); END",
    "INSERT INTO case_fts(case_fts) VALUES ('rebuild')",
    "INSERT INTO case_fts(case_fts) VALUES ('optimize')",  # one segment: new cases do not pay to merge it
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS case_fts_update",
    "DROP TRIGGER IF EXISTS case_fts_delete",
    "DROP TRIGGER IF EXISTS case_fts_insert",
    "DROP TABLE IF EXISTS case_fts",
]
POSTGRES_UP = [
    "CREATE INDEX ix_case_search ON \"case\" USING gin (to_tsvector('simple', title || ' ' || customer))",
]
POSTGRES_DOWN = ["DROP INDEX IF EXISTS ix_case_search"]


def _run(statements: list[str]) -> None:
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    _run(SQLITE_UP if op.get_bind().dialect.name == "sqlite" else POSTGRES_UP)


def downgrade() -> None:
    _run(SQLITE_DOWN if op.get_bind().dialect.name == "sqlite" else POSTGRES_DOWN)
