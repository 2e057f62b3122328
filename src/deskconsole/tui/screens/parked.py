"""Pane 7, parked mail (managers and supervisors): machine mail held with its reason, newest first.

Auto-replies, bounces, the desk's own mail coming back and mail loops are parked by the mail
intake (deskconsole.mail): never a status change, never answered. Here a lead sees them, the
selected message's words below the list (customer text, shown literally), and releases one as
ordinary mail with `a` (asked first): the intake applies it as if it had just arrived.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable, Input, Static

from deskconsole.tui import format as fmt
from deskconsole.tui.panes import pane, screen_keys
from deskconsole.tui.screens.base import LocalFilter, PaneScreen
from deskconsole.tui.styles import style
from deskconsole.tui.text import cell, clean, long_text
from deskconsole.tui.widgets.footer import DeskFooter
from deskconsole.tui.widgets.form import ConfirmScreen
from deskconsole.tui.widgets.table import KeyedTable

COLUMNS = [
    ("id", "#", 5),
    ("received", "Received", 16),
    ("from", "From", 28),
    ("subject", "Subject", 30),
    ("reason", "Why it is parked", 30),
]
PREVIEW = 4000  # characters of a message's words shown below the list


class ParkedScreen(LocalFilter, PaneScreen):
    CSS_PATH = style(pane("parked").stylesheet)
    FILTER_ID = "parked-filter"
    PANE = "parked"
    ACTIONS, BINDINGS = screen_keys("parked")

    def __init__(self) -> None:
        super().__init__()
        self.text = ""
        self.rows: list[Any] = []  # ParkedMail, newest first
        self.shown: dict[str, Any] = {}
        self.previewed: str | None = None

    def compose(self) -> ComposeResult:
        yield self.header()
        yield Input(placeholder="filter: sender, subject or reason", id="parked-filter", classes="hidden filter")
        yield KeyedTable(COLUMNS, id="parked-table")
        yield Static(id="parked-detail", markup=False)
        yield Static(id="parked-status", markup=False)
        yield DeskFooter()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#parked-filter", Input).cursor_blink = False
        self.table.focus()

    @property
    def table(self) -> KeyedTable:
        return self.query_one("#parked-table", KeyedTable)

    def intake(self) -> Any:
        from deskconsole.mail.intake import make_intake  # (the mail modules: only when this pane is used)

        return make_intake(self.service, self.desk.environ)

    # ------------------------------------------------------------------ loading
    def reload(self) -> None:
        marker = self.desk.marker

        def loaded(rows: list[Any]) -> None:
            self.mark_loaded(marker)
            self.rows = rows
            self.render_rows()

        self.call(lambda: self.service.parked_mail(newest_first=True), then=loaded)

    def matches(self, row: Any) -> bool:
        words = self.text.lower().split()
        if not words:
            return True
        hay = " ".join(clean(x) for x in (row.id, row.from_, row.subject, row.reason)).lower()
        return all(w in hay for w in words)

    def render_rows(self) -> None:
        shown = [r for r in self.rows if self.matches(r)]
        self.shown = {str(r.id): r for r in shown}
        with self.app.batch_update():
            self.table.sync([(str(r.id), self.cells(r)) for r in shown])
        line = Text(no_wrap=True)
        line.append(f" {len(shown)} parked", "bold")
        if len(shown) != len(self.rows):
            line.append(f" of {len(self.rows)}", "dim")
        if self.text.strip():
            line.append("  filter ", "dim")
            line.append_text(cell(self.text, limit=30))
        line.append("  never applied to a case, never answered, until released", "dim")
        self.query_one("#parked-status", Static).update(line)
        self.show_selected()
        self.refresh_bindings()

    def cells(self, row: Any) -> dict[str, Any]:
        return {
            "id": Text(str(row.id), style="bold"),
            "received": Text(fmt.when(row.received_at, self.desk.tz), style="dim"),
            "from": cell(row.from_ or "—", limit=60),
            "subject": cell(row.subject or "(no subject)", limit=80),
            "reason": cell(row.reason or "—", limit=120),
        }

    def selected(self) -> Any | None:
        key = self.table.selected_key
        return self.shown.get(key) if key is not None else None

    def show_selected(self) -> None:
        """The selected message in full below the list: sender, subject, reason, then its words (read in a worker)."""
        row = self.selected()
        detail = self.query_one("#parked-detail", Static)
        if row is None:
            self.previewed = None
            detail.update(Text("No parked mail." if not self.rows else "No parked mail matches the filter.",
                               style="dim"))
            return
        key = str(row.id)
        if key == self.previewed:
            return
        self.previewed = key
        detail.update(self.detail(row, None))

        def read() -> str:
            return self.intake().text_of(row.id)

        def shown(words: str) -> None:
            if self.previewed == key:
                detail.update(self.detail(row, words))

        self.call(read, then=shown, otherwise=lambda exc: shown(f"(cannot read the message: {exc})"),
                  group="preview")

    def detail(self, row: Any, words: str | None) -> Text:
        out = Text()
        for label, value in (("from ", row.from_ or "—"), ("subject ", row.subject or "(no subject)"),
                             ("parked ", row.reason or "—"), ("message ", f"{row.message_id} · {row.size} bytes")):
            out.append(label, "dim")
            out.append_text(cell(value, limit=300))
            out.append("\n")
        out.append("\n")
        out.append_text(long_text(words, limit=PREVIEW) if words is not None else Text("…", style="dim"))
        return out

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "parked-table":
            self.show_selected()

    # ------------------------------------------------------------------ actions
    def can(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "release":
            return bool(self.shown) or None
        return True

    def why_not(self, action: str) -> str | None:
        if action == "release" and not self.shown:
            return "There is no parked message to release."
        return None

    def action_release(self) -> None:
        row = self.selected()
        if row is None:
            return
        question = Text("Release parked message #")
        question.append(str(row.id), "bold")
        question.append(" from ")
        question.append_text(cell(row.from_ or "an unknown sender", limit=80))
        question.append(" (")
        question.append_text(cell(row.subject or "no subject", limit=80))
        question.append(")?\nIt is applied as ordinary mail: it may open a case or reach one. Machine mail is "
                        "never answered by mail.")

        def answered(yes: bool | None) -> None:
            if yes:
                self.release(row.id)

        self.app.push_screen(ConfirmScreen(question), answered)

    def release(self, inbound_id: int) -> None:
        me = self.me

        def done(result: Any) -> None:
            if result.ok:
                where = f"case {result.case}" if result.case else "no case"
                self.notify(clean(f"{result.outcome}: {where}. {result.reason}"),
                            title=f"Released message #{inbound_id}", markup=False)
            else:
                self.notify(clean(result.reason), title=f"Message #{inbound_id} not applied", severity="error",
                            markup=False)
            self.reload()

        self.call(lambda: self.intake().release(inbound_id, actor=me), then=done, group="release")

    def action_reload(self) -> None:
        self.reload()
