"""The one place deskconsole touches Textual's private names.

The rest of the console uses Textual's public API only. What is here could not be done as fast
(or at all) through it: drawing a million-case queue's window at key speed (`j` <= 16 ms,
`]` <= 50 ms), not restyling a pane twice when it first shows, and not rebuilding the footer a
dozen times while the console starts. Every private name used is listed in `RELIED_ON`
(tui/textual_private.py, a plain list that touches nothing) with why it is needed and what is
assumed of it; tests/tui/test_textual_adapter.py checks each
assumption against the installed Textual, so an upgrade that breaks one fails there, by name,
before it can show up as a wrong or slow screen.

What lives here:
  mark_styles_current(screen)  a new pane is styled once, by the stylesheet as it stands
  footer_ready(footer)         whether Textual's Footer would compose its keys now
  FastDataTable                a DataTable that draws one-line Text cells itself (the same segments
                               DataTable draws) and adds, removes and reorders many rows at once
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Sequence
from functools import cached_property
from itertools import chain
from typing import Any

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual._context import NoActiveAppError  # private: see RELIED_ON
from textual._two_way_dict import TwoWayDict  # private: see RELIED_ON
from textual.coordinate import Coordinate
from textual.geometry import Region
from textual.screen import Screen
from textual.strip import Strip
from textual.widgets import DataTable, Footer
from textual.widgets._data_table import RowRenderables, default_cell_formatter  # private: see RELIED_ON
from textual.widgets.data_table import CellKey, Column, DuplicateKey, Row, RowKey

from deskconsole.tui.textual_private import RELIED_ON, Private
from deskconsole.tui.widgets.celldraw import draw_line, join_simplified


# ------------------------------------------------------------------ styles and footer
def mark_styles_current(screen: Screen) -> None:
    """Tell Textual that `screen`, made now, is styled by the stylesheet as it stands.

    App._css_update_count / Screen._css_update_count: Textual's switch_mode takes a screen it has
    not seen for one whose styles are out of date and refreshes the whole CSS for it, twice: every
    stylesheet parsed again and every widget restyled, ~30 ms at each pane's first showing (the
    queue's at the start included). A later change of theme or CSS still refreshes the screen.
    Made outside a running console (NoActiveAppError), Textual's default stands."""
    try:
        screen._css_update_count = screen.app._css_update_count
    except NoActiveAppError:
        pass


def footer_ready(footer: Footer) -> bool:
    """Footer._bindings_ready: whether Textual's Footer.compose would show keys now."""
    return bool(footer._bindings_ready)


# ------------------------------------------------------------------ the fast table
_EMPTY = Text(no_wrap=True, end="")  # what DataTable shows for an empty or None cell


LINES_KEPT = 128  # drawn lines and rows a table keeps (see FastDataTable.__init__)
CELLS_KEPT = 1024  # drawn cells a table keeps by what they show (a screen of the queue shows ~400)


class FastDataTable(DataTable):
    """A DataTable that draws one-line Text cells itself and changes many rows at once.

    DataTable draws each cell through Rich's general machinery (Styled(Padding(cell)) and
    console.render_lines), about half a millisecond a cell, and forgets every drawn cell when
    any cell changes. For the one-line Text cells every pane shows, `_render_cell` below
    produces the very same segments directly (celldraw.draw_line: the same Rich functions, in
    the same order), and keeps them by what they show. Rows of such cells are put together
    with what DataTable reads once per repaint (`_Frame`) instead of once per cell. Anything
    else (wrapping, tabs, several lines, other justification or renderables, row labels, fixed
    columns, a cell or column cursor) goes to DataTable's own code.

    Public additions: append_rows, remove_rows and order_rows (many rows in one pass).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._columns_key: tuple[int, int, int] | None = None
        self._ordered_columns: list[Column] = []
        self._frame_now: _Frame | None = None
        self._in_repaint = False
        super().__init__(*args, **kwargs)
        # Drawn cells by what they show (text, styles, width, place), not by DataTable's update
        # count, so a countdown changing one cell leaves the other cells drawn.
        self._drawn: dict[tuple, tuple[list[Segment], list[Segment]]] = {}
        self._simple_rows: dict[int, tuple[list[list[Segment]], list[list[Segment]]]] = {}
        self._place_styles: dict[tuple, Style] = {}
        self._row_styles: dict[tuple, list[Style]] = {}
        # DataTable keeps 1,000 drawn lines and rows, keyed by the cursor's place among the rest:
        # once the cursor moves, nearly all of them are for a place it has left. A few screens' worth
        # serve as well and hold megabytes less (the console's memory).
        self._line_cache.maxsize = self._row_render_cache.maxsize = LINES_KEPT

    # ------------------------------------------------------------ rows in bulk
    def append_rows(self, rows: Sequence[tuple[str, Sequence[Any]]]) -> None:
        """Add rows (key, cells in column order) at the end, as add_row does for each (one line
        high, no label), with the cursor checked, the caches dropped and an idle pass asked for
        once instead of once per row."""
        if not rows:
            return
        column_keys = [column.key for column in self.ordered_columns]
        was_empty = self.row_count == 0
        row_index = self.row_count
        locations = self._row_locations
        for key, cells in rows:
            row_key = RowKey(key)
            if row_key in locations:
                raise DuplicateKey(f"The row key {row_key!r} already exists.")
            locations[row_key] = row_index
            row_index += 1
            self._data[row_key] = dict(zip(column_keys, cells, strict=False))
            self.rows[row_key] = Row(row_key, 1)
            self._new_rows.add(row_key)
        self._require_update_dimensions = True
        self.cursor_coordinate = self.cursor_coordinate
        if was_empty and self.columns and self.show_cursor and self.cursor_type != "none":
            self._highlight_cursor()  # a cursor has a row to be on now
        self._update_count += 1
        self.check_idle()

    def remove_rows(self, keys: Iterable[str]) -> None:
        """Remove several rows with one renumbering (DataTable.remove_row renumbers per row);
        order_rows must follow, as it gives the remaining rows their places."""
        for key in keys:
            row_key = RowKey(key)
            for column_key in self._data.get(row_key, {}):
                self._updated_cells.discard(CellKey(row_key, column_key))
            self.rows.pop(row_key, None)
            self._data.pop(row_key, None)
        self._require_update_dimensions = True
        self.check_idle()

    def order_rows(self, position: dict[str, int]) -> None:
        """Put the rows in the order of `position` (row key -> place; others last)."""
        ordered = sorted(self._data, key=lambda row_key: position.get(row_key.value, 1 << 30))
        self._row_locations = TwoWayDict({row_key: index for index, row_key in enumerate(ordered)})
        self.cursor_coordinate = self.cursor_coordinate  # still on a row after removals
        self._update_count += 1
        self.refresh(layout=True)

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        """DataTable's, without measuring new cells when no column is sized by its content and
        every row is one line (new rows change only the height)."""
        columns = self.columns
        if columns and not any(column.auto_width for column in columns.values()):
            new_rows = ()
        super()._update_dimensions(new_rows)

    # ------------------------------------------------------------ drawing
    @property
    def ordered_columns(self) -> list[Column]:
        # Asked for several times per drawn line; the columns change only when added or removed.
        locations = self._column_locations
        key = (id(locations), len(locations), len(self.columns))
        if self._columns_key != key:
            self._ordered_columns = [self.columns[locations.get_key(i)] for i in range(len(self.columns))]
            self._columns_key = key
        return self._ordered_columns

    def render_lines(self, crop: Region) -> list[Strip]:
        self._frame_now = None
        self._in_repaint = True
        try:
            return super().render_lines(crop)
        finally:
            self._in_repaint = False
            self._frame_now = None

    def render_line(self, y: int) -> Strip:
        frame = self._frame()
        scroll_x, scroll_y = frame.scroll
        if y >= frame.fixed_rows_height:
            y += scroll_y
        return self._render_line(y, scroll_x, scroll_x + frame.width, frame.base_style)

    def _render_line(self, y: int, x1: int, x2: int, base_style: Style) -> Strip:
        """DataTable._render_line, with rows of simple cells joined from their drawn pieces."""
        frame = self._frame()
        if frame.cursor_type != "row" or frame.fixed_columns or frame.row_labels:
            return super()._render_line(y, x1, x2, base_style)
        width = frame.width
        try:
            row_key, y_offset_in_row = self._get_offsets(y)
        except LookupError:
            return Strip.blank(width, base_style)
        cursor, hover = frame.cursor_coordinate, frame.hover_coordinate
        cache_key = (
            y, x1, x2, width, cursor, hover, base_style, frame.cursor_type, frame.show_hover_cursor,
            self._update_count, self._pseudo_class_state,
        )
        strip = self._line_cache.get(cache_key)
        if strip is not None:
            return strip
        _, scrollable = self._render_line_in_row(row_key, y_offset_in_row, base_style, cursor, hover)
        simple = self._simple_rows.get(id(scrollable))
        if (
            simple is not None
            and simple[0] is scrollable
            and x1 == 0
            and x2 == width
            and frame.table_width <= width
            and scrollable[0]
            and scrollable[0][0].text
        ):
            # The cells are exactly as wide as their columns and the rest fills the widget, so
            # DataTable's crop changes nothing and its simplify joins only where two pieces meet.
            strip = Strip(join_simplified(simple[1]), width)
        else:
            strip = Strip(list(chain.from_iterable(scrollable))).crop(x1, x2)
            if strip.cell_length == width:  # as DataTable's Strip(...).adjust_cell_length(width).simplify()
                strip = strip.simplify()
            else:
                strip = strip.adjust_cell_length(width, base_style).simplify()
        self._line_cache[cache_key] = strip
        return strip

    def _compute_row_renderables(self, row_index: int) -> RowRenderables:
        """DataTable's, with a non-empty Text cell taken as it is (default_cell_formatter
        returns it unchanged) instead of asking default_cell_formatter for each cell."""
        if row_index == -1 or self._should_render_row_labels:
            return super()._compute_row_renderables(row_index)
        row_key = self._row_locations.get_key(row_index)
        row = self.rows.get(row_key) if row_key is not None else None
        if row is None or row_key not in self._data:
            return super()._compute_row_renderables(row_index)
        data = self._data[row_key]
        wrap = row.height != 1
        cells: list[Any] = []
        for column in self.ordered_columns:
            datum = data[column.key]
            if type(datum) is Text and datum:
                cells.append(datum)
            elif datum is None:
                cells.append(_EMPTY)
            else:
                cells.append(default_cell_formatter(datum, wrap=wrap, height=row.height) or _EMPTY)
        return RowRenderables(None, cells)

    def _frame(self) -> _Frame:
        frame = self._frame_now
        if frame is None:
            frame = _Frame(self)
            if self._in_repaint:
                self._frame_now = frame
        return frame

    def _render_line_in_row(
        self,
        row_key: RowKey,
        line_no: int,
        base_style: Style,
        cursor_location: Coordinate,
        hover_location: Coordinate,
    ) -> tuple[list[list[Segment]], list[list[Segment]]]:
        """DataTable's, with the row's styles worked out once for the row and cells drawn fast."""
        frame = self._frame()
        if frame.cursor_type != "row" or frame.fixed_columns or frame.row_labels or line_no:
            return super()._render_line_in_row(row_key, line_no, base_style, cursor_location, hover_location)
        cache_key = (
            row_key, line_no, base_style, cursor_location, hover_location, frame.cursor_type,
            frame.show_cursor, frame.show_hover_cursor, self._update_count, self._pseudo_class_state,
        )
        cached = self._row_render_cache.get(cache_key)
        if cached is not None:
            return cached
        row_index = self._row_locations.get(row_key) if row_key in self._row_locations else -1
        row_style = self._get_row_style(row_index, base_style)
        cursor = cursor_location.row == row_index
        hover = hover_location.row == row_index
        if row_index == -1:
            one_line = frame.header_height == 1
        else:
            row = self.rows.get(row_key)
            one_line = row is not None and row.height == 1 and not row.auto_height
        cells: Sequence[Any] = ()
        if one_line:
            # What DataTable works out for every cell, once for the row: a row cursor covers
            # every cell of its row alike.
            cells = self._get_row_renderables(row_index).cells
            component_style, post_style = self._get_styles_to_render_cell(
                row_index == -1, False, row_index != -1 and row_index < frame.fixed_rows, hover, cursor,
                frame.show_cursor, frame.show_hover_cursor, frame.css_foreground, frame.css_background,
            )
            pre_styles = self._pre_styles(row_style, component_style, row_index, len(frame.widths))
        scrollable = []
        simplified = []
        for column_index, width in enumerate(frame.widths):
            drawn = None
            if column_index < len(cells):
                drawn = self._cell_drawn(cells[column_index], width, frame, pre_styles[column_index], post_style)
            if drawn is None:
                line = self._render_cell(row_index, column_index, row_style, width, cursor, hover)[line_no]
                scrollable.append(line)
                simplified.append(list(Segment.simplify(line)))
            else:
                scrollable.append(drawn[0])
                simplified.append(drawn[1])
        # The rest of the line, as DataTable extends a row cursor's style to the widget's edge.
        extend_style, _ = self._get_styles_to_render_cell(
            row_index == -1, False, False, hover_location.row == (row_index or 0), cursor,
            frame.show_cursor, frame.show_hover_cursor, False, False,
        )
        place = (row_style, extend_style, row_index)
        extend = self._place_styles.get(place)
        if extend is None:
            extend = row_style + extend_style
            extend += Style.from_meta({"row": row_index, "column": 0, "out_of_bounds": True})
            self._keep(self._place_styles, place, extend)
        rest = [Segment(" " * max(0, frame.width - frame.table_width), extend)]
        scrollable.append(rest)
        simplified.append(rest)
        pair: tuple[list[list[Segment]], list[list[Segment]]] = ([], scrollable)
        self._row_render_cache[cache_key] = pair
        self._keep(self._simple_rows, id(scrollable), (scrollable, simplified), limit=LINES_KEPT)
        return pair

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> list[list[Segment]]:
        """DataTable's, with a one-line Text cell drawn directly."""
        line = self._render_cell_fast(row_index, column_index, base_style, width, cursor, hover)
        if line is None:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        return [line]

    def _render_cell_fast(
        self, row_index: int, column_index: int, base_style: Style, width: int, cursor: bool, hover: bool
    ) -> list[Segment] | None:
        """One cell as DataTable._render_cell draws it, or None where that is not a single Text line."""
        if column_index < 0:
            return None
        frame = self._frame()
        is_header = row_index == -1
        if is_header:
            if frame.header_height != 1:
                return None
        else:
            row = self.rows.get(self._row_locations.get_key(row_index))
            if row is None or row.auto_height or row.height != 1:
                return None
        cells = self._get_row_renderables(row_index).cells
        if column_index >= len(cells):
            return None
        component_style, post_style = self._get_styles_to_render_cell(
            is_header,
            False,
            not is_header and (row_index < frame.fixed_rows or column_index < frame.fixed_columns),
            hover,
            cursor,
            frame.show_cursor,
            frame.show_hover_cursor,
            frame.css_foreground,
            frame.css_background,
        )
        place = (base_style, row_index, column_index, component_style)
        pre_style = self._place_styles.get(place)
        if pre_style is None:
            pre_style = base_style + Style.from_meta({"row": row_index, "column": column_index})
            pre_style = pre_style + component_style
            self._keep(self._place_styles, place, pre_style)
        drawn = self._cell_drawn(cells[column_index], width, frame, pre_style, post_style)
        return None if drawn is None else drawn[0]

    def _pre_styles(self, row_style: Style, component_style: Style, row_index: int, count: int) -> list[Style]:
        """Each cell's style under its text (as DataTable's `pre_style`): the row's, the cell's
        place (for mouse clicks) and the cursor's."""
        key = (row_style, component_style, row_index, count)
        styles = self._row_styles.get(key)
        if styles is None:
            styles = [
                row_style + Style.from_meta({"row": row_index, "column": column_index}) + component_style
                for column_index in range(count)
            ]
            self._keep(self._row_styles, key, styles)
        return styles

    def _cell_drawn(
        self, cell: Any, width: int, frame: _Frame, pre_style: Style, post_style: Style
    ) -> tuple[list[Segment], list[Segment]] | None:
        """A single-line Text cell drawn (and the same segments simplified), or None for
        anything else (DataTable draws that)."""
        if type(cell) is not Text or cell.no_wrap is False or cell.end not in ("", "\n"):
            return None
        justify = cell.justify or "default"  # the app's console options set neither
        overflow = cell.overflow or "fold"
        if justify not in ("default", "left") or overflow == "ignore":
            return None
        padding = frame.padding
        plain = cell.plain
        if width - 2 * padding < 1 or "\n" in plain or "\t" in plain:
            return None
        spans = cell.spans
        key = (plain, cell.style, tuple(spans), justify, overflow, width, padding, pre_style, post_style)
        drawn = self._drawn.get(key)
        if drawn is None:
            line = draw_line(frame.console, cell, plain, justify, overflow, width, padding, pre_style, post_style)
            drawn = (line, list(Segment.simplify(line)))
            self._keep(self._drawn, key, drawn)
        return drawn

    @staticmethod
    def _keep(cache: dict, key: Any, value: Any, limit: int = CELLS_KEPT) -> None:
        if len(cache) >= limit:
            cache.clear()
        cache[key] = value


class _Frame:
    """What drawing a table reads from it, read once per repaint."""

    def __init__(self, table: FastDataTable) -> None:
        self.table = table
        self.width = table.size.width
        self.cursor_type = table.cursor_type
        self.cursor_coordinate = table.cursor_coordinate
        self.hover_coordinate = table.hover_coordinate
        self.show_cursor = table.show_cursor
        self.show_hover_cursor = table._show_hover_cursor
        self.css_foreground = table.cursor_foreground_priority == "css"
        self.css_background = table.cursor_background_priority == "css"
        self.fixed_rows = table.fixed_rows
        self.fixed_columns = table.fixed_columns
        self.row_labels = table._should_render_row_labels
        self.padding = table.cell_padding
        self.header_height = table.header_height
        self.widths = [column.get_render_width(table) for column in table.ordered_columns]
        self.table_width = sum(self.widths[self.fixed_columns:]) + table._row_label_column_width
        self.console = table.app.console

    # What only a whole line needs (render_line), read when a line is first drawn.
    @cached_property
    def base_style(self) -> Style:
        return self.table.rich_style

    @cached_property
    def scroll(self) -> tuple[int, int]:
        return tuple(self.table.scroll_offset)

    @cached_property
    def fixed_rows_height(self) -> int:
        table = self.table
        height = sum(table.get_row_height(table._row_locations.get_key(i)) for i in range(table.fixed_rows))
        if table.show_header:
            height += table.get_row_height(table._header_row_key)
        return height


# The methods FastDataTable draws with, for a test to put DataTable's own back and compare.
DRAWING_OVERRIDES = ("_render_cell", "_render_line_in_row", "_render_line", "render_line", "render_lines",
                     "ordered_columns")


def datatable_drawn(cls: type[FastDataTable]) -> type[FastDataTable]:
    """A subclass of `cls` that draws with DataTable's own code (tests compare the two)."""
    return type(f"{cls.__name__}DrawnByDataTable", (cls,),
                {name: inspect.getattr_static(DataTable, name) for name in DRAWING_OVERRIDES})


# ------------------------------------------------------------------ for tests
def forget_drawn(table: DataTable) -> None:
    """Drop every line, row and style DataTable keeps drawn (DataTable._clear_caches and
    Widget._styles_cache), so that the next render_lines draws everything again."""
    table._clear_caches()
    table._styles_cache.clear()


def screen_strips(screen: Screen) -> list[Strip]:
    """Every line the screen shows now, as segments (Screen._compositor.render_strips)."""
    return list(screen._compositor.render_strips())


def set_hover_cursor(table: DataTable, shown: bool) -> None:
    """DataTable._show_hover_cursor: whether the mouse hover is drawn (set by mouse moves)."""
    table._show_hover_cursor = shown


def render_cell(table: DataTable, row: int, column: int, base_style: Style, width: int, cursor: bool,
                hover: bool, *, by_datatable: bool = False) -> list[list[Segment]]:
    """One cell's lines as `table` draws it (DataTable._render_cell, or FastDataTable's override),
    or as DataTable's own code draws it (`by_datatable`)."""
    if by_datatable:
        return DataTable._render_cell(table, row, column, base_style, width, cursor, hover)
    return table._render_cell(row, column, base_style, width, cursor, hover)


__all__ = [
    "RELIED_ON",
    "FastDataTable",
    "Private",
    "datatable_drawn",
    "footer_ready",
    "forget_drawn",
    "mark_styles_current",
    "render_cell",
    "screen_strips",
    "set_hover_cursor",
]
