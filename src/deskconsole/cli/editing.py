"""`deskconsole case edit|tag|split`: change a case's fields and tags, split a message out.

    case edit ID [--title T] [--contact EMAIL] [--area AREA] [--severity S] [--priority P]
                 [--tag X ...] [--untag X ...] [--expect-version N] [--json]
    case tag ID [--add X ...] [--remove X ...] [--expect-version N] [--json]
    case split ID --event EVENT_ID [--title T] [--json]

The parser's leaves are in cli/common.py (`_edit_commands`). An empty --contact or --area clears
it. Each command is one action of the service (Service.edit_case, Service.split): refused whole,
with one `error:` line, or done whole.
"""

from __future__ import annotations

from deskconsole.cli.common import Context, done
from deskconsole.domain.errors import InvalidInput


def cmd_case_edit(ctx: Context) -> int:
    a = ctx.args
    given = [a.title, a.contact, a.product_area, a.severity, a.priority]
    if all(v is None for v in given) and not a.tag and not a.untag:
        raise InvalidInput("case edit: say what to change (--title, --contact, --area, --severity, --priority, "
                           "--tag, --untag)")
    case = ctx.service.edit_case(a.id, actor=ctx.user, expected_version=a.expect_version, title=a.title,
                                 contact=a.contact, product_area=a.product_area, severity=a.severity,
                                 priority=a.priority, add_tags=a.tag, remove_tags=a.untag)
    return done(ctx, case)


def cmd_case_tag(ctx: Context) -> int:
    a = ctx.args
    if not a.add and not a.remove:
        raise InvalidInput("case tag: give --add TAG or --remove TAG")
    case = ctx.service.tag_case(a.id, add=a.add, remove=a.remove, actor=ctx.user, expected_version=a.expect_version)
    if not a.json:
        ctx.out.line(f"case {case.id} tags: {', '.join(case.tags) or 'none'}")
    return done(ctx, case)


def cmd_case_split(ctx: Context) -> int:
    a = ctx.args
    case = ctx.service.split(a.id, a.event, actor=ctx.user, title=a.title, expected_version=a.expect_version)
    return done(ctx, case, f"split out of case {a.id}:")
