"""The queue's row of view tabs as a Text, without Textual: the queue screen (widgets/tabs.py)
and the terminal pre-paint (tui/prepaint.py) draw the same line from it.

    Mine 12 · Open 1,204 · Unassigned 40 · Breached 3 · Escalated 5 · All 10k+

The view in front is bold, in the key colour, and underlined; each count is the view's capped
count (domain/saved_views.py count_text: "10k+" is at least ten thousand; "…" not counted yet).
When the tabs do not fit, the row starts at a later tab (after a "‹") so that the one in front
shows, and a "›" says more follow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.text import Text

from deskconsole.domain.saved_views import View, count_text
from deskconsole.tui.text import cell

CURRENT = "bold underline #ffa62b"
NAME = ""
COUNT = "dim"
SEPARATOR = " · "
MAX_TAB_NAME = 32


def _tab(view: View, counts: Mapping[str, int] | None, current: bool) -> Text:
    tab = Text(no_wrap=True)
    tab.append_text(cell(view.name, CURRENT if current else NAME, limit=MAX_TAB_NAME))
    if counts is not None:
        tab.append(" ")
        tab.append(count_text(counts.get(view.name)), CURRENT if current else COUNT)
    return tab


def tab_line(views: Sequence[View], current: str, counts: Mapping[str, int] | None = None,
             width: int | None = None) -> Text:
    """The tab row for `views` with `current` in front; `counts` by view name (None: not counted
    yet, the counts are left out); `width`: the cells there are (None: no limit)."""
    tabs = [_tab(v, counts, v.name == current) for v in views]
    index = next((i for i, v in enumerate(views) if v.name == current), 0)
    start = 0
    if width is not None:
        # the first tab shown: as early as lets the current one fit
        while start < index and _width(tabs, start, index) > width - 2:
            start += 1
    line = Text(" ", no_wrap=True, overflow="crop", end="")
    if start:
        line.append("‹ ", "dim")
    for i, tab in enumerate(tabs[start:], start):
        if i > start:
            line.append(SEPARATOR, "dim")
        line.append_text(tab)
    if width is not None and line.cell_len > width:
        line.truncate(width - 1)
        line.append("›", "dim")
    return line


def _width(tabs: Sequence[Text], start: int, end: int) -> int:
    """Cells from tab `start` through tab `end`, with the lead-in."""
    return 3 + sum(t.cell_len for t in tabs[start:end + 1]) + len(SEPARATOR) * (end - start)


__all__ = ["tab_line"]
