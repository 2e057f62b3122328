"""0010: presence, who has a case open or is typing in it (domain/presence.py, service/presence.py).

- `presence`: one row per agent and case, its state (viewing, typing) and last heartbeat; the
  primary key (case_id, agent) is the index every read of it uses.
- `ix_case_customer_status`: a customer's cases, open ones first (the customer context,
  service/customer.py).

PostgreSQL: the table's grants and row-level security (store/identity.py GRANTS): every agent
reads every row; each writes and removes only their own.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    # (a database made before migrations by a newer create_all may have it already)
    if "presence" not in set(sa.inspect(bind).get_table_names()):
        op.create_table(
            "presence",
            sa.Column("case_id", sa.Integer(), nullable=False),
            sa.Column("agent", sa.String(length=64), nullable=False),
            sa.Column("state", sa.String(length=16), nullable=False),
            sa.Column("beat", sa.DateTime(timezone=True), nullable=False),
            sa.ForeignKeyConstraint(["case_id"], ["case.id"]),
            sa.PrimaryKeyConstraint("case_id", "agent"),
        )
    if "ix_case_customer_status" not in {i["name"] for i in sa.inspect(bind).get_indexes("case")}:
        op.create_index("ix_case_customer_status", "case", ["customer", "status", "id"])
    if bind.dialect.name == "postgresql":
        from deskconsole.store.identity import install

        install(bind)


def downgrade() -> None:
    op.drop_index("ix_case_customer_status", table_name="case")
    op.drop_table("presence")
