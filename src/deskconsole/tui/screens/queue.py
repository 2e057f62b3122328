"""Pane 1, the queue: a window of cases read from the database, paged by case id."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.widgets import DataTable, Input, Static

from deskconsole.domain.errors import InvalidInput
from deskconsole.domain.rows import CaseRow
from deskconsole.tui import format as fmt
from deskconsole.tui.editing import NewCaseKey
from deskconsole.tui.macros import QueueMacroKeys
from deskconsole.tui.marks import QueueMarks
from deskconsole.tui.panes import screen_keys
from deskconsole.tui.presence import QueuePresence
from deskconsole.tui.queuespec import PAGE, columns_for, next_cell, row_cells
from deskconsole.tui.queueviews import QueueViews
from deskconsole.tui.quickstart import Superseding  # (the store's, as the quick connection reads windows)
from deskconsole.tui.screens.base import PaneScreen
from deskconsole.tui.text import cell, clean
from deskconsole.tui.widgets.footer import DeskFooter
from deskconsole.tui.widgets.table import KeyedTable
from deskconsole.tui.widgets.tabs import ViewTabs

SORTS = ["oldest", "newest", "priority", "updated", "sla"]


class QueueScreen(QueueMarks, QueuePresence, QueueViews, NewCaseKey, QueueMacroKeys, PaneScreen):
    PANE = "queue"
    ACTIONS, BINDINGS = screen_keys("queue")
    AUTO_FOCUS = "#queue-table"  # keys typed while the console starts move the cursor, not into the filter

    def __init__(self) -> None:
        super().__init__()
        self.view = "all"  # the window view (store/window.py) the view in front stands on
        self.start_views()  # (queueviews.py: the tabs)
        self.sort = "oldest"
        self.text = ""
        self.pages: list[int | None] = [None]  # where each page starts (keyset "after")
        self.rows: dict[str, CaseRow] = {}
        self.shown: dict[str, Any] | None = None  # the query the rows on screen answer
        self._asked = 0  # numbers each window asked for: only the newest one is shown
        self._windows = Superseding()  # and a newer one stops the older still running on the server
        self._keys_state: tuple[bool, ...] | None = None
        self.filter_problem: str | None = None  # why the filter text is no filter (yet)
        self.clocks: dict[str, Any] = {}  # the calendar of each priority's service levels (Service.sla_clocks)
        self._clocks_marker: int | None = None  # the desk's change marker when they were read
        self.present: dict[str, str] = {}  # who else is at a row's case: its mark (tui/presence.py)

    def compose(self) -> ComposeResult:
        yield self.header()
        yield ViewTabs(id="queue-tabs")
        yield Input(placeholder="filter: words in title or customer, a case number, or terms: status:new "
                    "prio:P1,P2 area:billing customer:acme assignee:me|none esc:open age:>3d",
                    id="queue-filter", classes="hidden filter")
        yield KeyedTable(columns_for(self.app.size.width), id="queue-table")
        yield Static(id="queue-status", markup=False)
        yield DeskFooter()

    def on_mount(self) -> None:
        self.draw_tabs()
        self.query_one("#queue-filter", Input).cursor_blink = False
        self.query_one(KeyedTable).focus()

    def on_resize(self, event: events.Resize) -> None:
        """The columns follow the terminal's width (queuespec.columns_for)."""
        self.table.set_columns(columns_for(event.size.width))

    @property
    def table(self) -> KeyedTable:
        return self.query_one("#queue-table", KeyedTable)

    # ------------------------------------------------------------------ load
    def reload(self) -> None:
        """Read the window in front (a thread worker); a newer reload makes older answers stale."""
        self.filter_problem = None
        try:  # the view in front, narrowed by a filter (status:new prio:P1 ...: domain/filters.py) or words
            query = {**self.window_query(), "after": self.pages[-1], "limit": PAGE}
        except InvalidInput as exc:  # (half typed, most often) said under the table; the rows stay
            self.filter_problem = str(exc)
            self.update_status()
            return
        marker = self.desk.marker
        self._asked += 1
        asked = self._asked

        rows = self.desk.handed_window(query)
        if rows is not None:  # read before the console ran: shown in the first frame
            self.show(rows, marker, query, asked)
            return

        def refused(error: Exception) -> None:
            if asked == self._asked:
                self.show_refusal(error)

        # The calendars once the service has loaded (the first windows may come before it), read
        # again only when the desk changed since: a keystroke reads its window and nothing else
        # (on PostgreSQL each read is a transaction of round trips to the server).
        clocks_wanted = self._clocks_marker != marker

        # its place among the windows asked is now, as the keys come: a thread that starts late never
        # stops the read of a window asked after it (it is stopped itself instead)
        ticket = self._windows.ask()

        def window() -> tuple[list[CaseRow], dict[str, Any] | None]:
            rows = self.desk.list_cases(**query, newest=ticket)
            return rows, self.service.sla_clocks() if clocks_wanted and self.desk.service_ready else None

        def answered(found: tuple[list[CaseRow], dict[str, Any] | None]) -> None:
            rows, clocks = found
            if clocks is not None:
                self.clocks, self._clocks_marker = clocks, marker
            self.show(rows, marker, query, asked)

        self.call(window, then=answered, otherwise=refused)

    def show(self, rows: list[CaseRow], marker: int, query: dict[str, Any] | None = None,
             asked: int | None = None) -> None:
        if asked is not None and asked != self._asked:
            return  # an answer to an older question (the filter moved on): never shown over a newer one
        self.mark_loaded(marker)
        now = self.desk.clock.now()
        self.rows = {str(r.id): r for r in rows}
        # Another page, view, sort or filter starts at the top; the same window again keeps the cursor.
        same_window = query is not None and self.shown is not None and query == self.shown
        self.shown = query
        with self.app.batch_update():
            self.table.sync([(str(r.id), self.cells(r, now)) for r in rows], to_top=not same_window)
        self.update_status()
        self._keys_changed()
        self.desk.painted()
        self.refresh_presence()
        self.after_window(marker)  # (the tabs' counts, when the desk changed)

    def cells(self, r: CaseRow, now: Any) -> dict[str, Any]:
        # a marked row's look (tui/marks.py) over the presence mark before the title (tui/presence.py)
        return self.mark_cells(r, self.marked(str(r.id), row_cells(r, now, self.clocks)))

    def title_cell(self, r: CaseRow) -> Any:
        return self.cells(r, self.desk.clock.now())["title"]

    def update_status(self) -> None:
        line = Text(no_wrap=True)
        self.marks_status(line)
        line.append(" view ", "dim")
        line.append(cell(self.current.name, "bold", limit=32))
        line.append("  sort ", "dim")
        line.append(self.sort, "bold")
        if self.text.strip():
            line.append("  filter ", "dim")
            line.append(cell(self.text, limit=30))
        if self.filter_problem:
            line.append("  ✗ ", "bold red")
            line.append(cell(self.filter_problem, limit=90))
            self.query_one("#queue-status", Static).update(line)
            return
        line.append(f"  page {len(self.pages)}", "dim")
        count = len(self.rows)
        line.append(f"  {count} case{'s' if count != 1 else ''} shown", "dim")
        if count == PAGE:
            line.append("  ] next page", "dim")
        if not count:
            line.append("  — nothing here: tab changes the view", "italic")
        self.marks_keys(line)
        self.query_one("#queue-status", Static).update(line)

    def refresh_countdowns(self) -> None:
        super().refresh_countdowns()
        now = self.desk.clock.now()
        table = self.table
        for key, r in self.rows.items():
            if r.next_timer_due is not None:
                table.set_cell(key, "next", self.marked_value(key, "next", next_cell(r, now)))
            if r.sla_due is not None:
                table.set_cell(key, "sla", self.marked_value(
                    key, "sla", fmt.sla_text(r, now, self.clocks.get(r.priority))))

    # --------------------------------------------------------------- actions
    def can(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "page":
            if parameters and parameters[0] == 1:
                return len(self.rows) >= PAGE or None
            return len(self.pages) > 1 or None
        if action in ("open_case", "customer"):
            return bool(self.rows) or None
        return True

    def action_open_case(self) -> None:
        key = self.table.selected_key
        if key is not None:
            self.desk.open_case(int(key))

    @on(DataTable.RowSelected, "#queue-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.desk.open_case(int(event.row_key.value))

    def action_filter(self) -> None:
        self.open_filter(self.query_one("#queue-filter", Input))

    def action_clear_filter(self) -> None:
        box = self.query_one("#queue-filter", Input)
        if box.has_class("hidden") and not self.text:
            self.action_clear_marks()  # (esc with no filter open clears the marks: tui/marks.py)
            return
        box.value = ""
        box.add_class("hidden")
        self.table.focus()
        if self.text:
            self.text = ""
            self._restart()

    @on(Input.Changed, "#queue-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        """Rows follow the typing: each keystroke asks for its window at once (no wait)."""
        if event.value.strip() == self.text.strip():
            self.text = event.value
            return
        self.text = event.value
        self._restart()

    @on(Input.Submitted, "#queue-filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        if not event.value:
            event.input.add_class("hidden")
        self.table.focus()

    def _restart(self) -> None:
        self.pages = [None]
        self._keys_changed()
        self.reload()

    def _keys_changed(self) -> None:
        """Redraw the footer only when a key's availability changed (it is rebuilt each time)."""
        state = (len(self.rows) >= PAGE, len(self.pages) > 1, bool(self.rows))
        if state != self._keys_state:
            self._keys_state = state
            self.refresh_bindings()

    def action_cycle_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self._restart()

    def action_page(self, step: int) -> None:
        if step > 0:
            if not self.rows:
                return
            last = list(self.rows.values())[-1].id
            self.pages.append(last)
        elif len(self.pages) > 1:
            self.pages.pop()
        self._keys_changed()
        self.reload()

    def action_take_next(self) -> None:
        me = self.me

        def take() -> tuple[Any, str | None]:
            service = self.service  # (in the worker: on a fast start it may still be loading)
            view = service.take_next(actor=me)
            return view, service.nothing_to_take(actor=me) if view is None else None  # (domain/explain.py)

        def taken(answer: tuple[Any, str | None]) -> None:
            view, why = answer
            if view is None:
                why = why or "nothing unassigned fits your skills"
                self.notify(clean(why[:1].upper() + why[1:] + "."),
                            title="Take next: nothing to take", markup=False, timeout=8)
                return
            self.notify(clean(f"You took case {view.id}: {view.title[:60]}", single_line=True), title="Take next",
                        markup=False)
            self.desk.open_case(view.id)

        self.call(take, then=taken, group="action", exclusive=False)

    def action_reload(self) -> None:
        self._clocks_marker = None  # (the calendars too: asked for afresh)
        self.reload()

    def action_customer(self) -> None:
        key = self.table.selected_key
        if key is not None:
            from deskconsole.tui.widgets.customer import show_customer

            show_customer(self, int(key))
