"""The case filter language, as a plain value: parse what a user typed, format it back.

    status:pending sub:customer_input prio:P1,P2 area:billing customer:acme
    assignee:me|none|bob esc:open sla:breached age:>3d tag:x  login "month end"

- A term is `key:values`; values are separated by `,` (or `|`), and any one of them matches.
  A key given twice adds its values (`status:new status:pending` is `status:new,pending`), except
  `age:`, which takes one lower (`age:>3d`, older than three days) and one upper bound (`age:<7d`).
- A value with spaces is quoted: `customer:"Acme Corp"`.
- Anything else is a free word, or a quoted phrase (`"month end"`): matched by the case search
  (store/search.py: each word begins a word of the title or customer; a number also finds that case).
- A bad term (an unknown key, status, sub-status, priority, escalation state or age) is refused
  with InvalidInput naming the term and what is allowed.

`parse_filter(text)` gives a CaseFilter; `format_filter(f)` gives its canonical text, and
`parse_filter(format_filter(f)) == f`. The query a filter stands for is the store's
(store/case_filter.py); `assignee:me` is resolved by the service for the agent acting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

from deskconsole.domain.errors import InvalidInput
from deskconsole.domain.lifecycle import EscalationState, Priority, Status, SubStatus
from deskconsole.domain.timers import parse_duration

KEYS = ("status", "sub", "prio", "area", "customer", "assignee", "esc", "sla", "age", "tag")
ESCALATION_VALUES = ("open", "none", *(s.value for s in EscalationState))
SLA_VALUES = ("breached",)
ASSIGNEE_ME = "me"
ASSIGNEE_NONE = "none"
MAX_TERMS = 40  # a filter is typed by hand; more terms than this is not a filter
MAX_VALUE = 200

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<key>[A-Za-z_]+):(?:"(?P<qvalue>[^"]*)"|(?P<value>[^\s"]*))   # key:value, key:"value"
      | "(?P<phrase>[^"]*)"                                              # "a phrase"
      | (?P<word>[^\s"]+)                                                # a word
      | (?P<stray>")                                                     # a quote left open
    )""",
    re.VERBOSE,
)
_PLAIN_VALUE = re.compile(r'[^\s",|]+')  # a value written without quotes


@dataclass(frozen=True)
class CaseFilter:
    """What a filter asks for. Every tuple is sorted and without repeats (the canonical form);
    an empty tuple asks nothing. `words` are the free words and phrases, in the order typed."""

    statuses: tuple[str, ...] = ()
    sub_statuses: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    areas: tuple[str, ...] = ()  # lower case, as cases keep product areas
    customers: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()  # agent names, "me", "none"
    escalations: tuple[str, ...] = ()  # "open", "none" or an escalation state
    sla: tuple[str, ...] = ()
    older_than: timedelta | None = None  # age:>D
    newer_than: timedelta | None = None  # age:<D
    tags: tuple[str, ...] = ()
    words: tuple[str, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return self == CaseFilter()

    def search_text(self) -> str | None:
        """The free words as the case search takes them (a phrase's words joined so that they are
        matched next to each other and in order), or None."""
        if not self.words:
            return None
        return " ".join("-".join(w.split()) for w in self.words)


def looks_like_filter(text: str) -> bool:
    """Whether typed text uses the filter language (a `key:` term of a known key), rather than
    being plain words to search for."""
    return any(m.group("key") and m.group("key").lower() in KEYS for m in _TOKEN.finditer(text))


def parse_filter(text: str) -> CaseFilter:
    """The filter `text` stands for; InvalidInput naming the first bad term."""
    if "\x00" in text:
        raise InvalidInput("a filter cannot contain a NUL character")
    values: dict[str, set[str]] = {k: set() for k in KEYS if k != "age"}
    older: timedelta | None = None
    newer: timedelta | None = None
    words: list[str] = []
    terms = 0
    for m in _TOKEN.finditer(text):
        if m.group(0).strip() == "":
            continue
        terms += 1
        if terms > MAX_TERMS:
            raise InvalidInput(f"a filter takes at most {MAX_TERMS} terms")
        if m.group("stray") is not None:
            raise InvalidInput('a quote is left open in the filter: close it with another "')
        if m.group("phrase") is not None or m.group("word") is not None:
            word = m.group("phrase") if m.group("phrase") is not None else m.group("word")
            word = " ".join(word.split())
            if word:
                words.append(_checked_length(word, word))
            continue
        key = m.group("key").lower()
        term = m.group(0).strip()
        if key not in KEYS:
            raise InvalidInput(f"{term}: unknown filter key {key!r}; the keys are "
                               + ", ".join(f"{k}:" for k in KEYS) + ' (quote a word with a colon: "a:b")')
        raw = [m.group("qvalue")] if m.group("qvalue") is not None else re.split(r"[,|]", m.group("value"))
        items = [" ".join(v.split()) for v in raw]
        if not items or any(not v for v in items):
            raise InvalidInput(f"{term}: {key}: needs a value ({_allowed(key)})")
        for item in items:
            _checked_length(term, item)
            if key == "age":
                bound, age = _age(term, item)
                if bound == ">":
                    if older is not None and older != age:
                        raise InvalidInput(f"{term}: age:> is given twice; give one lower bound (age:>3d)")
                    older = age
                else:
                    if newer is not None and newer != age:
                        raise InvalidInput(f"{term}: age:< is given twice; give one upper bound (age:<7d)")
                    newer = age
                continue
            values[key].add(_value(term, key, item))
    return CaseFilter(
        statuses=_sorted(values["status"]), sub_statuses=_sorted(values["sub"]), priorities=_sorted(values["prio"]),
        areas=_sorted(values["area"]), customers=_sorted(values["customer"]), assignees=_sorted(values["assignee"]),
        escalations=_sorted(values["esc"]), sla=_sorted(values["sla"]), older_than=older, newer_than=newer,
        tags=_sorted(values["tag"]), words=tuple(words),
    )


def format_filter(f: CaseFilter) -> str:
    """The canonical text of a filter (parse_filter gives the same filter back)."""
    out: list[str] = []
    for key, items in (("status", f.statuses), ("sub", f.sub_statuses), ("prio", f.priorities),
                       ("area", f.areas), ("customer", f.customers), ("assignee", f.assignees),
                       ("esc", f.escalations), ("sla", f.sla)):
        out += _terms(key, items)
    if f.older_than is not None:
        out.append(f"age:>{format_age(f.older_than)}")
    if f.newer_than is not None:
        out.append(f"age:<{format_age(f.newer_than)}")
    out += _terms("tag", f.tags)
    for word in f.words:
        out.append(word if _PLAIN_VALUE.fullmatch(word) and not _looks_like_term(word) else f'"{word}"')
    return " ".join(out)


def format_age(age: timedelta) -> str:
    """A duration as parse_duration reads it: `3d`, `1d12h`, `90m` -> `1h30m`."""
    seconds = int(age.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


# ---------------------------------------------------------------------------------- helpers


def _sorted(items: set[str]) -> tuple[str, ...]:
    return tuple(sorted(items))


def _checked_length(term: str, value: str) -> str:
    if len(value) > MAX_VALUE:
        raise InvalidInput(f"{term[:40]}…: a filter value is at most {MAX_VALUE} characters")
    return value


def _looks_like_term(word: str) -> bool:
    return ":" in word


def _terms(key: str, items: tuple[str, ...]) -> list[str]:
    plain = [v for v in items if _PLAIN_VALUE.fullmatch(v)]
    quoted = [v for v in items if not _PLAIN_VALUE.fullmatch(v)]
    out = [f"{key}:{','.join(plain)}"] if plain else []
    return out + [f'{key}:"{v}"' for v in quoted]


def _allowed(key: str) -> str:
    return {
        "status": "one of " + ", ".join(s.value for s in Status),
        "sub": "one of " + ", ".join(s.value for s in SubStatus),
        "prio": "one of " + ", ".join(p.value for p in Priority),
        "area": "a product area",
        "customer": "a customer's name",
        "assignee": "me, none or an agent's name",
        "esc": "one of " + ", ".join(ESCALATION_VALUES),
        "sla": "breached",
        "age": "> or < and a duration, e.g. age:>3d, age:<12h",
        "tag": "a tag",
    }[key]


def _value(term: str, key: str, item: str) -> str:
    if key in ("status", "sub", "esc", "sla"):
        choices = {"status": [s.value for s in Status], "sub": [s.value for s in SubStatus],
                   "esc": list(ESCALATION_VALUES), "sla": list(SLA_VALUES)}[key]
        if item.lower() not in choices:
            what = {"status": "status", "sub": "sub-status", "esc": "escalation state", "sla": "service-level state"}
            raise InvalidInput(f"{term}: unknown {what[key]} {item!r}; {_allowed(key)}")
        return item.lower()
    if key == "prio":
        if item.upper() not in {p.value for p in Priority}:
            raise InvalidInput(f"{term}: unknown priority {item!r}; {_allowed(key)}")
        return item.upper()
    if key in ("area", "tag"):
        return item.lower()  # (as cases keep product areas and tags)
    if key == "assignee" and item.lower() in (ASSIGNEE_ME, ASSIGNEE_NONE):
        return item.lower()
    return item


def _age(term: str, item: str) -> tuple[str, timedelta]:
    bound, rest = item[:1], item[1:]
    if bound not in (">", "<") or not rest:
        raise InvalidInput(f"{term}: bad age {item!r}; {_allowed('age')}")
    try:
        return bound, parse_duration(rest)
    except InvalidInput as exc:
        raise InvalidInput(f"{term}: bad age {item!r}: {exc}; {_allowed('age')}") from None


__all__ = [
    "ASSIGNEE_ME",
    "ASSIGNEE_NONE",
    "ESCALATION_VALUES",
    "KEYS",
    "CaseFilter",
    "format_age",
    "format_filter",
    "looks_like_filter",
    "parse_filter",
]
