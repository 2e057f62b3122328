"""What a step of a case's life writes, as plain values: its effects.

The domain's rules (domain/firing.py for timer firings, domain/moves.py for status moves) return
a list of these; one executor in the service (service/effects.py) writes them through its
prepared statements, on both databases, and the bulk desk builder (bulk/lives.py) turns the same
values into the rows of the cases it makes. An Outbox effect carries its message's kind and
values: the row's own subject and body are its template's English text filled with them
(domain/templates.py's `row_text`: the words delivery sends, written once), never formatted
where they are written.

Times and texts may be Slots instead of values: the bulk builder asks the rules once per kind of
case with Slots naming the cells of its seed row (the case id, its title, its times) and expands
the answer over every case of that kind.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeAlias

from deskconsole.domain.lifecycle import Status, SubStatus
from deskconsole.domain.templates import row_text
from deskconsole.domain.timers import TimerKind


class Slot(str):
    """A value the bulk builder fills in per case: `name` is a cell of its seed row, `form` how it is
    written ("seed": the column's value; "time": one of its times; "iso": that time as
    datetime.isoformat() writes it; "day": its date, YYYY-MM-DD). As text, a marker `{{form:name}}`
    that `slots` finds again in whatever the rules wrote it into."""

    name: str
    form: str

    def __new__(cls, name: str, form: str = "seed") -> Slot:
        made = super().__new__(cls, "{{" + form + ":" + name + "}}")
        made.name, made.form = name, form
        return made


SLOT = re.compile(r"\{\{(seed|time|iso|day):(\w+)\}\}")
When: TypeAlias = datetime | Slot  # an instant, or the seed time a bulk case has there


def iso(at: When) -> str:
    """An instant as event data writes it (datetime.isoformat())."""
    return Slot(at.name, "iso") if isinstance(at, Slot) else at.isoformat()


def day(at: When) -> str:
    """An instant's date, as the messages write it (YYYY-MM-DD)."""
    return Slot(at.name, "day") if isinstance(at, Slot) else at.date().isoformat()  # (%Y-%m-%d, faster)


def slots(value: str) -> list[str | Slot]:
    """A text cut into its literal pieces and the Slots written into it, in order."""
    parts: list[str | Slot] = []
    last = 0
    for found in SLOT.finditer(value):
        if found.start() > last:
            parts.append(value[last:found.start()])
        parts.append(Slot(found.group(2), found.group(1)))
        last = found.end()
    if last < len(value):
        parts.append(value[last:])
    return parts


@dataclass(frozen=True)
class Event:
    """An audit event on the case, as of `at` (`data`: its JSON values)."""

    kind: str
    actor: str
    at: When
    data: Mapping[str, Any] = field(default_factory=dict)
    body: str | None = None


@dataclass(frozen=True)
class Outbox:
    """A message queued about the case, for the event written last before it: `kind` names its
    template, `values` fill it (domain/templates.py)."""

    kind: str
    to: str
    values: Mapping[str, Any]
    hold_until: When | None = None  # not sent before then (an agent's close, for its undo window)

    def text(self) -> tuple[str, str]:
        """The row's own subject and body: its template's English text, filled with `values`."""
        return row_text(self.kind, self.values)


@dataclass(frozen=True)
class CaseChange:
    """Fields of the case set (`fields`), and the case touched: its version moves on, its last
    update is `at` (never moved back), by `actor`, described as `change`."""

    actor: str
    at: When
    change: str
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Move:
    """The case enters a status, as of `at` (the status engine: timers cancelled and started, its
    event, what entering it sends); `reason`: the event's text (a close's reason)."""

    status: Status
    sub_status: SubStatus | None
    actor: str
    at: When
    reason: str | None = None


@dataclass(frozen=True)
class StartTimer:
    """A timer started at `start`, due `delay` later."""

    kind: TimerKind
    start: When
    delay: timedelta


@dataclass(frozen=True)
class CancelTimers:
    """The case's pending timers of these kinds (None: every one) cancelled as of `at`; `ids`, when
    the rule was given the case's pending timers: exactly those (possibly none)."""

    kinds: frozenset[TimerKind] | None
    at: When
    ids: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Survey:
    """The satisfaction survey of a closed case, sent to `to` as of `at` (its message is the Outbox
    effect after it)."""

    to: str
    at: When


@dataclass(frozen=True)
class SlaFiring:
    """A service-level timer fired: its steps are domain/sla_steps.py's (warn of or breach each
    target due by `due`, tell the manager, re-arm), stored by service/sla.py; `stamp`: the firing's
    event data."""

    kind: TimerKind
    due: datetime
    stamp: Mapping[str, str]


Effect: TypeAlias = Event | Outbox | CaseChange | Move | StartTimer | CancelTimers | Survey | SlaFiring
