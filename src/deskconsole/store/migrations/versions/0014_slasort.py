"""0014: the queue's "sla" sort reads the pending breach timers in due order from an index of their own.

`ix_timer_sla_due`: timer (due_at, case_id) where state = 'pending' and kind = 'sla_breach', the same
on SQLite and PostgreSQL. The sort's first part (store/window.py `_sla_window`) states that condition,
so a page reads its cases' timers as a range of this index instead of every pending timer (reminders,
auto-closes) through the (state, due_at) one, keeping the breach timers among them.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

NAME = "ix_timer_sla_due"
CONDITION = "state = 'pending' AND kind = 'sla_breach'"


def upgrade() -> None:
    # (a database made before migrations by a newer create_all may have it already)
    where = sa.text(CONDITION)
    op.create_index(NAME, "timer", ["due_at", "case_id"], if_not_exists=True, sqlite_where=where,
                    postgresql_where=where)


def downgrade() -> None:
    op.drop_index(NAME, table_name="timer")
