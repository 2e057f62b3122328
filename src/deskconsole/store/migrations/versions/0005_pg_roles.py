"""0005: identity on PostgreSQL is the database login.

Both databases: `agent.login` (the PostgreSQL login linked to the agent, unique, NULL for
agents without one) and `event.login` (the login that wrote the event; NULL on SQLite, where
whoever can write the file holds the desk).

PostgreSQL only (deskconsole.store.identity.install): the functions that map a login to its
agent and role, a trigger that makes every event record the login that wrote it, row-level
security on every desk table, and the group roles `deskconsole_analyst`, `deskconsole_manager`,
`deskconsole_supervisor` with exactly the grants their actions need (the roles are created when
the migrating login may create roles; otherwise linking the first login creates them).

Revision ID: 0005
Revises: 0003 (to be chained after 0004 when that lands)
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    # (a database made before migrations by a newer create_all may have them already)
    present = sa.inspect(bind)
    if "login" not in {c["name"] for c in present.get_columns("agent")}:
        op.add_column("agent", sa.Column("login", sa.String(length=63), nullable=True))
    op.create_index("ix_agent_login", "agent", ["login"], unique=True, if_not_exists=True)
    if "login" not in {c["name"] for c in present.get_columns("event")}:
        op.add_column("event", sa.Column("login", sa.String(length=63), nullable=True))
    if bind.dialect.name == "postgresql":
        from deskconsole.store.identity import install

        install(bind)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        from deskconsole.store.identity import uninstall

        uninstall(bind)
    op.drop_column("event", "login")
    op.drop_index("ix_agent_login", table_name="agent")
    op.drop_column("agent", "login")
