"""Search the knowledge base and pick an article to link."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from deskconsole.tui.bindings import PICKER, bindings
from deskconsole.tui.styles import style
from deskconsole.tui.text import cell


class ArticlePicker(ModalScreen[int | None]):
    CSS_PATH = style("forms.tcss")
    BINDINGS = bindings(PICKER)

    def __init__(self, service: Any, case_id: int, query: str = "") -> None:
        super().__init__(classes="form-screen", id="article-picker")
        self.service = service
        self.case_id = case_id
        self.initial = query
        self._debounce: Timer | None = None
        self._shown: str | None = None  # the words the results answer

    def compose(self) -> ComposeResult:
        with Vertical(id="form"):
            yield Label(Text(f"Link a knowledge-base article to case {self.case_id}", style="bold"),
                        id="form-title")
            box = Input(value=self.initial, placeholder="search words", id="article-query")
            box.cursor_blink = False
            yield box
            yield OptionList(id="article-results")
            yield Label(Text.assemble(("enter", "bold"), " search / link   ", ("↓", "bold"), " results   ",
                                      ("esc", "bold"), " cancel"), id="form-keys")

    def on_mount(self) -> None:
        self.query_one("#article-query", Input).focus()
        self.search(self.initial)

    @on(Input.Changed, "#article-query")
    def _changed(self, event: Input.Changed) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(0.25, lambda: self.search(event.value))

    @on(Input.Submitted, "#article-query")
    def _submitted(self, event: Input.Submitted) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self.search(event.value, focus=True)

    def search(self, query: str, focus: bool = False, hold: bool = False) -> None:
        """Search in a worker; `hold`: the keys typed meanwhile wait for the results (DeskApp.hold_keys),
        so an `enter` typed right after `↓` picks the first result rather than searching again."""
        release = getattr(self.app, "release_keys", None)

        def job() -> None:
            try:
                found = self.service.search_articles(query)
            except Exception as exc:  # noqa: BLE001 -- shown, never raised into the console
                self.app.call_from_thread(self.notify, str(exc), severity="error", markup=False)
                found = None
            if found is not None:
                self.app.call_from_thread(self.show, found, focus, query)
            if hold and release is not None:
                self.app.call_from_thread(release, answered=True)

        if hold and release is not None:
            self.app.hold_keys()  # type: ignore[attr-defined]  # (DeskApp's, as release_keys)
        self.run_worker(job, thread=True, exclusive=True, group="search", exit_on_error=False)

    def action_results(self) -> None:
        """`↓` from the search box: to the results, searching first for what was typed since the last
        search (typed fast, the results may not have caught up with the words yet)."""
        box = self.query_one("#article-query", Input)
        if self._debounce is not None:
            self._debounce.stop()
        if self._shown != box.value:
            self.search(box.value, focus=True, hold=True)
            return
        results = self.query_one("#article-results", OptionList)
        if results.option_count and not results.get_option_at_index(0).disabled:
            results.focus()
            results.highlighted = 0

    def show(self, articles: list[Any], focus: bool = False, query: str | None = None) -> None:
        if query is not None and query != self.query_one("#article-query", Input).value and not focus:
            return  # (the words changed since: their own search answers)
        self._shown = query
        results = self.query_one("#article-results", OptionList)
        results.clear_options()
        for a in articles:
            prompt = Text.assemble((f"#{a.id} ", "bold"), cell(a.title, limit=70),
                                   (f"  {a.state}", "dim"))
            results.add_option(Option(prompt, id=str(a.id)))
        if not articles:
            results.add_option(Option(Text("no article matches", style="dim italic"), disabled=True))
        elif focus:
            self.set_focus(results)
            results.highlighted = 0

    @on(OptionList.OptionSelected, "#article-results")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self.dismiss(int(event.option.id))

    def action_cancel(self) -> None:
        self.dismiss(None)
