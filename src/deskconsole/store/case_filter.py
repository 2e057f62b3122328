"""A CaseFilter (domain/filters.py) as SQL over the case table `c`: WHERE terms and their `?`
parameters, for the queue's window (store/window.py) and for counts.

Every term is one an index serves: status (ix_case_status_id), sub-status (ix_case_status_sub),
priority (ix_case_priority_id),
assignee (ix_case_assignee_status), product area (ix_case_area_status), age (ix_case_created_id),
customer and free words (the case search index, store/search.py), escalations (a subquery on
the escalation table). A sub-status alone also asks for `pending` (only pending cases have one), so
the status index serves it.

`sla:breached` asks for a breach recorded or a breach timer overdue (sla_breached_sql: both lookups
by the case). `tag:` asks for a tag of the case (case_tag's ix_case_tag_tag).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from deskconsole.domain.errors import InvalidInput
from deskconsole.domain.filters import ASSIGNEE_ME, ASSIGNEE_NONE, CaseFilter
from deskconsole.domain.lifecycle import OPEN_ESCALATION_STATES, Status
from deskconsole.store.search import PG_DOCUMENT, case_number, filter_words, match_expression
from deskconsole.store.window import MATCHED, Plan, text_condition

_OPEN_ESCALATIONS = tuple(sorted(str(s) for s in OPEN_ESCALATION_STATES))


@dataclass(frozen=True)
class FilterSQL:
    """WHERE terms (ANDed) over `c` with their parameters; `text`: the free words, for the case
    search (window_sql's `text`). `hints`/`hint_params`: terms a window (ordered by id) adds, implied
    by the others, that let it start where the matches start. `match`: on SQLite, when the filter is
    only customer names, the same as one full-text MATCH expression (a count reads the index alone)."""

    terms: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)
    text: str | None = None
    hints: list[str] = field(default_factory=list)
    hint_params: list[Any] = field(default_factory=list)
    match: str | None = None
    # the ids of the cases a count starts from (a query over another table's index), when a term
    # has no index over the case table (sla:breached): the count reads those cases by id
    narrow: str | None = None
    narrow_params: list[Any] = field(default_factory=list)
    # the term `narrow` stands for exactly (its cases are those the term is true of): a count over
    # the narrowed ids leaves it out rather than asking it again of each case
    narrowed: str | None = None

    @property
    def window_terms(self) -> list[str]:
        return [*self.terms, *self.hints]

    @property
    def window_params(self) -> list[Any]:
        return [*self.params, *self.hint_params]


def _marks(values: tuple[Any, ...] | list[Any]) -> str:
    return ", ".join("?" * len(values))


def db_time(value: datetime, dialect: str) -> Any:
    """A time as a plain driver takes it for comparing with the table's times (SQLite keeps them
    as UTC text)."""
    if dialect == "sqlite":
        return value.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def filter_sql(
    f: CaseFilter, *, now: datetime, me: int | None, agents: dict[str, int], dialect: str = "sqlite",
) -> FilterSQL:
    """The filter's WHERE terms. `me`: the acting agent's id (for `assignee:me`); `agents`: the ids
    of the agents the filter names (an agent not in it is refused)."""
    terms: list[str] = []
    params: list[Any] = []

    def add(term: str, *values: Any) -> None:
        terms.append(term)
        params.extend(values)

    if f.statuses:
        add(f"c.status IN ({_marks(f.statuses)})", *f.statuses)
    if f.sub_statuses:
        if not f.statuses:
            add("c.status = ?", Status.PENDING.value)
        add(f"c.sub_status IN ({_marks(f.sub_statuses)})", *f.sub_statuses)
    if f.priorities:
        add(f"c.priority IN ({_marks(f.priorities)})", *f.priorities)
    if f.areas:
        add(f"c.product_area IN ({_marks(f.areas)})", *f.areas)
    if f.customers:
        _customer_terms(f.customers, dialect, add)
    if f.assignees:
        ids: list[int] = []
        for name in f.assignees:
            if name == ASSIGNEE_NONE:
                continue
            if name == ASSIGNEE_ME:
                if me is None:
                    raise InvalidInput("assignee:me: who is acting? give --as NAME or set DESKCONSOLE_USER")
                ids.append(me)
            elif name in agents:
                ids.append(agents[name])
            else:
                raise InvalidInput(f"assignee:{name}: no agent is called {name!r}; give me, none or an agent's name")
        either = [f"c.assignee_id IN ({_marks(ids)})"] if ids else []
        if ASSIGNEE_NONE in f.assignees:
            either.append("c.assignee_id IS NULL")
        add("(" + " OR ".join(either) + ")", *ids)
    if f.escalations:
        any_of: list[str] = []
        values: list[Any] = []
        for state in f.escalations:
            if state == "open":
                any_of.append(f"c.id IN (SELECT case_id FROM escalation WHERE state IN ({_marks(_OPEN_ESCALATIONS)}))")
                values += _OPEN_ESCALATIONS
            elif state == "none":
                any_of.append(
                    f"c.id NOT IN (SELECT case_id FROM escalation WHERE state IN ({_marks(_OPEN_ESCALATIONS)}))")
                values += _OPEN_ESCALATIONS
            else:
                any_of.append("c.id IN (SELECT case_id FROM escalation WHERE state = ?)")
                values.append(state)
        add("(" + " OR ".join(any_of) + ")", *values)
    if f.older_than is not None:
        add("c.created_at < ?", db_time(now - f.older_than, dialect))
    hints: list[str] = []
    hint_params: list[Any] = []
    if f.newer_than is not None:
        since = db_time(now - f.newer_than, dialect)
        add("c.created_at > ?", since)
        if dialect == "sqlite":
            # The recent cases are the last ids, mostly: a window in id order starts at the first of
            # them instead of walking every older case (min(+id): through the created_at index).
            hints.append('c.id >= (SELECT min(+id) FROM "case" WHERE created_at > ?)')
            hint_params.append(since)
    narrow, narrow_params, narrowed = None, [], None
    if f.sla:  # "breached", the one state the language has
        add(sla_breached_sql("c", "?"), db_time(now, dialect))
        narrow, narrow_params = _BREACHED_IDS, [db_time(now, dialect)]
        narrowed = terms[-1]
    if f.tags:
        add(_tag_terms(f.tags), *f.tags)
    match = None
    if dialect == "sqlite" and f.customers and len(terms) == 1 and terms[0].startswith("c.id IN (SELECT rowid"):
        match = str(params[0])
    return FilterSQL(terms, params, f.search_text(), hints, hint_params, match, narrow, narrow_params, narrowed)


def _customer_terms(customers: tuple[str, ...], dialect: str, add: Any) -> None:
    """Each customer value's words begin words of the case's customer, next to each other and in
    order (`customer:acme` finds "ACME Corp"); any one of the values matches."""
    phrases = [parts for parts in (_parts(c) for c in customers) if parts]
    if not phrases:
        add("1 = 0")  # only values without letters or digits: nothing is called that
        return
    if dialect == "sqlite":
        query = " OR ".join(f"customer : ({match_expression([parts], 'sqlite')})" for parts in phrases)
        add("c.id IN (SELECT rowid FROM case_fts WHERE case_fts MATCH ?)", query)
        return
    query = " | ".join(f"({match_expression([parts], 'postgresql')})" for parts in phrases)
    # the indexed document narrows the cases; the customer's own words decide
    add(f"({PG_DOCUMENT} @@ to_tsquery('simple', ?) AND to_tsvector('simple', c.customer) @@ to_tsquery('simple', ?))",
        query, query)


def _parts(value: str) -> list[str]:
    """A customer value's letters-and-digits parts, however many words it has."""
    return [part for word in filter_words(value) for part in word]


def sla_breached_sql(case: str, now: str) -> str:
    """SQL (both databases) true for a case with a breached service-level target: a breach recorded,
    or its breach timer due and not fired yet (nobody ticked). `case` names the case table in the
    query, `now` the placeholder bound to now. Both lookups go by the case: the (case_id, id) index
    of sla_metric, the (case_id, state) one of timer."""
    # (`|| ''` keeps SQLite on those per-case indexes: with a plain `kind =` / `state =` it chose the
    # (kind, at) and (state, due_at) ones and read every breach or pending timer for each case, 89 s
    # for the Breached view at 100,000 cases)
    return (f"(EXISTS (SELECT 1 FROM sla_metric m WHERE m.case_id = {case}.id AND m.kind || '' = 'breach')"
            f" OR EXISTS (SELECT 1 FROM timer t WHERE t.case_id = {case}.id AND t.state || '' = 'pending'"
            f" AND t.kind || '' = 'sla_breach' AND t.due_at <= {now}))")


# The cases with a breach recorded or a breach timer due (sla_breached_sql's two lookups, by their own
# indexes: (kind, at) of sla_metric, (state, due_at) of timer).
_BREACHED_IDS = ("SELECT m.case_id AS id FROM sla_metric m WHERE m.kind = 'breach' UNION "
                 "SELECT t.case_id FROM timer t WHERE t.state = 'pending' AND t.kind = 'sla_breach' AND t.due_at <= ?")


def _tag_terms(values: tuple[str, ...]) -> str:
    """`tag:`: the cases carrying any one of the tags, by the (tag, case_id) index of case_tag."""
    return f"c.id IN (SELECT t.case_id FROM case_tag t WHERE t.tag IN ({_marks(values)}))"


def count_sql(fs: FilterSQL, dialect: str = "sqlite") -> Plan:
    """How many cases the filter matches: one count over the same terms."""
    if dialect == "sqlite" and (fs.match or not fs.terms):
        words = [parts for parts in filter_words(fs.text) if parts]
        if words and all(case_number(parts) is None for parts in words):
            # only names and words: the full-text index counts its rows (one per case) alone
            both = [e for e in (fs.match, match_expression(words, "sqlite")) if e]
            return Plan("SELECT count(*) FROM case_fts WHERE case_fts MATCH ?", (" AND ".join(f"({e})" for e in both),))
        if fs.match and not (fs.text and fs.text.strip()):
            return Plan("SELECT count(*) FROM case_fts WHERE case_fts MATCH ?", (fs.match,))
    terms, params = list(fs.terms), list(fs.params)
    if fs.text and fs.text.strip():
        found = text_condition(fs.text, dialect, join=False)
        terms += found.terms
        params += found.params
    sql = 'SELECT count(*) FROM "case" c'
    if fs.narrow is not None:  # those cases first, then each read by its id
        terms, params = _without(terms, params, fs.narrowed)
        # The ids probe the case table by its primary key, in a shape the planner cannot turn
        # around: a plain join let PostgreSQL hash every case the other terms name (all the open
        # cases, through a whole index) to meet a few thousand ids. On PostgreSQL the ids are one
        # array (an InitPlan), the key of one primary-key index scan; SQLite's CROSS JOIN keeps
        # the ids the outer loop (a nested loop is all it has).
        if dialect == "sqlite":
            body = f'FROM {MATCHED} b CROSS JOIN "case" c WHERE ' + " AND ".join(["c.id = b.id", *terms])
        else:
            body = 'FROM "case" c WHERE ' + " AND ".join([f"c.id = ANY(ARRAY(SELECT id FROM {MATCHED}))", *terms])
        sql = f"WITH {MATCHED} AS MATERIALIZED ({fs.narrow}) SELECT count(*) {body}"
        return Plan(sql, (*fs.narrow_params, *params))
    if terms:
        sql += " WHERE " + " AND ".join(terms)
    return Plan(sql, tuple(params))


def _without(terms: list[str], params: list[Any], term: str | None) -> tuple[list[str], list[Any]]:
    """The terms but `term` (once), and the parameters but its own (each term's are its `?`s, in order)."""
    if term is None or term not in terms:
        return terms, params
    at = terms.index(term)
    first = sum(t.count("?") for t in terms[:at])
    return terms[:at] + terms[at + 1:], params[:first] + params[first + term.count("?"):]


def capped_count_sql(fs: FilterSQL, dialect: str = "sqlite", cap: int = 10_000) -> Plan:
    """count_sql, stopping at `cap` matches (a view's tab: it reads at most `cap` index entries
    however many cases match, and an answer of `cap` means "at least that many")."""
    plan = count_sql(fs, dialect)
    cte, _, rest = plan.sql.partition("SELECT count(*)")  # (cte: the narrowing WITH ..., when there is one)
    return Plan(f"{cte}SELECT count(*) FROM (SELECT 1{rest} LIMIT ?) capped", (*plan.params, cap))


__all__ = ["FilterSQL", "capped_count_sql", "count_sql", "db_time", "filter_sql"]
