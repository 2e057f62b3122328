"""`?`: every key of the current pane, from the same list as the footer."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from deskconsole.tui.bindings import HELP, KeyAction, bindings
from deskconsole.tui.panes import GLOBAL
from deskconsole.tui.styles import style


class HelpScreen(ModalScreen[None]):
    CSS_PATH = style("forms.tcss")
    BINDINGS = bindings(HELP)

    def __init__(self, pane_title: str, actions: list[KeyAction], role: str) -> None:
        super().__init__(classes="form-screen", id="help")
        self.pane_title = pane_title
        self.actions = actions
        self.role = role

    def compose(self) -> ComposeResult:
        with Vertical(id="form"):
            yield Label(Text(f"Keys — {self.pane_title}", style="bold"), id="form-title")
            with VerticalScroll(id="help-body"):
                yield Static(self.table(), markup=False)
            yield Label(Text.assemble(("esc", "bold"), " / ", ("?", "bold"), " close"), id="form-keys")

    def table(self) -> Table:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", min_width=8)
        grid.add_column()
        for heading, group in ((self.pane_title, self.actions), ("Everywhere", GLOBAL)):
            rows = [a for a in group if a.offered_to(self.role)]
            if not rows:
                continue
            grid.add_row(Text(heading, style="underline"), "")
            for a in rows:
                grid.add_row(a.display_key(), Text(f"{a.label} — {a.help}"))
            grid.add_row("", "")
        return grid

    def action_close(self) -> None:
        self.dismiss(None)
