"""Presence: who else has a case open, or is typing in it (domain/presence.py).

A console showing a case beats every few seconds (`presence_beat`): one transaction upserts the
agent's row for the case, removes the row of a case it left, and reads who else is at the case
(one query on the primary key's index). The queue reads the marks of the rows on its page
(`presence_at`: one query). Rows older than domain.presence.TTL count as gone, so a console that
crashed leaves no ghost for long; leaving a case (`presence_leave`) removes its row at once.

The heartbeat's time is the real clock (`real_now`: on PostgreSQL the database server's), never a
fixed DESKCONSOLE_NOW. The writes go through a plain connection, not the tracked session of the
case actions: a heartbeat changes no case, so it announces nothing to the other consoles.
On PostgreSQL row-level security lets each login write only its own agent's rows (store/identity.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, DateTime, Integer, String, bindparam, text

from deskconsole.domain.errors import InvalidInput, NotFound
from deskconsole.domain.presence import VIEWING, Presence, check_state, others, since
from deskconsole.service.base import ServiceBase
from deskconsole.service.records import MAX_SHORT, _db_time, clean_text
from deskconsole.store import identity

# Both dialects take this upsert (SQLite 3.24+, PostgreSQL 9.5+).
_UPSERT = text(
    "INSERT INTO presence (case_id, agent, state, beat) VALUES (:case_id, :agent, :state, :beat) "
    "ON CONFLICT (case_id, agent) DO UPDATE SET state = excluded.state, beat = excluded.beat"
).bindparams(bindparam("beat", type_=DateTime(timezone=True)))
_LEAVE = text("DELETE FROM presence WHERE case_id = :case_id AND agent = :agent")
_AT = text(
    "SELECT case_id, agent, state, beat FROM presence WHERE case_id IN :ids AND beat >= :since"
).bindparams(bindparam("ids", expanding=True), bindparam("since", type_=DateTime(timezone=True))).columns(
    case_id=Integer, agent=String, state=String, beat=DateTime(timezone=True))
_CASE_EXISTS = text('SELECT 1 FROM "case" WHERE id = :case_id')
_AGENT_EXISTS = text("SELECT 1 FROM agent WHERE name = :name")
MAX_IDS = 500  # the queue's page is 100 rows


class PresenceMixin(ServiceBase):
    _presence_agents: set[str] | None = None  # agents whose name was checked once (they are never removed)

    def presence_beat(
        self, case_id: int, *, actor: str | None, state: str = VIEWING, left: int | None = None,
    ) -> list[Presence]:
        """`actor` is at case `case_id`, `state` (viewing, typing); `left`: a case they left (its row
        goes). Gives back who else is at the case now, typing first."""
        state = check_state(state)
        me = self._presence_actor(actor)
        case_id = _case_id(case_id)
        now = self.real_now()
        with self.engine.begin() as conn:
            if conn.execute(_CASE_EXISTS, {"case_id": case_id}).first() is None:
                raise NotFound(f"unknown case {case_id}")
            self._presence_check_agent(conn, me)
            if left is not None and left != case_id:
                conn.execute(_LEAVE, {"case_id": _case_id(left), "agent": me})
            conn.execute(_UPSERT, {"case_id": case_id, "agent": me, "state": state, "beat": _db_time(now)})
            return others(_rows(conn, [case_id], now), me)

    def presence_leave(self, case_id: int, *, actor: str | None) -> None:
        """`actor` left case `case_id`: their row goes at once."""
        me = self._presence_actor(actor)
        with self.engine.begin() as conn:
            conn.execute(_LEAVE, {"case_id": _case_id(case_id), "agent": me})

    def presence_at(self, case_ids: Iterable[int], *, actor: str | None = None) -> dict[int, list[Presence]]:
        """Who is at each of these cases now (those with nobody left out), `actor` left out: one
        query on the presence table's primary key."""
        ids = sorted({_case_id(i) for i in case_ids})
        if len(ids) > MAX_IDS:
            raise InvalidInput(f"presence of at most {MAX_IDS} cases at a time, not {len(ids)}")
        if not ids:
            return {}
        if self._pg and self._who is None:
            self.login_identity()
        now = self.real_now()
        with self._read_engine.connect() as conn:
            rows = _rows(conn, ids, now)
            conn.rollback()
        found: dict[int, list[Presence]] = {}
        for p in others(rows, actor):
            found.setdefault(p.case_id, []).append(p)
        return found

    # ------------------------------------------------------------------ helpers
    def _presence_actor(self, actor: str | None) -> str:
        if self._pg and self._who is None:
            self.login_identity()
        name = identity.acting(self._who, actor)
        if not name:
            raise InvalidInput("who is acting? give --as NAME or set DESKCONSOLE_USER")
        return clean_text(name, "agent name", max_len=MAX_SHORT, required=True)

    def _presence_check_agent(self, conn: Connection, name: str) -> None:
        known = self._presence_agents
        if known is not None and name in known:
            return
        if conn.execute(_AGENT_EXISTS, {"name": name}).first() is None:
            raise NotFound(f"unknown agent {name!r}: add them with 'deskconsole agent add'")
        self._presence_agents = (known or set()) | {name}


def _case_id(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInput(f"case id must be a whole number, not {value!r}")
    if not 0 < value < 2**31:
        raise NotFound(f"unknown case {value}")
    return value


def _rows(conn: Connection, ids: list[int], now: datetime) -> list[Presence]:
    from deskconsole.domain.clock import to_utc

    return [Presence(agent=r.agent, case_id=r.case_id, state=r.state, beat=to_utc(r.beat))
            for r in conn.execute(_AT, {"ids": ids, "since": _db_time(since(now))})]


__all__ = ["PresenceMixin"]
