"""Who may merge which case into which: the rule, as plain values (service/merge.py applies it)."""

from __future__ import annotations

from dataclasses import dataclass

from deskconsole.domain.errors import InvalidInput, InvalidTransition, PermissionDenied
from deskconsole.domain.lifecycle import Role, Status

#: The timeline events that are the conversation: they follow a merged case to its target.
CONVERSATION_KINDS = ("customer_replied", "comment", "note")
#: How a case closed by a merge says so.
MERGED_REASON = "merged into {target}"


@dataclass(frozen=True)
class MergeSide:
    """What the rule needs to know of one case."""

    id: int
    status: str
    customer: str
    assignee_id: int | None
    open_escalation: str | None = None  # the state of an open escalation


def check_merge(*, role: str, agent_id: int, source: MergeSide, target: MergeSide, force: bool) -> None:
    """Refuse a merge that may not happen (a DeskError naming why); return when it may.

    Managers and supervisors merge any two open cases; an analyst, cases that are theirs or in the
    team queue. Never a case into itself, never a closed case, never a case whose escalation is
    open (it is decided first); across customers only with `force`."""
    if source.id == target.id:
        raise InvalidInput(f"case {source.id} cannot be merged into itself")
    for side in (source, target):
        if side.status == Status.CLOSED:
            raise InvalidTransition(f"case {side.id} is closed: closed cases are never merged (clone it instead)")
    if role not in (Role.ANALYST, Role.MANAGER, Role.SUPERVISOR):
        raise PermissionDenied(f"a {role} may not merge cases")
    if role == Role.ANALYST:
        for side in (source, target):
            if side.assignee_id is not None and side.assignee_id != agent_id:
                raise PermissionDenied(
                    f"case {side.id} is assigned to someone else: an analyst merges their own cases "
                    "(or the team queue's); ask a manager or supervisor")
    if source.open_escalation is not None:
        raise InvalidTransition(
            f"case {source.id} has an open escalation ({source.open_escalation}): it is decided or "
            "de-escalated before the case is merged")
    if source.customer.strip().casefold() != target.customer.strip().casefold() and not force:
        raise InvalidInput(
            f"case {source.id} is for {source.customer!r} and case {target.id} for {target.customer!r}: "
            "merging across customers needs --force",
            console="The cases are for different customers: confirm to merge them anyway.")
