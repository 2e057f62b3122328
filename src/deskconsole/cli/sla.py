"""`deskconsole sla load FILE` and `sla show [--json]`: the desk's calendars and service-level policies.

The parser is built in cli/common.py; the service does the work (service/sla.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deskconsole.cli.common import Context

MAX_FILE = 1_000_000  # characters: a policy file is a few dozen lines


def _read(path: str) -> str:
    import sys

    from deskconsole.domain.errors import InvalidInput

    try:
        if path == "-":
            text = sys.stdin.read(MAX_FILE + 1)
        else:
            with open(path, encoding="utf-8") as handle:
                text = handle.read(MAX_FILE + 1)
    except UnicodeDecodeError:
        raise InvalidInput(f"{path}: not UTF-8 text (a policy file is TOML)") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(text) > MAX_FILE:
        raise InvalidInput(f"{path}: too long for a policy file (more than {MAX_FILE:,} characters)")
    return text


def cmd_sla_load(ctx: Context) -> int:
    text = _read(ctx.args.file)
    loaded = ctx.service.load_sla(text, actor=ctx.user)
    desk = loaded.desk
    calendars = len(desk.calendars) - 1  # (24x7 is built in)
    ctx.out.line(f"loaded {calendars} calendar{'s' if calendars != 1 else ''} and "
                 f"{len(desk.policies)} polic{'ies' if len(desk.policies) != 1 else 'y'}; "
                 f"{loaded.moved} open case{'s' if loaded.moved != 1 else ''} moved to the new policies")
    return 0


def cmd_sla_show(ctx: Context) -> int:
    from deskconsole.cli.common import safe_block

    desk = ctx.service.sla_desk()
    if ctx.args.json:
        ctx.out.json({"loaded": desk is not None, **(desk.to_dict() if desk is not None else
                                                       {"warning": None, "calendars": {}, "policies": {}})})
        return 0
    if desk is None:
        ctx.out.line("no service-level policies loaded: cases have no targets (deskconsole sla load FILE)")
        return 0
    ctx.out.out.write(safe_block(desk.show()))
    return 0


def target_line(ctx: Context, state: dict[str, Any]) -> str:
    """One target of `case show`: its state, the business time used of its target, and for a
    running target when it is due with the time left."""
    from deskconsole.cli.common import countdown, when
    from deskconsole.domain.calendar import format_business_time
    from deskconsole.domain.clock import parse_time

    text = f"{state['state']} · {format_business_time(state['used'])} of {format_business_time(state['target'])} used"
    if state["due"] is not None:
        due = parse_time(state["due"])
        text += f" · due {countdown(ctx, due)}" if state["state"] == "running" else f" · at {when(due)}"
    return text


def cmd_report_sla(ctx: Context) -> int:
    from deskconsole.cli.report import print_report, report_range

    since, until = report_range(ctx)
    rows = ctx.service.sla_report(since=since, until=until, by=ctx.args.by)
    return print_report(ctx, rows, ["group", "target", "met", "breached", "compliance"],
                        [(ctx.args.by or "desk").upper(), "TARGET", "MET", "BREACHED", "COMPLIANCE"],
                        lambda r: [r["group"], r["target"], r["met"], r["breached"], f"{r['compliance']:g}%"])
