"""A DataTable whose rows are keyed (by case or timer id) and refreshed in place."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cached_property
from itertools import chain
from operator import itemgetter
from typing import Any

from rich.cells import cell_len, set_cell_size
from rich.control import strip_control_codes
from rich.segment import Segment
from rich.style import Style
from rich.text import Span, Text
from textual._segment_tools import line_crop
from textual._two_way_dict import TwoWayDict
from textual.coordinate import Coordinate
from textual.geometry import Region
from textual.strip import Strip, get_line_length
from textual.widgets import DataTable
from textual.widgets._data_table import _EMPTY_TEXT, RowRenderables, default_cell_formatter
from textual.widgets.data_table import CellKey, Column, DuplicateKey, Row, RowKey

from deskconsole.tui.format import same


class KeyedTable(DataTable):
    """`sync()` changes only the cells that changed, adds and removes rows, keeps the cursor on its row."""

    def __init__(self, columns: Sequence[tuple[str, str, int | None]], **kwargs: Any) -> None:
        kwargs.setdefault("cursor_type", "row")
        kwargs.setdefault("zebra_stripes", False)
        self._columns_key: tuple[int, int, int] | None = None
        self._ordered_columns: list[Column] = []
        self._frame_now: _Frame | None = None
        self._in_repaint = False
        super().__init__(**kwargs)
        self._columns_spec = list(columns)
        self._cells: dict[str, dict[str, Any]] = {}
        self._order: list[str] = []
        # Drawn cells by what they show (text, styles, width, place), not by DataTable's update
        # count, so a countdown changing one cell leaves the other cells drawn.
        self._drawn: dict[tuple, tuple[list[Segment], list[Segment]]] = {}
        self._simple_rows: dict[int, tuple[list[list[Segment]], list[list[Segment]]]] = {}
        self._place_styles: dict[tuple, Style] = {}
        self._row_styles: dict[tuple, list[Style]] = {}

    def on_mount(self) -> None:
        for key, label, width in self._columns_spec:
            self.add_column(label, key=key, width=width)

    @property
    def selected_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:
            return None

    def sync(self, rows: Sequence[tuple[str, dict[str, Any]]], *, to_top: bool = False) -> None:
        """Show exactly these rows, in this order, touching only what changed.

        The cursor stays on its row while that row is shown (a refresh of the same list);
        `to_top` puts it on the first row instead (another page, view or filter). When most
        rows are new (paging) the table is refilled in one go instead of row by row.
        """
        selected = None if to_top else self.selected_key
        wanted = [key for key, _ in rows]
        wanted_set = set(wanted)
        kept = [k for k in self._order if k in wanted_set]
        if len(kept) * 2 < len(wanted):
            self._refill(rows)
        else:
            gone = [k for k in self._order if k not in wanted_set]
            if gone:
                self._remove_rows(gone)
            added = False
            for key, cells in rows:
                old = self._cells.get(key)
                if old is None:
                    self.add_row(*(cells.get(c[0], "") for c in self._columns_spec), key=key)
                    added = True
                else:
                    for column, value in cells.items():
                        if not same(old.get(column), value):
                            self.update_cell(key, column, value)
                self._cells[key] = dict(cells)
            if added or gone or kept != wanted:
                self._sort_by_position({key: i for i, key in enumerate(wanted)})
        self._order = wanted
        if selected is not None and selected in wanted_set:
            self.move_cursor(row=self.get_row_index(selected), animate=False, scroll=True)
        elif to_top and self.row_count:
            self.move_cursor(row=0, column=0, animate=False, scroll=True)

    def _refill(self, rows: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Replace every row at once: one clear, the rows appended, one refresh."""
        row = self.cursor_row
        self.clear()
        self._append_rows(rows)
        self._cells = {key: dict(cells) for key, cells in rows}
        if rows:
            self.move_cursor(row=min(row, len(rows) - 1), animate=False, scroll=False)

    def _append_rows(self, rows: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """What add_row does for each row (one line high, no label), with the cursor checked,
        the caches dropped and an idle pass asked for once instead of once per row."""
        if not rows:
            return
        columns = [(column.key, spec[0]) for column, spec in zip(self.ordered_columns, self._columns_spec)]
        was_empty = self.row_count == 0
        row_index = self.row_count
        for key, cells in rows:
            row_key = RowKey(key)
            if row_key in self._row_locations:
                raise DuplicateKey(f"The row key {row_key!r} already exists.")
            self._row_locations[row_key] = row_index
            row_index += 1
            self._data[row_key] = {column_key: cells.get(name, "") for column_key, name in columns}
            self.rows[row_key] = Row(row_key, 1)
            self._new_rows.add(row_key)
        self._require_update_dimensions = True
        self.cursor_coordinate = self.cursor_coordinate
        if was_empty and self.columns and self.show_cursor and self.cursor_type != "none":
            self._highlight_cursor()  # a cursor has a row to be on now
        self._update_count += 1
        self.check_idle()

    def _remove_rows(self, keys: Sequence[str]) -> None:
        """Remove several rows with one renumbering (DataTable.remove_row renumbers per row)."""
        for key in keys:
            row_key = RowKey(key)
            for column_key in self._data.get(row_key, {}):
                self._updated_cells.discard(CellKey(row_key, column_key))
            self.rows.pop(row_key, None)
            self._data.pop(row_key, None)
            self._cells.pop(key, None)
        self._require_update_dimensions = True
        self.check_idle()

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        # Every column has a fixed width and every row one line: new rows change only the height,
        # so skip measuring each new cell (a page of 100 rows is 900 measurements).
        if self._columns_spec and all(width is not None for _, _, width in self._columns_spec):
            new_rows = ()
        super()._update_dimensions(new_rows)

    def _sort_by_position(self, position: dict[str, int]) -> None:
        # DataTable.sort() hands its key function the cells, not the row key; order by row key
        # the same way it does.
        ordered = sorted(self._data, key=lambda row_key: position.get(row_key.value, 1 << 30))
        self._row_locations = TwoWayDict({row_key: index for index, row_key in enumerate(ordered)})
        self.cursor_coordinate = self.cursor_coordinate  # still on a row after removals
        self._update_count += 1
        self.refresh(layout=True)

    def set_cell(self, key: str, column: str, value: Any) -> None:
        """Change one cell if it looks different (countdowns each second)."""
        cells = self._cells.get(key)
        if cells is None or same(cells.get(column), value):
            return
        cells[column] = value
        self.update_cell(key, column, value)

    def cells(self, key: str) -> dict[str, Any] | None:
        return self._cells.get(key)

    def keys(self) -> list[str]:
        return list(self._order)

    # ------------------------------------------------------------------ drawing
    # DataTable draws each cell through Rich's general machinery (Styled(Padding(cell)) and
    # console.render_lines), about half a millisecond a cell, and forgets every drawn cell when
    # any cell changes. For the one-line Text cells every pane shows, `_render_cell` below
    # produces the very same segments directly (the same Rich functions, in the same order:
    # Text.__rich_console__ with no_wrap, Padding, Styled, render_lines), and keeps them by
    # what they show. Rows of such cells are put together with what DataTable reads once per
    # repaint (`_Frame`) instead of once per cell. Anything else (wrapping, tabs, several
    # lines, other justification or renderables, row labels, fixed columns, a cell or column
    # cursor) goes to DataTable's own code.

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
            y,
            x1,
            x2,
            width,
            cursor,
            hover,
            base_style,
            frame.cursor_type,
            frame.show_hover_cursor,
            self._update_count,
            self._pseudo_class_state,
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
            strip = Strip(_join_simplified(simple[1]), width)
        else:
            segments = line_crop(list(chain.from_iterable(scrollable)), x1, x2, width)
            length = get_line_length(segments)
            if length == width:  # as DataTable's Strip(...).adjust_cell_length(width).simplify(), one Strip made
                strip = Strip(Segment.simplify(segments), width)
            else:
                strip = Strip(segments, length).adjust_cell_length(width, base_style).simplify()
        self._line_cache[cache_key] = strip
        return strip

    def _compute_row_renderables(self, row_index: int) -> RowRenderables:
        # DataTable's, with a non-empty Text cell taken as it is (default_cell_formatter
        # returns it unchanged) instead of asking default_cell_formatter for each cell.
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
                cells.append(_EMPTY_TEXT)
            else:
                cells.append(default_cell_formatter(datum, wrap=wrap, height=row.height) or _EMPTY_TEXT)
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
        frame = self._frame()
        if frame.cursor_type != "row" or frame.fixed_columns or frame.row_labels or line_no:
            return super()._render_line_in_row(row_key, line_no, base_style, cursor_location, hover_location)
        cache_key = (
            row_key,
            line_no,
            base_style,
            cursor_location,
            hover_location,
            frame.cursor_type,
            frame.show_cursor,
            frame.show_hover_cursor,
            self._update_count,
            self._pseudo_class_state,
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
        self._keep(self._simple_rows, id(scrollable), (scrollable, simplified), limit=1024)
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
        return self._cell_line(cells[column_index], width, frame, pre_style, post_style)

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

    def _cell_line(
        self, cell: Any, width: int, frame: _Frame, pre_style: Style, post_style: Style
    ) -> list[Segment] | None:
        drawn = self._cell_drawn(cell, width, frame, pre_style, post_style)
        return None if drawn is None else drawn[0]

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
        key = (plain, cell.style, tuple(cell._spans), justify, overflow, width, padding, pre_style, post_style)
        drawn = self._drawn.get(key)
        if drawn is None:
            line = _draw_line(frame.console, cell, plain, justify, overflow, width, padding, pre_style, post_style)
            drawn = (line, list(Segment.simplify(line)))
            self._keep(self._drawn, key, drawn)
        return drawn

    @staticmethod
    def _keep(cache: dict, key: Any, value: Any, limit: int = 8192) -> None:
        if len(cache) >= limit:
            cache.clear()
        cache[key] = value


class _Frame:
    """What drawing a table reads from it, read once per repaint."""

    def __init__(self, table: KeyedTable) -> None:
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


_NULL = Style.null()


def _draw_line(
    console: Any, cell: Text, plain: str, justify: str, overflow: str, width: int, padding: int,
    pre_style: Style, post_style: Style,
) -> list[Segment]:
    """One line of one cell, exactly as DataTable renders it through Rich for a one-line row."""
    # Text.wrap with no_wrap on a copy of the cell: (left justification pads,) then truncate.
    inner = width - 2 * padding
    text = strip_control_codes(plain)
    spans = list(cell._spans)
    length = cell_len(text)
    if length > inner:
        cut = set_cell_size(text, inner - 1) + "…" if overflow == "ellipsis" else set_cell_size(text, inner)
        if cut != text:
            cut = strip_control_codes(cut)
            if len(text) > len(cut):  # Text._trim_spans
                end = len(cut)
                spans = [span if span.end < end else Span(span.start, min(end, span.end), span.style)
                         for span in spans if span.start < end]
            text = cut
    elif justify == "left" and length < inner:
        text = text + " " * (inner - length)

    # Text("\n").join([line]).render(console): the line's own style becomes the first span.
    if cell.style:
        spans.insert(0, Span(0, len(text), cell.style))
    segments: list[Segment] = []
    if not spans:
        segments.append(Segment(text))
    else:
        segments.extend(_render_spans(console, text, spans))

    # render_lines in Padding: the line padded to the inner width (Padding's style is "none").
    line = Segment.adjust_line_length(segments, inner, style=_NULL, pad=True)
    if padding:
        edge = Segment(" " * padding, _NULL)
        line = [edge, *line, edge]

    # Styled: the row/component style under the cell's styles, the cursor colours over them.
    styled = []
    for segment in line:
        style = segment.style
        if pre_style:
            style = pre_style + style
        if post_style:
            style = style + post_style if style else post_style
        styled.append(Segment(segment.text, style))
    return Segment.adjust_line_length(styled, width, style=None, pad=True)


def _join_simplified(pieces: list[list[Segment]]) -> list[Segment]:
    """Segment.simplify over the pieces one after another, each piece simplified already: only
    the first segment of a piece can join the segment before it."""
    joined: list[Segment] = []
    for piece in pieces:
        if not piece:
            continue
        first = piece[0]
        if joined and joined[-1].style == first.style and not first.control:
            last = joined[-1]
            joined[-1] = Segment(last.text + first.text, last.style)
        else:
            joined.append(first)
        joined.extend(piece[1:])
    return joined


def _render_spans(console: Any, text: str, spans: list[Span]) -> Iterable[Segment]:
    """Text.render for a text with spans (the same sweep, so the same segments)."""
    get_style = console.get_style
    style_map = {index: get_style(span.style, default=_NULL) for index, span in enumerate(spans, 1)}
    style_map[0] = get_style("", default=_NULL)
    marks = [
        (0, False, 0),
        *((span.start, False, index) for index, span in enumerate(spans, 1)),
        *((span.end, True, index) for index, span in enumerate(spans, 1)),
        (len(text), True, 0),
    ]
    marks.sort(key=itemgetter(0, 1))
    stack: list[int] = []
    combined: dict[tuple[Style, ...], Style] = {}
    for (offset, leaving, style_id), (next_offset, _, _) in zip(marks, marks[1:]):
        if leaving:
            stack.remove(style_id)
        else:
            stack.append(style_id)
        if next_offset > offset:
            styles = tuple(style_map[i] for i in sorted(stack))
            style = combined.get(styles)
            if style is None:
                style = combined[styles] = Style.combine(styles)
            yield Segment(text[offset:next_offset], style)
