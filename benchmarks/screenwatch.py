"""When did the screen first show something? Shared by the benchmarks that time a headless console.

    watch = ScreenWatch(app, time.perf_counter)
    watch.expect("painted", lambda: app.screen.table.row_count > 0)
    await watch.wait(["painted"])
    watch.hits["painted"]            # the clock's reading at the end of that refresh

The screen calls `app._display()` at the end of every refresh; the watch wraps it, renders what a
terminal would be sent, and records the first refresh after which each expectation holds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any


class ScreenWatch:
    def __init__(self, app: Any, clock: Callable[[], float]) -> None:
        self.app = app
        self.clock = clock
        self.wanted: list[tuple[str, Callable[[], bool]]] = []
        self.hits: dict[str, float] = {}
        self._display = app._display
        app._display = self._on_display

    def _on_display(self, screen: Any, renderable: Any) -> None:
        self._display(screen, renderable)
        if renderable is None or self.app._batch_count:
            return
        if hasattr(renderable, "render_segments"):
            renderable.render_segments(self.app.console)  # what a terminal would be sent
        now = self.clock()
        for entry in list(self.wanted):
            name, predicate = entry
            if predicate():
                self.hits[name] = now
                self.wanted.remove(entry)

    def expect(self, name: str, predicate: Callable[[], bool]) -> None:
        self.hits.pop(name, None)
        self.wanted.append((name, predicate))

    async def wait(self, names: list[str], limit: float = 60.0) -> None:
        deadline = self.clock() + limit
        while any(n not in self.hits for n in names):
            if self.clock() > deadline:
                raise TimeoutError(f"no refresh showed {names} within {limit} s")
            await asyncio.sleep(0.001)
