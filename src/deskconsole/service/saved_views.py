"""Saved views (an agent's own tabs of the queue) and the counts every tab shows.

A view (domain/saved_views.py) is a name, a filter, a sort and optional columns. Built-in views
are the domain's, config views the front end's (settings), saved views are stored here per agent
(the saved_view table, migration 0010; on PostgreSQL each agent's login sees its own only).

Counts are capped (COUNT_CAP): one indexed query that stops after the cap, so that a tab over
most of the desk (All, a closed-cases view) reads at most that many index entries on each refresh,
and says "10k+" instead of a number it did not read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from deskconsole.domain.errors import InvalidInput, NotFound
from deskconsole.domain.filters import CaseFilter
from deskconsole.domain.saved_views import (
    BUILT_IN,
    COUNT_CAP,
    MAX_SAVED,
    View,
    check_name,
    find_view,
    from_record,
    make_view,
    saved_record,
    view_query,
)
from deskconsole.service.base import ServiceBase
from deskconsole.service.filtering import driver_cursor, filter_terms
from deskconsole.service.records import _db_time, _pk
from deskconsole.store.case_filter import capped_count_sql
from deskconsole.store.models import SavedViewRow

if TYPE_CHECKING:
    from deskconsole.domain.rows import CaseRow


class SavedViewsMixin(ServiceBase):
    """An agent's saved views, and the capped counts of any views."""

    def saved_views(self, *, actor: str | None) -> list[View]:
        """The views the agent acting saved, oldest first."""
        with self._read() as s:
            agent = self._me(s, actor)
            rows = s.exec(select(SavedViewRow).where(SavedViewRow.agent_id == agent.id)
                          .order_by(col(SavedViewRow.id))).all()
            return [from_record(r.name, r.filter, r.sort, r.columns) for r in rows]

    def save_view(self, name: str, filter: str, *, sort: str | None = None, columns: Sequence[str] | None = None,
                  actor: str | None, reserved: Sequence[str] = ()) -> View:
        """Save a view for the agent acting. Refused: a bad name, filter, sort or column; a name the
        agent uses already, or that of a built-in view or one of `reserved` (the config file's)."""
        view = make_view(name, filter, sort, list(columns) if columns is not None else None)
        if find_view(BUILT_IN, view.name) is not None or view.key in {check_name(r).casefold() for r in reserved}:
            raise InvalidInput(f"view {view.name!r}: the name is taken by a view every desk has or the config "
                               "file's; choose another")
        record = saved_record(view)
        try:
            with self._tx() as s:
                agent = self._me(s, actor)
                mine = s.exec(select(SavedViewRow).where(SavedViewRow.agent_id == agent.id)).all()
                if any(r.name_key == view.key for r in mine):
                    raise InvalidInput(f"you have a view called {view.name!r} already: delete it first "
                                       f"('deskconsole view delete {view.name}')")
                if len(mine) >= MAX_SAVED:
                    raise InvalidInput(f"you have {MAX_SAVED} saved views, the most there may be: delete one first")
                s.add(SavedViewRow(agent_id=_pk(agent.id), name_key=view.key, created_at=_db_time(self.now()),
                                   **record))
        except IntegrityError:  # saved at the same moment elsewhere
            raise InvalidInput(f"you have a view called {view.name!r} already") from None
        return view

    def delete_view(self, name: str, *, actor: str | None) -> View:
        """Delete one of the acting agent's saved views (by name, whatever the case)."""
        key = check_name(name).casefold()
        with self._tx() as s:
            agent = self._me(s, actor)
            row = s.exec(select(SavedViewRow).where(SavedViewRow.agent_id == agent.id,
                                                    SavedViewRow.name_key == key)).first()
            if row is None:
                built = find_view(BUILT_IN, name)
                what = " (every desk has it: it cannot be deleted)" if built is not None else ""
                raise NotFound(f"you have no saved view called {name!r}{what}")
            view = from_record(row.name, row.filter, row.sort, row.columns)
            s.delete(row)
        return view

    def count_view(self, view: View, *, actor: str | None, cap: int = COUNT_CAP) -> int:
        """How many cases the view shows, counted up to `cap` (at the cap: at least that many)."""
        whole = view.count_filter()
        if whole is None:
            return 0
        with self._read() as s, driver_cursor(s) as (cursor, paramstyle, dialect):
            return _count(self, s, cursor, paramstyle, dialect, whole, actor, cap)

    def view_counts(self, views: Sequence[View], *, actor: str | None, cap: int = COUNT_CAP) -> dict[str, int]:
        """Each view's capped count (count_view), by view name, in one read transaction."""
        out: dict[str, int] = {}
        with self._read() as s, driver_cursor(s) as (cursor, paramstyle, dialect):
            for view in views:
                whole = view.count_filter()
                out[view.name] = 0 if whole is None else _count(self, s, cursor, paramstyle, dialect, whole, actor,
                                                                 cap)
        return out

    def list_view(self, view: View, *, actor: str | None, typed: str | None = None, **query: Any) -> list[CaseRow]:
        """The cases of a view (narrowed by `typed`), as list_cases gives them; `sort` defaults to the view's."""
        query.setdefault("sort", view.sort or "oldest")
        asked = view_query(view, typed)
        more = query.pop("text", None)
        asked["text"] = " ".join(t for t in (asked["text"], more) if t) or None
        return self.list_cases(actor=actor, **asked, **query)  # type: ignore[attr-defined]  # views.py


def _count(service: ServiceBase, s: Any, cursor: Any, paramstyle: str, dialect: str, f: CaseFilter,
           actor: str | None, cap: int) -> int:
    plan = capped_count_sql(filter_terms(service, s, f, actor, dialect), dialect, cap).for_driver(paramstyle)
    cursor.execute(plan.sql, plan.params)
    return int(cursor.fetchone()[0])


__all__ = ["SavedViewsMixin"]
