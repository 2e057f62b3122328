"""A DataTable whose rows are keyed (by case or timer id) and refreshed in place."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from textual._two_way_dict import TwoWayDict
from textual.widgets import DataTable
from textual.widgets.data_table import CellKey, RowKey

from deskconsole.tui.format import same


class KeyedTable(DataTable):
    """`sync()` changes only the cells that changed, adds and removes rows, keeps the cursor on its row."""

    def __init__(self, columns: Sequence[tuple[str, str, int | None]], **kwargs: Any) -> None:
        kwargs.setdefault("cursor_type", "row")
        kwargs.setdefault("zebra_stripes", False)
        super().__init__(**kwargs)
        self._columns_spec = list(columns)
        self._cells: dict[str, dict[str, Any]] = {}
        self._order: list[str] = []

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
        spec = [c[0] for c in self._columns_spec]
        for key, cells in rows:
            self.add_row(*(cells.get(column, "") for column in spec), key=key)
        self._cells = {key: dict(cells) for key, cells in rows}
        if rows:
            self.move_cursor(row=min(row, len(rows) - 1), animate=False, scroll=False)

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
