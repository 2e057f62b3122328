"""One outbox message as it will be or was sent: to, subject, body (enter on an outbox row).

Everything here is shown literally: a subject or body holds the customer's words
(a case title, a quoted question), so it goes through tui/text.py.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from deskconsole.domain.views import OutboxView
from deskconsole.tui import format as fmt
from deskconsole.tui.bindings import MESSAGE, bindings, by_action
from deskconsole.tui.text import cell, long_text

BODY_LIMIT = 50_000


def message_head(o: OutboxView, tz: Any, state_styles: dict[str, str]) -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column(ratio=1)
    grid.add_row("To", cell(o.to, "bold", limit=300))
    grid.add_row("Subject", cell(o.subject, "bold", limit=500))
    state = Text(o.state, state_styles.get(o.state, ""))
    if o.state in ("queued", "sending"):
        state.append("  — not sent yet: this is the message as it will be sent", "dim")
    elif o.state == "sent":
        state.append(f"  — sent {fmt.when(o.sent_at, tz)}", "dim")
    grid.add_row("State", state)
    grid.add_row("Case", Text(f"{o.case} · {o.kind.replace('_', ' ')} · written {fmt.when(o.created_at, tz)}"))
    if o.message_id:
        grid.add_row("Message-ID", cell(o.message_id, limit=300))
    if o.last_error:
        grid.add_row("Last error", cell(o.last_error, "red", limit=1000))
    return grid


class MessageScreen(ModalScreen[str | None]):
    """Answers "case" when the user asks for the message's case, else None."""

    BINDINGS = bindings(MESSAGE)

    def __init__(self, message: OutboxView, tz: Any, state_styles: dict[str, str]) -> None:
        super().__init__(classes="form-screen", id="outbox-message")
        self.message = message
        self.tz = tz
        self.state_styles = state_styles

    def compose(self) -> ComposeResult:
        o = self.message
        keys = by_action(MESSAGE)
        with Vertical(id="form"):
            yield Static(Text(f"Message #{o.id}", style="bold"), id="form-title")
            yield Static(message_head(o, self.tz, self.state_styles), id="message-head")
            with VerticalScroll(id="message-body"):
                yield Static(long_text(o.body or "(no text)", "" if o.body else "dim italic", limit=BODY_LIMIT),
                             markup=False)
            line = Text()
            for action in ("open_case", "close"):
                if line.plain:
                    line.append("   ")
                line.append(keys[action].display_key(), "bold")
                line.append(f" {keys[action].label}")
            yield Static(line, id="form-keys")

    def on_mount(self) -> None:
        self.query_one("#message-body").focus()

    def action_open_case(self) -> None:
        self.dismiss("case")

    def action_close(self) -> None:
        self.dismiss(None)


__all__ = ["MessageScreen", "message_head"]
