"""`deskconsole report backlog|csat` (and the output every `report` shares with `report sla`):
a table, `--json` (an array of objects) or `--csv` (a header line, then one line per row).

The parser is built in cli/common.py; the service computes the figures (service/insight.py,
service/sla.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deskconsole.cli.common import Context


def report_range(ctx: Context) -> tuple[datetime | None, datetime | None]:
    """--since D and --until D as [since, until): whole UTC days, the --until day included."""
    from datetime import UTC, timedelta

    a = ctx.args
    since = datetime.fromisoformat(a.since).replace(tzinfo=UTC) if a.since else None
    until = datetime.fromisoformat(a.until).replace(tzinfo=UTC) + timedelta(days=1) if a.until else None
    return since, until


def print_report(ctx: Context, rows: Sequence[dict[str, Any]], columns: Sequence[str], headers: Sequence[str],
                 shown: Callable[[dict[str, Any]], Sequence[object]]) -> int:
    """Rows as --json, --csv (the `columns` keys) or a table (`headers`, each row as `shown` writes it)."""
    a = ctx.args
    if a.json:
        ctx.out.json(list(rows))
    elif a.csv:
        import csv
        import io

        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([row[c] for c in columns] for row in rows)
        ctx.out.out.write(buffer.getvalue())
    else:
        ctx.out.table(headers, [shown(row) for row in rows])
    return 0


def cmd_report_backlog(ctx: Context) -> int:
    since, until = report_range(ctx)
    rows = ctx.service.backlog_report(since=since, until=until, by=ctx.args.by)
    return print_report(ctx, rows, ["group", "age", "open", "oldest"],
                        [(ctx.args.by or "desk").upper(), "AGE", "OPEN", "OLDEST"],
                        lambda r: [r["group"], r["age"], r["open"], r["oldest"]])


def cmd_report_csat(ctx: Context) -> int:
    since, until = report_range(ctx)
    rows = ctx.service.csat_report(since=since, until=until, by=ctx.args.by)
    return print_report(ctx, rows, ["week", "group", "answered", "average", "csat"],
                        ["WEEK", (ctx.args.by or "desk").upper(), "ANSWERED", "AVERAGE", "CSAT"],
                        lambda r: [r["week"], r["group"], r["answered"], f"{r['average']:.2f}", f"{r['csat']:g}%"])
