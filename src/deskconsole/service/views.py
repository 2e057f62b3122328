"""What front ends list and show: cases (the list and one case's view), the outbox, changes.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_
from sqlmodel import Session, col, select

from deskconsole.domain.clock import to_utc
from deskconsole.domain.conversation import MESSAGE_KINDS, STATUS_CHANGED, is_conversation
from deskconsole.domain.errors import InvalidInput
from deskconsole.domain.filters import CaseFilter
from deskconsole.domain.lifecycle import Status, parse_enum
from deskconsole.domain.timers import TimerKind, TimerState
from deskconsole.domain.views import CaseRow, CaseView, EventView, EventWindow, OutboxView
from deskconsole.service.base import ServiceBase
from deskconsole.service.batch import CaseBrief
from deskconsole.service.editing import case_tags, split_into
from deskconsole.service.filtering import as_filter, driver_cursor, filter_terms
from deskconsole.service.merge import merged_from
from deskconsole.service.records import MAX_SHORT, AnyCase, _aware, _pk, clean_text
from deskconsole.store.models import Article, Case, CaseArticle, Escalation, Event, Outbox, Survey, Timer
from deskconsole.store.watch import Watcher, open_watcher
from deskconsole.store.window import Asked, Superseding, read_window

TIMELINE_WINDOW = 200  # events in one window of a case's timeline (case_events)
MAX_TIMELINE_WINDOW = 5_000


class ViewsMixin(ServiceBase):
    """What front ends list and show: cases (the list and one case's view), the outbox, changes."""

    # False on the copy without_timelines() gives: case views carry no events (the console reads
    # the timeline in windows: case_events).
    _timeline_in_views: bool = True

    def without_timelines(self) -> Any:
        """A copy of this Service (same engine, clock and settings) whose actions and get_case give
        case views without events (`events` empty): for a front end that reads a case's timeline in
        windows (case_events), so that an action on a case of 100,000 events does not read them all."""
        lean = copy.copy(self)
        lean._timeline_in_views = False
        return lean

    def case_events(self, case_id: int, *, before_id: int | None = None, limit: int = TIMELINE_WINDOW,
                    conversation: bool = False) -> EventWindow:
        """A window of a case's timeline: its newest `limit` events (those before event `before_id`
        when given), oldest first, and how many of its events come before them. Pages go back in
        the order events were recorded (by id, the (case_id, id) index); within a window events are
        ordered as get_case orders the whole timeline (by time, then id).

        `conversation` keeps only the conversation with the customer (domain/conversation.py): the
        database narrows to the kinds that may belong to it, then status changes that carried no
        message to the customer (a close's reason) are left out of the window (`earlier` counts
        the narrowed events)."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_TIMELINE_WINDOW:
            raise InvalidInput(f"limit must be a whole number from 1 to {MAX_TIMELINE_WINDOW}, not {limit!r}")
        if before_id is not None and (isinstance(before_id, bool) or not isinstance(before_id, int)):
            raise InvalidInput(f"before_id must be an event id, not {before_id!r}")
        with self._read() as s:
            self._case(s, case_id, lock=False)  # (an unknown case is refused as get_case refuses it)
            query = select(Event).where(Event.case_id == case_id)
            narrowed = _conversation_kinds() if conversation else None
            if narrowed is not None:
                query = query.where(narrowed)
            if before_id is not None:
                query = query.where(col(Event.id) < before_id)
            rows = list(s.exec(query.order_by(col(Event.id).desc()).limit(limit)).all())
            earlier = 0
            if rows:
                earlier = int(s.exec(
                    select(func.count()).select_from(Event)
                    .where(Event.case_id == case_id, col(Event.id) < _pk(rows[-1].id),
                           *([narrowed] if narrowed is not None else []))
                ).one())
            events = [_event_view(e) for e in rows]
            if conversation:
                events = [e for e in events if is_conversation(e.kind, e.data, e.body)]
            events.sort(key=lambda e: (e.at, e.id))
            return EventWindow(case=case_id, events=events, earlier=earlier)

    def breached_cases(self, *, limit: int = 1000) -> list[int]:
        """Ids of open cases with a breached target, oldest first (the filter language's sla:breached)."""
        still_open = ",".join(st.value for st in Status if st is not Status.CLOSED)
        return [r.id for r in self.list_cases(filter=f"sla:breached status:{still_open}", limit=limit)]

    def list_cases(
        self,
        *,
        status: str | None = None,
        limit: int | None = None,
        view: str = "all",
        actor: str | None = None,
        text: str | None = None,
        sort: str = "oldest",
        after: int | None = None,
        filter: CaseFilter | str | None = None,
        newest: Superseding | Asked | None = None,
    ) -> list[CaseRow]:
        """Cases for a list: oldest first by default; views all/mine/unassigned/escalated/open;
        `filter` the filter language's terms (domain/filters.py; text is parsed), with `text`.

        `after` continues from a case id (keyset pagination): the next page after that case in the
        chosen order (for priority and updated, after that case's place in the order).
        `newest`: only the newest of these reads is wanted (the console's typing): a newer one stops
        this one on the server, which then raises Superseded (store/window.py).
        """
        if status is not None:
            parse_enum(Status, status, "status")
        if limit is not None and (not isinstance(limit, int) or limit < 0):
            raise InvalidInput(f"limit must be a whole number of 0 or more, not {limit!r}")
        text = clean_text(text, "filter", max_len=MAX_SHORT)
        case_filter = as_filter(filter)
        with self._window_read(newest) as s, driver_cursor(s) as (cursor, paramstyle, dialect):
            me = self._agent(s, actor).id if view == "mine" else None
            extra: dict[str, Any] = {}
            if case_filter is not None:
                fs = filter_terms(self, s, case_filter, actor, dialect)
                extra = {"where_terms": fs.window_terms, "where_params": fs.window_params}
                text = " ".join(t for t in (text, fs.text) if t) or None
            # One piece of SQL (store/window.py) for the service and the console's first paint.
            return read_window(cursor, paramstyle, view=view, sort=sort, me=me, status=status,
                               text=text, after=after, limit=limit, newest=newest, sla=self._window_sla(s),
                               **extra)

    @contextmanager
    def _window_read(self, newest: Superseding | Asked | None) -> Iterator[Session]:
        """The session a window is read in. On PostgreSQL a keystroke's window (`newest`: the
        console's typing) reads outside a transaction (autocommit: each statement sees the desk
        as it is when it runs; a window's statements need no snapshot in common), which spares
        the BEGIN and the COMMIT, two of its round trips to the server."""
        if not (self._pg and newest is not None):
            with self._read() as s:
                yield s
            return
        if self._who is None:
            self.login_identity()
        engine = self._window_engine
        if engine is None:
            engine = self._window_engine = self._read_engine.execution_options(isolation_level="AUTOCOMMIT")
        with Session(engine, expire_on_commit=False) as session:
            yield session

    _window_engine: Any = None

    def _window_sla(self, s: Session) -> bool:
        """Whether a window carries the service-level columns: whether the desk has policies. A
        document, once loaded, is only ever replaced (never removed): once this Service has seen
        one (sla.py's desk cache), a window asks nothing more (one round trip a keystroke fewer
        on PostgreSQL); before, the desk is asked through that cache."""
        cached = getattr(self, "_sla_cache", None)  # (SlaMixin's: (when read, version, document))
        if cached is not None and cached[2] is not None:
            return True
        return self._sla_desk(s) is not None

    def list_outbox(
        self,
        *,
        case_id: int | None = None,
        limit: int | None = None,
        state: str | None = None,
        newest_first: bool = False,
        before: int | None = None,
        rendered: bool = False,
    ) -> list[OutboxView]:
        """Outbox rows, oldest first (or newest first); `state` keeps one state, `before` pages by id.
        `rendered`: each row's subject and body are the message's text as it is (or was) sent (its
        template in the case's language, filled), not the row's own words."""
        with self._read() as s:
            query = select(Outbox)
            if case_id is not None:
                query = query.where(Outbox.case_id == case_id)
            if state is not None:
                query = query.where(Outbox.state == state)
            if before is not None:
                query = query.where(col(Outbox.id) < before)
            query = query.order_by(col(Outbox.id).desc() if newest_first else col(Outbox.id))
            if limit is not None:
                query = query.limit(limit)
            views = []
            for o in s.exec(query).all():
                subject, body = o.subject, o.body
                if rendered:
                    from deskconsole.service.outbox import rendered as render_row  # (the templates, when asked)

                    message = render_row(s, o, s.get_one(Case, o.case_id))
                    subject, body = message.subject, message.text
                views.append(OutboxView(
                    id=_pk(o.id), case=o.case_id, kind=o.kind, to=o.to, subject=subject, body=body,
                    created_at=_aware(o.created_at), state=o.state, sent_at=_aware(o.sent_at),
                    attempts=o.attempts or 0, last_error=o.last_error, message_id=o.message_id,
                    held_until=_aware(o.hold_until),
                ))
            return views

    def watch(self) -> Watcher:
        """A change watcher on a connection of its own (store/watch.py): `wait(timeout)`, `close()`.

        Raises WatchUnavailable when this database cannot be watched (poll
        last_change_marker() instead).
        """
        return open_watcher(self.engine)

    def last_change_marker(self) -> int:
        """A cheap number that grows with every change (the newest audit event id)."""
        with self._read() as s:
            return int(s.exec(select(func.max(Event.id))).one() or 0)

    # ------------------------------------------------------------------- views
    def _case_view(self, s: Session, case: AnyCase, *, events: bool | None = None) -> CaseView:
        batch = self._batch
        if batch is not None and batch.light:
            # a light batch's caller asked for the brief (batch.py)
            return CaseBrief(id=_pk(case.id), status=case.status)  # type: ignore[return-value]  # (see above)
        s.flush()
        # Sorted in Python: ORDER BY due_at makes SQLite pick the (state, due_at) index and scan
        # every pending timer of the desk instead of this case's few.
        timers = sorted(
            s.exec(select(Timer).where(Timer.case_id == case.id, Timer.state == TimerState.PENDING)).all(),
            key=lambda t: (to_utc(t.due_at), t.id),  # rows just added hold aware times, loaded ones may not
        )
        assignee = self._assignee_name(s, case)
        timer_views = [self._timer_view(t, case, assignee) for t in timers]

        def due(kind: TimerKind) -> datetime | None:
            return next((t.due for t in timer_views if t.kind == kind), None)

        esc = s.exec(
            select(Escalation).where(Escalation.case_id == case.id).order_by(col(Escalation.id).desc())
        ).first()
        survey = s.exec(select(Survey).where(Survey.case_id == case.id)).first()
        articles = s.exec(
            select(Article).join(CaseArticle, col(CaseArticle.article_id) == col(Article.id))
            .where(CaseArticle.case_id == case.id).order_by(col(CaseArticle.id))
        ).all()
        if events is None:
            events = self._timeline_in_views
        rows = (s.exec(select(Event).where(Event.case_id == case.id).order_by(col(Event.at), col(Event.id))).all()
                if events else [])
        return CaseView(
            id=_pk(case.id), ref=case.ref, title=case.title, description=case.description, status=case.status,
            sub_status=case.sub_status, priority=case.priority, severity=case.severity, assignee=assignee,
            customer=case.customer, contact=case.contact, product_area=case.product_area,
            auto_close_at=due(TimerKind.AUTO_CLOSE), reminder_at=due(TimerKind.REMINDER),
            followup_at=due(TimerKind.FOLLOWUP), timers=timer_views,
            escalation=self._escalation_view(s, esc, case) if esc else None,
            version=case.version, attention=case.attention, resolution=case.resolution,
            close_reason=case.close_reason, engineering_ref=case.engineering_ref, cloned_from=case.cloned_from_id,
            created_at=_aware(case.created_at), updated_at=_aware(case.updated_at), closed_at=_aware(case.closed_at),
            last_actor=case.last_actor, last_change=case.last_change,
            survey=self._survey_view(s, survey, case) if survey else None,
            articles=[self._article_view(a) for a in articles],
            events=[_event_view(e) for e in rows],
            language=case.language,
            sla=self._sla_view(s, case),
            merged_into=case.merged_into_id, merged_from=merged_from(s, _pk(case.id)),
            tags=case_tags(s, _pk(case.id)), split_from=case.split_from_id, split_into=split_into(s, _pk(case.id)),
            undo_until=self._undo_window(s, case) if case.status == Status.CLOSED else None,
        )


def _conversation_kinds() -> Any:
    """The events that may belong to the conversation (domain/conversation.py), as a WHERE clause."""
    return or_(col(Event.kind).in_(sorted(MESSAGE_KINDS)),
               and_(col(Event.kind) == STATUS_CHANGED, col(Event.body).is_not(None), col(Event.body) != ""))


def _event_view(e: Event) -> EventView:
    return EventView(id=_pk(e.id), at=_aware(e.at), actor=e.actor, kind=e.kind, body=e.body,
                     data=json.loads(e.data) if e.data else {}, recorded_at=_aware(e.recorded_at),
                     os_login=e.os_login)
