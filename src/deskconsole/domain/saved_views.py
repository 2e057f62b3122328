"""Views of the queue: a name, a filter (the filter language, domain/filters.py), a sort and
optional columns. Plain values, no I/O.

Three kinds, shown as tabs over the queue in this order:

- built-in views every desk has (BUILT_IN): Mine (for those who hold cases), Open, Unassigned,
  Breached, Escalated, All. Each stands on one of the queue's window views (store/window.py: `base`)
  and says what it counts as a filter (`count_filter`);
- views from the config file, `[[views]]` tables with `name`, `filter`, optional `sort` and
  `columns` (config_views refuses a bad one with the file, the view and the reason);
- views an agent saved from the console (or `deskconsole view save`), kept per agent.

A view's filter narrows with what is typed after `/` (narrow): both must hold.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from deskconsole.domain.errors import InvalidInput
from deskconsole.domain.filters import CaseFilter, format_filter, looks_like_filter, parse_filter
from deskconsole.domain.lifecycle import Role, Status

SORTS = ("oldest", "newest", "priority", "updated", "sla")
# The queue's columns by id (tui/queuespec.py COLUMNS; a test keeps the two the same).
COLUMNS = ("id", "priority", "sla", "status", "title", "customer", "assignee", "age", "escalation", "next")
MAX_NAME = 32
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.\-]*")
MAX_SAVED = 30  # an agent's saved views: more tabs than this is no longer a row of tabs
COUNT_CAP = 10_000  # a tab counts up to this many cases and then says "10k+" (capped_count)

BUILT_IN_SOURCE, CONFIG_SOURCE, SAVED_SOURCE = "built-in", "config", "saved"
_OPEN = ",".join(s.value for s in Status if s is not Status.CLOSED)
# What the queue's window views (store/window.py VIEWS) ask for, in the filter language.
BASE_FILTERS: dict[str, str] = {
    "all": "",
    "open": f"status:{_OPEN}",
    "mine": f"assignee:me status:{_OPEN}",
    "unassigned": f"assignee:none status:{_OPEN}",
    "escalated": "esc:open",
}
CASE_HOLDERS = frozenset({Role.ANALYST, Role.MANAGER})  # who is assigned cases: offered Mine


@dataclass(frozen=True)
class View:
    """One tab of the queue. `base`: the window view it stands on (all for every view but the
    built-in ones); `filter`: its filter text, narrowing the base; `sort` None keeps the queue's."""

    name: str
    filter: str = ""
    sort: str | None = None
    columns: tuple[str, ...] | None = None
    source: str = SAVED_SOURCE
    base: str = "all"
    help: str = ""
    roles: frozenset[str] | None = field(default=None, compare=False)

    @property
    def key(self) -> str:
        """The name as matched (`--view`, uniqueness): case does not matter."""
        return self.name.casefold()

    def case_filter(self) -> CaseFilter:
        return parse_filter(self.filter)

    def count_filter(self) -> CaseFilter | None:
        """What the view shows (its base and its filter) as one filter; None when the two ask for
        things no case has at once (then it counts 0)."""
        return narrow(parse_filter(BASE_FILTERS[self.base]), self.case_filter())

    def to_json(self) -> dict[str, Any]:
        """The view as `view list --json` prints it: its whole filter (base and filter)."""
        whole = self.count_filter()
        return {"name": self.name, "source": self.source, "filter": format_filter(whole) if whole else self.filter,
                "sort": self.sort, "columns": list(self.columns) if self.columns is not None else None}


BUILT_IN: tuple[View, ...] = (
    View("Mine", source=BUILT_IN_SOURCE, base="mine", help="open cases assigned to you", roles=CASE_HOLDERS),
    View("Open", source=BUILT_IN_SOURCE, base="open", help="every case not closed"),
    View("Unassigned", source=BUILT_IN_SOURCE, base="unassigned", help="open cases nobody has taken"),
    View("Breached", "sla:breached", source=BUILT_IN_SOURCE, base="open",
         help="open cases with a breached service-level target"),
    View("Escalated", source=BUILT_IN_SOURCE, base="escalated", help="cases with an open escalation"),
    View("All", source=BUILT_IN_SOURCE, base="all", help="every case, closed ones too"),
)


def built_in(role: str) -> list[View]:
    """The built-in views offered to a role."""
    return [v for v in BUILT_IN if v.roles is None or role in v.roles]


def first_view(role: str) -> View:
    """The view the queue opens on: Mine for analysts, Open for everyone else."""
    return BUILT_IN[0] if role == Role.ANALYST else BUILT_IN[1]


def check_name(name: Any) -> str:
    """A view's name as given, or InvalidInput saying why it is none."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("a view needs a name")
    name = " ".join(name.split())
    if len(name) > MAX_NAME or not NAME_RE.fullmatch(name):
        raise InvalidInput(f"view name {name[:40]!r}: 1 to {MAX_NAME} letters, digits, spaces, '-', '_' or '.', "
                           "beginning with a letter or digit")
    return name


def make_view(name: Any, filter: Any, sort: Any = None, columns: Any = None, *, source: str = SAVED_SOURCE) -> View:
    """A view from what a user gave (a config table, the console, the command line), checked:
    InvalidInput names what is wrong (an unknown filter term, sort or column)."""
    name = check_name(name)
    if filter is None:
        filter = ""
    if not isinstance(filter, str):
        raise InvalidInput("filter must be a string in the filter language")
    try:
        parsed = parse_filter(filter)
    except InvalidInput as exc:
        raise InvalidInput(f"filter: {exc}") from None
    if sort is not None and (not isinstance(sort, str) or sort not in SORTS):
        raise InvalidInput(f"unknown sort {sort!r}; one of {', '.join(SORTS)}")
    cols: tuple[str, ...] | None = None
    if columns is not None:
        if not isinstance(columns, list | tuple) or not columns or not all(isinstance(c, str) for c in columns):
            raise InvalidInput(f"columns must be a list of column names ({', '.join(COLUMNS)})")
        unknown = [c for c in columns if c not in COLUMNS]
        if unknown:
            raise InvalidInput(f"unknown column {unknown[0]!r}; the columns are {', '.join(COLUMNS)}")
        cols = tuple(dict.fromkeys(columns))
    return View(name, format_filter(parsed), sort, cols, source=source)


def config_views(data: Any, path: Any) -> list[View]:
    """The `[[views]]` of a config file's table (InvalidInput with the file, the view and the reason)."""
    if data is None:
        return []
    if not isinstance(data, list) or not all(isinstance(v, dict) for v in data):
        raise InvalidInput(f"config file {path}: views must be [[views]] tables")
    views: list[View] = []
    taken = {v.key for v in BUILT_IN}
    for number, table in enumerate(data, 1):
        label = f"view {table.get('name')!r}" if isinstance(table.get("name"), str) else f"view {number}"
        unknown = sorted(set(table) - {"name", "filter", "sort", "columns"})
        if unknown:
            raise InvalidInput(f"config file {path}: {label}: unknown key {unknown[0]!r} "
                               "(a view has name, filter, sort, columns)")
        try:
            view = make_view(table.get("name"), table.get("filter", ""), table.get("sort"), table.get("columns"),
                             source=CONFIG_SOURCE)
        except InvalidInput as exc:
            raise InvalidInput(f"config file {path}: {label}: {exc}") from None
        if view.key in taken:
            raise InvalidInput(f"config file {path}: {label}: the name is taken (by a built-in or earlier view)")
        taken.add(view.key)
        views.append(view)
    return views


def find_view(views: Sequence[View], name: str) -> View | None:
    key = " ".join(name.split()).casefold()
    return next((v for v in views if v.key == key), None)


def narrow(a: CaseFilter, b: CaseFilter) -> CaseFilter | None:
    """The cases both filters match, as one filter; None when no case can match both (e.g.
    status:new and status:closed)."""
    values: dict[str, Any] = {}
    for name in ("statuses", "sub_statuses", "priorities", "areas", "customers", "assignees", "escalations", "sla",
                 "tags"):
        x, y = getattr(a, name), getattr(b, name)
        if x and y:
            both = tuple(sorted(set(x) & set(y)))
            if not both:
                return None
            values[name] = both
        else:
            values[name] = x or y
    older = [d for d in (a.older_than, b.older_than) if d is not None]
    newer = [d for d in (a.newer_than, b.newer_than) if d is not None]
    words = a.words + tuple(w for w in b.words if w not in a.words)
    return replace(CaseFilter(), **values, older_than=max(older) if older else None,
                   newer_than=min(newer) if newer else None, words=words)


def view_query(view: View, typed: str | None = None) -> dict[str, Any]:
    """What Service.list_cases is asked for a view, narrowed by what was typed after `/` (the
    filter language, or plain words to search): `view`, `filter`, `text`. InvalidInput for a bad
    term, or when the typed filter and the view's ask for things no case has at once."""
    typed = (typed or "").strip() or None
    own = view.case_filter()
    query: dict[str, Any] = {"view": view.base, "filter": None, "text": None}
    if typed is not None and not looks_like_filter(typed):
        query["text"] = typed
        typed = None
    if typed is None and own.empty:
        return query
    both = narrow(own, parse_filter(typed) if typed is not None else CaseFilter())
    if both is None:
        raise InvalidInput("nothing can match: this view's filter and yours ask for different values of one key")
    query["filter"] = both
    return query


def saved_filter(view: View, typed: str | None) -> str:
    """The filter a view saved from `view` with `typed` narrowing it stands for, whole (its base
    included): what the queue shows now, as one filter text. InvalidInput as view_query."""
    whole = view.count_filter()
    typed_filter = parse_filter(typed) if typed and typed.strip() else CaseFilter()
    both = narrow(whole, typed_filter) if whole is not None else None
    if both is None:
        raise InvalidInput("nothing can match: this view's filter and yours ask for different values of one key")
    return format_filter(both)


def count_text(count: int | None, cap: int = COUNT_CAP) -> str:
    """A tab's count: `1,204`; `10k+` at the cap (there are at least that many); `…` not known yet."""
    if count is None:
        return "…"
    if count >= cap:
        return f"{cap // 1000}k+" if cap % 1000 == 0 else f"{cap:,}+"
    return f"{count:,}"


def saved_record(view: View) -> Mapping[str, Any]:
    """What the store keeps of a saved view."""
    return {"name": view.name, "filter": view.filter, "sort": view.sort,
            "columns": ",".join(view.columns) if view.columns is not None else None}


def from_record(name: str, filter: str, sort: str | None, columns: str | None) -> View:
    return View(name, filter, sort, tuple(columns.split(",")) if columns else None, source=SAVED_SOURCE)


__all__ = [
    "BASE_FILTERS",
    "BUILT_IN",
    "COLUMNS",
    "COUNT_CAP",
    "SORTS",
    "View",
    "built_in",
    "check_name",
    "config_views",
    "count_text",
    "find_view",
    "first_view",
    "from_record",
    "make_view",
    "narrow",
    "saved_filter",
    "saved_record",
    "view_query",
]
