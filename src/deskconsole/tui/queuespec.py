"""The queue pane's columns, page size and row cells, without Textual: the queue screen and the
terminal pre-paint (deskconsole.tui.prepaint) draw the same table from them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.text import Text

from deskconsole.domain import labels
from deskconsole.domain.lifecycle import Status, SubStatus
from deskconsole.domain.saved_views import first_view as opening_view
from deskconsole.tui import format as fmt
from deskconsole.tui.text import cell

if TYPE_CHECKING:
    from collections.abc import Mapping

    from deskconsole.domain.calendar import BusinessCalendar
    from deskconsole.domain.rows import CaseRow

PAGE = 100
# The longest status label (domain/labels.py's narrow forms, e.g. `pending/development`): a status is
# never cut mid-word.
STATUS_WIDTH = max(len(labels.status_label(status.value, sub.value if status == Status.PENDING else None))
                   for status in Status for sub in SubStatus)
NEXT, NEXT_WIDE = 17, 21  # the next timer's width, and on a roomy screen (a title of NEXT_WIDE_FROM and more)
NEXT_WIDE_FROM = 40
# Every column at its usual width (120 columns show them all). The title is the column that takes
# what is left of the width, and gives it back first, down to TITLE_MIN.
COLUMNS = [
    ("id", "Case", 6),
    ("priority", "P", 2),
    ("sla", "SLA", 5),
    ("status", "Status", STATUS_WIDTH),
    ("title", "Title", 24),
    ("customer", "Customer", 13),
    ("assignee", "Assignee", 8),
    ("age", "Age", 4),
    ("escalation", "Esc", 7),
    ("next", "Next timer", NEXT),
]
TITLE_MIN = 20
TITLE_MAX = 140 # wider than that, the title has all of it: the others take their usual width
# The columns that fold away as the terminal narrows, the first to go first. Case, priority,
# status, title and the next timer always stay.
FOLD = ["age", "assignee", "escalation", "customer", "sla"]
PADDING = 2  # a cell's one space each side
SCROLLBAR = 1  # the table's vertical scroll bar (styles/app.tcss)


def columns_for(width: int) -> list[tuple[str, str, int]]:
    """The queue's columns for a terminal `width` cells wide: the folding columns that do not fit
    go (FOLD's order), and the title takes the room that is left."""
    room = max(0, width - SCROLLBAR)
    kept = {key for key, _, _ in COLUMNS}

    def others() -> int:
        return sum(w + PADDING for key, _, w in COLUMNS if key in kept and key != "title")

    for key in FOLD:
        if others() + TITLE_MIN + PADDING <= room:
            break
        kept.discard(key)
    title = min(TITLE_MAX, max(TITLE_MIN, room - others() - PADDING))
    spare = title - NEXT_WIDE_FROM
    grow = max(0, min(NEXT_WIDE - NEXT, spare))  # a roomy screen shows the whole of `close overdue 1h 00m`
    widths = {"title": title - grow, "next": NEXT + grow}
    return [(key, label, widths.get(key, w)) for key, label, w in COLUMNS if key in kept]


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
    title.append_text(cell(r.title, limit=200))
    title.overflow = "ellipsis"
    return {
        "id": Text(str(r.id), style="bold"),
        "priority": fmt.priority_text(r.priority),
        "sla": fmt.sla_text(r, now, (clocks or {}).get(r.priority)),
        "status": fmt.status_text(r.status, r.sub_status),
        "title": title,
        "customer": _cut(cell(r.customer, limit=60)),
        "assignee": _cut(cell(r.assignee or "—", "" if r.assignee else "dim")),
        "age": Text(fmt.age(r.created_at, now), style="dim"),
        "escalation": fmt.escalation_text(r.escalation),
        "next": next_cell(r, now),
    }


def next_cell(r: CaseRow, now: datetime) -> Text:
    """The next timer's cell (the queue moves it each second)."""
    return _cut(fmt.timer_countdown(r.next_timer, r.next_timer_due, now))


def _cut(text: Text) -> Text:
    """A cell that ends in `…` when its column is narrower than its text."""
    text.overflow = "ellipsis"
    return text
