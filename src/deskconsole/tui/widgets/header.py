"""The top line of every pane: where you are, who you are, what time it is."""

from __future__ import annotations

from datetime import tzinfo

from rich.text import Text
from textual.widgets import Static

from deskconsole.domain.clock import Clock
from deskconsole.tui.headline import header_line


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
        down = getattr(self.app, "db_down_since", None)
        return header_line(self.pane, self.user, self.role, self.clock.now().astimezone(self.tz), self.size.width,
                           None if down is None else down.astimezone(self.tz))
