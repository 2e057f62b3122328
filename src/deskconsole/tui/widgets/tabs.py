"""The queue's view tabs with their counts (the line is tui/viewtabs.py's, also the pre-paint's)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from textual import events
from textual.widgets import Static

from deskconsole.domain.saved_views import View
from deskconsole.tui.viewtabs import tab_line


class ViewTabs(Static):
    """One line: every view of the queue, the one in front marked, each with its count."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(markup=False, **kwargs)  # type: ignore[arg-type]
        self.views: list[View] = []
        self.current = ""
        self.counts: dict[str, int] | None = None

    def show(self, views: Sequence[View], current: str, counts: Mapping[str, int] | None) -> None:
        self.views, self.current = list(views), current
        self.counts = dict(counts) if counts is not None else None
        self._draw()

    def _draw(self) -> None:
        width = self.size.width or None
        self.update(tab_line(self.views, self.current, self.counts, width))

    def on_resize(self, event: events.Resize) -> None:
        self._draw()

    @property
    def plain(self) -> str:
        return tab_line(self.views, self.current, self.counts).plain
