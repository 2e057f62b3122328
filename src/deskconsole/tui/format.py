"""How values look on screen (labels, colours, countdowns). No business rules."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from rich.text import Text

from deskconsole.domain import labels
from deskconsole.domain.clock import format_countdown
from deskconsole.domain.lifecycle import EscalationState, Priority, Status

if TYPE_CHECKING:
    from deskconsole.domain.calendar import BusinessCalendar
    from deskconsole.domain.rows import CaseRow

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
SLA_WARNED = "bold dark_orange"  # past the warning (amber)
SLA_BREACHED = "bold red"


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


def business_left(seconds: int) -> str:
    """Business time left, short: `45m`, `2h10m`, `31h` (hours, not days: a business day is the calendar's)."""
    hours, rest = divmod(max(0, seconds), 3600)
    minutes = rest // 60
    if hours >= 10:
        return f"{hours}h"
    if hours:
        return f"{hours}h{minutes:02d}m" if minutes else f"{hours}h"
    return f"{minutes}m" if minutes or seconds <= 0 else "<1m"


def sla_text(r: CaseRow, now: datetime, calendar: BusinessCalendar | None = None) -> Text:
    """A queue row's service level: the business time left of its soonest running target (measured
    on `calendar`, the one of its priority's policy; wall-clock time without one), red when a target
    is breached, amber once a target still open is past its warning; blank when no target runs (closed
    cases too)."""
    if r.status == Status.CLOSED:
        return Text("")
    if r.sla_due is None or r.sla_due <= now:  # no running target, or its breach is due (not ticked yet)
        return Text("late", style=SLA_BREACHED, no_wrap=True) if r.sla_breached or r.sla_due else Text("")
    seconds = calendar.measure(now, r.sla_due) if calendar is not None else int((r.sla_due - now).total_seconds())
    if r.sla_breached:
        style = SLA_BREACHED
    elif r.sla_warned or r.sla_warning_due is None or r.sla_warning_due <= now or r.sla_warning_due >= r.sla_due:
        # a target still open is past its warning: its warning fired (whichever target breaches
        # first), or none is pending before the soonest breach (that target's fired: a target warns
        # before it breaches), or the pending one is due now
        style = SLA_WARNED
    else:
        style = ""
    return Text(business_left(seconds), style=style, no_wrap=True)


SLA_STATE_STYLES = {"breached": "bold red", "met": "green", "paused": "dim", "running": ""}
SLA_TARGETS = (("first_response", "first response"), ("next_response", "next response"), ("resolution", "resolution"))


def sla_states(sla: dict[str, Any] | None, tz: tzinfo | None) -> list[tuple[str, Text]]:
    """A case's service-level targets now (CaseView.sla), one (name, text) each for the targets it
    has: `running 2h/8h · due 11-30 17:00` (business time used of the target; when it is due, or
    when it was met or breached); none when no policies are loaded."""
    from deskconsole.domain.calendar import format_business_time
    from deskconsole.domain.clock import parse_time

    found = []
    for key, name in SLA_TARGETS:
        state = (sla or {}).get(key)
        if state is None:
            continue
        text = Text(state["state"], style=SLA_STATE_STYLES.get(state["state"], ""), no_wrap=True)
        text.append(f" {format_business_time(state['used'])}/{format_business_time(state['target'])}")
        if state.get("due"):
            due = parse_time(state["due"]).astimezone(tz).strftime("%m-%d %H:%M")
            text.append(f" · {'due' if state['state'] == 'running' else 'at'} {due}")
        found.append((name, text))
    return found
