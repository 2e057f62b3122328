"""0016: SQLite: a new case goes into the text index from the write that adds it, not a trigger.

A trigger on INSERT makes every insert of a case a statement with a savepoint of its own, and
FTS5 writes the words it holds in memory out to disk at every savepoint: with the trigger, each
new case wrote a segment of the index of its own and paid to merge it (about 90 microseconds a
case at a million cases, against about 12 when the rows of a transaction go out together at its
commit). The service's write path and the ORM (store/models.py: CASE_INDEX_NEW) now write the
new case's row of `case_fts` themselves. The triggers that keep the index in step on an edit of
the title or customer and on a deletion stay. PostgreSQL: nothing (its index is an expression
index, kept by the server).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_TRIGGER = ('CREATE TRIGGER case_fts_insert AFTER INSERT ON "case" BEGIN '
            "INSERT INTO case_fts(rowid, title, customer) VALUES (new.id, new.title, new.customer); END")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS case_fts_insert")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS case_fts_insert")
        op.execute(_TRIGGER)
