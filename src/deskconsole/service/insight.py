"""Figures a supervisor reads: the open backlog by age and satisfaction (CSAT) per week, for
`deskconsole report backlog|csat` and the console's Insight pane.

Each figure is one aggregate query the database answers (GROUP BY in SQL, a few dozen rows back),
never every case read into Python:

- backlog: the open cases (status IN the open statuses: the (status, id) index) counted per age
  bucket of their opening time, and per agent, priority or customer;
- csat: the answered surveys (the answered_at index) counted per week (weeks start on Monday, UTC)
  with their average score and the share scoring 4 or 5;
- the Insight pane's weekly figures from the service-level metric events (the (kind, at) index of
  sla_metric): targets met and breached per priority, resolutions, resolutions reopened, and
  resolutions at the first reply (first-contact resolution). They exist where policies were loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, exists, func, literal, select
from sqlalchemy.sql.elements import ColumnElement

from deskconsole.domain.clock import format_time, to_utc
from deskconsole.domain.errors import InvalidInput
from deskconsole.domain.lifecycle import Status
from deskconsole.service.base import ServiceBase
from deskconsole.service.records import _db_time
from deskconsole.store.models import Agent, Case, SlaMetric, Survey

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
_METRIC_T = SlaMetric.__table__  # type: ignore[attr-defined]  # (above)
INSIGHT_WEEKS = 12


@dataclass(frozen=True)
class Insight:
    """What the Insight pane draws: the open backlog by age (AGE_BUCKETS order), and per week (the
    `weeks` Mondays, oldest first) service-level compliance per priority, CSAT, reopen rate and
    first-contact resolution. Every list holds plain rows (dicts) of one aggregate query."""

    weeks: list[str]
    ages: list[str]  # the age buckets' names, youngest first
    backlog: list[dict[str, Any]]
    sla: list[dict[str, Any]]  # week, priority, met, breached, compliance
    csat: list[dict[str, Any]]  # week, answered, average, csat (report csat's rows)
    resolutions: list[dict[str, Any]]  # week, resolved, reopened, first_contact, reopen_rate, fcr_rate


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


def _share(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


class InsightFiguresMixin(InsightMixin):
    """The Insight pane's figures (Insight), each an aggregate query."""

    def insight(self, *, weeks: int = INSIGHT_WEEKS) -> Insight:
        """The desk at a glance: the backlog now, and the last `weeks` weeks (this one included)."""
        if not 1 <= weeks <= 520:
            raise InvalidInput(f"weeks must be from 1 to 520, not {weeks}")
        now = self.now()
        monday = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
        first = monday - timedelta(weeks=weeks - 1)
        names = [(first + timedelta(weeks=i)).date().isoformat() for i in range(weeks)]
        backlog = self.backlog_report()
        csat = self.csat_report(since=first)
        m, c = _METRIC_T, _CASE_T
        week = self._week_of(m.c.at)
        # A fulfilment is met unless its target was breached since it last (re)started: the lookups go
        # by the case (the (case_id, id) index; `|| ''` keeps SQLite off the (kind, at) one).
        b, s = _METRIC_T.alias("b"), _METRIC_T.alias("s")
        began = (select(func.coalesce(func.max(s.c.id), 0))
                 .where(s.c.case_id == m.c.case_id, s.c.target == m.c.target,
                        (s.c.kind + "").in_(["start", "reopen"]), s.c.id < m.c.id)
                 .correlate(m).scalar_subquery())
        breached_before = exists().where(b.c.case_id == m.c.case_id, b.c.target == m.c.target,
                                         (b.c.kind + "") == "breach", b.c.id < m.c.id, b.c.id > began)
        met = func.sum(case((and_(m.c.kind == "fulfil", ~breached_before), 1), else_=0))
        breached = func.sum(case((m.c.kind == "breach", 1), else_=0))
        sla_query = (select(week.label("week"), c.c.priority, met.label("met"), breached.label("breached"))
                     .select_from(m).join(c, c.c.id == m.c.case_id)
                     .where(m.c.kind.in_(["fulfil", "breach"]), m.c.at >= _db_time(first))
                     .group_by(week, c.c.priority).order_by(week, c.c.priority))
        # Resolutions per week; reopened: the resolution ran again; first contact: the first response
        # was fulfilled by the same act (the first reply resolved it) and it never reopened.
        f, r = _METRIC_T.alias("f"), _METRIC_T.alias("r")
        same_act = exists().where(f.c.case_id == m.c.case_id, f.c.target == "first_response",
                                  (f.c.kind + "") == "fulfil", f.c.at == m.c.at)
        reopened_later = exists().where(r.c.case_id == m.c.case_id, r.c.target == "resolution",
                                        (r.c.kind + "") == "reopen", r.c.id > m.c.id)
        resolved = func.sum(case((m.c.kind == "fulfil", 1), else_=0))
        reopens = func.sum(case((m.c.kind == "reopen", 1), else_=0))
        first_contact = func.sum(case((and_(m.c.kind == "fulfil", same_act, ~reopened_later), 1), else_=0))
        resolution_query = (select(week.label("week"), resolved.label("resolved"), reopens.label("reopened"),
                                   first_contact.label("first_contact"))
                            .where(m.c.kind.in_(["fulfil", "reopen"]), m.c.at >= _db_time(first),
                                   m.c.target == "resolution")
                            .group_by(week).order_by(week))
        with self._read() as session:
            sla_rows = session.execute(sla_query).all()
            resolution_rows = session.execute(resolution_query).all()
        sla = [{"week": row.week, "priority": row.priority, "met": int(row.met), "breached": int(row.breached),
                "compliance": _share(int(row.met), int(row.met) + int(row.breached))} for row in sla_rows]
        resolutions = [{"week": row.week, "resolved": int(row.resolved), "reopened": int(row.reopened),
                        "first_contact": int(row.first_contact),
                        "reopen_rate": _share(int(row.reopened), int(row.resolved)),
                        "fcr_rate": _share(int(row.first_contact), int(row.resolved))} for row in resolution_rows]
        return Insight(names, [b.name for b in AGE_BUCKETS], backlog, sla, csat, resolutions)
