"""Pane 2, case detail: header, what happens next, the timeline, and every analyst action by one key.

Actions pass `expected_version` (the version shown when the form opened). When
someone else changed the case meanwhile, the service refuses with a Conflict:
the pane says who changed what, reloads the case and reopens the form with the
text already typed. A submit that fails because the database cannot be reached
reopens the form with the text too (the header says the database is unreachable), and so does one
that fails for want of room (a full disk: the form says so).
The pane reloads by itself when the change watcher reports a change to its case.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from deskconsole.domain import labels
from deskconsole.domain.asking import ASKED_OUTSIDE, CONFIRMED_HOW, HOW_WORDS, awaits_follow_up
from deskconsole.domain.errors import Conflict, DeskError
from deskconsole.domain.lifecycle import SubStatus
from deskconsole.domain.permissions import Action, CaseState, Person, Verdict, may
from deskconsole.domain.views import CaseView, EventView, EventWindow
from deskconsole.store.changes import Change, connection_lost, storage_full
from deskconsole.tui import format as fmt
from deskconsole.tui.decisions import reassign
from deskconsole.tui.drafts import NOTE, REPLY
from deskconsole.tui.editing import EDIT_KEYS, CaseEditKeys
from deskconsole.tui.macros import MACRO_KEYS, CaseMacroKeys
from deskconsole.tui.panes import pane, screen_keys
from deskconsole.tui.presence import CasePresence
from deskconsole.tui.screens.base import FULL_DISK, PaneScreen
from deskconsole.tui.styles import style
from deskconsole.tui.text import cell, clean
from deskconsole.tui.widgets.articles import ArticlePicker
from deskconsole.tui.widgets.casehead import case_head, case_next, case_text
from deskconsole.tui.widgets.composer import ComposerScreen
from deskconsole.tui.widgets.customer import show_customer
from deskconsole.tui.widgets.footer import DeskFooter
from deskconsole.tui.widgets.form import ConfirmScreen, Field, FormScreen
from deskconsole.tui.widgets.thread import Block, ThreadView, event_lines

# Events the timeline reads at a time (Service.case_events): the newest window, then each page of earlier
# ones: opening a case reads and draws this many events, however long its timeline.
WINDOW = 200
# ...but a case opens on the newest events that fill the screen twice over (each event takes a line
# at least): drawing and reading 200 events cost more than the rest of opening a case. `o` reads the
# page before the oldest event loaded.
FIRST_WINDOW = 60
CONVERSATION, EVERYTHING = "conversation", "everything"  # what the thread shows
SUB_STATUSES = [(labels.SUB_STATUS[sub], sub.value) for sub in SubStatus]  # (label, value) for the form
# Waiting on the customer: send the question, or record how it was already asked (nothing sent).
ASKED_CHOICES = [("send it to the customer now", "")] + [
    (f"already asked {HOW_WORDS[how]}: send nothing", how) for how in ASKED_OUTSIDE
]
CONFIRM_CHOICES = [(HOW_WORDS[how], how) for how in CONFIRMED_HOW]
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


class CaseScreen(CasePresence, CaseEditKeys, CaseMacroKeys, PaneScreen):
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

    def applied(self, result: Any, done: str) -> None:
        view, notice = result if isinstance(result, tuple) else (result, None)
        if isinstance(view, CaseView) and view.id == self.case_id:
            self.show(view)
            self.reload_timeline()  # (the action's view leaves the timeline out: its newest window again)
        self.notify(clean(done), title=f"Case {self.case_id}", markup=False)
        if notice:
            self.notify(clean(notice), title=f"Case {self.case_id}", severity="warning", markup=False, timeout=10)

    def conflict_text(self, err: Conflict) -> str:
        who = err.changed_by or "someone"
        what = err.change or "changed the case"
        return f"{who} {what} since you opened it (now version {err.current_version}). "

    def direct(self, call: Callable[[int], Any], done: str) -> None:
        """An action that needs no input."""
        if self.case is None:
            return
        version = self.case.version

        def refused(err: Exception) -> None:
            if isinstance(err, Conflict):
                self.notify(clean(self.conflict_text(err) + "Reloaded: look, then try again."),
                            title="Case changed", severity="warning", markup=False, timeout=10)
                self.reload()
            elif storage_full(err):
                self.notify(clean(f"Not done: {FULL_DISK}. Try again once there is room."),
                            title=f"Case {self.case_id}", severity="error", markup=False, timeout=10)
            elif connection_lost(err):
                self.desk.database_lost(err)
                self.notify("Not done: the database cannot be reached. Try again when the header no longer "
                            "says so.", title=f"Case {self.case_id}", severity="warning", markup=False, timeout=8)
            else:
                self.show_refusal(err)

        self.call(lambda: call(version), then=lambda r: self.applied(r, done), otherwise=refused,
                  group="action", exclusive=False)

    def form(
        self,
        title: str,
        fields: list[Field],
        submit: Callable[[dict[str, Any], int], Any],
        done: str | Callable[[dict[str, Any]], str],
        *,
        values: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        """Ask for what the action needs, then run it; a refusal reopens the form with the typed text."""
        if self.case is None:
            return
        case = self.case
        version = case.version
        context = Text.assemble((f"Case {case.id} ", "bold"), cell(case.title, limit=70), "  ",
                                fmt.status_text(case.status, case.sub_status))

        def again(vals: dict[str, Any], message: str) -> None:
            self.form(title, fields, submit, done, values=vals, error=message)

        def submitted(vals: dict[str, Any] | None) -> None:
            if vals is None:
                return

            def refused(err: Exception) -> None:
                if isinstance(err, Conflict):
                    message = self.conflict_text(err) + "The case is reloaded and your text kept: submit again."
                    self.reload(then=lambda: again(vals, message))
                elif isinstance(err, DeskError):
                    again(vals, err.console or str(err))  # the console's words when the refusal has them
                elif (why := self.not_saved(err)) is not None:
                    again(vals, why)
                else:
                    self.show_refusal(err)

            label = done(vals) if callable(done) else done
            self.call(lambda: submit(vals, version), then=lambda r: self.applied(r, label), otherwise=refused,
                      group="action", exclusive=False)

        self.app.push_screen(FormScreen(title, fields, values=values, error=error, context=context), submitted)

    def action_start_work(self) -> None:
        cid = self.case_id
        self.direct(lambda v: self.service.move(cid, "in_progress", actor=self.me, expected_version=v),
                    "Moved to in progress")

    def action_pending(self) -> None:
        cid = self.case_id
        asking = (SubStatus.CUSTOMER_INPUT.value,)
        others = tuple(sub.value for sub in SubStatus if sub is not SubStatus.CUSTOMER_INPUT)

        def move(vals: dict[str, Any], version: int) -> CaseView:
            if vals["sub_status"] == SubStatus.CUSTOMER_INPUT:
                return self.service.move(cid, "pending", actor=self.me, sub_status=vals["sub_status"],
                                         note=vals["question"] or None, asked_outside=vals["asked"] or None,
                                         expected_version=version)
            return self.service.move(cid, "pending", actor=self.me, sub_status=vals["sub_status"],
                                     note=vals["note"] or None, expected_version=version)

        def done(vals: dict[str, Any]) -> str:
            label = f"Moved to pending/{vals['sub_status']}"
            if vals["sub_status"] != SubStatus.CUSTOMER_INPUT:
                return label
            if vals["asked"]:
                return f"{label}: asked {HOW_WORDS.get(vals['asked'], vals['asked'])} (nothing sent)"
            return f"{label}: your question is on its way to the customer"

        self.form(
            "Set pending",
            [Field("sub_status", "Waiting on", "select", SUB_STATUSES),
             Field("asked", "The question", "select", ASKED_CHOICES, default="", when=("sub_status", asking)),
             Field("question", "Question to the customer (sent to them unless already asked)", "area",
                   when=("sub_status", asking)),
             Field("note", "Note (optional, internal)", "area", when=("sub_status", others))],
            move, done,
        )

    def action_customer_confirmed(self) -> None:
        cid = self.case_id
        self.form(
            "The customer confirmed the resolution",
            [Field("how", "How the customer confirmed it", "select", CONFIRM_CHOICES, default="phone")],
            lambda vals, v: self.service.customer_confirm(cid, actor=self.me, channel=vals["how"] or "phone"),
            "Confirmation logged: case closed",
        )

    def action_resolve(self) -> None:
        cid = self.case_id
        self.form(
            "Resolve: await the customer's confirmation",
            [Field("resolution", "Resolution sent to the customer", "area")],
            lambda vals, v: self.service.move(cid, "awaiting_confirmation", actor=self.me,
                                              note=vals["resolution"], expected_version=v),
            "Resolution sent; awaiting confirmation",
        )

    def action_customer_reply(self) -> None:
        cid = self.case_id
        self.form(
            "Log a customer reply",
            [Field("channel", "How the customer answered", "select",
                   [("phone call", "phone"), ("e-mail", "email")], default="phone"),
             Field("body", "What the customer said", "area")],
            lambda vals, v: self.service.customer_reply(cid, vals["body"], actor=self.me,
                                                        channel=vals["channel"] or "phone", expected_version=v),
            "Customer reply logged",
        )

    # --------------------------------------------------------------- composer
    def action_compose(self, mode: str = REPLY) -> None:
        """The composer on this case: its draft when one is kept (in the draft's mode), else empty in `mode`."""
        if self.case is None:
            return
        draft = self.desk.drafts.load(self.me, self.case.id)
        if draft is not None:
            mode = draft.mode
        self.open_composer(mode, draft.text if draft else "",
                           notice="Your draft is back: it is kept until it is sent." if draft else None)

    def open_composer(self, mode: str, text: str, message: str | None = None, *, notice: str | None = None) -> None:
        """The composer with `text`; sent through the service, or reopened with the refusal and the text."""
        if self.case is None:
            return
        case = self.case
        cid, version, drafts, me = case.id, case.version, self.desk.drafts, self.me
        context = Text.assemble((f"Case {case.id} ", "bold"), cell(case.title, limit=70), "  ",
                                fmt.status_text(case.status, case.sub_status))

        def save(body: str, how: str) -> str | None:
            self.desk.presence.typed(cid, how == REPLY)  # (others see "typing a reply": tui/presence.py)
            try:
                drafts.save(me, cid, body, how)
            except OSError as err:
                return f"The draft cannot be kept ({clean(err, single_line=True)}): copy your text somewhere."
            return None

        def answered(result: tuple[str, str] | None) -> None:
            if result is None:
                return
            how, body = result

            def sent(answer: Any) -> None:
                drafts.discard(me, cid)
                self.applied(answer, "Reply sent to the customer" if how == REPLY else "Internal note added")

            def refused(err: Exception) -> None:
                if isinstance(err, Conflict):
                    words = self.conflict_text(err) + "The case is reloaded and your text kept: send again."
                    self.reload(then=lambda: self.open_composer(how, body, words))
                elif isinstance(err, DeskError):
                    self.open_composer(how, body, (err.console or str(err)) + " Your text is kept as a draft.")
                elif storage_full(err):
                    self.open_composer(how, body, self.not_saved(err))
                elif connection_lost(err):
                    self.desk.database_lost(err)
                    self.open_composer(how, body, "Not sent: the database cannot be reached. Your text is kept as "
                                                  "a draft: send again when the header no longer says so.")
                else:
                    self.show_refusal(err)

            self.call(lambda: self.service.add_note(cid, body, actor=me, internal=how == NOTE,
                                                    expected_version=version),
                      then=sent, otherwise=refused, group="action", exclusive=False)

        self.app.push_screen(ComposerScreen(context, case.contact or "", text=text, mode=mode, error=message,
                                            notice=notice, save=save, environ=self.desk.environ), answered)

    def action_request_escalation(self) -> None:
        cid = self.case_id
        self.form(
            "Request escalation (on the customer's behalf)",
            [Field("reason", "Why the customer asks for escalation", "area")],
            lambda vals, v: self.service.request_escalation(cid, vals["reason"], actor=self.me,
                                                            expected_version=v),
            "Escalation requested: it waits in the managers' review",
        )

    def action_log_engineering(self) -> None:
        cid = self.case_id
        self.form(
            "Log with engineering",
            [Field("kind", "Kind", "select", [("defect", "defect"), ("enhancement", "enhancement")],
                   default="defect"),
             Field("reference", "Engineering reference", "text", placeholder="e.g. ENG-1234"),
             Field("summary", "Summary", "area")],
            lambda vals, v: self.service.log_engineering(cid, vals["reference"], vals["summary"], actor=self.me,
                                                         kind=vals["kind"] or "defect", expected_version=v),
            lambda vals: f"Logged {vals['kind']} {vals['reference']}; case pending/development",
        )

    def action_link_article(self) -> None:
        if self.case is None:
            return
        cid = self.case.id
        words = " ".join(self.case.title.split()[:3])

        def picked(article_id: int | None) -> None:
            if article_id is None:
                return
            self.call(lambda: self.service.link_article(cid, article_id, actor=self.me),
                      then=lambda r: self.applied(r, f"Article {article_id} linked"), group="action",
                      exclusive=False)

        self.app.push_screen(ArticlePicker(self.service, cid, words), picked)

    def action_close_case(self) -> None:
        cid = self.case_id
        self.form(
            "Close the case",
            [Field("reason", "Reason", "text",
                   placeholder="e.g. confirmed by phone, duplicate of 123, withdrawn by the customer")],
            lambda vals, v: self.service.close(cid, reason=vals["reason"], actor=self.me, expected_version=v),
            "Case closed",
        )

    def action_clone(self) -> None:
        if self.case is None:
            return
        cid = self.case.id

        def answered(yes: bool | None) -> None:
            if not yes:
                return

            def cloned(view: CaseView) -> None:
                self.notify(f"Case {view.id} opened from case {cid}", title="Cloned", markup=False)
                self.desk.open_case(view.id)

            self.call(lambda: self.service.clone(cid, actor=self.me), then=cloned, group="action",
                      exclusive=False)

        self.app.push_screen(ConfirmScreen(Text(f"Open a new case cloned from closed case {cid}?")), answered)

    def action_follow_up(self) -> None:
        """One key: the follow-up case of the customer's reply after close, opened in this pane."""
        if self.case is None or not self.follow_up_waits():
            return
        cid, me = self.case.id, self.me

        def opened(view: CaseView) -> None:
            self.notify(f"Case {view.id} opened with the customer's reply to closed case {cid}",
                        title="Follow-up", markup=False)
            self.desk.open_case(view.id)

        self.call(lambda: self.service.follow_up(cid, actor=me), then=opened, otherwise=self.show_refusal,
                  group="action", exclusive=False)

    def action_take(self) -> None:
        cid = self.case_id
        self.direct(lambda v: self.service.assign(cid, self.me, actor=self.me, expected_version=v),
                    "You took the case")

    def action_reassign(self) -> None:
        reassign(self)  # (tui/decisions.py: warns before giving the case to someone away or without its skill)
