"""The top line of every pane, without Textual: the panes' header widget (DeskHeader) and the
terminal pre-paint (deskconsole.tui.prepaint) draw it with the same code."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from deskconsole.tui.panes import PANES
from deskconsole.tui.text import clean

PANE_TITLES = [(p.name, p.header_title) for p in PANES if p.in_header]  # "1 Queue", ... (tui/panes.py)


def header_line(pane: str, user: str, role: str, now: datetime, width: int, down: datetime | None = None) -> Text:
    """`deskconsole │ 1 Queue  2 Case … │ alice · analyst │ 2026-11-25 09:00` for a screen `width`
    wide, `now` in the console's time zone; `down`: since when the database is unreachable."""
    right = Text()
    right.append(clean(user, single_line=True), "bold")
    right.append(f" · {clean(role, single_line=True)}  ")
    right.append(now.strftime("%Y-%m-%d %H:%M:%S %Z"), "dim")
    right.append(" ")
    width = max(width, 100)
    if down is not None:
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(" deskconsole ", "bold reverse")
        line.append("  ")
        line.append(f" database unreachable since {down:%H:%M:%S} — retrying ", "bold white on red")
    else:
        line = _panes(pane, roomy=True)
        if line.cell_len + 1 + right.cell_len > width:
            line = _panes(pane, roomy=False)  # one space between the pane names instead of two
    line.append(" " * max(1, width - line.cell_len - right.cell_len))
    line.append_text(right)
    return line


def _panes(pane: str, *, roomy: bool) -> Text:
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append(" deskconsole ", "bold reverse")
    line.append("  " if roomy else " ")
    for name, title in PANE_TITLES:
        style = "bold underline" if name == pane else "dim"
        if roomy:
            line.append(f" {title} ", style)
        else:
            line.append(" ")
            line.append(title, style)
    return line


__all__ = ["PANE_TITLES", "header_line"]
