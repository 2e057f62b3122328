"""The deskconsole console: one App over one lifecycle Service.

Panes (each a Screen, reached by number from anywhere):

    1  Queue              cases as rows; views mine/unassigned/all/escalated; `/` filter; `enter` opens
    2  Case detail        the case last opened; every analyst action by one key
    3  Escalation review  managers decide requests; approved escalations with their daily status
    4  Countdowns         every running timer, soonest first, ticking each second
    5  Surveys            CSAT, score distribution, weekly trend, low scores to follow up
    6  Outbox             messages to customers and managers, newest first; delivery state and failures

Everywhere: `?` lists the keys of the pane, `ctrl+p` finds any action by name,
`escape` goes back, `q` quits, `j`/`k` and the arrows move. Every key comes
from one list (tui/bindings.py) that feeds the footer, the help and the palette.

While the console is open a background worker on the App runs the timers
(`service.tick()`); it re-arms itself only after each run, so two runs never
overlap. What fires is notified. With `live` on (the `deskconsole` command), a
second, long-running worker waits on the service's change watcher
(`service.watch()`, store/watch.py) and the pane in front reloads its window as
soon as another console (or this one) commits; where no watcher can be opened
the ticker polls `service.last_change_marker()` instead. Countdowns move each
second from due times held in memory, without touching the database.

When the database cannot be reached, the header says so ("database unreachable
since 12:03:04 — retrying"), forms that fail to submit stay open with their
text, and when the watcher (or the ticker) reaches the database again the
banner goes and the pane reloads.

When DESKCONSOLE_SMTP_URL is set, a second background worker delivers the
outbox: one pass of at most 20 messages, then the next pass about 30 s after
the last one finished (never two at once). A message the mail server refuses
for good is notified and stays in the Outbox pane as `failed`, with the
server's answer. Without the URL, delivery is off and messages wait in the
Outbox pane.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from textual import events, on
from textual.app import App
from textual.timer import Timer
from textual.worker import Worker, WorkerState, get_current_worker

from deskconsole.domain import labels
from deskconsole.domain.clock import Clock
from deskconsole.domain.errors import DeskError
from deskconsole.domain.presence import BEAT_SECONDS
from deskconsole.store.changes import WatchLost, connection_lost
from deskconsole.tui import styles
from deskconsole.tui.appdelivery import DELIVERY_INTERVAL, DeliveryPart
from deskconsole.tui.bindings import bindings
from deskconsole.tui.commands import DeskCommands
from deskconsole.tui.keyflow import KeyFlow
from deskconsole.tui.macros import MacroCommands
from deskconsole.tui.messages import DatabaseLost, DeskChanged, ServiceLoaded, TimersTicked
from deskconsole.tui.panes import BY_NAME, GLOBAL, modes
from deskconsole.tui.presence import PresenceBeat
from deskconsole.tui.quickstart import Superseded
from deskconsole.tui.screens import queue as _queue_screen  # noqa: F401 - the start pane: imported before the first frame
from deskconsole.tui.screens.base import PaneScreen
from deskconsole.tui.styles import style, styles_dir
from deskconsole.tui.text import clean

if TYPE_CHECKING:
    from collections.abc import Sequence

    from deskconsole.domain.rows import CaseRow
    from deskconsole.domain.saved_views import View
    from deskconsole.settings import Settings
    from deskconsole.tui.prepaint import Prepainted
    from deskconsole.tui.quickstart import QuickStart

# Panes other than the queue (and the delivery worker) are imported when first used (tui/panes.py),
# and their stylesheets read after the first frame (tui/styles.py): the console's start pays only
# for what paints the queue.
WATCH_WAIT = 0.5  # seconds per wait on the change watcher (how soon the watch worker notices it should stop)


class DeskApp(KeyFlow, DeliveryPart, App[None]):
    TITLE = "deskconsole"
    CSS_PATH = [style(name) for name in styles.FIRST]
    BINDINGS = bindings(GLOBAL)
    COMMANDS = {DeskCommands, MacroCommands}
    MODES = modes()  # every pane of tui/panes.py; the queue's module is imported above, the others when shown
    # A pane's screen has the class -narrow under 100 columns (styles/*.tcss lay it out for that)
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-roomy")]

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
        live: bool = False,
        tz: tzinfo | None = None,
        delivery: bool = False,
        deliverer: Any = None,
        delivery_interval: float = DELIVERY_INTERVAL,
        environ: Mapping[str, str] | None = None,
        quick: QuickStart | None = None,
        drafts: Any = None,
        keymap: Mapping[str, str] | None = None,
        views: Sequence[View] = (),
    ) -> None:
        super().__init__()
        self.keymap = dict(keymap or {})  # the config file's [keys] (tui/keymap.py), by binding id
        if self.keymap:
            self.set_keymap(self.keymap)
        self.config_views = list(views)  # the config file's [[views]]: tabs of the queue (tui/queueviews.py)
        self._drafts = drafts  # the composer's drafts (tui/drafts.py); by default in the user's data dir
        self._service = service
        self.quick = quick  # the fast start: no service yet, it loads right after the first paint
        self.startup_error: str | None = None
        self.user = user
        self.role = role
        self.clock = clock or service.clock
        self.ticker = ticker
        self.tick_interval = tick_interval
        self.poll_interval = poll_interval
        self.live = live
        self.watching = False  # the change watcher is open: the ticker does not poll the marker
        self.db_down_since: datetime | None = None
        self.tz = tz
        self.marker = 0
        self.case_id: int | None = None
        self.back_to = "queue"
        self._next_tick = 0.0
        self._arm_timer: Timer | None = None
        # Delivery: on when asked for and an SMTP URL is configured (or a deliverer is given).
        self.delivery = delivery
        self.delivery_interval = delivery_interval
        self.environ = environ
        self.deliverer = deliverer
        self.delivery_problem: str | None = None
        self.last_delivery: tuple[datetime, int, int] | None = None  # when, sent, failed
        self._delivery_timer: Timer | None = None
        self._server_down = False
        self._styles_read = False  # the stylesheets of tui/styles.py's LATER (load_styles)
        self._service_asked = False  # load_service ran (fast start)
        # Customer replies to closed cases assigned to this person are announced (after_close_check):
        # the newest event id looked at (None: not yet asked where the desk stands).
        self.replies_seen: int | None = None
        self.presence = PresenceBeat(self)  # this person's heartbeat at the case they show (tui/presence.py)

    # ------------------------------------------------------------ lifecycle
    def on_mount(self) -> None:
        self.switch_mode("queue")
        if self.live:
            self.run_worker(self._watch_run, thread=True, group="watch", exit_on_error=False, name="watch")
        if self.ticker:
            if self.quick is None:
                self._arm(0.2)  # (on a fast start: once the service has loaded)
            self.set_interval(1.0, self.countdown_tick, name="countdowns")
            self.set_interval(BEAT_SECONDS, self.presence.tick, name="presence")
        if self.quick is not None:
            self.set_timer(1.0, self.load_service, name="service-load")  # in case no window gets painted
        else:
            self.after_close_check()
            if self.delivery:
                self._start_delivery()

    def on_key(self, event: events.Key) -> None:
        """A printable key that comes back unhandled while a text box has focus was typed in one
        burst with the key that moved focus there (`/` then a word): the widget that had focus
        was handed it first. The box gets it, in order, instead of it being lost (a hidden box
        never: the key was not meant for it)."""
        from textual.widgets import Input

        focused = self.focused
        if (isinstance(focused, Input) and event.is_printable and event.character and focused.display
                and not focused.has_class("hidden")):
            event.stop()
            focused.post_message(events.Key(event.key, event.character))

    # ------------------------------------------------------------ service
    @property
    def service(self) -> Any:
        """The lifecycle service. On a fast start it loads in the background: until then this
        waits for it, so it is used from worker threads (never on the event loop before it loaded)."""
        if self._service is None and self.quick is not None:
            self._service = self.quick.wait()
        return self._service

    @property
    def drafts(self) -> Any:
        """The composer's drafts of this desk (tui/drafts.py), kept per case and person."""
        if self._drafts is None:
            from deskconsole.tui.drafts import Drafts

            self._drafts = Drafts.for_service(self.service, self.environ)
        return self._drafts

    @property
    def service_ready(self) -> bool:
        return self._service is not None or (self.quick is not None and self.quick.loaded)

    def list_cases(self, **query: Any) -> list[CaseRow]:
        """The queue's window: from the quick connection until the service has loaded, then the service."""
        quick = self.quick
        if quick is not None and not quick.loaded:
            try:
                return quick.list_cases(**query)
            except Superseded:
                raise  # a newer window was asked for: nobody wants this one
            except Exception:  # noqa: BLE001 -- the service answers instead (and refuses what is wrong)
                pass
        return self.service.list_cases(**query)

    def handed_window(self, query: dict[str, Any]) -> list[CaseRow] | None:
        """The first window, read before the console ran (fast start), if `query` asks for it."""
        return self.quick.handed(query) if self.quick is not None else None

    def painted(self) -> None:
        """The queue showed a window: after the first one's frame, load the service (fast start) and
        read the other screens' stylesheets."""
        if self.quick is not None and not self._service_asked:  # (loaded already, by a worker: told now)
            self.call_after_refresh(self.load_service)
        if not self._styles_read:
            self._styles_read = True
            self.call_after_refresh(self.load_styles)

    def load_styles(self) -> None:
        """Read the stylesheets of the other panes and of the modal screens, all at once (each
        screen names its own as CSS_PATH, which Textual reads, with a reparse and restyle of
        everything, when the screen first shows; after this there is nothing left to read)."""
        stylesheet = self.stylesheet
        unread = [path for path in map(style, styles.LATER) if not stylesheet.has_source(str(path), "")]
        if not unread:
            return
        for path in unread:
            stylesheet.read(path)
        stylesheet.reparse()
        stylesheet.update(self)

    def load_service(self) -> None:
        """Load the service (fast start): ServiceLoaded comes once, however often this is called."""
        if self.quick is not None and not self._service_asked:
            self._service_asked = True
            self.quick.start(lambda service, error: self.post_message(ServiceLoaded(service, error)))

    def on_service_loaded(self, message: ServiceLoaded) -> None:
        if message.error is not None:
            error = message.error
            text = str(error) if isinstance(error, DeskError) else f"{type(error).__name__}: {error}"
            self.startup_error = clean(text, single_line=True)
            self.exit(return_code=1)
            return
        self._service = message.service
        if self.quick is not None:
            self.quick.close()
        if self.ticker:
            self._arm(0.2)
        self.after_close_check()
        if self.delivery:
            self._start_delivery()
        loaded = getattr(self.pane, "service_loaded", None)  # (the queue's view tabs: tui/queueviews.py)
        if loaded is not None:
            loaded()

    @property
    def pane(self) -> PaneScreen | None:
        """The pane in front (under any open modal)."""
        for screen in reversed(self.screen_stack):
            if isinstance(screen, PaneScreen):
                return screen if screen.ready else None
        return None

    # ------------------------------------------------------------- panes
    def action_pane(self, name: str) -> None:
        entry = BY_NAME.get(name)
        # a pane for some roles only (tui/panes.py): help and the palette offer it to them alone; its
        # key, pressed by anyone else, says who it is for
        if entry is not None and not entry.offered_to(self.role):
            who = " and ".join(sorted(f"{role}s" for role in entry.roles or ()))
            self.notify(f"{entry.title} is for {who}.", title=entry.title, severity="warning")
            return
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
        from deskconsole.tui.widgets.help import HelpScreen

        pane = self.pane
        if pane is None or isinstance(self.screen, HelpScreen):
            return
        entry = BY_NAME.get(pane.PANE)
        self.push_screen(HelpScreen(entry.title if entry else pane.PANE, list(pane.ACTIONS), self.role, pane.PANE,
                                    keymap=self.keymap))

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
        fired, ran, marker = [], False, None
        try:
            if time.monotonic() >= self._next_tick:
                self._next_tick = time.monotonic() + self.tick_interval
                fired, ran = self.service.tick(), True
            if not self.watching:
                marker = self.service.last_change_marker()
        except Exception as exc:
            if not connection_lost(exc):
                raise
            self.post_message(DatabaseLost(exc))
            return
        if ran or marker is not None:
            self.post_message(TimersTicked(fired, marker))

    def _watch_run(self) -> None:
        """Wait on the change watcher until the console closes; post what changed."""
        worker = get_current_worker()
        try:
            watcher = self.service.watch()
        except Exception as exc:  # noqa: BLE001 - cannot watch: the ticker polls the marker instead
            self.log.warning("no change watcher; polling instead", exc)
            return
        self.watching = True
        try:
            while not worker.is_cancelled and self.live:
                try:
                    change = watcher.wait(WATCH_WAIT)
                except WatchLost as exc:
                    self.post_message(DatabaseLost(exc))
                    continue
                if change is not None:
                    self.post_message(DeskChanged(change))
        finally:
            self.watching = False
            watcher.close()

    @on(Worker.StateChanged)
    def _rearm(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "ticker" or event.worker.node is not self:
            return
        if event.state == WorkerState.ERROR:
            self.log.error("background tick failed", event.worker.error)
        if (
            event.state in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED)
            and self.ticker
            and not any(w.group == "ticker" and w.is_running for w in self.workers if w is not event.worker)
        ):
            self._arm()

    def on_desk_changed(self, message: DeskChanged) -> None:
        if self.db_down_since is not None:
            self.database_back()
            return  # database_back reloads the pane
        self.marker += 1  # panes behind reload when they come to the front
        pane = self.pane
        if pane is not None:
            pane.changed(message.change)
        if message.change.cases is None or message.change.cases:
            self.after_close_check()

    def on_database_lost(self, message: DatabaseLost) -> None:
        self.database_lost(message.error)

    def database_lost(self, error: BaseException) -> None:
        """The database cannot be reached: say so once, in the header and one notice."""
        if self.db_down_since is not None:
            return
        self.db_down_since = self.clock.now()
        self.log.warning("database unreachable", error)
        self.notify("The database cannot be reached; retrying. Nothing is lost: a form that fails to submit "
                    "stays open with your text.", title="Database", severity="error", timeout=10, markup=False)
        self._refresh_header()

    def database_back(self) -> None:
        if self.db_down_since is None:
            return
        self.db_down_since = None
        self.marker += 1
        self.notify("The database is reachable again.", title="Database", markup=False)
        self._refresh_header()
        pane = self.pane
        if pane is not None:
            pane.reload()

    def _refresh_header(self) -> None:
        from deskconsole.tui.widgets.header import DeskHeader

        for screen in self.screen_stack:
            for header in screen.query(DeskHeader):
                header.tick()

    def on_timers_ticked(self, message: TimersTicked) -> None:
        if self.db_down_since is not None:
            self.database_back()
        for fired in message.fired[:5]:
            label = labels.label(labels.TIMER_KIND, fired.timer)
            self.notify(f"case {fired.case}: {label} fired (due {fired.due.astimezone(self.tz):%Y-%m-%d %H:%M})",
                        title="Timer fired", markup=False)
        if len(message.fired) > 5:
            self.notify(f"and {len(message.fired) - 5} more timers fired", title="Timer fired", markup=False)
        if message.marker is not None and message.marker != self.marker:
            self.marker = message.marker
            pane = self.pane
            if pane is not None:
                pane.reload()
            self.after_close_check()

    # ------------------------------------------------------- replies after close
    def after_close_check(self) -> None:
        """Look (in a worker) for customer replies to closed cases of this analyst since the last look;
        each is notified here, in this console only (the case's last assignee's)."""
        if self.role != "analyst" or not self.service_ready:
            return
        self.run_worker(self._after_close_run, thread=True, group="after-close", exclusive=False,
                        exit_on_error=False, name="after-close")

    def _after_close_run(self) -> None:
        try:
            mark, replies = self.service.replies_after_close(self.user, after=self.replies_seen)
        except Exception as exc:
            if connection_lost(exc):
                return  # (the watcher or the ticker says so; the next change looks again)
            raise
        self.call_from_thread(self.announce_replies, mark, replies)

    def announce_replies(self, mark: int, replies: list[Any]) -> None:
        seen = self.replies_seen
        if seen is not None and mark <= seen:
            return  # another look came back first with as much or more
        self.replies_seen = mark
        for reply in replies:
            if seen is not None and reply.event <= seen:
                continue
            words = clean(reply.body, single_line=True)
            first = " ".join(words.split()[:12])
            if len(first) > 90:
                first = first[:89] + "…"
            elif first != words.strip():
                first += " …"
            title = clean(reply.title, single_line=True)[:60]
            self.notify(f"The customer wrote to closed case {reply.case} ({title}): "
                        f"“{first}” — open it and press F for a follow-up case.",
                        title="Reply after close", severity="warning", timeout=20, markup=False)

    # ----------------------------------------------------------- delivery (tui/appdelivery.py)
    @on(Worker.StateChanged)
    def _delivery_done(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "delivery" or event.worker.node is not self:
            return
        if event.state == WorkerState.ERROR and connection_lost(event.worker.error):
            self.database_lost(event.worker.error)  # said once, in the header; the next pass tries again
        elif event.state == WorkerState.ERROR:
            error = event.worker.error
            self.log.error("delivery pass failed", error)
            self.notify(clean(f"Delivery pass failed: {type(error).__name__}: {error}", single_line=True)[:300],
                        title="Outbox", severity="error", timeout=10, markup=False)
        if (
            event.state in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED)
            and self.deliverer is not None
            and not self._delivering()
        ):
            self._arm_delivery()

    def countdown_tick(self) -> None:
        """Move the countdowns on screen (in memory, no database)."""
        pane = self.pane
        if pane is not None:
            pane.refresh_countdowns()


def make_app(service: Any, user: str, **options: Any) -> DeskApp:
    """Build the console for one person (raises NotFound for an unknown user).

    `options` are DeskApp's: clock, ticker, tick_interval, poll_interval, live (watch for
    changes made elsewhere, as `deskconsole` does), tz, and
    delivery (off unless asked for), which runs the delivery worker when an SMTP URL
    is set in `environ` (default: the process environment) or a `deliverer` is given.
    """
    agent = service.get_agent(user)
    return DeskApp(service, agent.name, agent.role, **options)


def open_console(settings: Settings, prepainted: Prepainted | None = None, **options: Any) -> DeskApp:
    """The console for settings.user on settings.db_url, ready to run (raises DeskError).

    The fast start (deskconsole.tui.quickstart) paints the queue from a plain driver
    connection and loads the service right after; the queue's first window is read here,
    before the console runs, so that the first frame drawn shows it (a read in a worker would
    come back a frame or two later, after an empty table). When it does not apply, the service is
    loaded first (make_app), which also reports an unknown user or an unusable database.
    After a terminal pre-paint (deskconsole.tui.prepaint) its quick connection, and the
    window it read, are the console's.
    """
    from deskconsole.tui.quickstart import open_for

    options.setdefault("clock", settings.clock)
    options.setdefault("keymap", settings.keys)
    options.setdefault("views", settings.views)
    quick = prepainted.quick if prepainted is not None else open_for(settings)
    if quick is None:
        service = settings.make_service()
        # on PostgreSQL, whom the login acts as (store/identity.py; a login it refuses raises here)
        user = service.acting_name(settings.user, explicit=settings.user_source != "login")
        return make_app(service, user or "", **options)
    from deskconsole.tui.queuespec import first_query

    quick.read_ahead(first_query(quick.role, quick.name))  # the first frame shows rows, not an empty table
    quick.saved_views()  # (and the user's own view tabs: tui/queueviews.py)
    return DeskApp(None, quick.name, quick.role, quick=quick, **options)


def run_console(settings: Settings, prepainted: Prepainted | None = None) -> int:
    """Open the console as settings.user on settings.db_url; the CLI's default command.

    `prepainted`: the queue drawn on the terminal already (deskconsole.tui.prepaint, which
    the CLI calls before importing this module); the console paints over it, and the terminal
    attributes saved before it are restored when the console ends, whatever happens."""
    if not settings.user:
        print("error: who is using the console? give --as NAME or set DESKCONSOLE_USER", file=sys.stderr)
        return 1
    try:
        app = open_console(settings, prepainted, live=True, delivery=True)
    except BaseException as exc:
        if prepainted is not None:
            prepainted.abandon()
        if not isinstance(exc, DeskError):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 1
    # a lost database is shown in the header; the database library's own log must not write over the screen
    logging.getLogger("sqlalchemy").addHandler(logging.NullHandler())
    if prepainted is None:
        app.run()
    else:
        from textual.drivers.linux_driver import LinuxDriver

        if isinstance(app.driver_class, type) and issubclass(app.driver_class, LinuxDriver):
            app.driver_class = prepainted.driver(app.driver_class)
        else:
            prepainted.handed_over = True  # another driver: it switches screens its own way
        try:
            app.run()
        finally:
            prepainted.finish()  # the console restored what it saw at its start: our no-echo mode
    app.presence.leave_now()  # (the case it showed: others see this person gone at once)
    if app.startup_error is not None:
        print(f"error: {app.startup_error}", file=sys.stderr)
        return 1
    return 0


__all__ = ["DeskApp", "make_app", "open_console", "run_console", "styles_dir"]
