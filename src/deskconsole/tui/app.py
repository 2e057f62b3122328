"""The deskconsole console: one App over one lifecycle Service.

Panes (each a Screen, reached by number from anywhere):

    1  Queue              cases as rows; views mine/unassigned/all/escalated; `/` filter; `enter` opens
    2  Case detail        the case last opened; every analyst action by one key
    3  Escalation review  managers decide requests; approved escalations with their daily status
    4  Countdowns         every running timer, soonest first, ticking each second
    5  Surveys            CSAT, score distribution, weekly trend, low scores to follow up

Everywhere: `?` lists the keys of the pane, `ctrl+p` finds any action by name,
`escape` goes back, `q` quits, `j`/`k` and the arrows move. Every key comes
from one list (tui/bindings.py) that feeds the footer, the help and the palette.

While the console is open a background worker on the App runs the timers
(`service.tick()`) and polls `service.last_change_marker()`; it re-arms itself
only after each run, so two runs never overlap. What fires is notified and the
visible pane refreshes when the desk changed. Countdowns move each second from
due times held in memory, without touching the database.
"""

from __future__ import annotations

import sys
import time
from datetime import tzinfo
from pathlib import Path
from typing import Any

from textual import on
from textual.app import App
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from deskconsole.domain.clock import Clock
from deskconsole.domain.errors import DeskError
from deskconsole.tui.bindings import GLOBAL, PANES, bindings
from deskconsole.tui.commands import DeskCommands
from deskconsole.tui.messages import TimersTicked
from deskconsole.tui.screens.base import PaneScreen
from deskconsole.tui.screens.case import CaseScreen
from deskconsole.tui.screens.countdowns import CountdownsScreen
from deskconsole.tui.screens.escalations import EscalationsScreen
from deskconsole.tui.screens.queue import QueueScreen
from deskconsole.tui.screens.surveys import SurveysScreen
from deskconsole.tui.widgets.help import HelpScreen

STYLE_FILES = ["app.tcss", "queue.tcss", "case.tcss", "escalations.tcss", "countdowns.tcss", "surveys.tcss"]
PANE_TITLES = {
    "queue": "Queue",
    "case": "Case detail",
    "escalations": "Escalation review",
    "countdowns": "Countdowns",
    "surveys": "Surveys",
}


def styles_dir() -> Path:
    """The styles/ folder: inside the installed package, or at the top of the source tree."""
    here = Path(__file__).resolve()
    candidates = [
        here.parents[1] / "styles",  # wheel: deskconsole/styles
        here.parents[3] / "styles",  # source tree: <repo>/styles (src/deskconsole/tui/app.py)
    ]
    for candidate in candidates:
        if (candidate / "app.tcss").is_file():
            return candidate
    return candidates[-1]


class DeskApp(App[None]):
    TITLE = "deskconsole"
    CSS_PATH = [styles_dir() / name for name in STYLE_FILES]
    BINDINGS = bindings(GLOBAL)
    COMMANDS = {DeskCommands}
    MODES = {
        "queue": QueueScreen,
        "case": CaseScreen,
        "escalations": EscalationsScreen,
        "countdowns": CountdownsScreen,
        "surveys": SurveysScreen,
    }

    def __init__(
        self,
        service: Any,
        user: str,
        role: str,
        *,
        clock: Clock | None = None,
        ticker: bool = True,
        tick_interval: float = 5.0,
        poll_interval: float = 1.5,
        tz: tzinfo | None = None,
    ) -> None:
        super().__init__()
        self.service = service
        self.user = user
        self.role = role
        self.clock = clock or service.clock
        self.ticker = ticker
        self.tick_interval = tick_interval
        self.poll_interval = poll_interval
        self.tz = tz
        self.marker = 0
        self.case_id: int | None = None
        self.back_to = "queue"
        self._next_tick = 0.0
        self._arm_timer: Timer | None = None

    # ------------------------------------------------------------ lifecycle
    def on_mount(self) -> None:
        self.switch_mode("queue")
        if self.ticker:
            self._arm(0.2)
            self.set_interval(1.0, self.countdown_tick, name="countdowns")

    @property
    def pane(self) -> PaneScreen | None:
        """The pane in front (under any open modal)."""
        for screen in reversed(self.screen_stack):
            if isinstance(screen, PaneScreen):
                return screen if screen.ready else None
        return None

    # ------------------------------------------------------------- panes
    def action_pane(self, name: str) -> None:
        if name == "case" and self.case_id is None:
            self.notify("No case open yet: pick one in a list and press enter.", title="Case detail")
            return
        if name != self.current_mode:
            if name == "case":
                self.back_to = self.current_mode if self.current_mode != "case" else self.back_to
            self.switch_mode(name)

    def open_case(self, case_id: int) -> None:
        self.case_id = case_id
        if self.current_mode != "case":
            self.back_to = self.current_mode
            self.switch_mode("case")
        else:
            pane = self.pane
            if pane is not None:
                pane.reload()

    def go_back(self) -> None:
        self.switch_mode(self.back_to if self.back_to != "case" else "queue")

    def action_help(self) -> None:
        pane = self.pane
        if pane is None or isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(PANE_TITLES.get(pane.PANE, pane.PANE), PANES.get(pane.PANE, []), self.role))

    # ------------------------------------------------------------ ticker
    def _arm(self, delay: float | None = None) -> None:
        self._arm_timer = self.set_timer(self.poll_interval if delay is None else delay, self._background,
                                         name="ticker")

    def action_tick(self) -> None:
        """Run the timers now (the background worker, once)."""
        self._next_tick = 0.0
        self._background()

    def _background(self) -> Worker:
        return self.run_worker(self._background_run, thread=True, group="ticker", exclusive=False,
                               exit_on_error=False, name="ticker")

    def _background_run(self) -> None:
        fired = []
        if time.monotonic() >= self._next_tick:
            fired = self.service.tick()
            self._next_tick = time.monotonic() + self.tick_interval
        marker = self.service.last_change_marker()
        self.post_message(TimersTicked(fired, marker))

    @on(Worker.StateChanged)
    def _rearm(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "ticker" or event.worker.node is not self:
            return
        if event.state == WorkerState.ERROR:
            self.log.error("background tick failed", event.worker.error)
        if event.state in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED) and self.ticker:
            if not any(w.group == "ticker" and w.is_running for w in self.workers if w is not event.worker):
                self._arm()

    def on_timers_ticked(self, message: TimersTicked) -> None:
        for fired in message.fired[:5]:
            label = fired.timer.replace("_", " ")
            self.notify(f"case {fired.case}: {label} fired (due {fired.due.astimezone(self.tz):%Y-%m-%d %H:%M})",
                        title="Timer fired", markup=False)
        if len(message.fired) > 5:
            self.notify(f"and {len(message.fired) - 5} more timers fired", title="Timer fired", markup=False)
        if message.marker != self.marker:
            self.marker = message.marker
            pane = self.pane
            if pane is not None:
                pane.reload()

    def countdown_tick(self) -> None:
        """Move the countdowns on screen (in memory, no database)."""
        pane = self.pane
        if pane is not None:
            pane.refresh_countdowns()


def make_app(
    service: Any,
    user: str,
    *,
    clock: Clock | None = None,
    ticker: bool = True,
    tick_interval: float = 5.0,
    poll_interval: float = 1.5,
    tz: tzinfo | None = None,
) -> DeskApp:
    """Build the console for one person (raises NotFound for an unknown user)."""
    agent = service.get_agent(user)
    return DeskApp(service, agent.name, agent.role, clock=clock, ticker=ticker, tick_interval=tick_interval,
                   poll_interval=poll_interval, tz=tz)


def run_console(settings: Any) -> int:
    """Open the console as settings.user on settings.db_url; the CLI's default command."""
    from deskconsole.service import Service
    from deskconsole.store.engine import init_schema, make_engine

    user = getattr(settings, "user", None)
    if not user:
        print("error: who is using the console? give --as NAME or set DESKCONSOLE_USER", file=sys.stderr)
        return 1
    try:
        engine = make_engine(getattr(settings, "db_url", None))
        init_schema(engine)
        service = Service(engine, getattr(settings, "clock", None), getattr(settings, "durations", None))
        app = make_app(service, user, clock=getattr(settings, "clock", None))
    except DeskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    app.run()
    return 0


__all__ = ["DeskApp", "make_app", "run_console", "styles_dir"]
