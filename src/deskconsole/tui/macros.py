"""The console's keys for macros and the undo of a close: the macro picker (fuzzy by name), the
palette's "Apply macro: NAME" entries, and `u` (undo the last close within the undo window).

The rules are the service's: applying a macro is Service.apply_macro (one action through the
single actions' rules), undoing is Service.undo_close (the service owns the window); a refusal is
shown in the console's words. The case pane and the queue take the actions from the mixins here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from deskconsole.domain.clock import to_utc
from deskconsole.domain.lifecycle import Status
from deskconsole.domain.macros import Macro, fuzzy_rank
from deskconsole.tui.bindings import MACRO_PICKER, bindings
from deskconsole.tui.styles import style
from deskconsole.tui.text import cell, clean


class MacroPicker(ModalScreen[str | None]):
    """Pick one of the team's macros by typing part of its name (its letters in order); enter applies
    the one highlighted, esc cancels."""

    CSS_PATH = style("forms.tcss")
    BINDINGS = bindings(MACRO_PICKER)

    def __init__(self, service: Any, case_id: int, *, target: str | None = None) -> None:
        super().__init__(classes="form-screen", id="macro-picker")
        self.service = service
        self.case_id = case_id
        self.target = target or f"case {case_id}"  # (the queue's bulk macro: "12 cases")
        self.macros: dict[str, Macro] = {}

    def compose(self) -> ComposeResult:
        with Vertical(id="form"):
            yield Label(Text(f"Apply a macro to {self.target}", style="bold"), id="form-title")
            box = Input(placeholder="type part of a macro's name", id="macro-query")
            box.cursor_blink = False
            yield box
            yield OptionList(id="macro-results")
            yield Label(Text.assemble(("enter", "bold"), " apply   ", ("↑↓", "bold"), " choose   ",
                                      ("esc", "bold"), " cancel"), id="form-keys")

    def on_mount(self) -> None:
        self.query_one("#macro-query", Input).focus()

        def job() -> None:
            try:
                macros = self.service.list_macros()
            except Exception as exc:  # noqa: BLE001 -- shown, never raised into the console
                self.app.call_from_thread(self.notify, clean(str(exc)), severity="error", markup=False)
                return
            self.app.call_from_thread(self.loaded, macros)

        self.run_worker(job, thread=True, exclusive=True, group="macros", exit_on_error=False)

    def loaded(self, macros: list[Macro]) -> None:
        self.macros = {m.name: m for m in macros}
        self.show(self.query_one("#macro-query", Input).value)

    def show(self, query: str) -> None:
        results = self.query_one("#macro-results", OptionList)
        results.clear_options()
        names = fuzzy_rank(query, list(self.macros))
        for name in names:
            macro = self.macros[name]
            text = macro.reply or macro.note or ""
            prompt = Text.assemble((name, "bold"), "  ", (macro.describe(), "dim"), "\n  ",
                                   cell(" ".join(text.split()), limit=56))
            results.add_option(Option(prompt, id=name))
        if not self.macros:
            results.add_option(Option(Text("the team has no macros: a manager or supervisor loads them with "
                                           "'deskconsole macro load FILE'", style="dim italic"), disabled=True))
        elif not names:
            results.add_option(Option(Text("no macro matches", style="dim italic"), disabled=True))
        else:
            results.highlighted = 0

    @on(Input.Changed, "#macro-query")
    def _changed(self, event: Input.Changed) -> None:
        self.show(event.value)

    @on(Input.Submitted, "#macro-query")
    def _submitted(self, event: Input.Submitted) -> None:
        results = self.query_one("#macro-results", OptionList)
        if results.highlighted is not None:
            option = results.get_option_at_index(results.highlighted)
            if option.id is not None and not option.disabled:
                self.dismiss(option.id)

    @on(OptionList.OptionSelected, "#macro-results")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self.dismiss(event.option.id)

    def action_cursor_down(self) -> None:
        self.query_one("#macro-results", OptionList).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one("#macro-results", OptionList).action_cursor_up()

    def action_cancel(self) -> None:
        self.dismiss(None)


def undo_open(case: Any, now: datetime) -> bool:
    """Whether the case shown was just closed by an agent, within the undo window: the key is offered.
    The service says until when (the case view's undo_until); the console's clock says whether that
    is still ahead."""
    until = getattr(case, "undo_until", None)
    return until is not None and now < to_utc(until)


MACRO_KEYS = ("apply_macro", "undo_close")  # the case pane's actions judged here


class CaseMacroKeys:
    """The case pane's `M` (the macro picker), the palette's "Apply macro: NAME" and `u` (undo the close).

    Mixed into CaseScreen: uses its `case`, `case_id`, `service`, `me`, `direct` and `desk`."""

    case: Any
    case_id: int | None
    service: Any
    me: str
    desk: Any
    direct: Callable[..., None]
    app: Any
    _undo_shown: bool = False

    def action_apply_macro(self) -> None:
        if self.case is None:
            return
        cid = self.case.id

        def picked(name: str | None) -> None:
            if name is not None:
                self.apply_macro_named(name, cid)

        self.app.push_screen(MacroPicker(self.service, cid), picked)

    def apply_macro_named(self, name: str, case_id: int | None = None) -> None:
        cid = case_id if case_id is not None else self.case_id
        if cid is None or cid != self.case_id:
            return
        self.direct(lambda v: self.service.apply_macro(cid, name, actor=self.me, expected_version=v),
                    f"Macro {name} applied")

    def action_undo_close(self) -> None:
        cid = self.case_id
        self.direct(lambda v: self.service.undo_close(cid, actor=self.me, expected_version=v),
                    "Close undone: the held messages are withdrawn")

    def macro_key_applies(self, action: str) -> bool:
        if action == "apply_macro":
            return self.case is not None and self.case.status != Status.CLOSED
        return self.undo_offered()

    def macro_key_why_not(self, action: str) -> str | None:
        if action == "apply_macro":
            if self.case is None or self.case.status != Status.CLOSED:
                return None
            return f"Case {self.case.id} is closed: macros work on open cases (clone it to start new work)."
        return self.undo_why_not()

    def undo_offered(self) -> bool:
        return undo_open(self.case, to_utc(self.desk.clock.now()))

    def undo_why_not(self) -> str | None:
        """Why `u` does nothing now (None: it undoes), in the console's words."""
        case = self.case
        if case is None or self.undo_offered():
            return None
        if case.status != Status.CLOSED:
            return f"Nothing to undo: case {case.id} is not closed."
        if case.merged_into is not None:
            return (f"Case {case.id} was merged into case {case.merged_into}: a merge is not undone "
                    "(its conversation is in that case now).")
        who = case.last_actor or ""
        if who == "timer" or who.startswith("customer:"):
            by = "the auto-close timer" if who == "timer" else "the customer's confirmation"
            return f"Case {case.id} was closed by {by}: only an agent's close is undone."
        return f"The undo window of this close has ended: case {case.id} stays closed (clone it for new work)."

    def refresh_countdowns(self) -> None:
        super().refresh_countdowns()  # type: ignore[misc]  # (PaneScreen's)
        shown = self.undo_offered()
        if shown != self._undo_shown:  # the window opened or ended: the footer follows
            self._undo_shown = shown
            self.refresh_bindings()  # type: ignore[attr-defined]


class QueueMacroKeys:
    """The queue's `u`: undo the last close of the case on the current row (the service refuses clearly
    when there is none to undo)."""

    service: Any
    me: str
    app: Any

    def action_undo_close(self) -> None:
        key = self.table.selected_key  # type: ignore[attr-defined]
        if key is None:
            return
        cid = int(key)

        def undone(view: Any) -> None:
            status = view.status + (f"/{view.sub_status}" if view.sub_status else "")
            self.notify(f"Close undone: back to {status}; the held messages are withdrawn",  # type: ignore[attr-defined]
                        title=f"Case {cid}", markup=False)
            self.reload()  # type: ignore[attr-defined]

        self.call(lambda: self.service.undo_close(cid, actor=self.me), then=undone,  # type: ignore[attr-defined]
                  otherwise=self.show_refusal, group="action", exclusive=False)  # type: ignore[attr-defined]


class MacroCommands(Provider):
    """The palette's "Apply macro: NAME" entries, on the case pane (the team's macros, read in a worker)."""

    async def startup(self) -> None:
        self.macros: list[Macro] = []
        screen = self.screen
        if not hasattr(screen, "apply_macro_named") or getattr(screen, "case", None) is None:
            return
        worker = self.app.run_worker(screen.service.list_macros, thread=True, exit_on_error=False,
                                     group="palette-macros")
        await worker.wait()
        if worker.result is not None:
            self.macros = list(worker.result)

    def _hits(self) -> list[tuple[str, Any, str]]:
        screen = self.screen
        return [(f"Apply macro: {m.name}", partial(screen.apply_macro_named, m.name), m.describe())
                for m in self.macros]

    async def discover(self) -> Hits:
        for title, run, help_text in self._hits():
            yield DiscoveryHit(title, run, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, run, help_text in self._hits():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), run, help=help_text)
