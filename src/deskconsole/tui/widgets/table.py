"""A DataTable whose rows are keyed (by case or timer id) and refreshed in place."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual._two_way_dict import TwoWayDict
from textual.widgets import DataTable

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

    def sync(self, rows: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Show exactly these rows, in this order, touching only what changed."""
        selected = self.selected_key
        wanted = [key for key, _ in rows]
        wanted_set = set(wanted)
        for key in [k for k in self._order if k not in wanted_set]:
            self.remove_row(key)
            self._cells.pop(key, None)
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
        if added or [k for k in self._order if k in wanted_set] != wanted:
            self._sort_by_position({key: i for i, key in enumerate(wanted)})
        self._order = wanted
        if selected is not None and selected in wanted_set:
            self.move_cursor(row=self.get_row_index(selected), animate=False, scroll=True)

    def _sort_by_position(self, position: dict[str, int]) -> None:
        # DataTable.sort() hands its key function the cells, not the row key; order by row key
        # the same way it does.
        ordered = sorted(self._data, key=lambda row_key: position.get(row_key.value, 1 << 30))
        self._row_locations = TwoWayDict({row_key: index for index, row_key in enumerate(ordered)})
        self._update_count += 1
        self.refresh()

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
