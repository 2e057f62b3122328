"""0008: what the filter language's counts and merging cases need.

- `case.merged_into_id`: the case a merged case was merged into (`case merge`); NULL for every
  other case, and for every case written before. A plain column (no foreign key), so SQLite adds
  it without copying the case table.
- indexes: `ix_case_merged_into` (the cases merged into one: "merged from"),
  `ix_case_area_status` (`area:` with or without `status:`), `ix_case_status_sub` (`sub:`),
  `ix_case_created_id` (`age:`).
- PostgreSQL: the grants are made again (identity.install), so that the roles may write the new
  column (`case` UPDATE is granted column by column).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_INDEXES = (
    ("ix_case_merged_into", ["merged_into_id"]),
    ("ix_case_area_status", ["product_area", "status"]),
    ("ix_case_status_sub", ["status", "sub_status"]),
    ("ix_case_created_id", ["created_at", "id"]),
)


def upgrade() -> None:
    bind = op.get_bind()
    # (a database made before migrations by a newer create_all may have them already)
    if "merged_into_id" not in {c["name"] for c in sa.inspect(bind).get_columns("case")}:
        op.add_column("case", sa.Column("merged_into_id", sa.Integer(), nullable=True))
    for name, columns in _INDEXES:
        op.create_index(name, "case", columns, if_not_exists=True)
    if bind.dialect.name == "postgresql":
        from deskconsole.store.identity import install

        install(bind)


def downgrade() -> None:
    for name, _ in _INDEXES:
        op.drop_index(name, table_name="case")
    op.drop_column("case", "merged_into_id")
