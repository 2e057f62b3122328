"""The case pane's text around its thread: the header, what happens next, and the case's own text.

Plain rendering from a case view (no service, no screen): customer text shown literally.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo

from rich.console import Group
from rich.table import Table
from rich.text import Text

from deskconsole.domain import labels
from deskconsole.domain.presence import Presence, describe, mark
from deskconsole.domain.views import CaseView
from deskconsole.tui import format as fmt
from deskconsole.tui.text import cell, long_text, safe


def case_head(c: CaseView, tz: tzinfo | None, present: Sequence[Presence] = ()) -> Group:
    """The case pane's header: number, priority, status, escalation, who else is at the case
    (`present`, domain/presence.py), attention, title, who and when."""
    top = Text(no_wrap=True, overflow="ellipsis")
    top.append(f" Case {c.id} ", "bold reverse")
    top.append(" ")
    top.append_text(fmt.priority_text(c.priority))
    top.append("  ")
    top.append_text(fmt.status_text(c.status, c.sub_status))  # (the queue's and the help's words)
    if c.escalation is not None:
        top.append("  ")
        top.append_text(fmt.escalation_text(c.escalation.state))
    if c.tags:  # (tags are plain words: TAG_RE)
        top.append("  " + " ".join(f"#{t}" for t in c.tags), "cyan")
    if present:
        top.append(f"  {mark(present)} ", "bold yellow")
        top.append(describe(present), "bold yellow" if any(p.typing for p in present) else "yellow")
    if c.attention:
        top.append("  ⚑ ", "bold red")
        top.append_text(cell(c.attention, "bold red", limit=70))
    title = safe(c.title, "bold", single_line=True, limit=300)
    grid = Table.grid(padding=(0, 1), expand=True)
    for _ in range(3):
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
    esc = c.escalation
    esc_state = Text("none", "dim") if esc is None else Text(esc.state, fmt.ESCALATION_STYLES.get(esc.state, ""))
    grid.add_row(
        "Customer", cell(c.customer, limit=40),
        "Assignee", cell(c.assignee or "team queue", "" if c.assignee else "italic"),
        "Escalation", esc_state,
    )
    grid.add_row(
        "Contact", cell(c.contact or "—", limit=40),
        "Area", cell(c.product_area or "—"),
        "Engineer", cell((esc.engineer if esc else None) or "—"),
    )
    grid.add_row(
        "Opened", fmt.when(c.created_at, tz),
        "Severity", c.severity.replace("_", " "),
        "Eng. ref", cell(c.engineering_ref or "—"),
    )
    changed = Text(no_wrap=True, overflow="ellipsis")
    changed.append("Changed  ", "dim")
    changed.append(fmt.when(c.updated_at, tz) + " ")
    changed.append_text(cell(f"{c.last_actor or ''} {c.last_change or ''}".strip(), limit=80))
    changed.append(f"  · version {c.version}", "dim")
    if c.cloned_from:
        changed.append(f"  · cloned from case {c.cloned_from}", "dim")
    for words in links(c):  # merged into/from, split from/into
        changed.append(f"  · {words}", "bold" if words.startswith("merged into") else "dim")
    return Group(top, title, grid, changed)


def links(c: CaseView) -> list[str]:
    """The case's links to other cases by merge and split, in words."""
    out = [f"merged into case {c.merged_into}"] if c.merged_into else []
    if c.merged_from:
        out.append("merged from case " + ", ".join(str(n) for n in c.merged_from))
    if c.split_from:
        out.append(f"split from case {c.split_from}")
    if c.split_into:
        out.append("split into case " + ", ".join(str(n) for n in c.split_into))
    return out

def case_next(c: CaseView, tz: tzinfo | None, now: datetime) -> Text:
    """What happens next: the case's timers and their countdowns."""
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append("What happens next: ", "bold")
    if c.status == "closed":
        line.append(f"closed {fmt.when(c.closed_at, tz)}")
        if c.close_reason:
            line.append(" — ")
            line.append_text(cell(c.close_reason, limit=60))
    if not c.timers:
        if c.status != "closed":
            line.append("no timer running", "dim")
        return line
    for i, t in enumerate(c.timers):
        if i or c.status == "closed":
            line.append("  ·  ", "dim")
        line.append(labels.label(labels.TIMER_KIND_NEXT, t.kind) + " ")
        line.append_text(fmt.countdown(t.due, now))
        line.append(f" ({fmt.when(t.due, tz)})", "dim")
    return line

def case_text(c: CaseView, tz: tzinfo | None) -> Text:
    """The case's text above its thread: description, resolution, articles, survey."""
    parts: list[Text] = [Text("Description", style="bold underline")]
    parts.append(long_text(c.description or "(none)", "" if c.description else "dim italic"))
    if c.resolution:
        parts += [Text(""), Text("Resolution", style="bold underline"), long_text(c.resolution)]
    if c.articles:
        parts += [Text(""), Text("Knowledge base", style="bold underline")]
        for a in c.articles:
            parts.append(Text.assemble((f"#{a.id} ", "bold"), cell(a.title, limit=100), (f"  {a.state}", "dim")))
    if c.survey is not None:
        s = c.survey
        line = Text(f"survey sent {fmt.when(s.sent_at, tz)}")
        if s.score is not None:
            line.append(f" · score {s.score}", "bold red" if s.flagged else "bold green")
            if s.comment:
                line.append(" · ")
                line.append_text(cell(s.comment, limit=200))
        parts += [Text(""), Text("Survey", style="bold underline"), line]
    parts.append(Text(""))
    return Text("\n").join(parts)


__all__ = ["case_head", "case_next", "case_text"]
