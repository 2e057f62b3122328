"""The case pane's actions (CaseScreen's part, mixed in as the queue's parts are): the forms that ask
what an action needs, the actions that need nothing, the composer, and what the pane does with the
service's answer or refusal.

Actions pass `expected_version` (the version shown when the form opened). When someone else changed
the case meanwhile, the service refuses with a Conflict: the pane says who changed what, reloads the
case and reopens the form with the text already typed. A submit that fails because the database
cannot be reached reopens the form with the text too, and so does one that fails for want of room.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text

from deskconsole.domain import labels
from deskconsole.domain.asking import ASKED_OUTSIDE, CONFIRMED_HOW, HOW_WORDS
from deskconsole.domain.errors import Conflict, DeskError
from deskconsole.domain.lifecycle import SubStatus
from deskconsole.domain.views import CaseView
from deskconsole.store.changes import connection_lost, storage_full
from deskconsole.tui import format as fmt
from deskconsole.tui.decisions import reassign
from deskconsole.tui.drafts import NOTE, REPLY
from deskconsole.tui.screens.base import FULL_DISK
from deskconsole.tui.text import cell, clean
from deskconsole.tui.widgets.articles import ArticlePicker
from deskconsole.tui.widgets.composer import ComposerScreen
from deskconsole.tui.widgets.form import ConfirmScreen, Field, FormScreen

SUB_STATUSES = [(labels.SUB_STATUS[sub], sub.value) for sub in SubStatus]  # (label, value) for the form
# Waiting on the customer: send the question, or record how it was already asked (nothing sent).
ASKED_CHOICES = [("send it to the customer now", "")] + [
    (f"already asked {HOW_WORDS[how]}: send nothing", how) for how in ASKED_OUTSIDE
]
CONFIRM_CHOICES = [(HOW_WORDS[how], how) for how in CONFIRMED_HOW]


class CaseActions:
    """CaseScreen's action keys. Uses the pane's `case`, `case_id`, `service`, `me`, `desk`, `app`,
    `call`, `notify`, `reload`, `show`, `reload_timeline`, `show_refusal` and `not_saved`."""

    case: CaseView | None
    case_id: int | None
    service: Any
    me: str
    desk: Any
    app: Any
    notify: Callable[..., None]
    call: Callable[..., Any]
    reload: Callable[..., None]
    show: Callable[[CaseView], None]
    reload_timeline: Callable[..., None]
    show_refusal: Callable[[Exception], None]
    not_saved: Callable[[Exception], str | None]
    follow_up_waits: Callable[[], bool]

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
