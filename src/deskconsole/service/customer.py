"""A customer's context from one of their cases (domain/customer.py): their other cases, open
ones first; their CSAT from the answered surveys; their open escalations.

Each read walks the index (customer, status, id) of the case table: the open cases, then the
newest closed ones, to at most CONTEXT_CASES rows; the counts and the surveys by the same index.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case as when
from sqlalchemy import func
from sqlalchemy import select as columns_of
from sqlmodel import col, select

from deskconsole.domain.customer import (
    GOOD_SCORE,
    OPEN_ESCALATION_STATES,
    ContextCase,
    CustomerContext,
    open_first,
)
from deskconsole.domain.errors import InvalidInput, NotFound
from deskconsole.domain.lifecycle import Status
from deskconsole.service.base import ServiceBase
from deskconsole.service.records import _aware
from deskconsole.store.models import Agent, Case, Escalation, Survey

CONTEXT_CASES = 50  # the other cases shown at most (the counts say how many there are)
OPEN_STATUSES = tuple(s.value for s in Status if s is not Status.CLOSED)


class CustomerMixin(ServiceBase):
    def customer_context(self, case_id: int) -> CustomerContext:
        """The context of the customer of case `case_id`."""
        if not isinstance(case_id, int) or isinstance(case_id, bool):
            raise InvalidInput(f"case id must be a whole number, not {case_id!r}")
        with self._read() as s:
            row = s.exec(select(Case.customer).where(Case.id == case_id)).first() if 0 < case_id < 2**31 else None
            if row is None:
                raise NotFound(f"unknown case {case_id}")
            customer = row
            columns: tuple[Any, ...] = (Case.id, Case.priority, Case.status, Case.sub_status, Case.title,
                                        Case.assignee_id, Case.updated_at)
            mine = col(Case.customer) == customer
            db = s.connection()
            opened = db.execute(columns_of(*columns)
                                .where(mine, col(Case.status).in_(OPEN_STATUSES), col(Case.id) != case_id)
                                .order_by(col(Case.id).desc()).limit(CONTEXT_CASES)).all()
            closed = db.execute(columns_of(*columns)
                                .where(mine, col(Case.status) == Status.CLOSED.value, col(Case.id) != case_id)
                                .order_by(col(Case.id).desc()).limit(max(0, CONTEXT_CASES - len(opened)))).all()
            total, open_count = s.exec(select(
                func.count(), func.coalesce(func.sum(when((col(Case.status).in_(OPEN_STATUSES), 1), else_=0)), 0)
            ).where(mine)).one()
            answers, good, average = s.exec(
                select(func.count(col(Survey.score)),
                       func.coalesce(func.sum(when((col(Survey.score) >= GOOD_SCORE, 1), else_=0)), 0),
                       func.avg(Survey.score))
                .join(Case, col(Case.id) == Survey.case_id).where(mine, col(Survey.score).is_not(None))).one()
            escalated = s.exec(
                select(Escalation.case_id, Escalation.state)
                .join(Case, col(Case.id) == Escalation.case_id)
                .where(mine, col(Escalation.state).in_(OPEN_ESCALATION_STATES))).all()
            esc: dict[int, str] = {cid: state for cid, state in escalated}  # noqa: C416
            rows = list(opened) + list(closed)
            ids = {r[5] for r in rows if r[5] is not None}
            names = dict(s.exec(select(Agent.id, Agent.name).where(col(Agent.id).in_(ids))).all()) if ids else {}
            escalation_rows: list[Any] = []
            missing = [cid for cid in esc if cid not in {r[0] for r in rows}]
            if missing:  # (an escalated case beyond the rows shown, or this one)
                escalation_rows = list(db.execute(columns_of(*columns).where(col(Case.id).in_(missing))).all())
                more = {r[5] for r in escalation_rows if r[5] is not None} - set(names)
                if more:
                    names.update(dict(s.exec(select(Agent.id, Agent.name).where(col(Agent.id).in_(more))).all()))

        def view(r: Any) -> ContextCase:
            return ContextCase(id=r[0], priority=r[1], status=r[2], sub_status=r[3], title=r[4],
                               assignee=names.get(r[5]), updated_at=_aware(r[6]), escalation=esc.get(r[0]))

        cases = open_first(view(r) for r in rows)
        shown = {c.id: c for c in cases} | {r[0]: view(r) for r in escalation_rows}
        return CustomerContext(
            customer=customer, case_id=case_id, cases=cases, total=int(total), open=int(open_count),
            answers=int(answers), good=int(good), average=round(float(average), 2) if average is not None else None,
            escalations=sorted((shown[cid] for cid in esc), key=lambda c: -c.id),
        )


__all__ = ["CONTEXT_CASES", "CustomerMixin"]
