"""The top line of every pane, without Textual: the panes' header widget (DeskHeader) and the
terminal pre-paint (deskconsole.tui.prepaint) draw it with the same code."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from deskconsole.tui.panes import PANES
from deskconsole.tui.text import clean

PANE_TITLES = [(p.name, p.header_title) for p in PANES if p.in_header]  # "1 Queue", ... (tui/panes.py)
PANE_HEADS = [(p.name, p.header_title) for p in PANES]


def header_line(pane: str, user: str, role: str, now: datetime, width: int, down: datetime | None = None) -> Text:
    """`deskconsole │ 1 Queue  2 Case … │ alice · analyst │ 2026-11-25 09:00` for a screen `width`
    wide, `now` in the console's time zone; `down`: since when the database is unreachable.

    A narrow screen keeps who you are and the pane you are in: first the pane names close up,
    then the time loses its date, the other panes keep only their numbers, the time goes, and
    last the name deskconsole."""
    who = Text()
    who.append(clean(user, single_line=True), "bold")
    who.append(f" · {clean(role, single_line=True)} ")
    rights = [
        _right(who, now.strftime("%Y-%m-%d %H:%M:%S %Z")),
        _right(who, now.strftime("%H:%M")),
        _right(who, None),
    ]
    if down is not None:
        banner = Text(no_wrap=True, overflow="ellipsis")
        banner.append(" deskconsole ", "bold reverse")
        banner.append("  ")
        banner.append(f" database unreachable since {down:%H:%M:%S} — retrying ", "bold white on red")
        lefts = [banner]
    else:
        lefts = [_panes(pane, "roomy"), _panes(pane, "close"), _panes(pane, "numbers"),
                 _panes(pane, "numbers", brand=False)]
    # (left, right) from the fullest: the first pair that fits
    pairs = [(lefts[0], rights[0]), *((left, right) for left in lefts[1:] for right in rights[:2]),
             *((left, rights[2]) for left in lefts[1:])]
    if down is not None:
        pairs = [(lefts[0], right) for right in rights]
    left, right = next(((lt, rt) for lt, rt in pairs if lt.cell_len + 1 + rt.cell_len <= width), pairs[-1])
    line = left.copy()
    line.append(" " * max(1, width - line.cell_len - right.cell_len))
    line.append_text(right)
    return line


def _right(who: Text, when: str | None) -> Text:
    right = who.copy()
    if when is not None:
        right.append(" ")
        right.append(when, "dim")
        right.append(" ")
    return right


def _panes(pane: str, how: str, *, brand: bool = True) -> Text:
    """The pane list: `roomy` (two spaces between), `close` (one), `numbers` (the others' numbers only)."""
    line = Text(no_wrap=True, overflow="ellipsis")
    if brand:
        line.append(" deskconsole ", "bold reverse")
        line.append("  " if how == "roomy" else " ")
    for name, title in PANE_TITLES:
        style = "bold underline" if name == pane else "dim"
        if how == "roomy":
            line.append(f" {title} ", style)
            continue
        line.append(" ")
        line.append(title if how == "close" or name == pane else title.split(" ")[0], style)
    if pane not in {name for name, _ in PANE_TITLES}:  # a pane for some roles only (not listed): named here
        current = next((t for n, t in PANE_HEADS if n == pane), None)
        if current:
            line.append("  ")
            line.append(current, "bold underline")
    return line


__all__ = ["PANE_TITLES", "header_line"]
