"""How values look on screen (labels, colours, countdowns). No business rules."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from rich.text import Text

from deskconsole.domain.clock import format_countdown

SUB_LABELS = {
    "customer_input": "customer",
    "development": "development",
    "scheduled_service": "scheduled",
    "third_party": "third party",
}
STATUS_STYLES = {
    "new": "bold cyan",
    "in_progress": "green",
    "pending": "yellow",
    "awaiting_confirmation": "blue",
    "reopened": "bold magenta",
    "update_received": "bold magenta",
    "closed": "dim",
}
PRIORITY_STYLES = {"P1": "bold white on red", "P2": "bold yellow", "P3": "", "P4": "dim"}
TIMER_LABELS = {"auto_close": "close", "reminder": "remind", "followup": "follow-up", "status_update": "update"}
ESCALATION_BADGES = {
    "requested": ("▲ asked", "bold yellow"),
    "approved": ("▲▲ ESC", "bold red"),
    "denied": ("denied", "dim"),
    "de_escalated": ("de-esc", "dim"),
}
DAY = timedelta(days=1)


def status_text(status: str, sub_status: str | None = None, *, full: bool = False) -> Text:
    label = status if full else status.replace("_", " ").replace("awaiting confirmation", "awaiting confirm")
    if sub_status:
        label += "/" + (sub_status if full else SUB_LABELS.get(sub_status, sub_status))
    return Text(label, style=STATUS_STYLES.get(status, ""), no_wrap=True)


def priority_text(priority: str) -> Text:
    return Text(f"{priority}", style=PRIORITY_STYLES.get(priority, ""), no_wrap=True)


def escalation_text(state: str | None) -> Text:
    if not state:
        return Text("")
    label, style = ESCALATION_BADGES.get(state, (state, ""))
    return Text(label, style=style, no_wrap=True)


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
    text = Text(TIMER_LABELS.get(kind, kind) + " ", style="dim", no_wrap=True)
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
