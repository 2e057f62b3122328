"""The console's keys for editing cases: `E` edit (fields and tags), `U` unassign, `m` merge into
another case, `S` split a customer's message out into a new case, and `N` open a new case (the
queue and the case pane).

The rules are the service's and the domain's: who may edit or split (domain/editing.py), who may
merge what (domain/merging.py check_merge, asked here of the case shown before the target is
known), who may reassign (domain/permissions.py). A refusal is shown in the console's words, and a
form refused reopens with what was typed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text

from deskconsole.domain.editing import SPLIT_KINDS, may_edit, may_split
from deskconsole.domain.errors import Conflict, DeskError, InvalidInput
from deskconsole.domain.lifecycle import OPEN_ESCALATION_STATES, Priority, Role, Severity
from deskconsole.domain.merging import MergeSide, check_merge
from deskconsole.domain.permissions import Action, CaseState, Person, may
from deskconsole.domain.views import CaseView
from deskconsole.tui import format as fmt
from deskconsole.tui.text import cell, clean

EDIT_KEYS = ("edit_case", "unassign", "merge_case", "split_message", "new_case")  # the actions judged here
SEVERITIES = [(s.value.replace("_", " "), s.value) for s in Severity]
PRIORITIES = [(p.value, p.value) for p in Priority]
NEW_PRIORITIES = [("as the severity gives", "")] + PRIORITIES
AGENT_ROLES = {r.value for r in Role}


def tag_text(tags: list[str]) -> str:
    return " ".join(tags)


def merge_refusal(me: str, role: str, case: CaseView) -> str | None:
    """Why the case shown cannot be merged into any case by `me` (check_merge's words), or None.
    The target is not known yet: it is taken as an open case of the same customer in the team queue."""
    mine = case.assignee == me
    esc = case.escalation
    source = MergeSide(id=case.id, status=case.status, customer=case.customer,
                       assignee_id=None if case.assignee is None else (0 if mine else 1),
                       open_escalation=esc.state if esc is not None and esc.state in OPEN_ESCALATION_STATES else None)
    target = MergeSide(id=-1, status="new", customer=case.customer, assignee_id=None)
    try:
        check_merge(role=role, agent_id=0, source=source, target=target, force=False)
    except DeskError as err:
        return err.console or str(err)
    return None


class NewCaseKey:
    """`N`: open a new case for a customer (as `case open`), then show it in the case pane."""

    service: Any
    me: str
    desk: Any
    app: Any
    notify: Callable[..., None]
    call: Callable[..., Any]
    show_refusal: Callable[[Exception], None]
    not_saved: Callable[[Exception], str | None]

    def new_case_form(self, values: dict[str, Any] | None = None, error: str | None = None) -> None:
        from deskconsole.tui.widgets.form import Field, FormScreen
        fields = [
            Field("customer", "Customer", "text", placeholder="the customer's company or name"),
            Field("contact", "Contact (e-mail, optional)", "text", placeholder="name@example.com"),
            Field("title", "Title", "text", placeholder="what the customer needs, in a few words"),
            Field("description", "Description", "area"),
            Field("severity", "Severity", "select", SEVERITIES, default=Severity.NORMAL.value),
            Field("priority", "Priority", "select", NEW_PRIORITIES, default=""),
            Field("product_area", "Product area (optional)", "text", placeholder="e.g. billing"),
        ]

        def submitted(vals: dict[str, Any] | None) -> None:
            if vals is None:
                return

            def opened(answer: tuple[CaseView, bool]) -> None:
                view = answer[0]
                self.notify(f"Case {view.id} opened for {clean(view.customer, single_line=True)}",
                            title="New case", markup=False)
                self.desk.open_case(view.id)

            def refused(err: Exception) -> None:
                if isinstance(err, DeskError):
                    self.new_case_form(vals, err.console or str(err))
                elif (why := self.not_saved(err)) is not None:
                    self.new_case_form(vals, why)
                else:
                    self.show_refusal(err)

            self.call(lambda: self.service.open_case(
                vals["title"] or "", vals["customer"] or "", description=vals["description"] or "",
                contact=vals["contact"] or None, product_area=vals["product_area"] or None,
                severity=vals["severity"] or None, priority=vals["priority"] or None, actor=self.me),
                then=opened, otherwise=refused, group="action", exclusive=False)

        self.app.push_screen(FormScreen("Open a new case", fields, values=values, error=error,
                                        submit_label="Open"), submitted)

    def action_new_case(self) -> None:
        self.new_case_form()


class CaseEditKeys(NewCaseKey):
    """The case pane's E, U, m, S and N. Mixed into CaseScreen: uses its `case`, `case_id`, `service`,
    `me`, `role`, `form`, `direct`, `reload`, `thread`, `shown_events` and `desk`."""

    case: CaseView | None
    case_id: int | None
    role: str
    shown_events: list[Any]
    thread: Any
    form: Callable[..., None]
    direct: Callable[..., None]
    reload: Callable[..., None]
    conflict_text: Callable[[Conflict], str]

    # ------------------------------------------------------------ what applies
    def edit_key_why_not(self, action: str) -> str | None:
        """Why an edit key does nothing to the case shown (None: it applies)."""
        case = self.case
        if action == "new_case":
            return None if self.role in AGENT_ROLES else f"{self.me} is no agent of this desk"
        if case is None:
            return None
        if action == "edit_case":
            verdict = may_edit(self.me, self.role, case.id, case.status)
            return None if verdict else verdict.reason
        if action == "unassign":
            verdict = may(Person(self.me, self.role), Action.REASSIGN, CaseState.of(case))
            if not verdict:
                return verdict.reason
            return None if case.assignee else f"case {case.id} is in the team queue already"
        if action == "merge_case":
            return merge_refusal(self.me, self.role, case)
        if action == "split_message":
            verdict = may_split(self.me, self.role)
            if not verdict:
                return verdict.reason
            if not self.split_candidates():
                return (f"no message of the customer is shown on case {case.id}: a split takes one of their "
                        "messages out into a new case")
        return None

    def edit_key_applies(self, action: str) -> bool:
        return self.edit_key_why_not(action) is None

    def split_candidates(self) -> list[Any]:
        """The customer's messages shown in the thread, newest first."""
        return [e for e in reversed(self.shown_events) if e.kind in SPLIT_KINDS]

    def message_in_view(self, candidates: list[Any]) -> int | None:
        """The customer's message at the top of the thread's screen (the one being read), else the newest."""
        if not candidates:
            return None
        top = round(self.thread.scroll_y)
        bottom = top + max(1, self.thread.size.height)
        on_screen = [(line, e.id) for e in candidates
                     if (line := self.thread.line_of(e.id)) is not None and top <= line < bottom]
        if on_screen:
            return min(on_screen)[1]
        above = [(line, e.id) for e in candidates if (line := self.thread.line_of(e.id)) is not None and line < top]
        return max(above)[1] if above else candidates[0].id

    # ---------------------------------------------------------------- actions
    def action_edit_case(self) -> None:
        from deskconsole.tui.widgets.form import Field
        case = self.case
        if case is None:
            return
        cid, before = case.id, case
        fields = [
            Field("title", "Title", "text"),
            Field("contact", "Contact (e-mail; empty: none)", "text"),
            Field("product_area", "Product area (empty: none)", "text"),
            Field("severity", "Severity", "select", SEVERITIES),
            Field("priority", "Priority", "select", PRIORITIES),
            Field("tags", "Tags (words separated by spaces)", "text", placeholder="e.g. vip billing"),
        ]
        values = {"title": case.title, "contact": case.contact or "", "product_area": case.product_area or "",
                  "severity": case.severity, "priority": case.priority, "tags": tag_text(case.tags)}

        def submit(vals: dict[str, Any], version: int) -> CaseView:
            changed: dict[str, Any] = {}
            for name, old in (("title", before.title), ("contact", before.contact or ""),
                              ("product_area", before.product_area or ""), ("severity", before.severity),
                              ("priority", before.priority)):
                new = vals.get(name)
                if new is not None and new != old:
                    changed[name] = new
            typed = set((vals.get("tags") or "").replace(",", " ").lower().split())
            have = set(before.tags)
            return self.service.edit_case(cid, actor=self.me, expected_version=version, **changed,
                                          add_tags=sorted(typed - have), remove_tags=sorted(have - typed))

        self.form("Edit the case", fields, submit, "Case changed", values=values)

    def action_unassign(self) -> None:
        cid = self.case_id
        self.direct(lambda v: self.service.assign(cid, None, actor=self.me, expected_version=v),
                    "Back in the team queue")

    def action_merge_case(self, values: dict[str, Any] | None = None, error: str | None = None) -> None:
        """Ask for the case to merge into, show it, confirm (across customers: asked as such), merge."""
        from deskconsole.tui.widgets.form import Field, FormScreen
        case = self.case
        if case is None:
            return
        source, source_version = case, case.version
        context = Text.assemble((f"Case {case.id} ", "bold"), cell(case.title, limit=70), "  ",
                                cell(case.customer, "dim", limit=40))

        def asked(vals: dict[str, Any] | None) -> None:
            if vals is None:
                return
            text = (vals.get("target") or "").strip().lstrip("#")
            if not text.isdigit() or not 0 < int(text) < 2**31:
                self.action_merge_case(vals, f"A case number, such as 42: not {text!r}." if text else
                                       "Type the number of the case to merge this one into.")
                return
            target_id = int(text)

            def found(target: CaseView) -> None:
                self.confirm_merge(source, source_version, target)

            def not_found(err: Exception) -> None:
                if isinstance(err, DeskError):
                    self.action_merge_case(vals, err.console or str(err))
                else:
                    self.show_refusal(err)

            self.call(lambda: self.service.get_case(target_id, events=False), then=found, otherwise=not_found,
                      group="action", exclusive=False)

        self.app.push_screen(FormScreen(
            "Merge this case into another", [Field("target", "Merge into case number", "text", placeholder="e.g. 42")],
            values=values, error=error, context=context, submit_label="Look it up"), asked)

    def confirm_merge(self, source: CaseView, source_version: int, target: CaseView) -> None:
        from deskconsole.tui.widgets.form import ConfirmScreen
        across = source.customer.strip().casefold() != target.customer.strip().casefold()
        question = Text()
        question.append(f"Merge case {source.id} ", "bold")
        question.append_text(cell(source.title, limit=60))
        question.append(f"\ninto case {target.id} ", "bold")
        question.append_text(cell(target.title, limit=60))
        question.append(f"  ({target.status}, ")
        question.append_text(cell(target.customer, limit=40))
        question.append(")")
        question.append(f"\n\nCase {source.id} closes \"merged into {target.id}\"; its conversation, references "
                        f"and mail thread go to case {target.id}.")
        if across:
            question.append("\n\n⚠ The cases are for different customers: ", "bold red")
            question.append_text(cell(source.customer, "bold", limit=40))
            question.append(" and ")
            question.append_text(cell(target.customer, "bold", limit=40))
            question.append(". y merges them anyway.", "bold red")

        def answered(yes: bool | None) -> None:
            if not yes:
                return

            def merged(view: CaseView) -> None:
                self.notify(f"Case {source.id} merged into case {view.id}", title="Merged", markup=False)
                self.reload()

            def refused(err: Exception) -> None:
                if isinstance(err, Conflict):
                    self.notify(clean(self.conflict_text(err) + "Reloaded: look, then merge again."),
                                title="Case changed", severity="warning", markup=False, timeout=10)
                    self.reload()
                else:
                    self.show_refusal(err)

            self.call(lambda: self.service.merge(source.id, target.id, actor=self.me, force=across,
                                                 source_version=source_version, target_version=target.version),
                      then=merged, otherwise=refused, group="action", exclusive=False)

        self.app.push_screen(ConfirmScreen(question), answered)

    def action_split_message(self) -> None:
        from deskconsole.tui.widgets.form import Field
        case = self.case
        candidates = self.split_candidates()
        if case is None or not candidates:
            if case is not None:
                self.notify(clean(self.edit_key_why_not("split_message") or ""), title=f"Case {case.id}",
                            severity="warning", markup=False)
            return
        cid = case.id
        options = [(self.message_label(e), str(e.id)) for e in candidates]
        chosen = self.message_in_view(candidates)

        def submit(vals: dict[str, Any], version: int) -> CaseView:
            event = vals.get("event")
            if not event:
                raise InvalidInput("choose the message to split out", console="Choose the message to split out.")
            new = self.service.split(cid, int(event), actor=self.me, title=vals.get("title") or None,
                                     expected_version=version)
            self.app.call_from_thread(self.split_done, cid, new.id)  # (this runs in the action's worker)
            return new

        def done(vals: dict[str, Any]) -> str:
            return f"A message of case {cid} is split out into a new case"

        self.form("Split a message out into a new case",
                  [Field("event", "The customer's message", "select", options, default=str(chosen)),
                   Field("title", "Title of the new case (empty: the message's subject or first words)", "text")],
                  submit, done)

    def split_done(self, source_id: int, new_id: int) -> None:
        """The new case is shown; the case it came from says "split into" it."""
        self.notify(f"Case {new_id} opened with the message split out of case {source_id}", title="Split",
                    markup=False)
        self.desk.open_case(new_id)

    def message_label(self, e: Any) -> str:
        words = " ".join((e.body or "").split())
        when = fmt.when(e.at, self.desk.tz)
        text = f"{when} · {words}"
        return clean(text if len(text) <= 70 else text[:69] + "…", single_line=True)


__all__ = ["EDIT_KEYS", "CaseEditKeys", "NewCaseKey", "merge_refusal"]
