"""Pane 4, countdowns: every running timer, soonest first, ticking each second from memory."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import DataTable, Input, Static

from deskconsole.domain import labels
from deskconsole.domain.timers import TimerKind
from deskconsole.domain.views import TimerView
from deskconsole.tui import format as fmt
from deskconsole.tui.panes import pane, screen_keys
from deskconsole.tui.screens.base import LocalFilter, PaneScreen
from deskconsole.tui.styles import style
from deskconsole.tui.text import cell, clean
from deskconsole.tui.widgets.footer import DeskFooter
from deskconsole.tui.widgets.table import KeyedTable

KINDS: list[TimerKind | None] = [None, TimerKind.AUTO_CLOSE, TimerKind.REMINDER, TimerKind.FOLLOWUP,
                                  TimerKind.STATUS_UPDATE, TimerKind.SLA_WARNING, TimerKind.SLA_BREACH]
COLUMNS = [
    ("case", "Case", 6),
    ("kind", "Timer", 13),
    ("due", "Due", 16),
    ("left", "Time left", 15),
    ("status", "Status", 18),
    ("priority", "P", 2),
    ("assignee", "Assignee", 9),
    ("title", "Title", 22),
]
LIMIT = 500


class CountdownsScreen(LocalFilter, PaneScreen):
    CSS_PATH = style(pane("countdowns").stylesheet)
    FILTER_ID = "timers-filter"
    PANE = "countdowns"
    ACTIONS, BINDINGS = screen_keys("countdowns")

    def __init__(self) -> None:
        super().__init__()
        self.kind: str | None = None
        self.text = ""
        self.timers: list[TimerView] = []
        self.shown: dict[str, TimerView] = {}

    def compose(self) -> ComposeResult:
        yield self.header()
        yield Input(placeholder="filter: case number, words of the title, status or assignee",
                    id="timers-filter", classes="hidden filter")
        yield KeyedTable(COLUMNS, id="timers-table")
        yield Static(id="timers-status", markup=False)
        yield DeskFooter()

    def on_mount(self) -> None:
        self.query_one("#timers-filter", Input).cursor_blink = False
        self.query_one(KeyedTable).focus()

    @property
    def table(self) -> KeyedTable:
        return self.query_one("#timers-table", KeyedTable)

    def reload(self) -> None:
        kind, marker = self.kind, self.desk.marker

        def loaded(timers: list[TimerView]) -> None:
            self.mark_loaded(marker)
            self.timers = timers
            self.render_rows()

        self.call(lambda: self.service.running_timers(kind=kind, limit=LIMIT), then=loaded)

    def matches(self, t: TimerView) -> bool:
        words = self.text.lower().split()
        if not words:
            return True
        hay = " ".join(clean(x) for x in (t.case, t.case_title, t.case_status, t.case_sub_status, t.assignee,
                                           t.kind)).lower()
        return all(w in hay for w in words)

    def render_rows(self) -> None:
        now = self.desk.clock.now()
        shown = [t for t in self.timers if self.matches(t)]
        self.shown = {str(t.id): t for t in shown}
        with self.app.batch_update():
            self.table.sync([(str(t.id), self.cells(t, now)) for t in shown])
        overdue = sum(1 for t in shown if t.due <= now)
        line = Text(no_wrap=True)
        line.append(" kind ", "dim")
        line.append(labels.label(labels.TIMER_KIND, self.kind) if self.kind else "all", "bold")
        if self.text.strip():
            line.append("  filter ", "dim")
            line.append_text(cell(self.text, limit=30))
        line.append(f"  {len(shown)} running", "dim")
        if overdue:
            line.append(f"  {overdue} overdue ", "bold reverse red")
        if len(self.timers) >= LIMIT:
            line.append(f"  (the {LIMIT} soonest)", "dim")
        self.query_one("#timers-status", Static).update(line)
        self.refresh_bindings()

    def cells(self, t: TimerView, now: Any) -> dict[str, Any]:
        overdue = t.due <= now
        return {
            "case": Text(str(t.case), style="bold reverse red" if overdue else "bold"),
            "kind": Text(labels.label(labels.TIMER_KIND, t.kind)),
            "due": Text(fmt.when(t.due, self.desk.tz), style="dim"),
            "left": fmt.countdown(t.due, now),
            "status": fmt.status_text(t.case_status or "", t.case_sub_status),
            "priority": fmt.priority_text(t.priority or ""),
            "assignee": cell(t.assignee or "—"),
            "title": cell(t.case_title, limit=40),
        }

    def refresh_countdowns(self) -> None:
        super().refresh_countdowns()
        now = self.desk.clock.now()
        table = self.table
        for key, t in self.shown.items():
            table.set_cell(key, "left", fmt.countdown(t.due, now))
            table.set_cell(key, "case", Text(str(t.case), style="bold reverse red" if t.due <= now else "bold"))

    # ---------------------------------------------------------------- actions
    def can(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open_case":
            return bool(self.shown) or None
        return True

    def action_open_case(self) -> None:
        key = self.table.selected_key
        if key is not None and key in self.shown:
            self.desk.open_case(self.shown[key].case)

    @on(DataTable.RowSelected, "#timers-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        t = self.shown.get(event.row_key.value)
        if t is not None:
            self.desk.open_case(t.case)

    def action_cycle_kind(self) -> None:
        self.kind = KINDS[(KINDS.index(self.kind) + 1) % len(KINDS)]
        self.reload()

    def action_reload(self) -> None:
        self.reload()
