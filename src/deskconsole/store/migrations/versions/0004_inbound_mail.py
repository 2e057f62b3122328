"""0004: inbound e-mail: the messages taken in (once per Message-ID), their attachments stored once
by content hash, an index to thread replies by the desk's own outgoing Message-ID, and one to find a sender's
customer by their address.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # (a database made before migrations by a newer create_all may have these tables already)
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "inbound_message" not in existing:
        _inbound_message()
    if "mail_attachment" not in existing:
        _mail_attachment()
    op.create_index("ix_outbox_message_id", "outbox", ["message_id"], if_not_exists=True)
    op.create_index("ix_case_contact_id", "case", ["contact", "id"], if_not_exists=True)


def _inbound_message() -> None:
    op.create_table(
        "inbound_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("has_message_id", sa.Boolean(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("from_addr", sa.String(length=320), nullable=True),
        sa.Column("from_name", sa.String(length=200), nullable=True),
        sa.Column("subject", sa.Text(), server_default="", nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("threaded", sa.String(length=40), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_by", sa.String(length=64), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("attachments", sa.Text(), nullable=True),
        sa.Column("raw", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id"),
    )
    op.create_index("ix_inbound_from_received", "inbound_message", ["from_addr", "received_at"])
    op.create_index("ix_inbound_outcome_id", "inbound_message", ["outcome", "id"])
    op.create_index(op.f("ix_inbound_message_case_id"), "inbound_message", ["case_id"])
    op.create_index(op.f("ix_inbound_message_content_hash"), "inbound_message", ["content_hash"])


def _mail_attachment() -> None:
    op.create_table(
        "mail_attachment",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=200), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256"),
    )


def downgrade() -> None:
    op.drop_index("ix_case_contact_id", table_name="case")
    op.drop_index("ix_outbox_message_id", table_name="outbox")
    op.drop_table("mail_attachment")
    op.drop_index(op.f("ix_inbound_message_content_hash"), table_name="inbound_message")
    op.drop_index(op.f("ix_inbound_message_case_id"), table_name="inbound_message")
    op.drop_index("ix_inbound_outcome_id", table_name="inbound_message")
    op.drop_index("ix_inbound_from_received", table_name="inbound_message")
    op.drop_table("inbound_message")
