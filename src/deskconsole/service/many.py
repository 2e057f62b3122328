"""One action on several cases: each case applied, or refused with its reason, on its own.

    outcomes = service.apply_many([12, 13, 14], Close(reason="duplicate"), actor="alice",
                                  versions={12: 3})
    for o in outcomes: o.case_id, o.case (the case after it), o.error (the refusal)

The actions: Close, Move, Assign (the command line's `case close|move|assign ID [ID …]`), Reply
(one text written to each case's customer, through the outbox) and ApplyMacro (a team macro, as
`case macro`); the console's bulk actions on marked cases (tui/marks.py) are these calls.
Every case is its own transaction (as the action alone would be), its version checked when the
caller gives one, so one refused case changes nothing and stops nothing. A bulk close or assign
is undone as a whole by Service.undo_many (undo.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlmodel import col, select

from deskconsole.domain.errors import DeskError, InvalidInput
from deskconsole.domain.views import CaseView
from deskconsole.service.cases import CasesMixin
from deskconsole.service.macros import MacrosMixin
from deskconsole.service.records import clean_text
from deskconsole.store.models import Case

MAX_MANY = 10_000  # cases in one call
BRIEF_CHUNK = 100  # cases in one transaction of a brief apply_many (its row locks held that long)


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


@dataclass(frozen=True)
class Reply:
    """A public reply: `body` written to each case's customer (sent through the outbox)."""

    body: str


@dataclass(frozen=True)
class ApplyMacro:
    name: str


Action = Close | Move | Assign | Reply | ApplyMacro


def describe(action: Action) -> str:
    """The action in a few words (the console's outcome title)."""
    if isinstance(action, Close):
        return "Close"
    if isinstance(action, Move):
        return f"Move to {action.status}" + (f"/{action.sub_status}" if action.sub_status else "")
    if isinstance(action, Assign):
        return f"Assign to {action.assignee}" if action.assignee else "Unassign"
    if isinstance(action, Reply):
        return "Reply"
    return f"Macro {action.name}"


@dataclass(frozen=True)
class Outcome:
    """What became of one case: `case` after the action, or `error`, why it was refused."""

    case_id: int
    case: CaseView | None = None
    error: DeskError | None = None
    version: int | None = None  # the case's version the action left (what undoing it checks)

    @property
    def done(self) -> bool:
        return self.error is None


class _ChunkAgain(Exception):
    """A chunk run without savepoints had a case refused after it wrote: roll it back, run it again."""


class ManyMixin(CasesMixin, MacrosMixin):
    """apply_many: one action over several cases."""

    def apply_many(
        self, case_ids: Sequence[int], action: Action, *, actor: str | None,
        versions: Mapping[int, int] | None = None, brief: bool = False,
    ) -> list[Outcome]:
        """Apply `action` to each case in turn, each whole or not at all; `versions` (case id -> the
        version the caller read) refuses a case that changed since. One Outcome per id, in the order
        given (an id given twice is applied once), with the version each done case was left at.

        Each case is a transaction of its own, and its Outcome has the case after it. `brief` (the
        console, which reads its rows again anyway) leaves the case views out and runs the cases in
        transactions of up to BRIEF_CHUNK cases, each case in a savepoint of its own: a refused case
        still changes nothing and stops nothing, and 500 cases cost a few commits instead of 500."""
        if len(case_ids) > MAX_MANY:
            raise InvalidInput(f"at most {MAX_MANY:,} cases at once, not {len(case_ids):,}")
        if isinstance(action, Reply):  # (an empty reply is refused once, not once per case)
            clean_text(action.body, "reply", required=True)
        versions = versions or {}
        ids = list(dict.fromkeys(case_ids))
        if brief and not isinstance(action, ApplyMacro):  # (a macro is a batch of its own: batches do not nest)
            return self._apply_brief(ids, action, actor, versions)
        outcomes: list[Outcome] = []
        for case_id in ids:
            try:
                case = self._apply_one(case_id, action, actor, versions.get(case_id))
            except DeskError as exc:
                outcomes.append(Outcome(case_id, error=exc))
            else:
                outcomes.append(Outcome(case_id, case=None if brief else case, version=case.version))
        return outcomes

    def _apply_brief(self, ids: list[int], action: Action, actor: str | None,
                     versions: Mapping[int, int]) -> list[Outcome]:
        errors: dict[int, DeskError] = {}
        left: dict[int, int] = {}
        for start in range(0, len(ids), BRIEF_CHUNK):
            chunk = ids[start:start + BRIEF_CHUNK]
            # First without a savepoint per case (two round trips a case fewer on PostgreSQL, and the
            # rows kept for later go in one pipeline for the chunk): when a case refuses after it
            # wrote something, the chunk is rolled back whole and run again, each case in a
            # savepoint of its own, so a refused case still changes nothing and stops nothing.
            answer = self._brief_chunk(chunk, action, actor, versions, savepoints=False)
            if answer is None:
                answer = self._brief_chunk(chunk, action, actor, versions, savepoints=True)
            assert answer is not None  # (with savepoints a chunk always ends)
            errors.update(answer[0])
            left.update(answer[1])
        return [Outcome(i, error=errors[i]) if i in errors else Outcome(i, version=left.get(i)) for i in ids]

    def _brief_chunk(self, chunk: list[int], action: Action, actor: str | None, versions: Mapping[int, int],
                     *, savepoints: bool) -> tuple[dict[int, DeskError], dict[int, int]] | None:
        """One transaction over the chunk: the refusals and the versions the done cases were left at;
        None (nothing kept) when, without savepoints, a refused case had written part of itself."""
        errors: dict[int, DeskError] = {}
        left: dict[int, int] = {}
        try:
            with self.batch(light=True, savepoints=savepoints) as batch:
                # the chunk's case rows, pending timers and service-level history in a few statements
                # for all of them (as ingest reads its lines' cases ahead), not a few per case
                batch.prefetch(chunk)
                for case_id in chunk:
                    try:
                        batch.service._apply_one(case_id, action, actor, versions.get(case_id))
                    except DeskError as exc:
                        if batch.failed_without_savepoint:
                            raise _ChunkAgain from exc  # (rolls the whole chunk back)
                        errors[case_id] = exc
                done = [i for i in chunk if i not in errors]
                if done:  # (read in the batch's transaction: exactly what these actions left)
                    left.update((int(i), int(v)) for i, v in batch.session.exec(
                        select(Case.id, Case.version).where(col(Case.id).in_(done))).all() if i is not None)
        except _ChunkAgain:
            return None
        return errors, left

    def _apply_one(self, case_id: int, action: Action, actor: str | None, version: int | None) -> CaseView:
        svc = self
        if isinstance(action, Close):
            return svc.close(case_id, reason=action.reason, actor=actor, expected_version=version)
        if isinstance(action, Move):
            return svc.move(case_id, action.status, actor=actor, sub_status=action.sub_status, note=action.note,
                            asked_outside=action.asked_outside, expected_version=version)
        if isinstance(action, Assign):
            return svc.assign(case_id, action.assignee, actor=actor, expected_version=version)
        if isinstance(action, Reply):
            return svc.add_note(case_id, action.body, actor=actor, internal=False, expected_version=version)
        if isinstance(action, ApplyMacro):
            return svc.apply_macro(case_id, action.name, actor=actor, expected_version=version)
        raise InvalidInput(f"not an action on cases: {action!r}")
