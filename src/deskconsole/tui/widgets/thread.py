"""The case's thread: its conversation with the customer, or everything that happened, drawn line by line.

A Line API widget (Textual's ScrollView): the text is wrapped once per width into
lines, and only the lines on screen are turned into strips, so opening a case costs
what the screen shows, not what the window read from the database holds. Blocks are
keyed (an event by its id), so a reload, a page of earlier events put on top or a
new width keeps on screen the line that was at the top, and a thread read to its
end follows new events as they arrive.

Customer text is data: every text here goes through tui/text.py (literal, control
characters made visible).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from rich.console import Group
from rich.padding import Padding
from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from deskconsole.domain.asking import HOW_WORDS
from deskconsole.domain.conversation import from_customer, is_conversation
from deskconsole.domain.editing import edit_words
from deskconsole.domain.views import EventView
from deskconsole.tui import format as fmt
from deskconsole.tui.text import cell, long_text

BODY_LIMIT = 5_000  # characters of one event's text shown (the rest is counted)
INDENT = 4
EVENT_STYLES = {
    "customer_replied": "bold magenta",
    "note": "yellow",
    "comment": "cyan",
    "status_changed": "green",
    "timer_fired": "bold red",
    "escalation_requested": "bold yellow",
    "escalation_approved": "bold red",
    "escalation_denied": "yellow",
}
EVENT_LABELS = {
    "customer_replied": "customer replied",
    "note": "internal note",
    "comment": "reply to the customer",
    "status_changed": "status",
    "timer_fired": "timer fired",
}
# How a message came or went, in words (the events' `channel`).
CHANNELS = {"email": "e-mail", "portal": "ingest", "phone": "phone", "chat": "chat", "console": "console"}
CUSTOMER_STYLE = "bold magenta"
DESK_STYLE = "bold cyan"


def channel_label(channel: object) -> str:
    text = str(channel or "")
    return CHANNELS.get(text, text.replace("_", " "))


def size_label(size: object) -> str:
    n = size if isinstance(size, int) else 0
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    if n >= 1024:
        return f"{n // 1024} KB"
    return f"{n} B"


# ------------------------------------------------------------------ the internal trail, one line each
def event_summary(e: EventView) -> Text:
    d = e.data
    text = Text(no_wrap=False)
    if e.kind == "status_changed":
        frm = d.get("from", "")
        if d.get("from_sub_status"):
            frm += "/" + d["from_sub_status"]
        to = d.get("to", "") + (f"/{d['sub_status']}" if d.get("sub_status") else "")
        text.append(f"{frm} → {to}")
        if d.get("cancelled_timers"):
            text.append(f"  (cancelled: {', '.join(d['cancelled_timers'])})", "dim")
        if d.get("asked") == "message":
            text.append("  question sent to the customer", "dim")
        elif d.get("asked_outside"):
            how = str(d["asked_outside"])
            text.append_text(cell(f"  asked {HOW_WORDS.get(how, how)}: nothing sent", "dim", limit=100))
    elif e.kind == "customer_confirmed":
        bits = [channel_label(d.get("channel", ""))] + ([f"logged by {d['logged_by']}"] if d.get("logged_by") else [])
        text.append_text(cell(", ".join(str(b) for b in bits if b), "dim", limit=100))
    elif e.kind == "assigned":
        who = d.get("assignee")
        text.append_text(cell(f"to {who}" if who else "to the team queue", limit=80))
        if d.get("previous"):
            text.append_text(cell(f" (was {d['previous']})", "dim", limit=80))
    elif e.kind == "timer_fired":
        text.append(f"{d.get('timer', '').replace('_', ' ')} (due {d.get('due', '')[:16].replace('T', ' ')})")
    elif e.kind == "priority_changed":
        text.append(f"{d.get('from')} → {d.get('to')}")
    elif e.kind == "escalation_approved":
        text.append_text(cell(f"engineer {d.get('engineer')}, {str(d.get('comm_mode', '')).replace('_', ' ')} "
                              f"{d.get('comm_frequency', '')}, attendees {d.get('comm_attendees', '')}", limit=200))
    elif e.kind == "customer_replied":
        bits = [channel_label(d.get("channel", ""))]
        if d.get("logged_by"):
            bits.append(f"logged by {d['logged_by']}")
        if d.get("after_close"):
            bits.append("after close")
        text.append_text(cell(", ".join(b for b in bits if b), "dim", limit=100))
    elif e.kind in ("defect_logged", "enhancement_logged"):
        text.append_text(cell(d.get("reference", ""), limit=100))
    elif e.kind == "survey_answered":
        text.append(f"score {d.get('score')}" + ("  flagged for follow-up" if d.get("flagged") else ""))
    elif e.kind == "opened":
        text.append_text(cell(f"{d.get('severity', '')} {d.get('priority', '')}".strip(), limit=60))
        if d.get("cloned_from"):
            text.append(f" cloned from case {d['cloned_from']}")
        if d.get("split_from"):
            text.append(f" {edit_words(e.kind, d)}")
    elif e.kind == "cloned":
        text.append(f"new case {d.get('clone')}")
    elif e.kind in ("edited", "tagged", "split_into"):
        text.append_text(cell(edit_words(e.kind, d), limit=200))
    return text


def when_line(e: EventView, tz: tzinfo | None) -> str:
    late = e.recorded_at and abs((e.recorded_at - e.at).total_seconds()) >= 60
    return fmt.when(e.at, tz) + (f" (recorded {fmt.when(e.recorded_at, tz)})" if late else "")


def trail_lines(e: EventView, tz: tzinfo | None) -> list[tuple[Text, int]]:
    """An event of the internal trail: one line, and its text under it."""
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append(when_line(e, tz), "dim")
    line.append("  ")
    line.append_text(cell(e.actor, "bold", limit=28))
    line.append("  ")
    line.append(EVENT_LABELS.get(e.kind, e.kind.replace("_", " ")), EVENT_STYLES.get(e.kind, ""))
    summary = event_summary(e)
    if summary.plain:
        line.append("  ")
        line.append_text(summary)
    out = [(line, 0)]
    if e.body and e.kind != "opened":
        out.append((long_text(e.body, "italic" if e.kind == "note" else "", limit=BODY_LIMIT), INDENT))
    return out


# ------------------------------------------------------------------ the conversation, a message each
def sender(e: EventView) -> Text:
    """Who wrote a message: the customer (with the address a mail came from) or the agent."""
    d = e.data
    if from_customer(e.kind):
        name = e.actor.removeprefix("customer:")
        text = cell(name, CUSTOMER_STYLE, limit=40)
        if d.get("from_name") and d.get("from"):
            text.append_text(cell(f" ({d['from_name']} <{d['from']}>)", limit=90))
        elif d.get("from"):
            text.append_text(cell(f" <{d['from']}>", limit=80))
        return text
    return cell(e.actor, DESK_STYLE, limit=40)


def message_lines(e: EventView, tz: tzinfo | None) -> list[tuple[Text, int]]:
    """A message between the customer and the desk: who, what, how it came or went, its attachments
    and its text, literally."""
    d = e.data
    head = Text(no_wrap=True, overflow="ellipsis")
    mine = not from_customer(e.kind)
    head.append("▶ " if mine else "◀ ", DESK_STYLE if mine else CUSTOMER_STYLE)
    head.append(when_line(e, tz), "dim")
    head.append("  ")
    head.append_text(sender(e))
    head.append("  ")
    # a case opened without a channel came by ingest when the customer opened it, else an agent did
    opened_by = "ingest" if e.actor.startswith("customer:") else "console"
    channel = channel_label(d.get("channel") or (opened_by if e.kind == "opened" else ""))
    how = Text(style="dim")  # (wraps: a subject is worth reading whole)
    if e.kind == "opened":
        head.append("opened the case")
        if d.get("cloned_from"):
            what = "the follow-up of a reply to" if d.get("follow_up_of_reply") else "cloned from"
            how.append(f"{what} case {d['cloned_from']}")
        elif d.get("split_from"):  # (tui/editing.py: the customer's message, split out of another case)
            how.append(f"the customer's message split out of case {d['split_from']}"
                       + (f" (it came via {channel})" if d.get("channel") else ""))
        else:
            how.append(f"via {channel}")
    elif e.kind == "customer_replied":
        head.append("wrote" + (" after the case was closed" if d.get("after_close") else ""))
        how.append(f"via {channel}")
        if d.get("logged_by"):
            how.append_text(cell(f", logged by {d['logged_by']}", limit=60))
    elif e.kind == "customer_confirmed":
        head.append("confirmed the resolution")
        how.append(f"via {channel}" if channel else "")
        if d.get("logged_by"):
            how.append_text(cell(f", logged by {d['logged_by']}", limit=60))
    elif e.kind == "comment":
        head.append("replied to the customer")
        how.append("public reply, sent through the outbox")
    elif d.get("to") == "awaiting_confirmation":
        head.append("gave the resolution (awaiting confirmation)")
        how.append("sent to the customer through the outbox; they confirm or reply")
    else:
        head.append("asked the customer (pending/customer_input)")
        if d.get("asked_outside"):
            asked = str(d["asked_outside"])
            how.append_text(cell(f"asked {HOW_WORDS.get(asked, asked)}: nothing sent", limit=80))
        else:
            how.append("question sent to the customer through the outbox")
    if d.get("subject"):
        how.append(" · subject ")
        how.append_text(cell(d["subject"], limit=160))
    out: list[tuple[Text, int]] = [(head, 0)]
    if how.plain:
        out.append((how, 2))
    attachments = d.get("attachments") or []
    if isinstance(attachments, list) and attachments:
        files = Text(style="dim")
        files.append(f"{len(attachments)} attachment{'s' if len(attachments) != 1 else ''}: ")
        for i, a in enumerate(attachments[:20]):
            a = a if isinstance(a, dict) else {}
            if i:
                files.append(" · ")
            files.append_text(cell(a.get("name") or "(no name)", "bold", limit=80))
            files.append_text(cell(f" ({a.get('type') or 'unknown type'}, {size_label(a.get('size'))}"
                                   f"{'' if a.get('stored', True) else ', not stored'})", limit=80))
        if len(attachments) > 20:
            files.append(f" · and {len(attachments) - 20} more")
        out.append((files, 2))
    if e.body and e.kind != "opened":
        out.append((long_text(e.body, limit=BODY_LIMIT), 2))
    elif e.kind == "opened":
        out.append((Text("(the description above)", "dim italic"), 2))
    return out


def event_lines(e: EventView, tz: tzinfo | None) -> list[tuple[Text, int]]:
    if is_conversation(e.kind, e.data, e.body):
        return message_lines(e, tz)
    return trail_lines(e, tz)


def render_events(events: Sequence[EventView], tz: tzinfo | None) -> Group:
    """Events as one Rich renderable (a short timeline elsewhere, e.g. the escalation review)."""
    parts: list[Any] = []
    for e in events:
        for text, indent in event_lines(e, tz):
            parts.append(Padding(text, (0, 0, 0, indent)) if indent else text)
    return Group(*parts)


# ------------------------------------------------------------------ the widget
@dataclass
class Block:
    key: Hashable  # an event's id, or a name for the text above the events
    parts: list[tuple[Text, int]]  # texts and their indent


class ThreadView(ScrollView, can_focus=True):
    """Blocks of text (the case's text, then its events), wrapped to the width; only the lines on
    screen are drawn."""

    DEFAULT_CSS = """
    ThreadView { height: 1fr; overflow-x: hidden; scrollbar-gutter: stable; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.head: list[Block] = []
        self.events: list[Block] = []
        self._lines: list[Text] = []
        self._starts: dict[Hashable, int] = {}
        self._strips: dict[int, Strip] = {}
        self._width = 0
        self._at_end = True  # showing the end: stays so when the view changes size (it follows)

    # ------------------------------------------------------------ contents
    def set_blocks(self, head: list[Block] | None = None, events: list[Block] | None = None, *,
                   follow: bool = False) -> None:
        """New text above the events and/or new events. The line at the top of the screen stays
        there (when it is still shown); `follow`, or a thread read to its end, shows its end."""
        at_end = self.at_end
        anchor = self.anchor()
        if head is not None:
            self.head = head
        if events is not None:
            self.events = events
        self.layout()
        if follow or at_end:
            self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)
        elif anchor is not None:
            self.restore(anchor)

    @property
    def at_end(self) -> bool:
        return self._at_end or self.scroll_y >= self.max_scroll_y - 1

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._at_end = new_value >= self.max_scroll_y - 1

    def anchor(self) -> tuple[Hashable, int] | None:
        """The block at the top of the screen and how far into it the screen starts."""
        top = round(self.scroll_y)
        best: tuple[Hashable, int] | None = None
        for key, start in self._starts.items():
            if start <= top and (best is None or start >= self._starts[best[0]]):
                best = (key, top - start)
        return best

    def restore(self, anchor: tuple[Hashable, int]) -> None:
        key, offset = anchor
        start = self._starts.get(key)
        if start is not None:
            self.scroll_to(y=start + offset, animate=False, immediate=True, force=True)

    def line_of(self, key: Hashable) -> int | None:
        return self._starts.get(key)

    def plain(self) -> str:
        """Every line as laid out now (tests, and what a screen reader would want)."""
        return "\n".join(line.plain.rstrip() for line in self._lines)

    # ------------------------------------------------------------- layout
    def layout(self) -> None:
        width = self.scrollable_content_region.width or self.size.width
        self._width = width
        lines: list[Text] = []
        starts: dict[Hashable, int] = {}
        if width > 0:
            console = self.app.console
            for block in (*self.head, *self.events):
                starts[block.key] = len(lines)
                for text, indent in block.parts:
                    room = max(10, width - indent)
                    for line in text.wrap(console, room, overflow=text.overflow or "fold"):  # (one-line heads: …)
                        if indent:
                            line = Text.assemble(" " * indent, line)
                        lines.append(line)
        self._lines, self._starts = lines, starts
        self._strips.clear()
        self.virtual_size = Size(width, len(lines))
        self.refresh()
        self.call_after_refresh(self._sync_scrollbar)

    def _sync_scrollbar(self) -> None:
        """The scrollbar shows where the thread is (it appears only after the layout that needs it)."""
        if self.show_vertical_scrollbar:
            self.vertical_scrollbar.position = self.scroll_y

    def on_resize(self) -> None:
        width = self.scrollable_content_region.width or self.size.width
        anchor, at_end = self.anchor(), self._at_end
        if width != self._width:
            self.layout()
        if at_end:
            self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)
        elif anchor is not None:
            self.restore(anchor)

    def render_line(self, y: int) -> Strip:
        index = round(self.scroll_y) + y
        width = self.scrollable_content_region.width
        if index >= len(self._lines):
            return Strip.blank(width, self.rich_style)
        strip = self._strips.get(index)
        if strip is None:
            line = self._lines[index]
            segments = [s for s in line.render(self.app.console, end="") if s.text != "\n"]
            strip = Strip(segments).adjust_cell_length(width)
            self._strips[index] = strip
        return strip.apply_style(self.rich_style)


__all__ = ["Block", "ThreadView", "event_lines", "event_summary", "render_events"]
