"""Filtered case lists and counts: a CaseFilter (domain/filters.py) made one indexed query
(store/case_filter.py) for the agent acting.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlmodel import Session, col, select

from deskconsole.domain.filters import ASSIGNEE_ME, ASSIGNEE_NONE, CaseFilter, parse_filter
from deskconsole.service.base import ServiceBase
from deskconsole.store.case_filter import FilterSQL, count_sql, filter_sql
from deskconsole.store.identity import acting
from deskconsole.store.models import Agent


def as_filter(value: CaseFilter | str | None) -> CaseFilter | None:
    """A filter given as text or as a value (text is parsed: InvalidInput for a bad term)."""
    if value is None or isinstance(value, CaseFilter):
        return value
    return parse_filter(value)


def filter_terms(service: ServiceBase, s: Session, f: CaseFilter, actor: str | None, dialect: str) -> FilterSQL:
    """The filter's WHERE terms for the agent acting (`assignee:me`), the agents it names resolved."""
    names = [n for n in f.assignees if n not in (ASSIGNEE_ME, ASSIGNEE_NONE)]
    agents: dict[str, int] = {}
    if names:
        agents = {a.name: a.id for a in s.exec(select(Agent).where(col(Agent.name).in_(names))).all()
                  if a.id is not None}
    me = None
    if ASSIGNEE_ME in f.assignees:
        who = acting(service._who, actor)
        if who:
            me = service._agent(s, who).id
    return filter_sql(f, now=service.now(), me=me, agents=agents, dialect=dialect)


@contextmanager
def driver_cursor(s: Session) -> Iterator[tuple[Any, str, str]]:
    """The session's driver cursor, its paramstyle and its dialect's name (store/window.py's SQL
    runs on it)."""
    driver = s.connection()
    dbapi = driver.connection.driver_connection
    assert dbapi is not None, "an open connection has its driver's connection"
    cursor = dbapi.cursor()
    try:
        yield cursor, driver.dialect.paramstyle, driver.dialect.name
    finally:
        cursor.close()


class FilteringMixin(ServiceBase):
    """Counts of filtered cases (the list itself: list_cases(filter=...))."""

    def count_cases(self, filter: CaseFilter | str | None = None, *, actor: str | None = None) -> int:
        """How many cases the filter matches (every case without one): one indexed count."""
        f = as_filter(filter) or CaseFilter()
        with self._read() as s, driver_cursor(s) as (cursor, paramstyle, dialect):
            plan = count_sql(filter_terms(self, s, f, actor, dialect), dialect).for_driver(paramstyle)
            cursor.execute(plan.sql, plan.params)
            return int(cursor.fetchone()[0])
