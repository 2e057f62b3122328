"""Merging a duplicate case into another, in one transaction.

SOURCE's conversation (the customer's replies, the team's comments and notes, each as it was, with
its time and author) is written onto TARGET's timeline, marked `merged_from`; the audit trail is
append-only, so SOURCE keeps its own events. SOURCE's inbound mail is moved to TARGET, so a later
message in that mail thread lands there; its articles are linked to TARGET, and its engineering
reference is taken over when TARGET has none. SOURCE closes "merged into TARGET" without a survey or
a follow-up, and remembers TARGET (`merged_into_id`): a later reply or confirmation for SOURCE (by
mail, by ingest, by SOURCE's ref) lands on TARGET (follow_merges). Both timelines record the link.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import bindparam, update
from sqlmodel import Session, col, select

from deskconsole.domain.lifecycle import OPEN_ESCALATION_STATES, Status
from deskconsole.domain.merging import CONVERSATION_KINDS, MERGED_REASON, MergeSide, check_merge
from deskconsole.domain.views import CaseView
from deskconsole.service.base import ServiceBase
from deskconsole.service.records import _INSERT_EVENT, CaseRecord, _db, _write_cases
from deskconsole.store.models import Case, CaseArticle, Escalation, Event, InboundMessage
from deskconsole.store.watch import note_write

_INBOUND_T = InboundMessage.__table__  # type: ignore[attr-defined]
_MOVE_MAIL = (  # a merged case's inbound mail goes to the case it was merged into
    update(_INBOUND_T).where(_INBOUND_T.c.case_id == bindparam("b_source")).values(case_id=bindparam("b_target"))
)
MAX_HOPS = 50  # a chain of merges longer than this is not followed further


def follow_merges(s: Session, case_id: int) -> int:
    """The case a case was merged into (and that one into, ...), or the case itself."""
    seen = {case_id}
    current = case_id
    for _ in range(MAX_HOPS):
        nxt = s.exec(select(Case.merged_into_id).where(Case.id == current)).first()
        if nxt is None or nxt in seen:
            return current
        seen.add(nxt)
        current = nxt
    return current


def landing_case(service: ServiceBase, s: Session, case: CaseRecord) -> CaseRecord:
    """Where the customer's words for `case` land: the case itself, or (a merged case) the case it
    was merged into, locked as the action's case."""
    if case.merged_into_id is None:
        return case
    return service._case(s, follow_merges(s, case.id))


def merged_from(s: Session, case_id: int) -> list[int]:
    """The cases merged into this one, oldest first (the ix_case_merged_into index)."""
    return [int(i) for i in s.exec(select(Case.id).where(Case.merged_into_id == case_id)
                                   .order_by(col(Case.id))).all() if i is not None]


class MergeMixin(ServiceBase):
    """case merge."""

    def merge(
        self, source_id: int, target_id: int, *, actor: str | None, force: bool = False,
        source_version: int | None = None, target_version: int | None = None,
    ) -> CaseView:
        """Merge case `source_id` into `target_id` (see the module); returns TARGET."""
        with self._tx() as s:
            agent = self._me(s, actor)
            # both locked, in id order (two merges of the same pair never wait on each other)
            cases = {cid: self._case(s, cid) for cid in sorted({source_id, target_id})}
            source, target = cases[source_id], cases[target_id]
            check_merge(role=agent.role, agent_id=agent.id or 0, source=self._side(s, source),
                        target=self._side(s, target), force=force)
            self._check_version(s, source, source_version)
            self._check_version(s, target, target_version)
            now = self.now()
            copied = self._copy_conversation(s, source, target)
            moved = _db(s).execute(_MOVE_MAIL, {"b_source": source.id, "b_target": target.id})
            linked = self._link_articles(s, source, target, agent.name, now)
            if source.engineering_ref and not target.engineering_ref:
                target.engineering_ref = source.engineering_ref
            across = source.customer.strip().casefold() != target.customer.strip().casefold()
            self._event(
                s, target, "merged_from", agent.name, now, body=source.description or None,
                **{"from": source.id, "title": source.title, "customer": source.customer, "ref": source.ref,
                   "cloned_from": source.cloned_from_id, "engineering_ref": source.engineering_ref,
                   "events": copied, "messages": moved, "articles": linked, **({"forced": True} if across else {})},
            )
            self._touch(target, agent.name, f"merged case {source.id} into it", now)
            self._event(s, source, "merged_into", agent.name, now, into=target.id, events=copied, messages=moved)
            source.merged_into_id = target.id
            self._enter(s, source, Status.CLOSED, None, agent.name, now,
                        reason=MERGED_REASON.format(target=target.id), quiet=True, merged_into=target.id)
            _write_cases(s)  # (written now, so that TARGET's view finds SOURCE merged into it)
            return self._case_view(s, target)

    def _side(self, s: Session, case: CaseRecord) -> MergeSide:
        states = sorted(str(x) for x in OPEN_ESCALATION_STATES)
        escalation = s.exec(
            select(Escalation.state).where(Escalation.case_id == case.id, col(Escalation.state).in_(states))
        ).first()
        return MergeSide(id=case.id, status=case.status, customer=case.customer, assignee_id=case.assignee_id,
                         open_escalation=escalation)

    def _copy_conversation(self, s: Session, source: CaseRecord, target: CaseRecord) -> int:
        rows: list[dict[str, Any]] = []
        for e in s.exec(
            select(Event).where(Event.case_id == source.id, col(Event.kind).in_(CONVERSATION_KINDS))
            .order_by(col(Event.id))
        ):
            data = json.loads(e.data) if e.data else {}
            data.update(merged_from=source.id, merged_event=e.id)
            rows.append(self._event_row(target, e.kind, e.actor, e.at, e.body, **data))
        if rows:
            note_write(s, target.id)
            _db(s).insert_many(_INSERT_EVENT, rows)
        return len(rows)

    def _link_articles(self, s: Session, source: CaseRecord, target: CaseRecord, who: str, now: Any) -> int:
        have = set(s.exec(select(CaseArticle.article_id).where(CaseArticle.case_id == target.id)).all())
        linked = 0
        for article_id in s.exec(select(CaseArticle.article_id).where(CaseArticle.case_id == source.id)
                                 .order_by(col(CaseArticle.id))).all():
            if article_id not in have:
                s.add(CaseArticle(case_id=target.id, article_id=article_id, linked_by=who, linked_at=now))
                linked += 1
        if linked:
            s.flush()
        return linked


