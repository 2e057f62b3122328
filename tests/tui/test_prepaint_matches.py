"""The terminal pre-paint (tui/prepaint.py) draws the queue before Textual loads; the console's
first frame then paints over it. The two must show the same screen: the same lines of text,
cell by cell, in the same colours, or the user sees the queue jump as the console takes over."""

from __future__ import annotations

from datetime import UTC

import pytest
from tuidesk import NOW, settle

from deskconsole.domain.saved_views import built_in
from deskconsole.tui.prepaint import frame_lines
from deskconsole.tui.queuespec import PAGE, first_query
from deskconsole.tui.textual_adapter import screen_strips


def textual_cells(app) -> list[list[tuple[str, tuple | None, tuple | None]]]:
    """Each line of the console's screen as (character, foreground, background) per cell."""
    lines = []
    for strip in screen_strips(app.screen):
        cells = []
        for segment in strip:
            style = segment.style
            fg = tuple(style.color.get_truecolor()) if style and style.color else None
            bg = tuple(style.bgcolor.get_truecolor()) if style and style.bgcolor else None
            for char in segment.text:
                cells.append((char, fg, bg))
        lines.append(cells)
    return lines


def prepaint_cells(lines) -> list[list[tuple[str, tuple | None, tuple | None]]]:
    return [[(char, how.fg, how.bg) for text, how in line for char in text] for line in lines]


@pytest.mark.parametrize(("user", "role"), [("alice", "analyst"), ("sam", "supervisor"), ("maria", "manager")])
@pytest.mark.parametrize("size", [(120, 40), (96, 24), (80, 24), (200, 60)])
async def test_the_pre_paint_shows_what_the_consoles_first_frame_shows(app_as, service, user, role, size):
    width, height = size
    query = first_query(role, user)
    rows = service.list_cases(**query)
    # (the console's first frame has the tabs without counts, as the pre-paint: compared here once counted)
    counts = service.view_counts(built_in(role), actor=user)
    painted = frame_lines(width=width, height=height, user=user, role=role, view=query["view"], sort=query["sort"],
                          rows=rows[:PAGE], now=NOW, tz=UTC, counts=counts)
    app = app_as(user)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        shown = textual_cells(app)
    ours = prepaint_cells(painted)
    assert len(ours) == len(shown) == height
    for y, (mine, theirs) in enumerate(zip(ours, shown, strict=True)):
        text_mine, text_theirs = "".join(c for c, _, _ in mine), "".join(c for c, _, _ in theirs)
        assert text_mine == text_theirs, f"line {y} text:\n pre-paint {text_mine!r}\n console   {text_theirs!r}"
    for y, (mine, theirs) in enumerate(zip(ours, shown, strict=True)):
        # (a blank cell shows only its background: the console leaves its foreground unset)
        differ = [(x, m, t) for x, (m, t) in enumerate(zip(mine, theirs, strict=False))
                  if m[2] != t[2] or (m[0] != " " and m[1] != t[1])]
        assert not differ, f"line {y} colours differ at {len(differ)} cells, first {differ[:3]}"
