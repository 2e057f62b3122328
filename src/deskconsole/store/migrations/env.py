"""Alembic environment for deskconsole's schema.

deskconsole runs these migrations itself (deskconsole.store.engine.init_schema) on a connection
it has opened and locked; there is no alembic.ini. The connection arrives in
`config.attributes["connection"]`, already inside the transaction that the migration joins.
"""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import deskconsole.store.models  # noqa: F401  (registers the tables)

SEARCH_OBJECTS = ("case_fts", "ix_case_search")

connection = context.config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError("deskconsole's migrations run through deskconsole.store.engine.init_schema on a connection")



def include_name(name: str | None, type_: str, _parent: object) -> bool:
    """The search index (0002) lives outside the models: autogenerate leaves it alone."""
    return not (name or "").startswith(SEARCH_OBJECTS)


context.configure(connection=connection, target_metadata=SQLModel.metadata, compare_type=True,
                  include_name=include_name)
with context.begin_transaction():
    context.run_migrations()
