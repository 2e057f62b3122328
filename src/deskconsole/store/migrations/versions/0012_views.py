"""0012: views an agent saved from the console (the queue's tabs; domain/saved_views.py).

- `saved_view`: one row per agent and view name (unique per agent, whatever the case).

PostgreSQL: the table's grants and row-level security (store/identity.py GRANTS, POLICIES): an
agent's login reads and writes its own saved views only.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    # (a database made before migrations by a newer create_all may have it already)
    if "saved_view" not in set(sa.inspect(bind).get_table_names()):
        op.create_table(
            "saved_view",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("agent_id", sa.Integer(), nullable=False),
            sa.Column("name", sa.String(length=32), nullable=False),
            sa.Column("name_key", sa.String(length=32), nullable=False),
            sa.Column("filter", sa.Text(), nullable=False),
            sa.Column("sort", sa.String(length=16), nullable=True),
            sa.Column("columns", sa.String(length=200), nullable=True),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.ForeignKeyConstraint(["agent_id"], ["agent.id"]),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("agent_id", "name_key", name="uq_saved_view_agent_name"),
        )
    if bind.dialect.name == "postgresql":
        from deskconsole.store.identity import install

        install(bind)


def downgrade() -> None:
    op.drop_table("saved_view")
