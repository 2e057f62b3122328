"""`deskconsole db ...`: the database's schema version.
"""

from __future__ import annotations

from deskconsole.cli.common import Context


def _schema_line(current: str | None) -> str:
    from deskconsole.store.engine import HEAD_REVISION, REVISIONS

    if current == HEAD_REVISION:
        return f"schema version {current} (up to date)"
    if current is not None and current not in REVISIONS:
        return (f"schema version {current}; this deskconsole: {HEAD_REVISION} "
                "(the database is newer: upgrade deskconsole)")
    return (f"schema version {current or 'none (no deskconsole schema yet)'}; this deskconsole: {HEAD_REVISION} "
            "(any command upgrades it, or `deskconsole db upgrade`)")


def cmd_db_version(ctx: Context) -> int:
    from deskconsole.store.engine import schema_version

    engine = ctx.settings.make_engine()
    try:
        ctx.out.line(_schema_line(schema_version(engine)))
    finally:
        engine.dispose()
    return 0


def cmd_db_upgrade(ctx: Context) -> int:
    from deskconsole.store.engine import schema_version

    ctx.out.line(_schema_line(schema_version(ctx.service.engine)))
    return 0
