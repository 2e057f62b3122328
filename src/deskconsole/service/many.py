"""One action on several cases: each case applied, or refused with its reason, on its own.

    outcomes = service.apply_many([12, 13, 14], Close(reason="duplicate"), actor="alice",
                                  versions={12: 3})
    for o in outcomes: o.case_id, o.case (the case after it), o.error (the refusal)

Every case is its own transaction (as the action alone would be), its version checked when the
caller gives one, so one refused case changes nothing and stops nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from deskconsole.domain.errors import DeskError, InvalidInput
from deskconsole.domain.views import CaseView
from deskconsole.service.cases import CasesMixin

MAX_MANY = 10_000  # cases in one call


@dataclass(frozen=True)
class Close:
    reason: str


@dataclass(frozen=True)
class Move:
    status: str
    sub_status: str | None = None
    note: str | None = None
    asked_outside: str | None = None


@dataclass(frozen=True)
class Assign:
    assignee: str | None  # None: back to the team queue


Action = Close | Move | Assign


@dataclass(frozen=True)
class Outcome:
    """What became of one case: `case` after the action, or `error`, why it was refused."""

    case_id: int
    case: CaseView | None = None
    error: DeskError | None = None

    @property
    def done(self) -> bool:
        return self.error is None


class ManyMixin(CasesMixin):
    """apply_many: one action over several cases."""

    def apply_many(
        self, case_ids: Sequence[int], action: Action, *, actor: str | None,
        versions: Mapping[int, int] | None = None,
    ) -> list[Outcome]:
        """Apply `action` to each case in turn, each in a transaction of its own; `versions` (case id
        -> the version the caller read) refuses a case that changed since. One Outcome per id, in
        the order given (an id given twice is applied once)."""
        if len(case_ids) > MAX_MANY:
            raise InvalidInput(f"at most {MAX_MANY:,} cases at once, not {len(case_ids):,}")
        versions = versions or {}
        outcomes: list[Outcome] = []
        seen: set[int] = set()
        for case_id in case_ids:
            if case_id in seen:
                continue
            seen.add(case_id)
            try:
                case = self._apply_one(case_id, action, actor, versions.get(case_id))
            except DeskError as exc:
                outcomes.append(Outcome(case_id, error=exc))
            else:
                outcomes.append(Outcome(case_id, case=case))
        return outcomes

    def _apply_one(self, case_id: int, action: Action, actor: str | None, version: int | None) -> CaseView:
        svc = self
        if isinstance(action, Close):
            return svc.close(case_id, reason=action.reason, actor=actor, expected_version=version)
        if isinstance(action, Move):
            return svc.move(case_id, action.status, actor=actor, sub_status=action.sub_status, note=action.note,
                            asked_outside=action.asked_outside, expected_version=version)
        if isinstance(action, Assign):
            return svc.assign(case_id, action.assignee, actor=actor, expected_version=version)
        raise InvalidInput(f"not an action on cases: {action!r}")
