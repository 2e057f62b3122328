"""The top line of every pane: where you are, who you are, what time it is."""

from __future__ import annotations

from datetime import tzinfo

from rich.text import Text
from textual.widgets import Static

from deskconsole.domain.clock import Clock

PANE_TITLES = [
    ("queue", "1 Queue"),
    ("case", "2 Case"),
    ("escalations", "3 Escalations"),
    ("countdowns", "4 Countdowns"),
    ("surveys", "5 Surveys"),
    ("outbox", "6 Outbox"),
]


class DeskHeader(Static):
    """`deskconsole │ 1 Queue  2 Case … │ alice · analyst │ 2026-11-25 09:00`."""

    def __init__(self, pane: str, user: str, role: str, clock: Clock, tz: tzinfo | None) -> None:
        super().__init__(id="desk-header", markup=False)
        self.pane = pane
        self.user = user
        self.role = role
        self.clock = clock
        self.tz = tz

    def on_mount(self) -> None:
        self.tick()

    def on_resize(self) -> None:
        self.tick()

    def tick(self) -> None:
        self.update(self.compose_line())

    def compose_line(self) -> Text:
        now = self.clock.now().astimezone(self.tz)
        right = Text()
        right.append(self.user, "bold")
        right.append(f" · {self.role}  ")
        right.append(now.strftime("%Y-%m-%d %H:%M:%S %Z"), "dim")
        right.append(" ")
        width = max(self.size.width, 100)
        down = getattr(self.app, "db_down_since", None)
        if down is not None:
            line = Text(no_wrap=True, overflow="ellipsis")
            line.append(" deskconsole ", "bold reverse")
            line.append("  ")
            line.append(f" database unreachable since {down.astimezone(self.tz):%H:%M:%S} — retrying ",
                        "bold white on red")
        else:
            line = self._panes(roomy=True)
            if line.cell_len + 1 + right.cell_len > width:
                line = self._panes(roomy=False)  # one space between the pane names instead of two
        gap = width - line.cell_len - right.cell_len
        line.append(" " * max(1, gap))
        line.append_text(right)
        return line

    def _panes(self, *, roomy: bool) -> Text:
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(" deskconsole ", "bold reverse")
        line.append("  " if roomy else " ")
        for name, title in PANE_TITLES:
            style = "bold underline" if name == self.pane else "dim"
            if roomy:
                line.append(f" {title} ", style)
            else:
                line.append(" ")
                line.append(title, style)
        return line
