"""The queue pane's columns and page size, without Textual: the queue screen and the
terminal pre-paint (deskconsole.tui.prepaint) draw the same table from them."""

from __future__ import annotations

PAGE = 100
COLUMNS = [
    ("id", "Case", 6),
    ("priority", "P", 2),
    ("status", "Status", 18),
    ("title", "Title", 26),
    ("customer", "Customer", 13),
    ("assignee", "Assignee", 9),
    ("age", "Age", 4),
    ("escalation", "Esc", 7),
    ("next", "Next timer", 17),
]


def first_view(role: str) -> str:
    """The view the queue opens on: an analyst's own cases, everyone else's whole desk."""
    return "mine" if role == "analyst" else "all"
