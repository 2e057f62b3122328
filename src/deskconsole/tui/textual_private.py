"""The catalogue of Textual's private names that tui/textual_adapter.py relies on (RELIED_ON): for
each, why it is needed and what is assumed of it (a method's parameters). A plain list, touching
nothing of Textual itself: tests/tui/test_textual_adapter.py checks every entry against the
installed Textual, so an upgrade that breaks one fails there, by name.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Private:
    """One private name of Textual that deskconsole relies on."""

    owner: str  # "module" or "module:Class"
    name: str
    kind: str  # "class", "function", "method" (called or overridden), "attribute"
    why: str
    parameters: tuple[str, ...] | None = None  # a method's or function's parameter names, self left out


DT = "textual.widgets._data_table:DataTable"

RELIED_ON: tuple[Private, ...] = (
    # ----------------------------------------------------------- styles and footer
    Private("textual.app:App", "_css_update_count", "attribute",
            "How many times the app's CSS changed; a screen whose own count differs is restyled, with every "
            "stylesheet parsed again, when it first shows (twice, ~30 ms). A pane made while the console runs "
            "copies it (mark_styles_current): it is styled as it mounts, by the stylesheet as it stands."),
    Private("textual.screen:Screen", "_css_update_count", "attribute",
            "The screen's side of App._css_update_count (-1 until Textual restyles it)."),
    Private("textual._context", "NoActiveAppError", "class",
            "Raised by `screen.app` when the screen is made outside a running app (tests build panes "
            "that way); mark_styles_current then leaves Textual's default."),
    Private("textual.widgets._footer:Footer", "_bindings_ready", "attribute",
            "Footer.compose shows no keys until the bindings are ready; DeskFooter compares what compose "
            "would show with what it showed, to skip rebuilding a dozen key widgets per focus change."),
    # ----------------------------------------------------------- DataTable: rows in bulk
    Private(DT, "_row_locations", "attribute",
            "TwoWayDict row key <-> row index: appending a page of rows, removing several and reordering "
            "them in one pass (add_row/remove_row renumber per row: a page of 100 rows is ~10,000 steps)."),
    Private("textual._two_way_dict", "TwoWayDict", "class",
            "The type of _row_locations, rebuilt in one go by order_rows (DataTable.sort hands its key "
            "function the cells, not the row key the order is known by)."),
    Private(DT, "_column_locations", "attribute",
            "TwoWayDict column key <-> index: ordered_columns is asked for several times per drawn line; "
            "it is kept until the columns change."),
    Private(DT, "_data", "attribute", "Row key -> {column key: cell}: rows appended and removed in bulk."),
    Private(DT, "_new_rows", "attribute", "Rows whose size DataTable has not measured yet (set by add_row)."),
    Private(DT, "_updated_cells", "attribute", "Cells waiting to be measured again (removed rows leave it)."),
    Private(DT, "_require_update_dimensions", "attribute",
            "Asks the next idle pass to work out the table's size again (as add_row and remove_row do)."),
    Private(DT, "_update_count", "attribute",
            "Bumped on every change of content: DataTable's caches are keyed by it, so are ours."),
    Private(DT, "_highlight_cursor", "method",
            "Posts the row highlighted message for the cursor (add_row does it when the first row arrives).",
            ()),
    Private(DT, "_update_dimensions", "method",
            "Overridden: with every column of a fixed width and every row one line, new rows change only "
            "the height, so measuring each new cell (900 measurements a page) is skipped.",
            ("new_rows",)),
    # ----------------------------------------------------------- DataTable: drawing
    Private(DT, "_render_line", "method",
            "Overridden: one line of the table. One-line Text rows under a row cursor are joined from "
            "cells drawn and kept by what they show; anything else goes to DataTable's own.",
            ("y", "x1", "x2", "base_style")),
    Private(DT, "_render_line_in_row", "method",
            "Overridden: one row's cells, the row's styles worked out once for the row instead of per cell.",
            ("row_key", "line_no", "base_style", "cursor_location", "hover_location")),
    Private(DT, "_render_cell", "method",
            "Overridden: one cell; a one-line Text drawn directly (the same segments as through Rich's "
            "Padding/Styled/render_lines, ~0.5 ms a cell), anything else by DataTable.",
            ("row_index", "column_index", "base_style", "width", "cursor", "hover")),
    Private(DT, "_compute_row_renderables", "method",
            "Overridden: a non-empty Text cell is taken as it is (default_cell_formatter returns it "
            "unchanged) instead of being formatted per cell.", ("row_index",)),
    Private(DT, "_get_row_renderables", "method", "The row's cells as renderables, cached by DataTable.",
            ("row_index",)),
    Private(DT, "_get_row_style", "method", "The row's style (header, zebra stripe or plain).",
            ("row_index", "base_style")),
    Private(DT, "_get_styles_to_render_cell", "method",
            "The cell's component and cursor/hover styles (the same for every cell of a row under a row cursor).",
            ("is_header_cell", "is_row_label_cell", "is_fixed_style_cell", "hover", "cursor", "show_cursor",
             "show_hover_cursor", "has_css_foreground_priority", "has_css_background_priority")),
    Private(DT, "_get_offsets", "method", "Which row (and line within it) a line of the widget shows.", ("y",)),
    Private(DT, "_line_cache", "attribute", "DataTable's cache of drawn lines (kept in the same way)."),
    Private(DT, "_row_render_cache", "attribute", "DataTable's cache of drawn rows (kept in the same way)."),
    Private(DT, "_show_hover_cursor", "attribute", "Whether the mouse hover is drawn (read once per repaint)."),
    Private(DT, "_should_render_row_labels", "attribute", "Row labels shown: such tables are left to DataTable."),
    Private(DT, "_row_label_column_width", "attribute", "The row label column's width (0 without labels)."),
    Private(DT, "_header_row_key", "attribute", "The header row's key, for its height."),
    Private(DT, "_pseudo_class_state", "attribute",
            "Part of DataTable's own line cache key (focus, hover...): ours is keyed the same way."),
    Private("textual.widgets._data_table", "RowRenderables", "class",
            "What _compute_row_renderables returns: (label, cells)."),
    Private("textual.widgets._data_table", "default_cell_formatter", "function",
            "How DataTable turns a cell that is not a Text into one.", ("obj", "wrap", "height")),
    # ----------------------------------------------------------- tests only
    Private(DT, "_clear_caches", "method",
            "Tests: drop DataTable's drawn lines to draw a screen afresh (forget_drawn).", ()),
    Private("textual.widget:Widget", "_styles_cache", "attribute",
            "Tests: the widget's cache of styled lines, dropped with DataTable's (forget_drawn)."),
    Private("textual.screen:Screen", "_compositor", "attribute",
            "Tests: what the screen shows, line by line (screen_strips), to read the frame a user sees."),
    Private("textual._compositor:Compositor", "render_strips", "method",
            "Tests: the screen's lines as strips of segments (screen_strips).", ("size",)),
)
