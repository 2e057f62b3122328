"""A DataTable whose rows are keyed (by case or timer id) and refreshed in place.

Public Textual API only: the fast drawing and the rows changed in bulk are
textual_adapter.FastDataTable's (the one module that touches Textual's private names).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text

from deskconsole.tui.format import same
from deskconsole.tui.textual_adapter import FastDataTable


class KeyedTable(FastDataTable):
    """`sync()` changes only the cells that changed, adds and removes rows, keeps the cursor on its row."""

    def __init__(self, columns: Sequence[tuple[str, str, int | None]], **kwargs: Any) -> None:
        kwargs.setdefault("cursor_type", "row")
        kwargs.setdefault("zebra_stripes", False)
        super().__init__(**kwargs)
        self._columns_spec = list(columns)
        self._shown = {c[0] for c in self._columns_spec}  # the columns drawn at this width
        self._cells: dict[str, dict[str, Any]] = {}
        self._order: list[str] = []

    def on_mount(self) -> None:
        for key, label, width in self._columns_spec:
            self.add_column(Text(label), key=key, width=width)  # (as it reads: no markup)

    def set_columns(self, columns: Sequence[tuple[str, str, int | None]]) -> None:
        """Show these columns instead (the terminal was resized): the rows are drawn again in them,
        the cursor stays on its row."""
        columns = list(columns)
        if columns == self._columns_spec:
            return
        self._columns_spec = columns
        self._shown = {c[0] for c in columns}
        if not self.is_mounted:
            return  # (on_mount adds them)
        selected, row = self.selected_key, self.cursor_row
        self.clear(columns=True)
        for key, label, width in columns:
            self.add_column(Text(label), key=key, width=width)  # (as it reads: no markup)
        self._append_rows([(key, self._cells[key]) for key in self._order])
        if selected is not None:
            self.move_cursor(row=self.get_row_index(selected), animate=False, scroll=True)
        elif self.row_count:
            self.move_cursor(row=min(row, self.row_count - 1), animate=False, scroll=False)

    @property
    def selected_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:  # noqa: BLE001 -- no row under the cursor
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
                        if column in self._shown and not same(old.get(column), value):
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
        names = [spec[0] for spec in self._columns_spec]
        self.append_rows([(key, [cells.get(name, "") for name in names]) for key, cells in rows])

    def _remove_rows(self, keys: Sequence[str]) -> None:
        self.remove_rows(keys)
        for key in keys:
            self._cells.pop(key, None)

    def _sort_by_position(self, position: dict[str, int]) -> None:
        self.order_rows(position)

    def set_cell(self, key: str, column: str, value: Any) -> None:
        """Change one cell if it looks different (countdowns each second). A column folded away at
        this width keeps the value for when it shows again."""
        cells = self._cells.get(key)
        if cells is None or same(cells.get(column), value):
            return
        cells[column] = value
        if column in self._shown:
            self.update_cell(key, column, value)

    def cells(self, key: str) -> dict[str, Any] | None:
        return self._cells.get(key)

    def keys(self) -> list[str]:
        return list(self._order)
