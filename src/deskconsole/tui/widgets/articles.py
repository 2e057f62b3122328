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

    def search(self, query: str, focus: bool = False) -> None:
        def job() -> None:
            try:
                found = self.service.search_articles(query)
            except Exception as exc:  # noqa: BLE001 -- shown, never raised into the console
                self.app.call_from_thread(self.notify, str(exc), severity="error", markup=False)
                return
            self.app.call_from_thread(self.show, found, focus)

        self.run_worker(job, thread=True, exclusive=True, group="search", exit_on_error=False)

    def show(self, articles: list[Any], focus: bool = False) -> None:
        results = self.query_one("#article-results", OptionList)
        results.clear_options()
        for a in articles:
            prompt = Text.assemble((f"#{a.id} ", "bold"), cell(a.title, limit=70),
                                   (f"  {a.state}", "dim"))
            results.add_option(Option(prompt, id=str(a.id)))
        if not articles:
            results.add_option(Option(Text("no article matches", style="dim italic"), disabled=True))
        elif focus:
            results.focus()
            results.highlighted = 0

    @on(OptionList.OptionSelected, "#article-results")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self.dismiss(int(event.option.id))

    def action_cancel(self) -> None:
        self.dismiss(None)
