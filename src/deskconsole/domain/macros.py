"""Macros: named replies and actions the team shares, as plain values.

The macro file (TOML) has one table per macro:

    [macros.ask-logs]
    reply = "Hello {customer}, could you send us the logs of case {case.id}? {agent}"
    status = "pending"
    sub_status = "customer_input"
    priority = "P2"                 # optional
    assignee = "bob"                # optional: an analyst of the desk
    note = "asked for logs"         # optional: an internal note; the close reason when status is closed

What a macro does when applied (the service runs it as one action, through the same rules as
the single actions):

- `assignee`, then `priority`, then `note` (an internal note, unless the macro closes: then
  the note is the close reason), then the text to the customer and the status:
- `reply` with `status = "pending"`, `sub_status = "customer_input"` is the question sent to the
  customer; with `status = "awaiting_confirmation"` it is the resolution sent for confirmation;
  otherwise it is sent to the customer as a reply, before the status changes.

Texts may name {customer}, {contact}, {case.id}, {agent} and {sla.resolution.due}; `{{` and `}}`
are literal braces. Any other name is refused when the file is loaded. Values are inserted
literally, once: a customer named "{agent}" stays "{agent}".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from deskconsole.domain import tomlfile
from deskconsole.domain.errors import InvalidInput
from deskconsole.domain.lifecycle import Priority, Status, SubStatus

#: The variables a macro's texts may name.
VARIABLES = ("customer", "contact", "case.id", "agent", "sla.resolution.due")
#: A macro's keys, in the order it applies them.
FIELDS = ("assignee", "priority", "note", "reply", "status", "sub_status")
#: The statuses a macro may move a case to (the analyst's own targets).
MACRO_STATUSES = (Status.IN_PROGRESS, Status.PENDING, Status.AWAITING_CONFIRMATION, Status.CLOSED)
#: Shown for a value a case does not have (no contact, no service-level target).
MISSING = "—"
MAX_NAME = 64
MAX_MACROS = 500
MAX_MACRO_TEXT = 20_000
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class MacroFileError(tomlfile.FileRefused):
    """A macro file was refused whole; `line` is where, when known."""


@dataclass(frozen=True)
class Macro:
    """One macro as stored. `lines`: where each of its keys was written in the file it came from
    (for the service's own checks, e.g. an assignee who is no analyst)."""

    name: str
    reply: str | None = None
    note: str | None = None
    status: str | None = None
    sub_status: str | None = None
    priority: str | None = None
    assignee: str | None = None
    lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)

    @property
    def asks(self) -> bool:
        """It asks the customer (its reply is the question)."""
        return self.status == Status.PENDING and self.sub_status == SubStatus.CUSTOMER_INPUT

    @property
    def resolves(self) -> bool:
        return self.status == Status.AWAITING_CONFIRMATION

    @property
    def closes(self) -> bool:
        return self.status == Status.CLOSED

    @property
    def sends_reply_first(self) -> bool:
        """Its reply goes out as a reply of its own (not as the question or the resolution)."""
        return self.reply is not None and not (self.asks or self.resolves)

    def line_of(self, key: str) -> int | None:
        return self.lines.get(key, self.lines.get(""))

    def describe(self) -> str:
        """What it does, in a few words: "reply · pending/customer_input · P2 · assign bob"."""
        parts = []
        if self.reply is not None:
            parts.append("question" if self.asks else "resolution" if self.resolves else "reply")
        if self.note is not None and not self.closes:
            parts.append("note")
        if self.status is not None:
            parts.append(self.status + (f"/{self.sub_status}" if self.sub_status else ""))
        if self.priority is not None:
            parts.append(self.priority)
        if self.assignee is not None:
            parts.append(f"assign {self.assignee}")
        return " · ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "reply": self.reply, "note": self.note, "status": self.status,
                "sub_status": self.sub_status, "priority": self.priority, "assignee": self.assignee,
                "does": self.describe()}

    def rendered(self, values: Mapping[str, str]) -> tuple[str | None, str | None]:
        """(reply, note) with the variables filled in."""
        return (render(self.reply, values) if self.reply is not None else None,
                render(self.note, values) if self.note is not None else None)


# --------------------------------------------------------------------------- templates

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


def variables_of(text: str) -> list[str]:
    """The variables a text names, in order; an InvalidInput for an unknown one or a stray brace."""
    names = []
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token in ("{{", "}}"):
            continue
        name = match.group(1)
        if name is None:
            raise InvalidInput(f"a lone {token!r} (write {token * 2} for a brace, or {{customer}} for a variable)")
        if name.strip() not in VARIABLES:
            raise InvalidInput(f"unknown variable {{{name}}} (known: {', '.join('{' + v + '}' for v in VARIABLES)})")
        names.append(name.strip())
    return names


def render(text: str, values: Mapping[str, str]) -> str:
    """The text with each variable replaced by its value, literally and once (a value that looks like
    a variable stays as it is); a variable without a value becomes "—"."""

    def one(match: re.Match[str]) -> str:
        token = match.group()
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        name = (match.group(1) or "").strip()
        value = values.get(name)
        return value if value else MISSING

    return _TOKEN.sub(one, text)


# --------------------------------------------------------------------------- the file


def load_toml(text: str) -> list[Macro]:
    """Parse and validate a macro file; a bad file is refused whole with its line and reason."""
    try:
        data, locate = tomlfile.loads(text)
    except tomlfile.TomlSyntaxError as exc:
        raise MacroFileError(exc.reason, line=exc.line) from None

    def fail(path: tuple[str, ...], reason: str) -> MacroFileError:
        return MacroFileError(reason, line=locate(path), where=".".join(path) or None)

    for key in data:
        if key != "macros":
            raise fail((key,), "unknown key: the file holds [macros.NAME] tables only")
    tables = data.get("macros")
    if not isinstance(tables, dict) or not tables:
        raise MacroFileError("no macros: write one [macros.NAME] table per macro", line=1)
    if len(tables) > MAX_MACROS:
        raise fail(("macros",), f"{len(tables)} macros: at most {MAX_MACROS}")
    macros = []
    for name, table in tables.items():
        where = ("macros", name)
        if not NAME_RE.match(name):
            raise fail(where, f"macro name {name!r}: 1 to {MAX_NAME} letters, digits, '-', '_' or '.', "
                              "beginning with a letter or digit")
        if not isinstance(table, dict):
            raise fail(where, "a macro is a table: [macros.NAME] with reply, note, status, ... under it")
        macros.append(_macro(name, table, lambda key, where=where: locate(where + ((key,) if key else ()))))
    return macros


def _macro(name: str, table: Mapping[str, Any], line_of: Any) -> Macro:
    def fail(key: str, reason: str) -> MacroFileError:
        return MacroFileError(reason, line=line_of(key), where=f"macros.{name}" + (f".{key}" if key else ""))

    values: dict[str, str | None] = dict.fromkeys(FIELDS)
    for key, value in table.items():
        if key not in FIELDS:
            raise fail(key, f"unknown key (a macro has: {', '.join(sorted(FIELDS))})")
        if not isinstance(value, str):
            raise fail(key, f"must be a string, not {type(value).__name__}")
        if "\x00" in value:
            raise fail(key, "must not contain a NUL character")
        if key in ("reply", "note"):
            if not value.strip():
                raise fail(key, "is empty: leave it out, or write the text")
            if len(value) > MAX_MACRO_TEXT:
                raise fail(key, f"is {len(value)} characters long: at most {MAX_MACRO_TEXT}")
            try:
                variables_of(value)
            except InvalidInput as exc:
                raise fail(key, str(exc)) from None
        else:
            value = value.strip()
            if not value:
                raise fail(key, "is empty: leave it out, or give a value")
        values[key] = value
    if not any(values.values()):
        raise fail("", "does nothing: give at least one of reply, note, status, priority, assignee")
    status, sub = values["status"], values["sub_status"]
    if status is not None:
        allowed = [s.value for s in MACRO_STATUSES]
        if status not in allowed:
            raise fail("status", f"{status!r}: a macro moves a case to one of {', '.join(allowed)}")
    if sub is not None:
        subs = [s.value for s in SubStatus]
        if status != Status.PENDING:
            raise fail("sub_status", "only status = \"pending\" takes a sub_status")
        if sub not in subs:
            raise fail("sub_status", f"{sub!r}: one of {', '.join(subs)}")
    elif status == Status.PENDING:
        raise fail("status", f"pending needs a sub_status (one of: {', '.join(s.value for s in SubStatus)})")
    priority = values["priority"]
    if priority is not None and priority not in [p.value for p in Priority]:
        raise fail("priority", f"{priority!r}: one of {', '.join(p.value for p in Priority)}")
    assignee = values["assignee"]
    if assignee is not None and len(assignee) > MAX_NAME:
        raise fail("assignee", f"an agent's name has at most {MAX_NAME} characters")
    macro = Macro(name=name, **values, lines={key: line_of(key) for key in ("", *FIELDS) if line_of(key)})
    if macro.asks and macro.reply is None:
        raise fail("status", "pending/customer_input asks the customer: the reply is the question, and it is "
                             "missing")
    if macro.resolves and macro.reply is None:
        raise fail("status", "awaiting_confirmation sends the resolution: the reply is the resolution, and it is "
                             "missing")
    if macro.closes and macro.note is None:
        raise fail("status", "closing needs a reason: the note is the close reason, and it is missing")
    return macro


# --------------------------------------------------------------------------- picking one


def fuzzy_rank(query: str, names: Sequence[str]) -> list[str]:
    """The names matching `query` (its letters in order, case ignored), best first: a name that
    begins with it, then the tightest match, then alphabetical. An empty query keeps every name."""
    wanted = query.strip().lower()
    if not wanted:
        return sorted(names)
    ranked = []
    for name in names:
        lower = name.lower()
        position, first, last = 0, -1, -1
        for ch in wanted:
            position = lower.find(ch, position)
            if position < 0:
                break
            if first < 0:
                first = position
            last = position
            position += 1
        else:
            ranked.append((not lower.startswith(wanted), wanted not in lower, last - first, lower, name))
    return [r[-1] for r in sorted(ranked)]
