"""0015: an outbox row keeps the values its message is filled with.

`outbox.template_values`: the JSON object of values (case, title, question, resolution, close_days,
...) a message queued from the domain's rules (domain/effects.py's Outbox: status moves and timer
firings) was written from; the delivery worker fills the row's template with them. NULL for rows
queued before, for the rows a bulk build makes, and for messages whose words are the row's own
(comments, status updates, escalation mail): those are rendered from the case and the event, as
before. PostgreSQL: INSERT is granted on the whole table (store/identity.py): nothing to add.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # (a database made before migrations by a newer create_all may have it already)
    if "template_values" not in {c["name"] for c in sa.inspect(op.get_bind()).get_columns("outbox")}:
        op.add_column("outbox", sa.Column("template_values", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("outbox", "template_values")
