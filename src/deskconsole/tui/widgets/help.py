"""`?`: every key of the current pane, from the same list as the footer."""

from __future__ import annotations

from collections.abc import Mapping

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from deskconsole.domain import labels
from deskconsole.domain.lifecycle import EscalationState, Status, SubStatus
from deskconsole.tui import format as fmt
from deskconsole.tui.bindings import HELP, KeyAction, action_name, bindings
from deskconsole.tui.keymap import remap
from deskconsole.tui.panes import GLOBAL
from deskconsole.tui.styles import style

STATUS_MEANING = {
    Status.NEW: "just opened, not yet worked",
    Status.IN_PROGRESS: "an analyst is investigating",
    Status.PENDING: "waiting on something outside support (what: after the /)",
    Status.AWAITING_CONFIRMATION: "the resolution was given; waiting for the customer to confirm it",
    Status.REOPENED: "the customer answered the resolution: it did not solve it",
    Status.UPDATE_RECEIVED: "the customer answered a question: support must act",
    Status.CLOSED: "done; a clone starts new work",
}


def legend(pane: str) -> list[tuple[Text, str]]:
    """What the symbols and words of a pane mean: the same labels the pane draws (domain/labels.py)."""
    rows: list[tuple[Text, str]] = []
    if pane in ("queue", "case"):
        rows.append((Text("⚑", "bold red"), "needs someone: a reply after close, a customer to chase by phone, …"))
        for state, meaning in (
            (EscalationState.REQUESTED, "escalation asked for: waiting on a manager's decision"),
            (EscalationState.APPROVED, "escalated: approved by a manager, daily status updates due"),
            (EscalationState.DENIED, "escalation denied by a manager"),
            (EscalationState.DE_ESCALATED, "de-escalated"),
        ):
            rows.append((fmt.escalation_text(state.value), meaning))
        for status in Status:
            rows.append((fmt.status_text(status.value), f"{STATUS_MEANING[status]} ({status.value})"))
        for sub in SubStatus:
            rows.append((Text(labels.status_label(Status.PENDING.value, sub.value)),
                         f"pending, waiting on {labels.SUB_STATUS[sub]} (pending/{sub.value})"))
    if pane == "case":
        rows.append((Text("◀", "bold magenta"), "a message from the customer (the thread)"))
        rows.append((Text("▶", "bold cyan"), "the desk to the customer: a reply, a question, a resolution"))
    return rows


class HelpScreen(ModalScreen[None]):
    CSS_PATH = style("forms.tcss")
    BINDINGS = bindings(HELP)

    def __init__(self, pane_title: str, actions: list[KeyAction], role: str, pane: str = "", *,
                 keymap: Mapping[str, str] | None = None) -> None:
        super().__init__(classes="form-screen", id="help")
        self.pane_title = pane_title
        self.pane = pane
        self.keymap = keymap or {}
        self.actions = remap(actions, self.keymap)
        self.role = role

    def compose(self) -> ComposeResult:
        with Vertical(id="form"):
            yield Label(Text(f"Keys — {self.pane_title}", style="bold"), id="form-title")
            with VerticalScroll(id="help-body"):
                yield Static(self.table(), markup=False)
            yield Label(Text.assemble(("esc", "bold"), " / ", ("?", "bold"), " close"), id="form-keys")

    def table(self) -> Table:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", min_width=8)
        grid.add_column()
        for heading, group in ((self.pane_title, self.actions), ("Everywhere", remap(GLOBAL, self.keymap))):
            rows = [a for a in group if a.offered_to(self.role)]
            if not rows:
                continue
            grid.add_row(Text(heading, style="underline"), "")
            why = self.reasons() if group is self.actions else {}
            for a in rows:
                reason = why.get(a.id)
                if reason is None:
                    grid.add_row(a.display_key(), Text(f"{a.label} — {a.help}"))
                    continue
                # a key that does not apply to what is in front of you: dimmed, and why (domain/permissions.py)
                line = Text(f"{a.label} — {a.help}", "dim")
                line.append("\n✗ not now: ", "yellow")
                line.append(reason, "yellow")
                grid.add_row(Text(a.display_key(), "dim"), line)
            grid.add_row("", "")
        symbols = legend(self.pane)
        if symbols:
            grid.add_row(Text("What you see", style="underline"), "")
            for shown, meaning in symbols:
                grid.add_row(shown, Text(meaning))
        return grid

    def reasons(self) -> dict[str, str]:
        """Why each key of the pane behind does not apply now (its why_not), by key id."""
        pane = getattr(self.app, "pane", None)
        why_not = getattr(pane, "why_not", None)
        if why_not is None or getattr(pane, "PANE", None) != self.pane:
            return {}
        out = {}
        for a in self.actions:
            reason = why_not(action_name(a.action)) if a.offered_to(self.role) else None
            if reason:
                out[a.id] = " ".join(str(reason).split())
        return out

    def action_close(self) -> None:
        self.dismiss(None)
