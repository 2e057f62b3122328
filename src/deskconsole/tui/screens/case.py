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
from datetime import tzinfo
from typing import Any

from rich.console import Group
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from deskconsole.domain import labels
from deskconsole.domain.asking import ASKED_OUTSIDE
from deskconsole.domain.errors import Conflict, DeskError
from deskconsole.domain.lifecycle import SubStatus
from deskconsole.domain.permissions import Action, CaseState, Person, Verdict, may
from deskconsole.domain.views import CaseView, EventView, EventWindow
from deskconsole.store.changes import Change, connection_lost, storage_full
from deskconsole.tui import format as fmt
from deskconsole.tui.macros import MACRO_KEYS, CaseMacroKeys
from deskconsole.tui.panes import pane, screen_keys
from deskconsole.tui.screens.base import FULL_DISK, PaneScreen
from deskconsole.tui.styles import style
from deskconsole.tui.text import cell, clean, long_text, safe
from deskconsole.tui.widgets.articles import ArticlePicker
from deskconsole.tui.widgets.footer import DeskFooter
from deskconsole.tui.widgets.form import ConfirmScreen, Field, FormScreen

# Events the timeline reads at a time (Service.case_events): the newest window, then each page of earlier
# ones: opening a case reads and draws this many events, however long its timeline.
WINDOW = 200
SUB_STATUSES = [(labels.SUB_STATUS[sub], sub.value) for sub in SubStatus]  # (label, value) for the form
# Waiting on the customer: send the question, or record how it was already asked (nothing sent).
ASKED_LABELS = {"phone": "by phone", "email": "by e-mail", "chat": "in a chat", "in_person": "in person"}
ASKED_CHOICES = [("send it to the customer now", "")] + [
    (f"already asked {ASKED_LABELS[how]}: send nothing", how) for how in ASKED_OUTSIDE
]
CONFIRM_CHOICES = [("by phone", "phone"), ("by e-mail", "email"), ("in a chat", "chat")]
# Each action key of the pane and what it asks of the service (domain/permissions.py judges it).
PERMISSIONS = {
    "start_work": Action.START_WORK,
    "pending": Action.SET_PENDING,
    "resolve": Action.RESOLVE,
    "close_case": Action.CLOSE,
    "clone": Action.CLONE,
    "note": Action.NOTE,
    "customer_reply": Action.LOG_CUSTOMER_REPLY,
    "customer_confirmed": Action.LOG_CONFIRMATION,
    "request_escalation": Action.REQUEST_ESCALATION,
    "log_engineering": Action.LOG_ENGINEERING,
    "link_article": Action.LINK_ARTICLE,
    "take": Action.TAKE,
    "reassign": Action.REASSIGN,
}
EVENT_STYLES = {
    "customer_replied": "bold magenta",
    "note": "yellow",
    "comment": "cyan",
    "status_changed": "green",
    "timer_fired": "bold red",
    "escalation_requested": "bold yellow",
    "escalation_approved": "bold red",
    "escalation_denied": "yellow",
}
EVENT_LABELS = {
    "customer_replied": "customer replied",
    "note": "internal note",
    "comment": "comment to customer",
    "status_changed": "status",
    "timer_fired": "timer fired",
}


def event_summary(e: EventView) -> Text:
    d = e.data
    text = Text(no_wrap=False)
    if e.kind == "status_changed":
        frm = d.get("from", "")
        if d.get("from_sub_status"):
            frm += "/" + d["from_sub_status"]
        to = d.get("to", "") + (f"/{d['sub_status']}" if d.get("sub_status") else "")
        text.append(f"{frm} → {to}")
        if d.get("cancelled_timers"):
            text.append(f"  (cancelled: {', '.join(d['cancelled_timers'])})", "dim")
        if d.get("asked") == "message":
            text.append("  question sent to the customer", "dim")
        elif d.get("asked_outside"):
            how = str(d["asked_outside"])
            text.append_text(cell(f"  asked {ASKED_LABELS.get(how, how)}: nothing sent", "dim", limit=100))
    elif e.kind == "customer_confirmed":
        bits = [d.get("channel", "")] + ([f"logged by {d['logged_by']}"] if d.get("logged_by") else [])
        text.append_text(cell(", ".join(str(b) for b in bits if b), "dim", limit=100))
    elif e.kind == "assigned":
        who = d.get("assignee")
        text.append_text(cell(f"to {who}" if who else "to the team queue", limit=80))
        if d.get("previous"):
            text.append_text(cell(f" (was {d['previous']})", "dim", limit=80))
    elif e.kind == "timer_fired":
        text.append(f"{d.get('timer', '').replace('_', ' ')} (due {d.get('due', '')[:16].replace('T', ' ')})")
    elif e.kind == "priority_changed":
        text.append(f"{d.get('from')} → {d.get('to')}")
    elif e.kind == "escalation_approved":
        text.append_text(cell(f"engineer {d.get('engineer')}, {str(d.get('comm_mode', '')).replace('_', ' ')} "
                              f"{d.get('comm_frequency', '')}, attendees {d.get('comm_attendees', '')}", limit=200))
    elif e.kind == "customer_replied":
        bits = [d.get("channel", "")]
        if d.get("logged_by"):
            bits.append(f"logged by {d['logged_by']}")
        if d.get("after_close"):
            bits.append("after close")
        text.append_text(cell(", ".join(b for b in bits if b), "dim", limit=100))
    elif e.kind in ("defect_logged", "enhancement_logged"):
        text.append_text(cell(d.get("reference", ""), limit=100))
    elif e.kind == "survey_answered":
        text.append(f"score {d.get('score')}" + ("  flagged for follow-up" if d.get("flagged") else ""))
    elif e.kind == "opened":
        text.append_text(cell(f"{d.get('severity', '')} {d.get('priority', '')}".strip(), limit=60))
        if d.get("cloned_from"):
            text.append(f" cloned from case {d['cloned_from']}")
    elif e.kind == "cloned":
        text.append(f"new case {d.get('clone')}")
    return text


def render_timeline(c: CaseView, tz: tzinfo | None) -> Group:
    """The case's events, oldest first; customer text shown literally."""
    return Group(Text(f"Timeline ({len(c.events)} events)", style="bold underline"), render_events(c.events, tz))


def render_events(events: list[EventView], tz: tzinfo | None) -> Group:
    """Events as the timeline shows them, in the order given; customer text shown literally."""
    parts: list[Any] = []
    for e in events:
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(fmt.when(e.at, tz) + (f" (recorded {fmt.when(e.recorded_at, tz)})" if e.recorded_at and abs((e.recorded_at - e.at).total_seconds()) >= 60 else ""), "dim")  # noqa: E501
        line.append("  ")
        line.append_text(cell(e.actor, "bold", limit=28))
        line.append("  ")
        line.append(EVENT_LABELS.get(e.kind, e.kind.replace("_", " ")), EVENT_STYLES.get(e.kind, ""))
        summary = event_summary(e)
        if summary.plain:
            line.append("  ")
            line.append_text(summary)
        parts.append(line)
        if e.body and e.kind != "opened":
            parts.append(Padding(long_text(e.body, "italic" if e.kind == "note" else "", limit=5_000), (0, 0, 0, 4)))
    return Group(*parts)


class CaseScreen(CaseMacroKeys, PaneScreen):
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
        self._lean: tuple[Any, Any] | None = None

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
        with VerticalScroll(id="case-body"):
            yield Static(id="case-text", markup=False)
            yield Static(id="case-more", markup=False)  # the timeline's title; how many earlier events
            # (pages of earlier events, loaded with `o`, are mounted here, oldest on top)
            yield Static(id="case-timeline", markup=False)  # the newest window of the timeline
        yield DeskFooter()

    def on_mount(self) -> None:
        self.query_one("#case-body").focus()

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
            self.show_timeline(window)
            if then is not None:
                then()

        def load() -> tuple[CaseView, EventWindow]:
            return self.service.get_case(case_id, events=False), self.service.case_events(case_id, limit=WINDOW)

        self.call(load, then=loaded)

    def changed(self, change: Change) -> None:
        if change.touches(self.case_id if self.case_id is not None else self.desk.case_id):
            self.reload()

    def show(self, view: CaseView) -> None:
        """The case's header and text (its timeline comes in windows: show_timeline)."""
        self.case, self.case_id = view, view.id
        self.query_one("#case-head", Static).update(self.render_head(view))
        self.query_one("#case-text", Static).update(self.render_text(view))
        self.refresh_countdowns()
        self.refresh_bindings()

    # -------------------------------------------------------------- timeline
    def reload_timeline(self) -> None:
        """Read the newest window of the timeline again (after an action)."""
        case_id = self.case_id
        if case_id is not None:
            self.call(lambda: self.service.case_events(case_id, limit=WINDOW), then=self.show_timeline,
                      group="timeline")

    def show_timeline(self, window: EventWindow) -> None:
        """The newest window of a case's timeline; pages of earlier events loaded before are dropped.
        A case just opened, or one shown down to its newest event, shows its newest event."""
        if window.case != self.case_id:
            return
        body = self.query_one("#case-body", VerticalScroll)
        follow = window.case != self.timeline_case or body.scroll_y >= body.max_scroll_y - 1
        pages = self.query(".case-page")
        follow = follow or bool(pages)
        pages.remove()
        self.timeline_case = window.case
        self.timeline_total = window.earlier + len(window.events)
        self.earlier = window.earlier
        self.oldest_id = min((e.id for e in window.events), default=None)
        self.query_one("#case-timeline", Static).update(render_events(window.events, self.desk.tz))
        self.query_one("#case-more", Static).update(self.render_more())
        self.refresh_bindings()
        if follow:
            body.scroll_end(animate=False)

    def render_more(self) -> Group:
        parts: list[Any] = [Text(f"Timeline ({self.timeline_total:,} events)", style="bold underline")]
        if self.earlier:
            key = self._entries["earlier"].display_key()
            parts.append(Text(f"{self.earlier:,} earlier events — press {key} to load more", style="bold"))
        return Group(*parts)

    def action_earlier(self) -> None:
        """The page of events before the oldest shown, read from the database in a worker."""
        case_id, before = self.case_id, self.oldest_id
        if case_id is None or before is None or not self.earlier:
            return
        self.call(lambda: self.service.case_events(case_id, before_id=before, limit=WINDOW),
                  then=lambda window: self.show_earlier(window, before), group="earlier")

    def show_earlier(self, window: EventWindow, before: int) -> None:
        """Put a page of earlier events above those shown, keeping in place what was on screen."""
        if window.case != self.timeline_case or before != self.oldest_id or not window.events:
            return  # a reload or another page came first
        body = self.query_one("#case-body", VerticalScroll)
        more = self.query_one("#case-more", Static)
        pages = list(self.query(".case-page"))
        anchor = pages[0] if pages else self.query_one("#case-timeline", Static)
        row = anchor.virtual_region.y - body.scroll_y  # where the oldest event shown is on screen
        page = Static(render_events(window.events, self.desk.tz), classes="case-page", markup=False)
        self.earlier = window.earlier
        self.oldest_id = min(e.id for e in window.events)
        more.update(self.render_more())
        self.refresh_bindings()

        def keep() -> None:
            # the events shown before stay where they were; were they off screen, the page's newest
            # events come into view above them
            at = row if 0 <= row < body.size.height else body.size.height * 2 // 3
            body.scroll_to(y=max(0, anchor.virtual_region.y - at), animate=False)

        async def place() -> None:
            await body.mount(page, after=more)
            self.call_after_refresh(keep)

        self.call_later(place)

    def render_head(self, c: CaseView) -> Group:
        top = Text(no_wrap=True, overflow="ellipsis")
        top.append(f" Case {c.id} ", "bold reverse")
        top.append(" ")
        top.append_text(fmt.priority_text(c.priority))
        top.append("  ")
        top.append_text(fmt.status_text(c.status, c.sub_status, full=True))
        if c.escalation is not None:
            top.append("  ")
            top.append_text(fmt.escalation_text(c.escalation.state))
        if c.attention:
            top.append("  ⚑ ", "bold red")
            top.append_text(cell(c.attention, "bold red", limit=70))
        title = safe(c.title, "bold", single_line=True, limit=300)
        grid = Table.grid(padding=(0, 1), expand=True)
        for _ in range(3):
            grid.add_column(style="dim", no_wrap=True)
            grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        esc = c.escalation
        esc_state = Text("none", "dim") if esc is None else Text(esc.state, fmt.ESCALATION_STYLES.get(esc.state, ""))
        tz = self.desk.tz
        grid.add_row(
            "Customer", cell(c.customer, limit=40),
            "Assignee", cell(c.assignee or "team queue", "" if c.assignee else "italic"),
            "Escalation", esc_state,
        )
        grid.add_row(
            "Contact", cell(c.contact or "—", limit=40),
            "Area", cell(c.product_area or "—"),
            "Engineer", cell((esc.engineer if esc else None) or "—"),
        )
        grid.add_row(
            "Opened", fmt.when(c.created_at, tz),
            "Severity", c.severity.replace("_", " "),
            "Eng. ref", cell(c.engineering_ref or "—"),
        )
        changed = Text(no_wrap=True, overflow="ellipsis")
        changed.append("Changed  ", "dim")
        changed.append(fmt.when(c.updated_at, tz) + " ")
        changed.append_text(cell(f"{c.last_actor or ''} {c.last_change or ''}".strip(), limit=80))
        changed.append(f"  · version {c.version}", "dim")
        if c.cloned_from:
            changed.append(f"  · cloned from case {c.cloned_from}", "dim")
        return Group(top, title, grid, changed)

    def render_next(self, c: CaseView) -> Text:
        now = self.desk.clock.now()
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append("What happens next: ", "bold")
        if c.status == "closed":
            line.append(f"closed {fmt.when(c.closed_at, self.desk.tz)}")
            if c.close_reason:
                line.append(" — ")
                line.append_text(cell(c.close_reason, limit=60))
        if not c.timers:
            if c.status != "closed":
                line.append("no timer running", "dim")
            return line
        for i, t in enumerate(c.timers):
            if i or c.status == "closed":
                line.append("  ·  ", "dim")
            line.append(labels.label(labels.TIMER_KIND_NEXT, t.kind) + " ")
            line.append_text(fmt.countdown(t.due, now))
            line.append(f" ({fmt.when(t.due, self.desk.tz)})", "dim")
        return line

    def render_text(self, c: CaseView) -> Group:
        parts: list[Any] = [Text("Description", style="bold underline")]
        parts.append(long_text(c.description or "(none)", "" if c.description else "dim italic"))
        if c.resolution:
            parts += [Text(""), Text("Resolution", style="bold underline"), long_text(c.resolution)]
        if c.articles:
            parts += [Text(""), Text("Knowledge base", style="bold underline")]
            for a in c.articles:
                parts.append(Text.assemble((f"#{a.id} ", "bold"), cell(a.title, limit=100), (f"  {a.state}", "dim")))
        if c.survey is not None:
            s = c.survey
            line = Text(f"survey sent {fmt.when(s.sent_at, self.desk.tz)}")
            if s.score is not None:
                line.append(f" · score {s.score}", "bold red" if s.flagged else "bold green")
                if s.comment:
                    line.append(" · ")
                    line.append_text(cell(s.comment, limit=200))
            parts += [Text(""), Text("Survey", style="bold underline"), line]
        parts.append(Text(""))
        return Group(*parts)

    def refresh_countdowns(self) -> None:
        super().refresh_countdowns()
        if self.case is not None:
            self.query_one("#case-next", Static).update(self.render_next(self.case))

    # ------------------------------------------------------------ what applies
    def can(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("back", "reload", "scroll_down", "scroll_up"):
            return True
        if action == "earlier":
            return self.earlier > 0  # (shown only while earlier events are left to load)
        if self.case is None:
            return None
        if action in MACRO_KEYS:
            return self.macro_key_applies(action)  # (tui/macros.py: u shown while an undo is possible)
        verdict = self.verdict(action)
        return verdict is None or verdict.allowed  # what does not apply leaves the footer (why_not says why)

    def verdict(self, action: str) -> Verdict | None:
        """What domain/permissions.py says of an action key on the case shown (None: not a case action)."""
        permission = PERMISSIONS.get(action)
        if permission is None or self.case is None:
            return None
        return may(Person(self.me, self.role), permission, CaseState.of(self.case))

    def why_not(self, action: str) -> str | None:
        if action in MACRO_KEYS:
            return self.macro_key_why_not(action)  # (tui/macros.py)
        verdict = self.verdict(action)
        return None if verdict is None or verdict else verdict.reason

    # ---------------------------------------------------------------- actions
    def action_back(self) -> None:
        self.desk.go_back()

    def action_reload(self) -> None:
        self.reload()

    def action_scroll_down(self) -> None:
        self.query_one("#case-body", VerticalScroll).scroll_down(animate=False)

    def action_scroll_up(self) -> None:
        self.query_one("#case-body", VerticalScroll).scroll_up(animate=False)

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
                                fmt.status_text(case.status, case.sub_status, full=True))

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
                return f"{label}: asked {ASKED_LABELS.get(vals['asked'], vals['asked'])} (nothing sent)"
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

    def action_note(self) -> None:
        cid = self.case_id
        self.form(
            "Add a note",
            [Field("body", "Note", "area"),
             Field("to_customer", "Send to the customer as a comment (otherwise internal)", "check")],
            lambda vals, v: self.service.add_note(cid, vals["body"], actor=self.me,
                                                  internal=not vals["to_customer"], expected_version=v),
            lambda vals: "Comment sent to the customer" if vals["to_customer"] else "Internal note added",
        )

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

    def action_take(self) -> None:
        cid = self.case_id
        self.direct(lambda v: self.service.assign(cid, self.me, actor=self.me, expected_version=v),
                    "You took the case")

    def action_reassign(self) -> None:
        if self.case is None:
            return
        cid = self.case.id

        def agents_loaded(agents: list[Any]) -> None:
            options = [("team queue (unassigned)", "")]
            options += [(f"{a.name} ({a.open_cases} open, {', '.join(a.skills) or 'no skills'}, "
                         f"{a.availability})", a.name) for a in agents if a.role == "analyst"]
            self.form(
                "Reassign",
                [Field("assignee", "Give the case to", "select", options)],
                lambda vals, v: self.service.assign(cid, vals["assignee"] or None, actor=self.me,
                                                    expected_version=v),
                lambda vals: f"Assigned to {vals['assignee']}" if vals["assignee"] else "Back in the team queue",
            )

        self.call(self.service.list_agents, then=agents_loaded, group="agents")
