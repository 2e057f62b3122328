"""Pane 6, the outbox: every message queued for customers and managers, newest first, and how delivery went.

A window of rows is read from the database (newest first, paged by id); `f`
keeps one state, `/` filters the rows shown. The line at the top says whether
this console delivers (an SMTP URL is set) or whether messages wait here. A
failed row shows the mail server's answer literally; the line under the table
shows the selected message in full.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.timer import Timer
from textual.widgets import DataTable, Input, Static

from deskconsole.domain import labels
from deskconsole.domain.views import OutboxView
from deskconsole.tui.panes import pane, screen_keys
from deskconsole.tui.screens.base import LocalFilter, PaneScreen
from deskconsole.tui.styles import style
from deskconsole.tui.text import cell, clean
from deskconsole.tui.widgets.footer import DeskFooter
from deskconsole.tui.widgets.table import KeyedTable

PAGE = 100
STATES: list[str | None] = [None, "queued", "failed", "sent"]
STATE_STYLES = {"failed": "bold red", "queued": "dim", "sending": "dim", "sent": "green"}
COLUMNS = [
    ("id", "Id", 5),
    ("case", "Case", 5),
    ("kind", "Kind", 16),
    ("to", "To", 18),
    ("state", "State", 7),
    ("attempts", "Try", 3),
    ("created", "Created", 11),
    ("sent", "Sent", 11),
    ("error", "Last error", 25),
]


def short_time(value: datetime | None, tz: Any) -> Text:
    if value is None:
        return Text("—", style="dim")
    return Text(value.astimezone(tz).strftime("%m-%d %H:%M"), style="dim", no_wrap=True)


class OutboxScreen(LocalFilter, PaneScreen):
    CSS_PATH = style(pane("outbox").stylesheet)
    FILTER_ID = "outbox-filter"
    PANE = "outbox"
    ACTIONS, BINDINGS = screen_keys("outbox")

    def __init__(self) -> None:
        super().__init__()
        self.state: str | None = None
        self.text = ""
        self.pages: list[int | None] = [None]  # where each page starts (keyset "before")
        self.rows: list[OutboxView] = []
        self.shown: dict[str, OutboxView] = {}
        self._debounce: Timer | None = None

    def compose(self) -> ComposeResult:
        yield self.header()
        yield Static(id="outbox-delivery", markup=False)
        yield Input(placeholder="filter: case number, kind, recipient, subject or error",
                    id="outbox-filter", classes="hidden filter")
        yield KeyedTable(COLUMNS, id="outbox-table")
        yield Static(id="outbox-detail", markup=False)
        yield Static(id="outbox-status", markup=False)
        yield DeskFooter()

    def on_mount(self) -> None:
        self.query_one("#outbox-filter", Input).cursor_blink = False
        self.query_one(KeyedTable).focus()
        self.show_delivery()

    @property
    def table(self) -> KeyedTable:
        return self.query_one("#outbox-table", KeyedTable)

    # ------------------------------------------------------------------ load
    def reload(self) -> None:
        state, before, marker = self.state, self.pages[-1], self.desk.marker

        def loaded(rows: list[OutboxView]) -> None:
            self.mark_loaded(marker)
            self.rows = rows
            self.render_rows()

        self.call(lambda: self.service.list_outbox(state=state, newest_first=True, before=before, limit=PAGE),
                  then=loaded)

    def on_screen_resume(self) -> None:
        # Delivery changes rows without changing the desk's marker: read again on every visit
        # (marked first, so the shared resume handler does not read a second time).
        self.loaded_marker = self.desk.marker
        self.show_delivery()
        self.reload()

    def show_delivery(self) -> None:
        self.query_one("#outbox-delivery", Static).update(self.desk.delivery_line())

    def matches(self, o: OutboxView) -> bool:
        words = self.text.lower().split()
        if not words:
            return True
        hay = " ".join(clean(x) for x in (o.id, o.case, o.kind, o.kind.replace("_", " "), o.to, o.state,
                                           o.subject, o.last_error or "")).lower()
        return all(w in hay for w in words)

    def render_rows(self) -> None:
        shown = [o for o in self.rows if self.matches(o)]
        self.shown = {str(o.id): o for o in shown}
        with self.app.batch_update():
            self.table.sync([(str(o.id), self.cells(o)) for o in shown])
        self.show_detail()
        self.show_delivery()
        line = Text(no_wrap=True)
        line.append(" state ", "dim")
        line.append(self.state or "all", "bold")
        if self.text.strip():
            line.append("  filter ", "dim")
            line.append_text(cell(self.text, limit=30))
        line.append(f"  page {len(self.pages)}", "dim")
        line.append(f"  {len(shown)} message{'s' if len(shown) != 1 else ''} shown", "dim")
        if self.text.strip() and len(shown) != len(self.rows):
            line.append(f" of {len(self.rows)} on this page", "dim")
        if len(self.rows) >= PAGE:
            line.append("  ] older", "dim")
        if len(self.pages) > 1:
            line.append("  [ newer", "dim")
        if not shown:
            line.append("  — nothing here: f changes the state", "italic")
        self.query_one("#outbox-status", Static).update(line)
        self.refresh_bindings()

    def cells(self, o: OutboxView) -> dict[str, Any]:
        tz = self.desk.tz
        failed = o.state == "failed"
        return {
            "id": Text(str(o.id), style="bold"),
            "case": Text(str(o.case)),
            "kind": cell(labels.label(labels.OUTBOX_KIND_SHORT, o.kind), limit=30),
            "to": cell(o.to, limit=60),
            "state": Text(o.state, style=STATE_STYLES.get(o.state, ""), no_wrap=True),
            "attempts": Text(str(o.attempts), style="" if o.attempts else "dim"),
            "created": short_time(o.created_at, tz),
            "sent": short_time(o.sent_at, tz),
            "error": cell(o.last_error or "", "red" if failed else "dim", limit=200),
        }

    def show_detail(self) -> None:
        key = self.table.selected_key
        o = self.shown.get(key) if key is not None else None
        box = self.query_one("#outbox-detail", Static)
        if o is None:
            box.update("")
            return
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(f" #{o.id} ", "bold reverse")
        line.append(f" case {o.case} · {o.kind.replace('_', ' ')} · to ", "dim")
        line.append_text(cell(o.to, limit=80))
        line.append(" · ", "dim")
        line.append(o.state, STATE_STYLES.get(o.state, ""))
        if o.message_id:
            line.append(" · ", "dim")
            line.append_text(cell(o.message_id, "dim", limit=80))
        line.append("\n subject ", "dim")
        line.append_text(cell(o.subject, limit=200))
        if o.last_error:
            line.append("\n error ", "dim")
            line.append_text(cell(o.last_error, "red" if o.state == "failed" else "", limit=400))
        box.update(line)

    @on(DataTable.RowHighlighted, "#outbox-table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self.show_detail()

    # --------------------------------------------------------------- actions
    def can(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("open_case", "read_message"):
            return bool(self.shown) or None
        if action == "page":
            if parameters and parameters[0] == 1:
                return len(self.rows) >= PAGE or None
            return len(self.pages) > 1 or None
        if action == "deliver_now":
            return self.desk.deliverer is not None or None
        return True

    def why_not(self, action: str) -> str | None:
        if action == "deliver_now" and self.desk.deliverer is None:
            return "delivery is off: set DESKCONSOLE_SMTP_URL to send from this console (messages wait here)"
        return None

    def action_open_case(self) -> None:
        key = self.table.selected_key
        if key is not None and key in self.shown:
            self.desk.open_case(self.shown[key].case)

    @on(DataTable.RowSelected, "#outbox-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        o = self.shown.get(event.row_key.value)
        if o is not None:
            self.read(o)

    def action_read_message(self) -> None:
        key = self.table.selected_key
        if key is not None and key in self.shown:
            self.read(self.shown[key])

    def read(self, o: OutboxView) -> None:
        """The message as it will be or was sent (to, subject, body); `o` there opens its case."""
        from deskconsole.tui.screens.outbox_message import MessageScreen

        def answered(what: str | None) -> None:
            if what == "case":
                self.desk.open_case(o.case)

        self.app.push_screen(MessageScreen(o, self.desk.tz, STATE_STYLES), answered)

    def action_cycle_state(self) -> None:
        self.set_state_to(STATES[(STATES.index(self.state) + 1) % len(STATES)])

    def action_set_state(self, state: str) -> None:
        self.set_state_to(state or None)

    def set_state_to(self, state: str | None) -> None:
        self.state = state
        self.pages = [None]
        self.reload()

    def action_page(self, step: int) -> None:
        if step > 0:
            if len(self.rows) < PAGE:
                return
            self.pages.append(self.rows[-1].id)
        elif len(self.pages) > 1:
            self.pages.pop()
        else:
            return
        self.refresh_bindings()
        self.reload()

    def action_deliver_now(self) -> None:
        self.desk.deliver_now()

    def action_reload(self) -> None:
        self.reload()
