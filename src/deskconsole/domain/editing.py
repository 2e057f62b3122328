"""Editing a case: which fields an agent may change, tags, and splitting a message out (plain
Python, no I/O; service/editing.py applies it, the console asks it what to offer).

- The fields: title, contact, product area, severity and priority (EDITABLE), and the case's
  tags. One rule for all of them: analysts, managers and supervisors edit open cases; a closed
  case never changes (clone it).
- Tags are short lower-case words (TAG_RE): letters, digits, `-`, `_`, `.`; at most MAX_TAGS
  per case. `tag:x` in the filter language finds them.
- Splitting: a customer's message on a case (a `customer_replied` event) that belongs to
  another matter becomes its own case. Analysts and managers split (as they clone); the message
  must be the customer's and not split out before.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from deskconsole.domain.errors import InvalidInput
from deskconsole.domain.lifecycle import Role, Status
from deskconsole.domain.permissions import Refusal, Verdict

#: The case's fields an edit changes, and how the timeline and the console name them.
EDITABLE = {
    "title": "title",
    "contact": "contact",
    "product_area": "product area",
    "severity": "severity",
    "priority": "priority",
}
EDITORS = (Role.ANALYST, Role.MANAGER, Role.SUPERVISOR)
SPLITTERS = (Role.ANALYST, Role.MANAGER)
#: The events that are a customer's message, which a split takes out of a case.
SPLIT_KINDS = ("customer_replied",)
TAG_RE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,39}")
MAX_TAGS = 20


def _a(word: str) -> str:
    return ("an " if word[:1] in "aeiou" else "a ") + word


def _roles(roles: Iterable[Role]) -> str:
    return " or ".join(r.value for r in roles)


def may_edit(name: str, role: str, case_id: int | None = None, status: str | None = None) -> Verdict:
    """Whether `name` (of `role`) may edit the case (its fields and tags); why not, as the service says it."""
    if role not in EDITORS:
        return Verdict(False, f"{name} is {_a(role)}: only {_a(_roles(EDITORS))} may edit cases",
                       Refusal.PERMISSION)
    if status == Status.CLOSED:
        return Verdict(False, f"case {case_id} is closed: cannot edit it; closed cases never change "
                              "(clone it to start new work)", Refusal.STATE)
    return Verdict(True)


def may_split(name: str, role: str) -> Verdict:
    """Whether `name` (of `role`) may split a message out of a case into a new one."""
    if role not in SPLITTERS:
        return Verdict(False, f"{name} is {_a(role)}: only {_a(_roles(SPLITTERS))} may split cases",
                       Refusal.PERMISSION)
    return Verdict(True)


def clean_tag(text: str) -> str:
    """A tag as cases keep it (lower case), or InvalidInput saying what a tag may be."""
    tag = " ".join(str(text).split()).lower()
    if not TAG_RE.fullmatch(tag):
        shown = tag if len(tag) <= 40 else tag[:40] + "…"
        raise InvalidInput(f"tag {shown!r}: a tag is one word of letters, digits, '-', '_' or '.' "
                           "(at most 40 characters, starting with a letter or digit)")
    return tag


def clean_tags(values: Iterable[str] | None) -> tuple[str, ...]:
    """Tags typed as a list, each maybe several at once (`a,b c`): sorted, without repeats."""
    out: set[str] = set()
    for value in values or ():
        for part in re.split(r"[,\s]+", str(value)):
            if part:
                out.add(clean_tag(part))
    return tuple(sorted(out))


@dataclass(frozen=True)
class TagChange:
    """What adding and removing does to a case's tags."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    after: tuple[str, ...]


def change_tags(case_id: int, have: Iterable[str], add: Iterable[str], remove: Iterable[str]) -> TagChange:
    """The tags added and removed (only those that change anything), or InvalidInput when a tag is
    both added and removed, or the case would carry more than MAX_TAGS."""
    have_set, add_set, remove_set = set(have), set(add), set(remove)
    both = sorted(add_set & remove_set)
    if both:
        raise InvalidInput(f"tag {both[0]!r} is both added and removed: give it once")
    added = tuple(sorted(add_set - have_set))
    removed = tuple(sorted(remove_set & have_set))
    after = tuple(sorted((have_set | add_set) - remove_set))
    if len(after) > MAX_TAGS:
        raise InvalidInput(f"case {case_id} would carry {len(after)} tags: at most {MAX_TAGS}")
    return TagChange(added, removed, after)


def describe_changes(changes: dict[str, tuple[Any, Any]], tags: TagChange | None) -> str:
    """The case's "last change" words for an edit: `changed the title, priority (P3→P1); tagged x`."""
    parts: list[str] = []
    for name, (before, after) in changes.items():
        label = EDITABLE[name]
        parts.append(f"{label} ({before or '—'}→{after or '—'})" if name in ("priority", "severity") else label)
    words = [f"changed the {', '.join(parts)}"] if parts else []
    if tags is not None and tags.added:
        words.append("tagged it " + ", ".join(tags.added))
    if tags is not None and tags.removed:
        words.append("untagged " + ", ".join(tags.removed))
    return "; ".join(words)


def edit_words(kind: str, data: dict[str, Any]) -> str:
    """How the timeline tells an edit, a tagging or a split (the CLI's `case show` and the console's thread)."""
    if kind == "edited":
        label = data.get("label") or EDITABLE.get(str(data.get("field")), str(data.get("field")))
        return f"{label}: {data.get('from') or '—'} → {data.get('to') or '—'}"
    if kind == "tagged":
        parts = [f"+{t}" for t in data.get("added") or []] + [f"-{t}" for t in data.get("removed") or []]
        return " ".join(parts)
    if kind == "split_into":
        return f"a message split out into case {data.get('into')}"
    if kind == "opened" and data.get("split_from"):
        return f"split from case {data.get('split_from')}"
    return ""


__all__ = ["EDITABLE", "MAX_TAGS", "SPLIT_KINDS", "TagChange", "change_tags", "clean_tag", "clean_tags",
           "describe_changes", "edit_words", "may_edit", "may_split"]
