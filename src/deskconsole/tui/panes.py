"""Every pane of the console, in one registry: its number key, title, screen, stylesheet and keys.

The App's modes, its number keys (the first entries of GLOBAL), the `?` help's title, the
header's pane list (headline.py, also drawn by the terminal pre-paint), the command palette
and the order in which stylesheets are read (styles.py) all come from PANES. Plain Python:
the pre-paint reads it before Textual is imported, and a pane's screen module is imported
only when the pane is first shown.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from deskconsole.tui import bindings as keys
from deskconsole.tui.bindings import KeyAction


@dataclass(frozen=True)
class Pane:
    name: str  # the mode and the screen's PANE
    key: str  # the number key that shows it from anywhere
    title: str  # the `?` help's title
    tab: str  # the header's name for it (after its number) and its key's label
    help: str  # what its key does (help, palette)
    screen: str  # "module:Class" under deskconsole.tui.screens, imported when first shown
    stylesheet: str  # its file in styles/
    actions: Sequence[KeyAction]  # its keys (bindings.py)
    first: bool = False  # the start screen: its stylesheet is the App's own, read before the first frame
    roles: frozenset[str] | None = None  # who is offered it (None: everyone)
    in_header: bool = True  # named in the header's pane list (a pane for some roles only is not)

    @property
    def header_title(self) -> str:
        return f"{self.key} {self.tab}"

    def key_action(self) -> KeyAction:
        return KeyAction(f"pane.{self.name}", self.key, f"app.pane('{self.name}')", self.tab, self.help,
                         show=False, roles=self.roles)

    def offered_to(self, role: str) -> bool:
        return self.roles is None or role in self.roles

    def screen_class(self) -> type:
        module, _, name = self.screen.partition(":")
        return getattr(importlib.import_module(f"deskconsole.tui.screens.{module}"), name)

    def make_screen(self) -> Any:
        """A new screen for the pane (App.MODES): the screen's module is imported now."""
        return self.screen_class()()


PANES: tuple[Pane, ...] = (
    Pane("queue", "1", "Queue", "Queue", "Show the queue of cases", "queue:QueueScreen", "queue.tcss",
         keys.QUEUE, first=True),
    Pane("case", "2", "Case detail", "Case", "Show the case last opened", "case:CaseScreen", "case.tcss",
         keys.CASE),
    Pane("escalations", "3", "Escalation review", "Escalations", "Show the escalation review",
         "escalations:EscalationsScreen", "escalations.tcss", keys.ESCALATIONS),
    Pane("countdowns", "4", "Countdowns", "Countdowns", "Show every running timer", "countdowns:CountdownsScreen",
         "countdowns.tcss", keys.COUNTDOWNS),
    Pane("surveys", "5", "Surveys", "Surveys", "Show survey results", "surveys:SurveysScreen", "surveys.tcss",
         keys.SURVEYS),
    Pane("outbox", "6", "Outbox", "Outbox", "Show the outbox: messages to customers and managers",
         "outbox:OutboxScreen", "outbox.tcss", keys.OUTBOX),
    Pane("parked", "7", "Parked mail", "Parked", "Show parked mail: machine mail held with its reason",
         "parked:ParkedScreen", "parked.tcss", keys.PARKED, roles=keys.MAIL_LEADS, in_header=False),
    Pane("insight", "8", "Insight", "Insight", "Show the desk at a glance: backlog, service levels, CSAT, "
         "reopens, first-contact resolution", "insight:InsightScreen", "insight.tcss", keys.INSIGHT,
         roles=keys.LEADS, in_header=False),
)
BY_NAME: dict[str, Pane] = {p.name: p for p in PANES}

# The keys that work everywhere: a pane's number, then help, palette, timers and quit.
GLOBAL: list[KeyAction] = [*(p.key_action() for p in PANES), *keys.EVERYWHERE]


def pane(name: str) -> Pane:
    return BY_NAME[name]


def modes() -> dict[str, Any]:
    """App.MODES: each pane's screen, made (and its module imported) when first shown."""

    def maker(p: Pane) -> Any:
        def make() -> Any:
            return p.make_screen()

        make.__name__ = p.screen.partition(":")[2]
        return make

    return {p.name: maker(p) for p in PANES}


def screen_keys(name: str) -> tuple[Sequence[KeyAction], list[Any]]:
    """A pane screen's ACTIONS and BINDINGS."""
    actions = pane(name).actions
    return actions, keys.bindings(list(actions))


__all__ = ["BY_NAME", "GLOBAL", "PANES", "Pane", "modes", "pane", "screen_keys"]
