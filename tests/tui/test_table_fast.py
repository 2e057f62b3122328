"""KeyedTable draws its cells itself (fast) and must show exactly what DataTable would.

Each test renders the same table twice: with KeyedTable's drawing, and with DataTable's own
drawing code (the instance's class switched to `DataTableDrawn`, which puts DataTable's
methods back), and compares the segments: text, styles and the row/column meta that mouse
clicks use. The cells are hostile (markup, escapes, control characters), wide (CJK, emoji),
styled with spans, cut off, empty; the cursor and the mouse hover sit on rows.
"""

from __future__ import annotations

import random

import pytest
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import App, ComposeResult
from textual.coordinate import Coordinate
from textual.geometry import Region
from textual.widgets import DataTable

import deskconsole.tui.textual_adapter as adapter
from deskconsole.tui.text import cell
from deskconsole.tui.textual_adapter import datatable_drawn, forget_drawn, render_cell, set_hover_cursor
from deskconsole.tui.widgets.table import KeyedTable

COLUMNS = [("id", "Case", 6), ("p", "P", 1), ("title", "Title [b]x[/b]", 14), ("who", "顧客", 5), ("next", "Next", 9)]
HOSTILE = [
    "[bold red]x[/] [link=http://evil.example]y[/link] [/]",
    "\x1b[31mred\x1b[0m \x1b]0;title\x07",
    "tab\there\r\nnew\bline\x7f",
    "\u202eevil\u202c\u2028end \u200b",
    "顧客サポート窓口の山田さん",
    "😀👍🏽 emoji 👨‍👩‍👧 family",
    "e\u0301 ﾊﾝｶｸ …",
    "",
    " ",
    "a" * 40,
]
STYLES = ["", "bold", "bold red", "on blue", "reverse", "dim italic", "bold white on red", Style(color="green")]


# The same table drawn by DataTable's own code.
DataTableDrawn = datatable_drawn(KeyedTable)


class Tables(App):
    CSS = "KeyedTable { height: 1fr; }"

    def __init__(self) -> None:
        super().__init__()
        self.selected: list[str] = []

    def compose(self) -> ComposeResult:
        yield KeyedTable(COLUMNS, id="table")

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.selected.append(event.row_key.value)


def random_text(rng: random.Random) -> Text:
    words = HOSTILE + ["login", "billing 42", "界", "😀", "x"]
    text = Text(
        "".join(rng.choice(words) for _ in range(rng.randint(0, 3))),
        style=rng.choice(STYLES),
        no_wrap=rng.choice([None, True, True, False]),
        end=rng.choice(["", "\n"]),
        overflow=rng.choice([None, None, "ellipsis", "crop", "fold"]),
        justify=rng.choice([None, None, "left", "right"]),
    )
    for _ in range(rng.randint(0, 3)):
        start = rng.randint(0, len(text) + 2)
        text.stylize(rng.choice(STYLES[1:]), start, rng.randint(start, len(text) + 4))
    return text


def queue_like(n: int) -> dict[str, Text | str]:
    """Cells the way the panes build them: literal customer text, styled labels."""
    return {
        "id": Text(str(n), style="bold"),
        "p": Text("P1", style="bold white on red", no_wrap=True),
        "title": cell(HOSTILE[n % len(HOSTILE)]),
        "who": cell(HOSTILE[(n * 7) % len(HOSTILE)], "dim"),
        "next": Text("in 3h 12m", style="bold red", no_wrap=True),
    }


def screen(table: KeyedTable) -> list[list[Segment]]:
    """Every line of the table as drawn now (as the screen asks for them), with nothing cached."""
    forget_drawn(table)
    return [list(strip) for strip in table.render_lines(Region(0, 0, table.size.width, table.size.height))]


def drawn_by_datatable(table: KeyedTable) -> list[list[Segment]]:
    table.__class__ = DataTableDrawn
    try:
        return screen(table)
    finally:
        table.__class__ = KeyedTable


def assert_same_screen(table: KeyedTable) -> None:
    ours = screen(table)
    theirs = drawn_by_datatable(table)
    assert len(ours) == len(theirs) == table.size.height
    for y, (mine, want) in enumerate(zip(ours, theirs, strict=True)):
        assert mine == want, f"line {y} differs"
        assert [s.style.meta if s.style else {} for s in mine] == [s.style.meta if s.style else {} for s in want]


async def test_queue_cells_are_drawn_fast_and_look_as_datatable_draws_them() -> None:
    app = Tables()
    async with app.run_test(size=(60, 16)) as pilot:
        table = app.query_one(KeyedTable)
        table.sync([(str(n), queue_like(n)) for n in range(30)])
        table.focus()
        await pilot.pause()
        widths = [column.get_render_width(table) for column in table.ordered_columns]
        for row in (-1, 0, 5):
            for column, width in enumerate(widths):
                assert table._render_cell_fast(row, column, Style(), width, False, False) is not None
        assert_same_screen(table)
        table.move_cursor(row=4)
        table.hover_coordinate = Coordinate(7, 2)
        set_hover_cursor(table, True)
        await pilot.pause()
        assert_same_screen(table)
        table.blur()
        table.zebra_stripes = True
        await pilot.pause()
        assert_same_screen(table)
        shown = "\n".join("".join(s.text for s in line) for line in screen(table))
        assert "[bold red]x[/" in shown  # markup stays literal (the narrow column ends it in …)
        assert "\\x1b[31mred" in shown  # escapes shown, not sent
        assert "\x1b" not in shown and "\x07" not in shown


async def test_a_table_keeps_a_few_screens_drawn_and_draws_the_same_after_it_let_go() -> None:
    """Scrolled through many more rows than it keeps, a table holds at most LINES_KEPT drawn lines
    and rows and CELLS_KEPT drawn cells (the console's memory: DataTable kept 1,000 lines for cursor
    places long left), and what it draws once those were let go is still what DataTable draws."""
    app = Tables()
    async with app.run_test(size=(60, 16)) as pilot:
        table = app.query_one(KeyedTable)
        rows = 600  # 3,000 cells, each drawn with the cursor on it and without: the caches fill and empty
        table.sync([(str(n), queue_like(n)) for n in range(rows)])
        table.focus()
        region = Region(0, 0, table.size.width, table.size.height)
        for row in range(0, rows, 3):
            table.move_cursor(row=row)
            await pilot.pause()
            table.render_lines(region)
            assert len(table._line_cache) <= adapter.LINES_KEPT
            assert len(table._row_render_cache) <= adapter.LINES_KEPT
            assert len(table._drawn) <= adapter.CELLS_KEPT
        assert table.cursor_row == rows - 3
        kept = [list(strip) for strip in table.render_lines(region)]  # (from what it kept, not redrawn)
        assert kept == drawn_by_datatable(table)
        assert any(str(rows - 3) in "".join(s.text for s in line) for line in kept)


@pytest.mark.parametrize("seed", range(6))
async def test_any_text_cell_looks_as_datatable_draws_it(seed: int) -> None:
    rng = random.Random(seed)
    app = Tables()
    async with app.run_test(size=(64, 14)) as pilot:
        table = app.query_one(KeyedTable)
        table.sync([(str(n), {key: random_text(rng) for key, _, _ in COLUMNS}) for n in range(20)])
        table.cell_padding = seed % 3
        table.fixed_rows = seed % 2
        table.zebra_stripes = seed % 3 == 1
        if seed % 2:
            table.focus()
        if seed == 4:
            table.cursor_foreground_priority = "renderable"
            table.cursor_background_priority = "css"
        await pilot.pause()
        table.move_cursor(row=rng.randrange(20))
        table.hover_coordinate = Coordinate(rng.randrange(20), 1)
        set_hover_cursor(table, bool(seed % 2))
        await pilot.pause()
        assert_same_screen(table)
        table.scroll_to(y=5, animate=False)
        await pilot.pause()
        assert_same_screen(table)
        # every cell alone, in every cursor/hover state, against DataTable's _render_cell
        for row in range(-1, 8):
            for column, width in enumerate(column.get_render_width(table) for column in table.ordered_columns):
                for cursor in (False, True):
                    for hover in (False, True):
                        base = rng.choice([Style(), table.rich_style, Style(bgcolor="red")])
                        assert render_cell(table, row, column, base, width, cursor, hover) == render_cell(
                            table, row, column, base, width, cursor, hover, by_datatable=True
                        )


async def test_other_cursors_and_fixed_columns_are_left_to_datatable() -> None:
    app = Tables()
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(KeyedTable)
        table.sync([(str(n), queue_like(n)) for n in range(10)])
        table.cursor_type = "cell"
        await pilot.pause()
        table.move_cursor(row=2, column=2)
        await pilot.pause()
        assert_same_screen(table)
        table.cursor_type = "row"
        table.fixed_columns = 1
        await pilot.pause()
        assert_same_screen(table)


async def test_a_changed_cell_redraws_that_cell_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """A countdown ticking in one cell leaves the other drawn cells as they were."""
    app = Tables()
    async with app.run_test(size=(60, 16)) as pilot:
        table = app.query_one(KeyedTable)
        table.sync([(str(n), queue_like(n)) for n in range(12)])
        await pilot.pause()
        screen(table)
        drawn: list[str] = []
        draw = adapter.draw_line
        monkeypatch.setattr(adapter, "draw_line",
                            lambda console, text, *a: drawn.append(text.plain) or draw(console, text, *a))
        table.set_cell("3", "next", Text("in 3h 11m", style="bold red", no_wrap=True))
        await pilot.pause()
        lines = screen(table)
        assert drawn == ["in 3h 11m"]
        assert "in 3h 11m" in "".join(s.text for s in lines[4])
        assert lines == drawn_by_datatable(table)


async def test_a_click_on_a_row_selects_it() -> None:
    app = Tables()
    async with app.run_test(size=(60, 16)) as pilot:
        table = app.query_one(KeyedTable)
        table.sync([(str(n), queue_like(n)) for n in range(12)])
        await pilot.pause()
        assert table.cursor_row == 0
        await pilot.click(KeyedTable, offset=(10, 6))  # the header, then row 0 on line 1: line 6 is row 5
        await pilot.pause()
        assert table.selected_key == "5"
        assert app.selected == []  # the first click moves the cursor there
        await pilot.click(KeyedTable, offset=(10, 6))
        await pilot.pause()
        assert app.selected == ["5"]  # a click on the cursor selects its row
        await pilot.click(KeyedTable, offset=(58, 3))  # right of the last column
        await pilot.pause()
        assert table.selected_key == "2"


async def test_cells_that_are_not_text_look_as_datatable_draws_them() -> None:
    """Strings, numbers, empty Text and None go through DataTable's own formatting."""
    app = Tables()
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(KeyedTable)
        values = ["plain", 42, 3.14159, Text(""), None, "[b]bold[/b] x", Text("ok", style="bold")]
        table.sync([(str(n), {key: values[(n + i) % len(values)] for i, (key, _, _) in enumerate(COLUMNS)})
                    for n in range(10)])
        await pilot.pause()
        table.move_cursor(row=3)
        await pilot.pause()
        assert_same_screen(table)
