"""`deskconsole ingest`: outside events (JSON Lines) applied.
"""

from __future__ import annotations

from deskconsole.cli.common import Context


def cmd_ingest(ctx: Context) -> int:
    from deskconsole.ingest import ingest_file

    ctx.settings.bulk_writes = True  # (before the service is made: SQLite's bulk settings, store/engine.py)
    return ingest_file(ctx.service, ctx.args.file, ctx.out, restart=ctx.args.restart)
