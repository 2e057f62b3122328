"""Macros: the team's named replies and actions, stored in the database.

`load_macros` replaces the team's set from a macro file (domain/macros.py checks it whole; the
service adds what only the database knows: assignees must be analysts of the desk). Applying a
macro is one transaction made of the single actions (assign, set_priority, add_note, move,
close) run in one batch: every rule of each holds as if typed one by one, and a refusal of any
step refuses the whole macro, nothing changed.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from deskconsole.domain.clock import format_time
from deskconsole.domain.errors import InvalidInput, NotFound
from deskconsole.domain.lifecycle import Role
from deskconsole.domain.macros import FIELDS, MAX_NAME, Macro, MacroFileError, load_toml
from deskconsole.domain.views import CaseView
from deskconsole.service.base import ServiceBase
from deskconsole.service.records import DESK_LEADS, _db_time, clean_text
from deskconsole.store.models import Agent, MacroRow

if TYPE_CHECKING:
    from deskconsole.service.batch import Batch


@dataclass
class LoadedMacros:
    """What `macro load` did: the macros now stored, by name, and which were new, replaced or removed."""

    macros: list[Macro]
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"macros": [m.name for m in self.macros], "added": self.added, "replaced": self.replaced,
                "removed": self.removed}


def _macro(row: MacroRow) -> Macro:
    return Macro(name=row.name, **{key: getattr(row, key) for key in FIELDS})


class MacrosMixin(ServiceBase):
    """Loading, listing and applying macros."""

    if TYPE_CHECKING:  # (the other parts of Service, for the type checker only)
        def batch(self, *, light: bool = True, routing: Any = None,
                  savepoints: bool = True) -> AbstractContextManager[Batch]: ...  # batch.py
        def get_case(self, case_id: int, *, events: bool = True) -> CaseView: ...  # cases.py

    def load_macros(self, text: str, *, actor: str | None) -> LoadedMacros:
        """Replace the team's macros with those of a macro file (managers and supervisors): macros not in
        the file are removed. A bad file is refused whole, with its line and reason."""
        macros = load_toml(text)
        with self._tx() as s:
            agent = self._actor(s, actor, DESK_LEADS, "load macros")
            for macro in macros:
                if macro.assignee is not None:
                    self._check_assignee(s, macro)
            rows = {row.name: row for row in s.exec(select(MacroRow)).all()}
            names = {m.name for m in macros}
            done = LoadedMacros(macros=sorted(macros, key=lambda m: m.name))
            for name, row in sorted(rows.items()):
                if name not in names:
                    s.delete(row)
                    done.removed.append(name)
            now = _db_time(self.now())
            for macro in done.macros:
                known = rows.get(macro.name)
                (done.replaced if known is not None else done.added).append(macro.name)
                row = known if known is not None else MacroRow(name=macro.name, loaded_by=agent.name, loaded_at=now)
                for key in FIELDS:
                    setattr(row, key, getattr(macro, key))
                row.loaded_by, row.loaded_at = agent.name, now
                s.add(row)
            s.flush()
            return done

    @staticmethod
    def _check_assignee(s: Session, macro: Macro) -> None:
        def fail(reason: str) -> MacroFileError:
            return MacroFileError(reason, line=macro.line_of("assignee"), where=f"macros.{macro.name}.assignee")

        target = s.exec(select(Agent).where(Agent.name == macro.assignee)).first()
        if target is None:
            raise fail(f"unknown agent {macro.assignee!r}: add them with 'deskconsole agent add' first")
        if target.role != Role.ANALYST:
            raise fail(f"{target.name} is a {target.role}: cases are assigned to analysts")

    def list_macros(self) -> list[Macro]:
        """The team's macros, by name."""
        with self._read() as s:
            return [_macro(row) for row in s.exec(select(MacroRow).order_by(col(MacroRow.name))).all()]

    def apply_macro(
        self, case_id: int, name: str, *, actor: str | None, expected_version: int | None = None
    ) -> CaseView:
        """Apply a macro to a case as one action: assignee, priority, note, then the reply and the status,
        each through its own action's rules; refused whole when any step is refused."""
        name = clean_text(name, "macro name", max_len=MAX_NAME, required=True)
        with self.batch(light=False, savepoints=False) as batch:
            service = batch.service
            with service._tx() as s:
                row = s.exec(select(MacroRow).where(MacroRow.name == name)).first()
                if row is None:
                    raise NotFound(f"unknown macro {name!r}: 'deskconsole macro list' shows the team's macros")
                macro = _macro(row)
                agent = service._me(s, actor)
                case = service._case(s, case_id)
                service._open_case_or_refuse(case, f"apply macro {name}")
                service._check_version(s, case, expected_version)
                assignee = service._assignee_name(s, case)
                priority = case.priority
                # the values are read before any step changes the case
                reply, note = macro.rendered(self._macro_values(s, service, case, agent))
                # (a closing macro's event keeps the assignee before it: what undoing its close restores)
                closing: dict[str, Any] = {"closes": True, "assignee_before": assignee} if macro.closes else {}
                service._event(s, case, "macro_applied", agent.name, service.now(), macro=macro.name,
                               does=macro.describe(), **closing)
            steps = 0
            if macro.assignee is not None and macro.assignee != assignee:
                service.assign(case_id, macro.assignee, actor=agent.name)
                steps += 1
            if macro.priority is not None and macro.priority != priority:
                service.set_priority(case_id, macro.priority, actor=agent.name)
                steps += 1
            if note is not None and not macro.closes:
                service.add_note(case_id, note, actor=agent.name)
                steps += 1
            if reply is not None and macro.sends_reply_first:
                service.add_note(case_id, reply, actor=agent.name, internal=False)
                steps += 1
            if macro.closes:
                service.close(case_id, reason=note or "", actor=agent.name)
                steps += 1
            elif macro.status is not None:
                service.move(case_id, macro.status, actor=agent.name, sub_status=macro.sub_status,
                             note=reply if macro.asks or macro.resolves else None)
                steps += 1
            if not steps:
                raise InvalidInput(f"macro {macro.name} changes nothing on case {case_id}: it is already "
                                   f"{macro.describe()}")
        return self.get_case(case_id)

    @staticmethod
    def _macro_values(s: Session, service: Any, case: Any, agent: Agent) -> dict[str, str]:
        """The variables' values for a case and the agent applying the macro (customer text as it is)."""
        view = service._case_view(s, case, events=False)
        due = None
        sla = getattr(view, "sla", None)  # (service levels, where this desk has them)
        if isinstance(sla, dict):
            resolution = sla.get("resolution")
            due = resolution.get("due") if isinstance(resolution, dict) else getattr(resolution, "due", None)
        return {
            "customer": case.customer,
            "contact": case.contact or "",
            "case.id": str(case.id),
            "agent": agent.name,
            "sla.resolution.due": (due if isinstance(due, str) else format_time(due)) if due else "",
        }
