"""`deskconsole outbox list` and `deskconsole deliver`: what was queued, and sending it.
"""

from __future__ import annotations

from deskconsole.cli.common import MAX_ID, Context, when
from deskconsole.delivery.cli import run_deliver


def cmd_outbox_list(ctx: Context) -> int:
    a = ctx.args
    if a.case is not None and not 0 < a.case <= MAX_ID:
        rows = []
    else:
        rows = ctx.service.list_outbox(case_id=a.case, limit=a.limit, rendered=True)
    if a.json:
        ctx.out.json([o.to_json() for o in rows])
        return 0
    ctx.out.table(
        ["ID", "CASE", "KIND", "TO", "CREATED", "STATE", "TRIES", "SUBJECT / LAST ERROR"],
        [[o.id, o.case, o.kind, o.to, when(o.created_at), o.state, o.attempts,
          o.last_error if o.state == "failed" and o.last_error else o.subject] for o in rows],
        widths={3: 32, 7: 80},
    )
    return 0


def cmd_deliver(ctx: Context) -> int:
    return run_deliver(ctx.args, ctx.service)
