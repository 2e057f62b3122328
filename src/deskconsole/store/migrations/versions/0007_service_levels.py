"""0007: service levels: the desk's calendars and policies (`sla_desk`, one row replaced whole by
`sla load`) and each case's metric events per target (`sla_metric`, append-only), with the
grants and row-level security of both on PostgreSQL (store/identity.py).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    # (a database made before migrations by a newer create_all may have these tables already)
    existing = set(sa.inspect(bind).get_table_names())
    if "sla_desk" not in existing:
        op.create_table(
            "sla_desk",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("document", sa.Text(), nullable=False),
            sa.Column("version", sa.Integer(), nullable=False),
            sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("loaded_by", sa.String(length=64), nullable=True),
            sa.PrimaryKeyConstraint("id"),
        )
    if "sla_metric" not in existing:
        op.create_table(
            "sla_metric",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("case_id", sa.Integer(), nullable=False),
            sa.Column("target", sa.String(length=20), nullable=False),
            sa.Column("kind", sa.String(length=12), nullable=False),
            sa.Column("at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("seconds", sa.Integer(), nullable=True),
            sa.Column("calendar", sa.String(length=64), nullable=True),
            sa.Column("warning", sa.Float(), nullable=True),
            sa.Column("used", sa.Integer(), nullable=True),
            sa.ForeignKeyConstraint(["case_id"], ["case.id"]),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index("ix_sla_metric_case", "sla_metric", ["case_id", "id"])
        op.create_index("ix_sla_metric_kind_at", "sla_metric", ["kind", "at"])
    if bind.dialect.name == "postgresql":
        from deskconsole.store.identity import install

        install(bind)


def downgrade() -> None:
    op.drop_index("ix_sla_metric_kind_at", table_name="sla_metric")
    op.drop_index("ix_sla_metric_case", table_name="sla_metric")
    op.drop_table("sla_metric")
    op.drop_table("sla_desk")
