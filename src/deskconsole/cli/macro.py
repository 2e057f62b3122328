"""`deskconsole macro ...` and `case macro`, `case undo`: the team's macros, and undoing a close.
"""

from __future__ import annotations

from pathlib import Path

from deskconsole.cli.common import Context, done, safe
from deskconsole.domain.errors import InvalidInput

MAX_MACRO_FILE = 4 * 1024 * 1024  # a macro file is text for people: far below this


def cmd_macro_load(ctx: Context) -> int:
    path = Path(ctx.args.file)
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_MACRO_FILE + 1)
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_MACRO_FILE:
        raise InvalidInput(f"{path} is larger than {MAX_MACRO_FILE // (1024 * 1024)} MB: not a macro file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path} is not UTF-8 text (byte {exc.start})") from None
    loaded = ctx.service.load_macros(text, actor=ctx.user)
    if ctx.args.json:
        ctx.out.json(loaded.to_json())
        return 0
    parts = [f"{len(loaded.added)} new", f"{len(loaded.replaced)} replaced"]
    if loaded.removed:
        parts.append(f"{len(loaded.removed)} removed ({', '.join(loaded.removed)})")
    ctx.out.line(f"loaded {len(loaded.macros)} macros: {', '.join(parts)}")
    return 0


def cmd_macro_list(ctx: Context) -> int:
    macros = ctx.service.list_macros()
    if ctx.args.json:
        ctx.out.json([m.to_json() for m in macros])
        return 0
    if not macros:
        ctx.out.line("no macros: a manager or supervisor loads them with 'deskconsole macro load FILE'")
        return 0
    ctx.out.table(["NAME", "DOES", "TEXT"],
                  [[m.name, m.describe(), safe(m.reply or m.note or "")] for m in macros], widths={2: 70})
    return 0


def cmd_case_macro(ctx: Context) -> int:
    a = ctx.args
    return done(ctx, ctx.service.apply_macro(a.id, a.name, actor=ctx.user, expected_version=a.expect_version))


def cmd_case_undo(ctx: Context) -> int:
    a = ctx.args
    return done(ctx, ctx.service.undo_close(a.id, actor=ctx.user, expected_version=a.expect_version))
