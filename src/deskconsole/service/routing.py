"""Routing: which analyst a new case goes to (RoutingMemo, and the service's _route).
"""

from __future__ import annotations

import re
import time
from typing import Any, Protocol

from sqlalchemy import func
from sqlmodel import Session, col, select

from deskconsole.domain.explain import nothing_to_take
from deskconsole.domain.lifecycle import Availability, Role, Status
from deskconsole.service.base import ServiceBase
from deskconsole.service.records import _OPEN_STATUS_VALUES, _pk
from deskconsole.store.models import Agent, Case


class NewCase(Protocol):
    """What routing reads and sets of a case being opened (an ORM Case, or the plain values
    open_case inserts with a Core statement)."""

    title: str
    description: str
    product_area: str | None


class RoutingMemo:
    """Routing, and its reads (the analysts, their skills, their open-case counts).

    Routing gives a new case to the available analyst with the fitting skill who has the
    fewest open cases (ties: by name); a case without a product area gets the skill named
    first in its title or description. One action routes with a fresh memo. Counting at a
    million cases costs a large part of a second, so a long ingest keeps one memo across its
    batches: it reads the analysts and counts once and keeps the counts current with its
    own assignments and closes; every REFRESH_S seconds it reads them again, to see what
    other consoles changed meanwhile. mark()/undo() bracket one action: a refused action's
    assignment is taken back.
    """

    REFRESH_S = 5.0

    def __init__(self) -> None:
        self.reset()
        self._saved: dict[int, int] | None = None

    def reset(self) -> None:
        self._loaded_at: float | None = None
        self.available: list[tuple[int, str, list[str]]] = []
        self.skills: list[tuple[str, re.Pattern[str]]] = []
        self.counts: dict[int, int] = {}

    def mark(self) -> None:
        self._saved = dict(self.counts)

    def state(self) -> Any:
        """What restore() puts back: the memo as it is now (before a batch that may be rolled back)."""
        return self._loaded_at, self.available, self.skills, dict(self.counts)

    def restore(self, state: Any) -> None:
        self._loaded_at, self.available, self.skills, counts = state
        self.counts = dict(counts)
        self._saved = None

    def undo(self) -> None:
        if self._saved is not None:
            self.counts = self._saved
            self._saved = None

    def closed(self, assignee_id: int | None) -> None:
        if assignee_id is not None and assignee_id in self.counts:
            self.counts[assignee_id] -= 1

    def _load(self, s: Session) -> None:
        now = time.monotonic()
        if self._loaded_at is not None and now - self._loaded_at < self.REFRESH_S:
            return
        rows = s.exec(
            select(Agent.id, Agent.name, Agent.skills, Agent.availability).where(Agent.role == Role.ANALYST)
        ).all()
        self.available = [(_pk(i), n, sk.split(",")) for i, n, sk, av in rows if av == Availability.AVAILABLE]
        skills = {sk for _, _, row, _ in rows for sk in row.split(",") if sk}
        self.skills = [(sk, re.compile(rf"(?<![a-z0-9]){re.escape(sk)}(?![a-z0-9])")) for sk in sorted(skills)]
        self.counts = {}
        self._loaded_at = now

    def _infer_area(self, case: NewCase) -> str | None:
        """The skill named first in the case's title or description (any analyst's skill)."""
        text = f"{case.title}\n{case.description}".lower()
        best = None
        for skill, pattern in self.skills:
            match = pattern.search(text)
            if match and (best is None or match.start() < best[0]):
                best = (match.start(), skill)
        return best[1] if best else None

    def route(self, s: Session, case: NewCase) -> Agent | None:
        """The analyst for a new case, over the kept analysts and counts; counts the assignment it makes."""
        self._load(s)
        if not self.available:
            return None
        if not case.product_area:
            case.product_area = self._infer_area(case)
        area = (case.product_area or "").lower()
        fits = [a for a in self.available if area and area in a[2]]
        if not fits:
            return None
        missing = [a[0] for a in fits if a[0] not in self.counts]
        if missing:
            self.counts.update(dict.fromkeys(missing, 0))
            open_counts = s.exec(
                select(Case.assignee_id, func.count())
                .where(col(Case.status).in_(_OPEN_STATUS_VALUES), col(Case.assignee_id).in_(missing))
                .group_by(col(Case.assignee_id))
            ).all()
            self.counts.update({assignee: n for assignee, n in open_counts if assignee is not None})
        best = min(fits, key=lambda a: (self.counts[a[0]], a[1]))
        self.counts[best[0]] += 1
        return s.get(Agent, best[0])


class RoutingMixin(ServiceBase):
    """Routing new cases (open_case, clone)."""

    def _route(self, s: Session, case: NewCase) -> Agent | None:
        """The available analyst with the case's skill and the fewest open cases (see RoutingMemo);
        a batch keeps routing's reads across its actions, a single action reads them afresh."""
        batch = self._batch
        routing = batch.routing if batch is not None else None
        return (routing or RoutingMemo()).route(s, case)

    def nothing_to_take(self, *, actor: str | None) -> str:
        """Why take_next finds nothing for `actor`: their skills, and the unassigned open cases of
        other areas (one grouped count over the unassigned open cases: the (assignee_id, status) index)."""
        with self._read() as s:
            agent = self._me(s, actor)
            skills = [sk for sk in agent.skills.split(",") if sk]
            elsewhere = s.exec(
                select(Case.product_area, func.count())
                .where(col(Case.assignee_id).is_(None), col(Case.status) != Status.CLOSED.value)
                .group_by(col(Case.product_area))
            ).all()
        return nothing_to_take(skills, dict(elsewhere))
