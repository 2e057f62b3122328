"""`deskconsole case edit|tag|split`: change a case's fields and tags, split a message out.

    case edit ID [--title T] [--contact EMAIL] [--area AREA] [--severity S] [--priority P]
                 [--tag X ...] [--untag X ...] [--expect-version N] [--json]
    case tag ID [--add X ...] [--remove X ...] [--expect-version N] [--json]
    case split ID --event EVENT_ID [--title T] [--json]

An empty --contact or --area clears it. Each command is one action of the service
(Service.edit_case, Service.split): refused whole, with one `error:` line, or done whole.
"""

from __future__ import annotations

import argparse
from typing import Any

from deskconsole.cli.common import Command, Context, case_id, done
from deskconsole.domain.errors import InvalidInput
from deskconsole.domain.lifecycle import Priority, Severity

_MODULE = "editing"


def add_edit_commands(case: Any, version_and_json: Any) -> None:
    """Add edit, tag and split to the `case` group."""
    p = case.leaf("edit", Command(_MODULE, "cmd_case_edit"),
                  "change a case's title, contact, product area, severity, priority or tags (one action)")
    p.add_argument("id", type=case_id)
    p.add_argument("--title")
    p.add_argument("--contact", metavar="EMAIL", help="the customer's e-mail address ('' clears it)")
    p.add_argument("--area", dest="product_area", metavar="AREA", help="the product area ('' clears it)")
    p.add_argument("--severity", choices=[s.value for s in Severity])
    p.add_argument("--priority", choices=[p.value for p in Priority])
    p.add_argument("--tag", action="append", default=[], metavar="TAG", help="add a tag (repeatable; a,b adds both)")
    p.add_argument("--untag", action="append", default=[], metavar="TAG", help="remove a tag (repeatable)")
    version_and_json(p)
    p = case.leaf("tag", Command(_MODULE, "cmd_case_tag"), "add or remove a case's tags (tag:x in --filter finds them)")
    p.add_argument("id", type=case_id)
    p.add_argument("--add", action="append", default=[], metavar="TAG", help="add a tag (repeatable; a,b adds both)")
    p.add_argument("--remove", action="append", default=[], metavar="TAG", help="remove a tag (repeatable)")
    version_and_json(p)
    p = case.leaf("split", Command(_MODULE, "cmd_case_split"),
                  "split a customer's message out of a case into a new case of the same customer "
                  "(its mail thread follows); prints the new case")
    p.add_argument("id", type=case_id)
    p.add_argument("--event", type=_event_id, required=True, metavar="EVENT_ID",
                   help="the message's event id (case show --json lists them)")
    p.add_argument("--title", help="the new case's title (default: the mail's subject or the message's first words)")
    version_and_json(p)


def _event_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"an event id is a whole number, not {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"an event id is a whole number above 0, not {text!r}")
    return value


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
