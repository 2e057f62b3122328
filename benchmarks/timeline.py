"""CPU time to open a case with a long timeline in the console (headless), on a throwaway SQLite desk.

    .venv/bin/python benchmarks/timeline.py [EVENTS]

One case gets EVENTS internal notes (100,000 by default, written in one INSERT ... SELECT); the
console starts headless at 120x40 and the figure is time.process_time() (every thread of the
process: the worker that reads the database and the event loop that draws) from asking for the case
until it is on screen (the case pane already made: another case was
opened before, and its thread switched to show everything, so that the window drawn holds the notes).
A measurement, not a test: tests never assert durations.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from datetime import UTC, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "tui"))

from deskconsole.tui.loading import loading

with loading():  # the console's modules load as `deskconsole` loads them (cli/console.py): then frozen
    from tuidesk import NOW, add_notes, make_service, screen_text

    from deskconsole.domain.clock import FixedClock
    from deskconsole.tui.app import make_app


async def measure(events: int) -> None:
    path = Path(tempfile.mkdtemp()) / "desk.db"
    clock = FixedClock(NOW - timedelta(minutes=events + 60))
    with loading():  # ...and the service (tui/quickstart.py)
        svc = make_service(path, clock)
    svc.add_agent("alice", "analyst", actor=None)
    case, _ = svc.open_case("A very long timeline", "Acme", description="Many notes.")
    small, _ = svc.open_case("A short timeline", "Acme")
    add_notes(path, case.id, events)
    clock.set(NOW)
    app = make_app(svc, "alice", clock=clock, ticker=False, tz=UTC)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        app.open_case(small.id)  # the case pane made and shown once: what follows is opening a case in it
        while "A short timeline" not in screen_text(app) or app.workers:
            await app.workers.wait_for_complete()
            await pilot.pause()
        await pilot.press("v")  # the thread shows everything (the notes are the internal trail), kept for the next case
        while "Everything (" not in screen_text(app) or app.workers:
            await app.workers.wait_for_complete()
            await pilot.pause()
        cpu, wall = time.process_time(), time.perf_counter()
        app.open_case(case.id)
        while "A very long timeline" not in screen_text(app) or app.workers:
            await app.workers.wait_for_complete()
            await pilot.pause()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        shown = "newest on screen" if f"Note {events}" in screen_text(app) else "newest not on screen"
        print(f"{events} events: opened in {cpu * 1000:.0f} ms of CPU ({wall * 1000:.0f} ms wall), {shown}")


if __name__ == "__main__":
    asyncio.run(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000))
