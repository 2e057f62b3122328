"""0006: who was at the keyboard, beside each event's acting agent.

`event.os_login`: the operating-system login that ran the command or console writing the event,
kept when it differs from the event's actor (so `--as someone` leaves a trace); NULL on rows
written before, and where they were the same.

Every event already keeps `recorded_at` (0001, NOT NULL); from this revision on it is written
from the real clock (on PostgreSQL the database server's) whatever DESKCONSOLE_NOW says. Rows
written before keep the value they had.

Revision ID: 0006
Revises: 0003 (the lead chains it after the other revisions of this round)
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # (a database made before migrations by a newer create_all may have it already)
    if "os_login" in {c["name"] for c in sa.inspect(op.get_bind()).get_columns("event")}:
        return
    with op.batch_alter_table("event") as batch:
        batch.add_column(sa.Column("os_login", sa.String(length=64), nullable=True))


def downgrade() -> None:
    # A plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+, as 0005 does): a batch would copy the
    # event table, and dropping the old one fails while outbox rows point at its events.
    op.drop_column("event", "os_login")
