"""The queue pane's columns, page size and row cells, without Textual: the queue screen and the
terminal pre-paint (deskconsole.tui.prepaint) draw the same table from them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.text import Text

from deskconsole.domain.saved_views import first_view as opening_view
from deskconsole.tui import format as fmt
from deskconsole.tui.text import cell

if TYPE_CHECKING:
    from collections.abc import Mapping

    from deskconsole.domain.calendar import BusinessCalendar
    from deskconsole.domain.rows import CaseRow

PAGE = 100
COLUMNS = [
    ("id", "Case", 6),
    ("priority", "P", 2),
    ("sla", "SLA", 5),
    ("status", "Status", 16),
    ("title", "Title", 24),
    ("customer", "Customer", 13),
    ("assignee", "Assignee", 8),
    ("age", "Age", 4),
    ("escalation", "Esc", 7),
    ("next", "Next timer", 15),
]


def first_view(role: str) -> str:
    """The window view the queue opens on (domain/saved_views.py first_view: Mine for analysts,
    Open for everyone else)."""
    return opening_view(role).base


def first_query(role: str, user: str) -> dict[str, Any]:
    """The window the queue asks for first (as QueueScreen.reload asks): the first page of the
    opening view, oldest first, no filter."""
    return dict(view=first_view(role), actor=user, text=None, sort="oldest", after=None, limit=PAGE)


def row_cells(r: CaseRow, now: datetime, clocks: Mapping[str, BusinessCalendar] | None = None) -> dict[str, Text]:
    """A queue row's cells: what the queue screen and the pre-paint show for it. `clocks`: the
    calendar of each priority's targets (Service.sla_clocks; without it the SLA column counts
    wall-clock time)."""
    title = Text(no_wrap=True)
    if r.attention:
        title.append("⚑ ", "bold red")
    title.append_text(cell(r.title, limit=40))
    return {
        "id": Text(str(r.id), style="bold"),
        "priority": fmt.priority_text(r.priority),
        "sla": fmt.sla_text(r, now, (clocks or {}).get(r.priority)),
        "status": fmt.status_text(r.status, r.sub_status),
        "title": title,
        "customer": cell(r.customer, limit=30),
        "assignee": cell(r.assignee or "—", "" if r.assignee else "dim"),
        "age": Text(fmt.age(r.created_at, now), style="dim"),
        "escalation": fmt.escalation_text(r.escalation),
        "next": fmt.timer_countdown(r.next_timer, r.next_timer_due, now),
    }
