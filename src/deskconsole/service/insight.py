"""Figures a supervisor reads: the open backlog by age and satisfaction (CSAT) per week, for
`deskconsole report backlog|csat` and the console's Insight pane.

Each figure is one aggregate query the database answers (GROUP BY in SQL, a few dozen rows back),
never every case read into Python:

- backlog: the open cases (status IN the open statuses: the (status, id) index) counted per age
  bucket of their opening time, and per agent, priority or customer;
- csat: the answered surveys (the answered_at index) counted per week (weeks start on Monday, UTC)
  with their average score and the share scoring 4 or 5.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.sql.elements import ColumnElement

from deskconsole.domain.clock import format_time, to_utc
from deskconsole.domain.errors import InvalidInput
from deskconsole.domain.lifecycle import Status
from deskconsole.service.base import ServiceBase
from deskconsole.service.records import _db_time
from deskconsole.store.models import Agent, Case, Survey

REPORT_GROUPS = ("agent", "priority", "customer")
OPEN_STATUSES = tuple(s.value for s in Status if s is not Status.CLOSED)


@dataclass(frozen=True)
class AgeBucket:
    """Open cases opened at most `upto` ago (None: any older) and more than the previous bucket's."""

    name: str
    upto: timedelta | None


AGE_BUCKETS = (
    AgeBucket("<1d", timedelta(days=1)),
    AgeBucket("1-3d", timedelta(days=3)),
    AgeBucket("3-7d", timedelta(days=7)),
    AgeBucket("7-30d", timedelta(days=30)),
    AgeBucket(">30d", None),
)

_CASE_T = Case.__table__  # type: ignore[attr-defined]  # SQLModel leaves __table__ untyped
_AGENT_T = Agent.__table__  # type: ignore[attr-defined]  # (above)
_SURVEY_T = Survey.__table__  # type: ignore[attr-defined]  # (above)


def check_range(since: datetime | None, until: datetime | None, by: str | None) -> None:
    """A report's --since/--until/--by, refused with one clear reason."""
    if by is not None and by not in REPORT_GROUPS:
        raise InvalidInput(f"--by must be one of {', '.join(REPORT_GROUPS)}, not {by!r}")
    if since is not None and until is not None and until <= since:
        raise InvalidInput("--until must come after --since")


class InsightMixin(ServiceBase):
    """The backlog and CSAT figures, each one aggregate query."""

    def _group_column(self, by: str | None) -> ColumnElement[Any]:
        c = _CASE_T
        if by == "agent":
            return func.coalesce(_AGENT_T.c.name, literal("team queue"))
        if by == "priority":
            return c.c.priority
        if by == "customer":
            return c.c.customer
        return literal("desk")

    def _week_of(self, column: Any) -> ColumnElement[Any]:
        """The Monday (UTC) starting the week of a stored time, as YYYY-MM-DD text."""
        if self._pg:
            return func.to_char(func.date_trunc("week", func.timezone("UTC", column)), "YYYY-MM-DD")
        return func.date(column, "weekday 0", "-6 days")

    def backlog_report(self, *, since: datetime | None = None, until: datetime | None = None,
                       by: str | None = None) -> list[dict[str, Any]]:
        """The open cases now, per age bucket (AGE_BUCKETS, by opening time) and per `by` group;
        --since/--until keep the cases opened in [since, until). Rows: group, age, open,
        oldest (the earliest opening time in the row)."""
        check_range(since, until, by)
        c = _CASE_T
        now = self.now()
        bucket_of = case(
            *[(c.c.created_at > _db_time(now - b.upto), literal(i))
              for i, b in enumerate(AGE_BUCKETS) if b.upto is not None],
            else_=literal(len(AGE_BUCKETS) - 1),
        )
        group = self._group_column(by)
        query = select(group.label("grp"), bucket_of.label("bucket"), func.count().label("n"),
                       func.min(c.c.created_at).label("oldest")).select_from(c)
        if by == "agent":
            query = query.outerjoin(_AGENT_T, _AGENT_T.c.id == c.c.assignee_id)
        query = query.where(c.c.status.in_(OPEN_STATUSES))
        if since is not None:
            query = query.where(c.c.created_at >= _db_time(since))
        if until is not None:
            query = query.where(c.c.created_at < _db_time(until))
        query = query.group_by(group, bucket_of).order_by(group, bucket_of)
        with self._read() as s:
            rows = s.execute(query).all()
        return [{"group": r.grp, "age": AGE_BUCKETS[int(r.bucket)].name, "open": int(r.n),
                 "oldest": format_time(to_utc(_parse(r.oldest)))} for r in rows]

    def csat_report(self, *, since: datetime | None = None, until: datetime | None = None,
                    by: str | None = None) -> list[dict[str, Any]]:
        """Surveys answered per week (Monday, UTC) in [since, until) and per `by` group: how many,
        their average score, and CSAT, the share (%) scoring 4 or 5."""
        check_range(since, until, by)
        sv, c = _SURVEY_T, _CASE_T
        week = self._week_of(sv.c.answered_at)
        group = self._group_column(by)
        good = func.sum(case((sv.c.score >= 4, 1), else_=0))
        query = select(week.label("week"), group.label("grp"), func.count().label("n"),
                       func.avg(sv.c.score).label("average"), good.label("good")).select_from(sv)
        if by is not None:
            query = query.join(c, c.c.id == sv.c.case_id)
            if by == "agent":
                query = query.outerjoin(_AGENT_T, _AGENT_T.c.id == c.c.assignee_id)
        conditions = [sv.c.answered_at.is_not(None)]
        if since is not None:
            conditions.append(sv.c.answered_at >= _db_time(since))
        if until is not None:
            conditions.append(sv.c.answered_at < _db_time(until))
        query = query.where(and_(*conditions)).group_by(week, group).order_by(week, group)
        with self._read() as s:
            rows = s.execute(query).all()
        return [{"week": r.week, "group": r.grp, "answered": int(r.n), "average": round(float(r.average), 2),
                 "csat": round(100.0 * int(r.good) / int(r.n), 1)} for r in rows]


def _parse(value: Any) -> datetime:
    """A stored time from an aggregate (SQLite hands text back for min() of a time)."""
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    return value
