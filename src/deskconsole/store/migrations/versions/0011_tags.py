"""0011: tags on cases, and the link of a message split out into its own case.

- `case_tag`: one row per tag of a case (`case tag ID --add x --remove y`, the console's edit
  form); primary key (case_id, tag). `ix_case_tag_tag` (tag, case_id) serves the filter
  language's `tag:x` (the cases with a tag, by the index alone).
- `case.split_from_id`: the case a message was split out of (`case split`); NULL for every other
  case. A plain column (no foreign key, as merged_into_id), so SQLite adds it without copying the
  case table; `ix_case_split_from` finds the cases split out of one.
- PostgreSQL: the table's grants and row-level security (store/identity.py GRANTS).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    # (a database made before migrations by a newer create_all may have it already)
    if "case_tag" not in set(sa.inspect(bind).get_table_names()):
        op.create_table(
            "case_tag",
            sa.Column("case_id", sa.Integer(), nullable=False),
            sa.Column("tag", sa.String(length=64), nullable=False),
            sa.Column("added_by", sa.String(length=64), nullable=False),
            sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
            sa.ForeignKeyConstraint(["case_id"], ["case.id"]),
            sa.PrimaryKeyConstraint("case_id", "tag"),
        )
    op.create_index("ix_case_tag_tag", "case_tag", ["tag", "case_id"], if_not_exists=True)
    if "split_from_id" not in {c["name"] for c in sa.inspect(bind).get_columns("case")}:
        op.add_column("case", sa.Column("split_from_id", sa.Integer(), nullable=True))
    op.create_index("ix_case_split_from", "case", ["split_from_id"], if_not_exists=True)
    if bind.dialect.name == "postgresql":
        from deskconsole.store.identity import install

        install(bind)


def downgrade() -> None:
    op.drop_index("ix_case_split_from", table_name="case")
    op.drop_column("case", "split_from_id")
    op.drop_index("ix_case_tag_tag", table_name="case_tag")
    op.drop_table("case_tag")
