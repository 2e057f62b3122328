"""Pane 3, escalation review: managers decide requests, oldest first, with the case at hand.

Below the requests, approved escalations with their daily status update due, and
the de-escalation gate (three confirmations).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Label, Static

from deskconsole.domain.errors import DeskError
from deskconsole.domain.lifecycle import EscalationState
from deskconsole.domain.permissions import Action, CaseState, Person, Verdict, may
from deskconsole.domain.views import CaseView, EscalationView, EventWindow
from deskconsole.tui import format as fmt
from deskconsole.tui.decisions import approve
from deskconsole.tui.panes import pane, screen_keys
from deskconsole.tui.screens.base import PaneScreen
from deskconsole.tui.styles import style
from deskconsole.tui.text import cell, clean, long_text, safe
from deskconsole.tui.widgets.footer import DeskFooter
from deskconsole.tui.widgets.form import Field, FormScreen
from deskconsole.tui.widgets.table import KeyedTable
from deskconsole.tui.widgets.thread import render_events

REQUEST_COLUMNS = [
    ("case", "Case", 6),
    ("waiting", "Waiting", 8),
    ("priority", "P", 2),
    ("by", "Requested by", 14),
    ("title", "Title", 24),
]
APPROVED_COLUMNS = [
    ("case", "Case", 6),
    ("priority", "P", 2),
    ("engineer", "Engineer", 10),
    ("due", "Status update", 16),
    ("title", "Title", 20),
]
# The review shows the case's newest events (Service.case_events), however long its timeline.
REVIEW_WINDOW = 60
COMM_MODES = [("e-mail", "email"), ("phone", "phone"), ("conference call", "conference_call")]


def yes_no(value: bool | None) -> Text:
    if value is None:
        return Text("not checked", "dim")
    return Text("yes", "green") if value else Text("no", "bold red")


# Each action key of the pane: what it asks of the service, and which list's selection it works on.
PERMISSIONS = {
    "review": (Action.REVIEW_ESCALATION, "requests"),
    "approve": (Action.DECIDE_ESCALATION, "requests"),
    "deny": (Action.DECIDE_ESCALATION, "requests"),
    "status_update": (Action.STATUS_UPDATE, "approved"),
    "de_escalate": (Action.DE_ESCALATE, "approved"),
}


class EscalationsScreen(PaneScreen):
    CSS_PATH = style(pane("escalations").stylesheet)
    PANE = "escalations"
    ACTIONS, BINDINGS = screen_keys("escalations")

    def __init__(self) -> None:
        super().__init__()
        self.requested: dict[str, EscalationView] = {}
        self.approved: dict[str, EscalationView] = {}
        self.showing: EscalationView | None = None
        self.case: CaseView | None = None

    def compose(self) -> ComposeResult:
        yield self.header()
        with Horizontal(id="esc-main"):
            with Vertical(id="esc-lists"):
                yield Label("Escalation requests — oldest first", classes="section-title")
                yield KeyedTable(REQUEST_COLUMNS, id="esc-requests")
                yield Label("Approved — daily status update", classes="section-title")
                yield KeyedTable(APPROVED_COLUMNS, id="esc-approved")
            with VerticalScroll(id="esc-detail"):
                yield Static(id="esc-summary", markup=False)
                yield Static(id="esc-timeline", markup=False)
        yield DeskFooter()

    def on_mount(self) -> None:
        self.query_one("#esc-requests").focus()

    # ------------------------------------------------------------------ load
    def reload(self) -> None:
        marker = self.desk.marker

        def fetch() -> tuple[list[EscalationView], list[EscalationView]]:
            return (self.service.list_escalations(state=EscalationState.REQUESTED.value, open_cases_only=True),
                    self.service.list_escalations(state=EscalationState.APPROVED.value, open_cases_only=True))

        self.call(fetch, then=lambda pair: self.show(*pair, marker=marker))

    def show(self, requested: list[EscalationView], approved: list[EscalationView], *, marker: int) -> None:
        self.mark_loaded(marker)
        now = self.desk.clock.now()
        self.requested = {str(e.case): e for e in requested}
        self.approved = {str(e.case): e for e in approved}
        with self.app.batch_update():
            self.query_one("#esc-requests", KeyedTable).sync(
                [(str(e.case), self.request_cells(e, now)) for e in requested])
            self.query_one("#esc-approved", KeyedTable).sync(
                [(str(e.case), self.approved_cells(e, now)) for e in approved])
        self.refresh_bindings()
        self.show_selected()

    def request_cells(self, e: EscalationView, now: Any) -> dict[str, Any]:
        return {
            "case": Text(str(e.case), style="bold"),
            "waiting": Text(fmt.age(e.requested_at, now)),
            "priority": fmt.priority_text(e.case_priority or ""),
            "by": cell(e.requested_by, limit=30),
            "title": cell(e.case_title, limit=40),
        }

    def approved_cells(self, e: EscalationView, now: Any) -> dict[str, Any]:
        return {
            "case": Text(str(e.case), style="bold"),
            "priority": fmt.priority_text(e.case_priority or ""),
            "engineer": cell(e.engineer or "—"),
            "due": fmt.countdown(e.status_update_due, now) if e.status_update_due else Text("—", "dim"),
            "title": cell(e.case_title, limit=40),
        }

    def refresh_countdowns(self) -> None:
        super().refresh_countdowns()
        now = self.desk.clock.now()
        table = self.query_one("#esc-approved", KeyedTable)
        for key, e in self.approved.items():
            if e.status_update_due is not None:
                table.set_cell(key, "due", fmt.countdown(e.status_update_due, now))

    def selected(self, which: str) -> EscalationView | None:
        table = self.query_one(f"#esc-{which}", KeyedTable)
        key = table.selected_key
        source = self.requested if which == "requests" else self.approved
        return source.get(key) if key else None

    def focused_escalation(self) -> EscalationView | None:
        focused = self.focused
        if isinstance(focused, KeyedTable) and focused.id == "esc-approved":
            return self.selected("approved") or self.selected("requests")
        return self.selected("requests") or self.selected("approved")

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_selected()

    def on_descendant_focus(self) -> None:
        self.show_selected()

    def show_selected(self) -> None:
        esc = self.focused_escalation()
        self.showing = esc
        summary = self.query_one("#esc-summary", Static)
        if esc is None:
            summary.update(Text("No escalation waiting for a decision.", style="dim italic"))
            self.query_one("#esc-timeline", Static).update("")
            return
        summary.update(self.render_summary(esc))
        if self.case is None or self.case.id != esc.case:
            self.query_one("#esc-timeline", Static).update(Text("loading the case…", "dim"))
        case_id = esc.case
        lean = self.desk.service.without_timelines()  # the case without its events: they come in a window

        def read() -> tuple[CaseView, EventWindow]:
            return lean.get_case(case_id), lean.case_events(case_id, limit=REVIEW_WINDOW)

        self.call(read, then=self.show_case, group="detail")

    def show_case(self, read: tuple[CaseView, EventWindow]) -> None:
        view, window = read
        if self.showing is None or self.showing.case != view.id:
            return
        self.case = view
        total = window.earlier + len(window.events)
        title = Text(f"Timeline ({total:,} events)", style="bold underline")
        if window.earlier:
            title.append(f"  the newest {len(window.events)}; the case pane (2) pages back through the others",
                         style="dim")
        self.query_one("#esc-summary", Static).update(self.render_summary(self.showing, view))
        parts = [
            Text(""),
            Text("Description", style="bold underline"),
            long_text(view.description or "(none)"),
            Text(""),
            title,
            render_events(window.events, self.desk.tz),
        ]
        self.query_one("#esc-timeline", Static).update(Group(*parts))

    def render_summary(self, e: EscalationView, case: CaseView | None = None) -> Group:
        """The request and its assessment; with the case (read apart) its service levels now too."""
        tz = self.desk.tz
        top = Text(no_wrap=True, overflow="ellipsis")
        top.append(f" Case {e.case} ", "bold reverse")
        top.append(" ")
        top.append_text(fmt.priority_text(e.case_priority or ""))
        top.append("  ")
        top.append_text(fmt.status_text(e.case_status or "", None))
        top.append("  ")
        top.append_text(fmt.escalation_text(e.state))
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column()
        grid.add_row("Title", cell(e.case_title, "bold", limit=200))
        grid.add_row("Customer", cell(e.customer))
        grid.add_row("Assignee", cell(e.assignee or "team queue"))
        by = cell(e.requested_by) + Text(" (on the customer's behalf)" if e.on_behalf else "", "dim")
        grid.add_row("Requested", Text(fmt.when(e.requested_at, tz) + " by ") + by)
        grid.add_row("Manager", cell(e.manager or "—"))
        grid.add_row("Reason", long_text(e.reason, limit=5_000))
        grid.add_row("", "")
        grid.add_row(Text("Assessment", style="bold"), "")
        grid.add_row("Severity, impact", safe(e.severity_impact or "—"))
        grid.add_row("Business risk", safe(e.business_risk or "—"))
        grid.add_row("SLA", safe(e.sla_commitments or "—"))
        if case is None and self.case is not None and self.case.id == e.case:
            case = self.case
        if case is not None and case.id == e.case:
            for name, state in fmt.sla_states(case.sla, tz):
                grid.add_row(f"  {name}", state)
        grid.add_row("Actions taken", safe(e.actions_taken or "—"))
        grid.add_row(Text("Checklist", style="bold"), "")
        grid.add_row("Problem statement", yes_no(e.problem_statement_ok))
        grid.add_row("Impact described", yes_no(e.impact_described))
        grid.add_row("No workaround", yes_no(e.workaround_impractical))
        grid.add_row("Milestone date", cell(e.milestone_date or "—"))
        if e.state == EscalationState.APPROVED:
            grid.add_row("", "")
            grid.add_row(Text("Plan", style="bold"), "")
            grid.add_row("Engineer", cell(e.engineer or "—", "bold"))
            grid.add_row("Communication", cell(f"{(e.comm_mode or '').replace('_', ' ')}, {e.comm_frequency or ''}"))
            grid.add_row("Attendees", cell(e.comm_attendees or "—", limit=200))
            grid.add_row("Last update", fmt.when(e.last_status_update_at, tz))
            grid.add_row("Update due", fmt.when(e.status_update_due, tz))
            if e.prior_priority:
                grid.add_row("Before", e.prior_priority)
        return Group(top, grid)

    # ---------------------------------------------------------------- actions
    def can(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in PERMISSIONS:
            verdict = self.verdict(action)
            return True if verdict else None
        if action == "open_case":
            return self.focused_escalation() is not None or None
        return True

    def verdict(self, action: str) -> Verdict | None:
        """domain/permissions.py on the escalation the action works on (None: none selected)."""
        permission, which = PERMISSIONS[action]
        esc = self.selected(which)
        if esc is None:
            return None
        return may(Person(self.me, self.role), permission, CaseState.of_escalation(esc))

    def why_not(self, action: str) -> str | None:
        if action not in PERMISSIONS:
            return None
        verdict = self.verdict(action)
        if verdict is None:
            return "no escalation selected in " + ("the requests" if PERMISSIONS[action][1] == "requests"
                                                   else "the approved escalations")
        return None if verdict else verdict.reason

    def action_switch_list(self) -> None:
        requests = self.query_one("#esc-requests", KeyedTable)
        approved = self.query_one("#esc-approved", KeyedTable)
        (approved if self.focused is requests else requests).focus()

    def action_reload(self) -> None:
        self.reload()

    def action_open_case(self) -> None:
        esc = self.focused_escalation()
        if esc is not None:
            self.desk.open_case(esc.case)

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.desk.open_case(int(event.row_key.value))

    def form(self, esc: EscalationView, title: str, fields: list[Field],
             submit: Callable[[dict[str, Any]], Any], done: str,
             *, values: dict[str, Any] | None = None, error: str | None = None) -> None:
        context = Text.assemble((f"Case {esc.case} ", "bold"), cell(esc.case_title, limit=70), "  ",
                                fmt.priority_text(esc.case_priority or ""), "  ", cell(esc.customer))

        def submitted(vals: dict[str, Any] | None) -> None:
            if vals is None:
                return

            def refused(err: Exception) -> None:
                if isinstance(err, DeskError):
                    self.form(esc, title, fields, submit, done, values=vals, error=str(err))
                    self.reload()
                elif (why := self.not_saved(err)) is not None:  # (a full disk, the database out of reach)
                    self.form(esc, title, fields, submit, done, values=vals, error=why)
                else:
                    self.show_refusal(err)

            def applied(_result: Any) -> None:
                self.notify(clean(done), title=f"Case {esc.case}", markup=False)
                self.reload()

            self.call(lambda: submit(vals), then=applied, otherwise=refused, group="action", exclusive=False)

        self.app.push_screen(FormScreen(title, fields, values=values, error=error, context=context), submitted)

    def action_review(self) -> None:
        esc = self.selected("requests")
        if esc is None:
            return
        fields = [
            Field("severity_impact", "Severity and impact", "text", default=esc.severity_impact),
            Field("business_risk", "Business or operational risk", "text", default=esc.business_risk),
            Field("sla_commitments", "SLA commitments", "text", default=esc.sla_commitments),
            Field("actions_taken", "Actions already taken", "text", default=esc.actions_taken),
            Field("problem_statement_ok", "The problem statement is correct", "check",
                  default=esc.problem_statement_ok),
            Field("impact_described", "The business impact is described", "check", default=esc.impact_described),
            Field("workaround_impractical", "A workaround is impractical (or none exists)", "check",
                  default=esc.workaround_impractical),
            Field("milestone_date", "Critical milestone date (if any)", "text", default=esc.milestone_date,
                  placeholder="e.g. 2026-12-15 go-live"),
        ]

        def submit(vals: dict[str, Any]) -> Any:
            texts = {k: (vals[k] or None) for k in
                     ("severity_impact", "business_risk", "sla_commitments", "actions_taken", "milestone_date")}
            checks = {k: bool(vals[k]) for k in ("problem_statement_ok", "impact_described",
                                                 "workaround_impractical")}
            return self.service.review_escalation(esc.case, actor=self.me, **texts, **checks)

        self.form(esc, "Review the escalation request", fields, submit, "Assessment recorded")

    def action_approve(self) -> None:
        esc = self.selected("requests")
        if esc is not None:
            approve(self, esc)  # (tui/decisions.py: asks once more over an unticked review; the engineer chosen)

    def action_deny(self) -> None:
        esc = self.selected("requests")
        if esc is None:
            return
        self.form(
            esc, "Deny the escalation",
            [Field("reason", "Reason (told to the analyst, who explains it to the customer)", "area")],
            lambda vals: self.service.decide_escalation(esc.case, "deny", actor=self.me, reason=vals["reason"]),
            "Escalation denied",
        )

    def action_status_update(self) -> None:
        esc = self.selected("approved")
        if esc is None:
            return
        self.form(
            esc, "Daily status update to the customer",
            [Field("body", "Status update", "area")],
            lambda vals: self.service.log_status_update(esc.case, vals["body"], actor=self.me),
            "Status update sent",
        )

    def action_de_escalate(self) -> None:
        esc = self.selected("approved")
        if esc is None:
            return
        self.form(
            esc, "De-escalate",
            [Field("plan_accepted", "The action plan is accepted", "check"),
             Field("rca_on_track", "Troubleshooting / root-cause analysis is on track", "check"),
             Field("customer_agreed", "The customer's agreement to de-escalate is documented", "check"),
             Field("note", "Note (optional)", "text")],
            lambda vals: self.service.de_escalate(
                esc.case, actor=self.me, plan_accepted=bool(vals["plan_accepted"]),
                rca_on_track=bool(vals["rca_on_track"]), customer_agreed=bool(vals["customer_agreed"]),
                note=vals["note"] or None),
            "De-escalated: priority restored",
        )
