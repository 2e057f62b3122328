"""0013: the queue's views read an index range, not a walk of the case table.

Partial indexes over the open cases (`status <> 'closed'`, a fifth of a desk or less), the same
on SQLite and PostgreSQL:
- `ix_case_open_id`, `ix_case_open_priority`, `ix_case_open_updated`: the "open" view in each
  order (id, priority then id, last update then id); walking one reads only open cases. Their
  condition also says `id > 0` (every case), which only the open view's query states
  (store/window.py OPEN_VIEW): so no planner takes them for "mine" and walks every open case to
  keep one agent's (PostgreSQL preferred that to the assignee's range, its rows being in id order).
- `ix_case_open_assignee_id`, `..._priority`, `..._updated`: "mine" (`assignee_id = ?`) and
  "unassigned" (`assignee_id IS NULL`) as a range of the assignee, in each order.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

OPEN = "status <> 'closed'"
OPEN_VIEW = "status <> 'closed' AND id > 0"
INDEXES = (  # name, columns, condition
    ("ix_case_open_id", ["id"], OPEN_VIEW),
    ("ix_case_open_priority", ["priority", "id"], OPEN_VIEW),
    ("ix_case_open_updated", ["updated_at", "id"], OPEN_VIEW),
    ("ix_case_open_assignee_id", ["assignee_id", "id"], OPEN),
    ("ix_case_open_assignee_priority", ["assignee_id", "priority", "id"], OPEN),
    ("ix_case_open_assignee_updated", ["assignee_id", "updated_at", "id"], OPEN),
)


def upgrade() -> None:
    # (a database made before migrations by a newer create_all may have them already)
    for name, columns, condition in INDEXES:
        where = sa.text(condition)
        op.create_index(name, "case", columns, if_not_exists=True, sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    for name, _, _ in INDEXES:
        op.drop_index(name, table_name="case")
