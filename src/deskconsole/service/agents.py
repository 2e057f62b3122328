"""Agents: adding them, listing them, their availability.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func
from sqlmodel import Session, col, select

from deskconsole.domain.errors import InvalidInput, PermissionDenied
from deskconsole.domain.lifecycle import Availability, Role, Status, parse_enum
from deskconsole.domain.views import AgentView
from deskconsole.service.base import ServiceBase
from deskconsole.service.records import DESK_LEADS, NAME_RE, _a, _db_time, _pk, clean_text
from deskconsole.store import identity
from deskconsole.store.models import Agent, Case


class AgentsMixin(ServiceBase):
    """Agents: adding them, listing them, their availability."""

    def add_agent(
        self,
        name: str,
        role: str,
        *,
        actor: str | None,
        skills: Sequence[str] = (),
        manager: str | None = None,
        email: str | None = None,
        login: str | None = None,
    ) -> AgentView:
        """Add a person; `login` links them to a PostgreSQL login (the administrator only; refused
        on SQLite) and grants it what the role needs (store/identity.py).

        With a `login`, an agent of that name who exists already (added without one) is linked to
        it instead: the role given must be theirs, and they must have no other login; nothing else
        about them changes (giving skills, a manager or an e-mail address then is refused)."""
        role_value = parse_enum(Role, role, "role")
        if login is not None and not self._pg:
            raise InvalidInput(identity.NO_LOGINS_ON_SQLITE)
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise InvalidInput(f"agent name {name!r}: use letters, digits, '.', '_' or '-' (at most 64)")
        skill_list = sorted({sk.strip().lower() for sk in skills if sk.strip()})
        for skill in skill_list:
            clean_text(skill, "skill", max_len=64)
        clean_text(",".join(skill_list), "skills (all together)", max_len=512)  # the column's size
        with self._tx() as s:
            any_agent = s.exec(select(Agent.id).limit(1)).first()
            if any_agent is not None:
                self._actor(s, actor, DESK_LEADS, "add agents")
            existing = s.exec(select(Agent).where(Agent.name == name)).first()
            if existing is not None and login is not None:
                self._link(s, existing, role_value, login, changes=bool(skill_list or manager or email))
                return self._agent_view(s, existing, 0)
            if existing is not None:
                raise InvalidInput(f"agent {name!r} already exists")
            manager_id = None
            if manager:
                boss = self._agent(s, manager)
                if boss.role != Role.MANAGER:
                    raise InvalidInput(f"{manager} is {_a(boss.role)}, not a manager")
                manager_id = boss.id
            if login is not None:
                identity.link(s.connection(), self._who, login, role_value)
            agent = Agent(
                name=name,
                role=role_value,
                skills=",".join(skill_list),
                manager_id=manager_id,
                email=clean_text(email, "email", max_len=320),
                created_at=_db_time(self.now()),
                login=login,
            )
            s.add(agent)
            s.flush()
            return self._agent_view(s, agent, 0)

    def _link(self, s: Session, agent: Agent, role: str, login: str, *, changes: bool) -> None:
        """Link an existing agent to a PostgreSQL login (add_agent with --login on an agent added
        without one)."""
        if agent.role != role:
            raise InvalidInput(f"agent {agent.name!r} exists and is {_a(agent.role)}, not {_a(role)}: "
                               f"linking a login keeps the agent's role")
        if agent.login == login:
            return  # linked already: nothing to do
        if agent.login is not None:
            raise InvalidInput(f"agent {agent.name!r} is linked to the login {agent.login!r} already")
        if changes:
            raise InvalidInput(f"agent {agent.name!r} exists: linking a login changes nothing else about them "
                               "(leave out --skills, --manager and --email)")
        identity.link(s.connection(), self._who, login, role)
        agent.login = login
        s.add(agent)
        s.flush()

    def _agent_view(self, s: Session, agent: Agent, open_cases: int) -> AgentView:
        lead = s.get(Agent, agent.manager_id) if agent.manager_id else None
        manager = lead.name if lead is not None else None
        return AgentView(
            id=_pk(agent.id),
            name=agent.name,
            role=agent.role,
            skills=[sk for sk in agent.skills.split(",") if sk],
            manager=manager,
            availability=agent.availability,
            open_cases=open_cases,
        )

    def list_agents(self) -> list[AgentView]:
        with self._read() as s:
            counts = dict(
                s.exec(
                    select(Case.assignee_id, func.count())
                    .where(Case.status != Status.CLOSED, col(Case.assignee_id).is_not(None))
                    .group_by(col(Case.assignee_id))
                ).all()
            )
            agents = s.exec(select(Agent).order_by(Agent.name)).all()
            return [self._agent_view(s, a, counts.get(a.id, 0)) for a in agents]

    def get_agent(self, name: str) -> AgentView:
        with self._read() as s:
            agent = self._agent(s, name)
            return self._agent_view(s, agent, 0)

    def has_agents(self) -> bool:
        with self._read() as s:
            return s.exec(select(Agent.id).limit(1)).first() is not None

    def set_availability(self, name: str, availability: str, *, actor: str | None) -> AgentView:
        value = parse_enum(Availability, availability, "availability")
        with self._tx() as s:
            who = self._me(s, actor)
            agent = self._agent(s, name)
            if who.id != agent.id and who.role not in DESK_LEADS:
                raise PermissionDenied(f"{who.name} is {_a(who.role)}: only their own availability may be changed")
            agent.availability = value
            return self._agent_view(s, agent, 0)
