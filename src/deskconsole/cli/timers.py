"""`deskconsole tick` and `deskconsole timers list`: firing due timers, the countdowns.
"""

from __future__ import annotations

from deskconsole.cli.common import Context, when
from deskconsole.domain.clock import format_countdown


def cmd_tick(ctx: Context) -> int:
    def committed(fired: list) -> None:  # printed as each transaction commits: exactly what is stored
        for one in fired:
            ctx.out.json(one.to_json())
        ctx.out.out.flush()

    ctx.service.tick(on_fired=committed)
    return 0


def cmd_timers_list(ctx: Context) -> int:
    a = ctx.args
    rows = ctx.service.running_timers(kind=a.kind, limit=a.limit)
    if a.json:
        ctx.out.json([t.to_json() for t in rows])
        return 0
    now = ctx.service.now()
    ctx.out.table(
        ["CASE", "TIMER", "DUE", "LEFT", "STATUS", "ASSIGNEE", "TITLE"],
        [[t.case, t.kind, when(t.due), format_countdown(t.due - now),
          (t.case_status or "") + (f"/{t.case_sub_status}" if t.case_sub_status else ""), t.assignee, t.case_title]
         for t in rows],
        widths={6: 60},
    )
    return 0
