"""How values look on screen (labels, colours, countdowns). No business rules."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from rich.text import Text

from deskconsole.domain import labels
from deskconsole.domain.clock import format_countdown
from deskconsole.domain.lifecycle import EscalationState, Priority, Status

# The words are the domain's (domain/labels.py); the colours are the console's.
STATUS_STYLES = {
    Status.NEW: "bold cyan",
    Status.IN_PROGRESS: "green",
    Status.PENDING: "yellow",
    Status.AWAITING_CONFIRMATION: "blue",
    Status.REOPENED: "bold magenta",
    Status.UPDATE_RECEIVED: "bold magenta",
    Status.CLOSED: "dim",
}
PRIORITY_STYLES = {Priority.P1: "bold white on red", Priority.P2: "bold yellow", Priority.P3: "", Priority.P4: "dim"}
ESCALATION_STYLES = {
    EscalationState.REQUESTED: "bold yellow",
    EscalationState.APPROVED: "bold red",
    EscalationState.DENIED: "dim",
    EscalationState.DE_ESCALATED: "dim",
}
DAY = timedelta(days=1)


def status_text(status: str, sub_status: str | None = None, *, full: bool = False) -> Text:
    if full:  # the values as typed on the command line
        label = status + ("/" + sub_status if sub_status else "")
    else:
        label = labels.status_label(status, sub_status)
    return Text(label, style=STATUS_STYLES.get(status, ""), no_wrap=True)


def priority_text(priority: str) -> Text:
    return Text(f"{priority}", style=PRIORITY_STYLES.get(priority, ""), no_wrap=True)


def escalation_text(state: str | None) -> Text:
    if not state:
        return Text("")
    return Text(labels.label(labels.ESCALATION_BADGE, state), style=ESCALATION_STYLES.get(state, ""), no_wrap=True)


def countdown(due: datetime | None, now: datetime) -> Text:
    """`13d 04h`; `in 3h 12m` (red) under a day; `overdue 5m 00s` (inverted) past due."""
    if due is None:
        return Text("")
    left = due - now
    if left.total_seconds() < 0:
        return Text(format_countdown(left), style="bold reverse red", no_wrap=True)
    if left < DAY:
        return Text("in " + format_countdown(left), style="bold red", no_wrap=True)
    return Text(format_countdown(left), no_wrap=True)


def timer_countdown(kind: str | None, due: datetime | None, now: datetime) -> Text:
    if kind is None or due is None:
        return Text("")
    text = Text(labels.label(labels.TIMER_KIND_SHORT, kind) + " ", style="dim", no_wrap=True)
    text.append_text(countdown(due, now))
    return text


def age(since: datetime, now: datetime) -> str:
    seconds = max(0, int((now - since).total_seconds()))
    if seconds >= 86400:
        return f"{seconds // 86400}d"
    if seconds >= 3600:
        return f"{seconds // 3600}h"
    return f"{seconds // 60}m"


def when(value: datetime | None, tz: tzinfo | None) -> str:
    if value is None:
        return "—"
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def same(a: object, b: object) -> bool:
    """Whether two cells look the same (text and style)."""
    if isinstance(a, Text) and isinstance(b, Text):
        return a.plain == b.plain and a.style == b.style and a.spans == b.spans
    return a == b
