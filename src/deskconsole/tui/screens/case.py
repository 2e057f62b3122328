"""Pane 2, case detail: header, what happens next, the timeline, and every analyst action by one key.

Actions pass `expected_version` (the version shown when the form opened). When
someone else changed the case meanwhile, the service refuses with a Conflict:
the pane says who changed what, reloads the case and reopens the form with the
text already typed. A submit that fails because the database cannot be reached
reopens the form with the text too (the header says the database is unreachable), and so does one
that fails for want of room (a full disk: the form says so).
The pane reloads by itself when the change watcher reports a change to its case. The action keys
(forms, composer, what a refusal does) are tui/caseactions.py's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from deskconsole.domain.asking import awaits_follow_up
from deskconsole.domain.permissions import Action, CaseState, Person, Verdict, may
from deskconsole.domain.views import CaseView, EventView, EventWindow
from deskconsole.store.changes import Change
from deskconsole.tui.caseactions import CaseActions
from deskconsole.tui.editing import EDIT_KEYS, CaseEditKeys
from deskconsole.tui.macros import MACRO_KEYS, CaseMacroKeys
from deskconsole.tui.panes import pane, screen_keys
from deskconsole.tui.presence import CasePresence
from deskconsole.tui.screens.base import PaneScreen
from deskconsole.tui.styles import style
from deskconsole.tui.widgets.casehead import case_head, case_next, case_text
from deskconsole.tui.widgets.customer import show_customer
from deskconsole.tui.widgets.footer import DeskFooter
from deskconsole.tui.widgets.thread import Block, ThreadView, event_lines

# Events the timeline reads at a time (Service.case_events): the newest window, then each page of earlier
# ones: opening a case reads and draws this many events, however long its timeline.
WINDOW = 200
# ...but a case opens on the newest events that fill the screen twice over (each event takes a line
# at least): drawing and reading 200 events cost more than the rest of opening a case. `o` reads the
# page before the oldest event loaded.
FIRST_WINDOW = 60
CONVERSATION, EVERYTHING = "conversation", "everything"  # what the thread shows
# Each action key of the pane and what it asks of the service (domain/permissions.py judges it).
PERMISSIONS = {
    "start_work": Action.START_WORK,
    "pending": Action.SET_PENDING,
    "resolve": Action.RESOLVE,
    "close_case": Action.CLOSE,
    "clone": Action.CLONE,
    "follow_up": Action.CLONE,  # (offered only while the customer's reply after close waits: follow_up_waits)
    "compose": Action.NOTE,
    "customer_reply": Action.LOG_CUSTOMER_REPLY,
    "customer_confirmed": Action.LOG_CONFIRMATION,
    "request_escalation": Action.REQUEST_ESCALATION,
    "log_engineering": Action.LOG_ENGINEERING,
    "link_article": Action.LINK_ARTICLE,
    "take": Action.TAKE,
    "reassign": Action.REASSIGN,
}


class CaseScreen(CasePresence, CaseEditKeys, CaseMacroKeys, CaseActions, PaneScreen):
    CSS_PATH = style(pane("case").stylesheet)
    PANE = "case"
    ACTIONS, BINDINGS = screen_keys("case")

    def __init__(self) -> None:
        super().__init__()
        self.case: CaseView | None = None
        self.case_id: int | None = None
        # The timeline in windows (Service.case_events): the case shown, its events loaded, the
        # oldest id loaded (the next page comes before it) and how many come before that.
        self.timeline_case: int | None = None
        self.timeline_total = 0
        self.oldest_id: int | None = None
        self.earlier = 0
        self.mode = CONVERSATION  # the thread shows the conversation with the customer, or everything
        self.shown_events: list[EventView] = []
        self._lean: tuple[Any, Any] | None = None
        self.present: list[Any] = []  # who else is at the case (tui/presence.py)

    @property
    def service(self) -> Any:
        """The desk's service, whose case views leave the timeline out: the pane reads it in windows."""
        base = self.desk.service
        if self._lean is None or self._lean[0] is not base:
            self._lean = (base, base.without_timelines())
        return self._lean[1]

    def compose(self) -> ComposeResult:
        yield self.header()
        yield Static(id="case-head", markup=False)
        yield Static(id="case-next", markup=False)
        yield ThreadView(id="case-thread")  # the case's text, then its thread (conversation or everything)
        yield DeskFooter()

    def on_mount(self) -> None:
        self.thread.focus()

    @property
    def thread(self) -> ThreadView:
        return self.query_one("#case-thread", ThreadView)

    # ------------------------------------------------------------------ load
    def on_screen_resume(self) -> None:
        if self.desk.case_id != self.case_id:
            self.reload()
        else:
            super().on_screen_resume()

    def reload(self, then: Callable[[], None] | None = None) -> None:
        case_id = self.desk.case_id
        if case_id is None:
            return
        marker = self.desk.marker

        def loaded(answer: tuple[CaseView, EventWindow]) -> None:
            view, window = answer
            self.mark_loaded(marker)
            self.show(view)
            self.show_timeline(window, mode)
            if then is not None:
                then()

        mode = self.mode

        def load() -> tuple[CaseView, EventWindow]:
            return self.service.get_case(case_id, events=False), self.read_window(case_id)

        self.call(load, then=loaded)

    def changed(self, change: Change) -> None:
        if change.touches(self.case_id if self.case_id is not None else self.desk.case_id):
            self.reload()

    def show(self, view: CaseView) -> None:
        """The case's header and text (its timeline comes in windows: show_timeline)."""
        self.presence_reset(view.id)
        self.case, self.case_id = view, view.id
        self.redraw_head()
        self.desk.presence.beat()
        if self.timeline_case == view.id:
            self.thread.set_blocks(self.head_blocks())  # (another case's text waits for its thread)
        self.refresh_countdowns()
        self.refresh_bindings()

    # -------------------------------------------------------------- timeline
    def read_window(self, case_id: int, before_id: int | None = None) -> EventWindow:
        """A window of the thread as it is shown now (the conversation, or everything): the newest
        events that fill the screen, or the page before `before_id`."""
        limit = WINDOW if before_id is not None else max(FIRST_WINDOW, 2 * self.size.height)
        return self.service.case_events(case_id, before_id=before_id, limit=limit,
                                        conversation=self.mode == CONVERSATION)

    def reload_timeline(self, *, follow: bool = False) -> None:
        """Read the newest window of the thread again (after an action, or another view of it)."""
        case_id, mode = self.case_id, self.mode
        if case_id is not None:
            self.call(lambda: self.read_window(case_id),
                      then=lambda window: self.show_timeline(window, mode, follow=follow), group="timeline")

    def show_timeline(self, window: EventWindow, mode: str | None = None, *, follow: bool = False) -> None:
        """The newest window of a case's thread; pages of earlier events loaded before are dropped.
        A case just opened shows its newest event; otherwise the line at the top of the screen stays
        there, and a thread read to its end follows new events."""
        if window.case != self.case_id or (mode or self.mode) != self.mode:
            return  # another case, or the other view of the thread, was asked for meanwhile
        follow = follow or window.case != self.timeline_case
        self.timeline_case = window.case
        self.timeline_total = window.earlier + len(window.events)
        self.earlier = window.earlier
        self.oldest_id = min((e.id for e in window.events), default=None)
        self.shown_events = list(window.events)
        self.thread.set_blocks(self.head_blocks(), self.event_blocks(self.shown_events), follow=follow)
        self.refresh_bindings()

    def event_blocks(self, events: list[EventView]) -> list[Block]:
        tz = self.desk.tz
        return [Block(e.id, event_lines(e, tz)) for e in events]

    def head_blocks(self) -> list[Block]:
        """What comes above the events: the case's text, the thread's title and what is not loaded."""
        blocks = [] if self.case is None else [Block("text", [(self.render_text(self.case), 0)])]
        title = Text(no_wrap=True, overflow="ellipsis")
        key = self._entries["toggle_thread"].display_key()
        if self.mode == CONVERSATION:
            n = self.timeline_total
            title.append(f"Conversation ({n:,} message{'' if n == 1 else 's'})", "bold underline")
            title.append(f"  messages with the customer only · {key} shows everything", "dim")
        else:
            n = self.timeline_total
            title.append(f"Everything ({n:,} event{'' if n == 1 else 's'})", "bold underline")
            title.append(f"  the conversation and the internal trail · {key} shows the conversation only", "dim")
        parts = [(title, 0)]
        if self.earlier:
            key = self._entries["earlier"].display_key()
            what = "message" if self.mode == CONVERSATION else "event"
            what += "" if self.earlier == 1 else "s"
            parts.append((Text(f"{self.earlier:,} earlier {what} — press {key} to load more", style="bold"), 0))
        elif self.timeline_case is not None and not self.timeline_total:
            parts.append((Text("no messages with the customer yet", "dim italic"), 0))
        return blocks + [Block("title", parts)]

    def action_toggle_thread(self) -> None:
        """Show the conversation only, or everything (the internal trail too)."""
        self.mode = EVERYTHING if self.mode == CONVERSATION else CONVERSATION
        self.shown_events = []
        self.oldest_id = None
        self.earlier = 0
        self.thread.set_blocks(self.head_blocks(), [])
        self.reload_timeline(follow=True)
        self.notify(f"Showing {'the conversation with the customer' if self.mode == CONVERSATION else 'everything'}",
                    title=f"Case {self.case_id}", markup=False, timeout=3)

    def action_earlier(self) -> None:
        """The page of events before the oldest shown, read from the database in a worker."""
        case_id, before, mode = self.case_id, self.oldest_id, self.mode
        if case_id is None or before is None or not self.earlier:
            return
        self.call(lambda: self.read_window(case_id, before),
                  then=lambda window: self.show_earlier(window, before, mode), group="earlier")

    def show_earlier(self, window: EventWindow, before: int, mode: str) -> None:
        """Put a page of earlier events above those shown, keeping in place what was on screen; were
        they at the top, the page's newest events come into view above them."""
        if (window.case != self.timeline_case or before != self.oldest_id or not window.events
                or mode != self.mode):
            return  # a reload or another page came first
        thread = self.thread
        first = thread.line_of(before)
        row = None if first is None else first - round(thread.scroll_y)
        self.earlier = window.earlier
        self.oldest_id = min(e.id for e in window.events)
        self.shown_events = list(window.events) + self.shown_events
        thread.set_blocks(self.head_blocks(), self.event_blocks(self.shown_events))
        if row is not None and not 0 <= row < thread.size.height:
            row = thread.size.height * 2 // 3
        new_first = thread.line_of(before)
        if row is not None and new_first is not None:
            thread.scroll_to(y=max(0, new_first - row), animate=False, immediate=True, force=True)
        self.refresh_bindings()

    def render_head(self, c: CaseView) -> Group:
        return case_head(c, self.desk.tz, self.present)

    def redraw_head(self) -> None:
        if self.case is not None:
            self.query_one("#case-head", Static).update(self.render_head(self.case))

    def render_next(self, c: CaseView) -> Text:
        return case_next(c, self.desk.tz, self.desk.clock.now())

    def render_text(self, c: CaseView) -> Text:
        return case_text(c, self.desk.tz)

    def refresh_countdowns(self) -> None:
        super().refresh_countdowns()
        if self.case is not None:
            self.query_one("#case-next", Static).update(self.render_next(self.case))

    # ------------------------------------------------------------ what applies
    def can(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("back", "reload", "scroll_down", "scroll_up", "toggle_thread", "customer"):
            return True
        if action == "earlier":
            return self.earlier > 0  # (shown only while earlier events are left to load)
        if self.case is None:
            return None
        if action in MACRO_KEYS:
            return self.macro_key_applies(action)  # (tui/macros.py: u shown while an undo is possible)
        if action in EDIT_KEYS:
            return self.edit_key_applies(action)  # (tui/editing.py)
        if action == "follow_up" and not self.follow_up_waits():
            return False
        verdict = self.verdict(action)
        return verdict is None or verdict.allowed  # what does not apply leaves the footer (why_not says why)

    def verdict(self, action: str) -> Verdict | None:
        """What domain/permissions.py says of an action key on the case shown (None: not a case action)."""
        permission = PERMISSIONS.get(action)
        if permission is None or self.case is None:
            return None
        return may(Person(self.me, self.role), permission, CaseState.of(self.case))

    def follow_up_waits(self) -> bool:
        """The case shown is closed and its customer wrote since: a follow-up case answers it."""
        return self.case is not None and awaits_follow_up(self.case.status, self.case.attention)

    def why_not(self, action: str) -> str | None:
        if action in MACRO_KEYS:
            return self.macro_key_why_not(action)  # (tui/macros.py)
        if action in EDIT_KEYS:
            return self.edit_key_why_not(action)  # (tui/editing.py)
        if action == "follow_up" and self.case is not None and not self.follow_up_waits():
            return (f"case {self.case.id}: a follow-up is opened from a closed case the customer wrote to "
                    "after it closed")
        verdict = self.verdict(action)
        return None if verdict is None or verdict else verdict.reason

    # ---------------------------------------------------------------- actions
    def action_back(self) -> None:
        self.desk.go_back()

    def action_reload(self) -> None:
        self.reload()

    def action_customer(self) -> None:
        show_customer(self, self.case_id)  # (tui/widgets/customer.py)

    def action_scroll_down(self) -> None:
        self.thread.scroll_down(animate=False)

    def action_scroll_up(self) -> None:
        self.thread.scroll_up(animate=False)
