"""The customer's context, one key away from a case or a queue row (domain/customer.py): their
other cases (open first), their CSAT and their open escalations; enter opens a case."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from deskconsole.domain.customer import ContextCase, CustomerContext
from deskconsole.tui import format as fmt
from deskconsole.tui.bindings import CUSTOMER, bindings
from deskconsole.tui.styles import style
from deskconsole.tui.text import cell


def context_lines(ctx: CustomerContext) -> list[Text]:
    """The lines above the list: who, how many cases, CSAT, open escalations."""
    head = Text.assemble(("Customer ", "bold"), cell(ctx.customer, "bold", limit=60),
                         f" — {ctx.total} case{'' if ctx.total == 1 else 's'}, {ctx.open} open")
    if ctx.answers:
        score = Text.assemble(("CSAT ", "bold"), (f"{ctx.csat:g}%", "bold green" if (ctx.csat or 0) >= 80 else
                                                  "bold yellow" if (ctx.csat or 0) >= 50 else "bold red"),
                              f" ({ctx.answers} answer{'' if ctx.answers == 1 else 's'}, average {ctx.average:g})")
    else:
        score = Text.assemble(("CSAT ", "bold"), ("no survey answered yet", "dim"))
    esc = Text.assemble(("Open escalations ", "bold"))
    if ctx.escalations:
        for i, c in enumerate(ctx.escalations):
            if i:
                esc.append(" · ", "dim")
            esc.append(f"case {c.id} ")
            esc.append_text(fmt.escalation_text(c.escalation))
    else:
        esc.append("none", "dim")
    return [head, score, esc]


def case_line(c: ContextCase, here: int) -> Text:
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append(f"{c.id:>7} ", "bold")
    line.append_text(fmt.priority_text(c.priority))
    line.append("  ")
    line.append_text(fmt.status_text(c.status, c.sub_status))
    line.append("  ")
    line.append_text(cell(c.title, "" if c.open else "dim", limit=50))
    line.append("  ")
    line.append_text(cell(c.assignee or "team queue", "dim", limit=20))
    if c.escalation:
        line.append("  ")
        line.append_text(fmt.escalation_text(c.escalation))
    return line


class CustomerScreen(ModalScreen[int | None]):
    """Answers the id of the case to open, or None."""

    CSS_PATH = style("forms.tcss")
    BINDINGS = bindings(CUSTOMER)

    def __init__(self, ctx: CustomerContext) -> None:
        super().__init__(classes="form-screen", id="customer-context")
        self.ctx = ctx

    def compose(self) -> ComposeResult:
        ctx = self.ctx
        with Vertical(id="form"):
            lines = context_lines(ctx)
            yield Label(lines[0], id="form-title")
            for line in lines[1:]:
                yield Label(line)
            shown = len(ctx.cases)
            others = ctx.total - 1
            what = (f"Their other cases ({shown} of {others}, open first)" if shown < others
                    else "Their other cases (open first)" if shown else "No other case of theirs")
            yield Label(Text(what, "bold underline"))
            options = OptionList(id="customer-cases")
            for c in ctx.cases:
                options.add_option(Option(case_line(c, ctx.case_id), id=str(c.id)))
            yield options
            yield Label(Text.assemble(("enter", "bold"), " open the case   ", ("esc", "bold"), " close"),
                        id="form-keys")

    def on_mount(self) -> None:
        options = self.query_one("#customer-cases", OptionList)
        if options.option_count:
            options.highlighted = 0  # (enter opens the first at once)
        options.focus()

    @on(OptionList.OptionSelected, "#customer-cases")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self.dismiss(int(event.option.id))

    def action_cancel(self) -> None:
        self.dismiss(None)


def show_customer(pane: Any, case_id: int | None) -> None:
    """The customer context of `case_id`, from a pane (read in its worker); enter opens a case."""
    if case_id is None:
        return
    service = pane.desk.service

    def opened(picked: int | None) -> None:
        if picked is not None:
            pane.desk.open_case(picked)

    pane.call(lambda: service.customer_context(case_id),
              then=lambda ctx: pane.app.push_screen(CustomerScreen(ctx), opened), group="customer")


__all__ = ["CustomerScreen", "case_line", "context_lines", "show_customer"]
