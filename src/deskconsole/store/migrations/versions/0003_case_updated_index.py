"""0003: an index for the queue sorted by last change (newest change first, then case id).

Without it the "updated" sort read and sorted every case for each window (seconds at a
million cases); with it a window is read in index order and costs a window.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # (a database made before migrations by a newer create_all may have it already)
    op.create_index("ix_case_updated_id", "case", ["updated_at", "id"], if_not_exists=True)


def downgrade() -> None:
    op.drop_index("ix_case_updated_id", table_name="case")
