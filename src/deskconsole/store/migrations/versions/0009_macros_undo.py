"""0009: the team's macros, and messages held for the undo window of an agent's close.

- `macro`: one row per macro (`deskconsole macro load FILE` replaces the set; domain/macros.py).
- `outbox.hold_until`: an agent's close writes its survey at once but holds its sending until
  the undo window ends (`case undo` withdraws it: state `cancelled`); NULL for every other row.

PostgreSQL: the macro table's grants and row-level security (store/identity.py GRANTS).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    # (a database made before migrations by a newer create_all may have them already)
    present = sa.inspect(bind)
    if "macro" not in set(present.get_table_names()):
        op.create_table(
            "macro",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("name", sa.String(length=64), nullable=False),
            sa.Column("reply", sa.Text(), nullable=True),
            sa.Column("note", sa.Text(), nullable=True),
            sa.Column("status", sa.String(length=32), nullable=True),
            sa.Column("sub_status", sa.String(length=32), nullable=True),
            sa.Column("priority", sa.String(length=2), nullable=True),
            sa.Column("assignee", sa.String(length=64), nullable=True),
            sa.Column("loaded_by", sa.String(length=64), nullable=False),
            sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("name"),
        )
    if "hold_until" not in {c["name"] for c in present.get_columns("outbox")}:
        op.add_column("outbox", sa.Column("hold_until", sa.DateTime(timezone=True), nullable=True))
    if bind.dialect.name == "postgresql":
        from deskconsole.store.identity import install

        install(bind)


def downgrade() -> None:
    op.drop_column("outbox", "hold_until")
    op.drop_table("macro")
