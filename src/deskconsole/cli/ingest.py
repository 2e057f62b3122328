"""`deskconsole ingest`: outside events (JSON Lines) applied.
"""

from __future__ import annotations

from deskconsole.cli.common import Context


def cmd_ingest(ctx: Context) -> int:
    import gc

    from deskconsole.ingest import ingest_file

    ctx.settings.bulk_writes = True  # (before the service is made: SQLite's bulk settings, store/engine.py)
    service = ctx.service
    # Each line makes many short-lived objects and hardly any cycle: the collector's frequent
    # passes over everything loaded at start cost about 2 % of a long run. What is loaded now is
    # left out of them, and a pass waits for ten times as many new objects.
    gc.freeze()
    gc.set_threshold(7000, 10, 10)
    return ingest_file(service, ctx.args.file, ctx.out, restart=ctx.args.restart)
