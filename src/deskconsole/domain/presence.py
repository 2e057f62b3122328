"""Presence: who else has a case open, or is typing in it (plain rules, no I/O).

A console that shows a case writes a heartbeat for it every few seconds (service/presence.py):
the agent, the case, what they are doing (viewing, or typing a reply) and when. A heartbeat older
than TTL counts as gone (a console that crashed or lost the database leaves no ghost for long);
leaving the case removes it at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

VIEWING = "viewing"
TYPING = "typing"
STATES = (VIEWING, TYPING)

#: How often an open case pane beats, in seconds (the console's heartbeat).
BEAT_SECONDS = 3.0
#: A heartbeat older than this counts as gone.
TTL = timedelta(seconds=10)

#: The queue's mark beside a case someone else has open, and beside one someone is typing in.
MARK = {VIEWING: "◉", TYPING: "✎"}
WORDS = {VIEWING: "is viewing", TYPING: "is typing a reply"}


@dataclass(frozen=True)
class Presence:
    """Someone at a case: who, doing what, their last heartbeat."""

    agent: str
    case_id: int
    state: str
    beat: datetime

    @property
    def typing(self) -> bool:
        return self.state == TYPING


def check_state(state: str) -> str:
    if state not in STATES:
        raise ValueError(f"presence state {state!r}: one of {', '.join(STATES)}")
    return state


def since(now: datetime) -> datetime:
    """The oldest heartbeat that still counts at `now`."""
    return now - TTL


def others(rows: Iterable[Presence], me: str | None) -> list[Presence]:
    """The people at a case other than `me`: those typing first, then by name."""
    return sorted((p for p in rows if p.agent != me), key=lambda p: (not p.typing, p.agent))


def describe(rows: Iterable[Presence]) -> str:
    """'bob is typing a reply', 'bob and carol are viewing', 'bob is typing a reply · carol is viewing'."""
    typing = [p.agent for p in rows if p.typing]
    viewing = [p.agent for p in rows if not p.typing and p.agent not in typing]
    parts = []
    for names, state in ((typing, TYPING), (viewing, VIEWING)):
        if not names:
            continue
        who = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        words = WORDS[state] if len(names) == 1 else WORDS[state].replace("is ", "are ", 1)
        parts.append(f"{who} {words}")
    return " · ".join(parts)


def mark(rows: Iterable[Presence]) -> str | None:
    """The queue's glyph for a case: typing beats viewing; None when nobody else is there."""
    states = {p.state for p in rows}
    if TYPING in states:
        return MARK[TYPING]
    if states:
        return MARK[VIEWING]
    return None


__all__ = ["BEAT_SECONDS", "MARK", "STATES", "TTL", "TYPING", "VIEWING", "WORDS", "Presence", "check_state",
           "describe", "mark", "others", "since"]
