"""Decisions that ask once more before they are made (domain/explain.py gives the words):

- reassigning a case to an analyst who is away, or who lacks the case's skill;
- approving an escalation whose review left a check unticked; and the escalation engineer is
  chosen from a list (the customer's primary contact), never taken to be the approving manager.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

from deskconsole.domain.errors import InvalidInput
from deskconsole.domain.explain import assignment_warnings, unchecked_assessment
from deskconsole.domain.lifecycle import Role
from deskconsole.tui import format as fmt
from deskconsole.tui.text import cell
from deskconsole.tui.widgets.form import ConfirmScreen, Field, FormScreen

CHOOSE_ENGINEER = "choose the escalation engineer: the customer's primary contact from now on"


def reassign(pane: Any) -> None:
    """The case pane's reassign: pick the analyst; a warning to confirm when they are away or lack
    the case's skill; then the assignment (the pane's `direct`: a changed case is reloaded)."""
    case = pane.case
    if case is None:
        return
    cid, area = case.id, case.product_area

    def agents_loaded(agents: list[Any]) -> None:
        analysts = {a.name: a for a in agents if a.role == Role.ANALYST}
        options = [("team queue (unassigned)", "")]
        options += [(f"{a.name} ({a.open_cases} open, {', '.join(a.skills) or 'no skills'}, {a.availability})"
                     + ("" if assignment_fits(a, area) else "  ⚠"), a.name) for a in analysts.values()]
        context = Text.assemble((f"Case {cid} ", "bold"), cell(case.title, limit=70), "  ",
                                fmt.status_text(case.status, case.sub_status),
                                ("  area ", "dim"), cell(area or "—"))

        def chosen(vals: dict[str, Any] | None) -> None:
            if vals is None:
                return
            name = vals["assignee"] or None

            def go(yes: bool | None = True) -> None:
                if yes:
                    pane.direct(lambda v: pane.service.assign(cid, name, actor=pane.me, expected_version=v),
                                f"Assigned to {name}" if name else "Back in the team queue")

            agent = analysts.get(name or "")
            warnings = [] if agent is None else assignment_warnings(
                agent.name, availability=agent.availability, skills=agent.skills, area=area)
            if not warnings:
                go()
                return
            question = Text.assemble(("Give case ", "bold"), (str(cid), "bold"), (f" to {name}?", "bold"), "\n\n")
            for warning in warnings:
                question.append("⚠ ", "bold yellow")
                question.append(warning + "\n", "yellow")
            question.append("\nAssign anyway?")
            pane.app.push_screen(ConfirmScreen(question), go)

        pane.app.push_screen(FormScreen("Reassign", [Field("assignee", "Give the case to", "select", options)],
                                        context=context), chosen)

    pane.call(pane.service.list_agents, then=agents_loaded, group="agents")


def assignment_fits(agent: Any, area: str | None) -> bool:
    return not assignment_warnings(agent.name, availability=agent.availability, skills=agent.skills, area=area)


def approve(pane: Any, esc: Any) -> None:
    """The escalation pane's approve: once more when the review left checks unticked; then the
    form, where the escalation engineer must be chosen."""
    unchecked = unchecked_assessment(esc)

    def form(yes: bool | None = True) -> None:
        if not yes:
            return
        pane.call(pane.service.list_agents, then=lambda agents: approval_form(pane, esc, agents), group="agents")

    if not unchecked:
        form()
        return
    question = Text.assemble(("Approve the escalation of case ", "bold"), (str(esc.case), "bold"), ("?", "bold"),
                             "\n\nThe review left unticked:\n")
    for words in unchecked:
        question.append("  ☐ ", "bold yellow")
        question.append(words + "\n", "yellow")
    question.append("\nApprove anyway? (n, then r, records the review first)")
    pane.app.push_screen(ConfirmScreen(question), form)


def approval_form(pane: Any, esc: Any, agents: list[Any]) -> None:
    from deskconsole.tui.screens.escalations import COMM_MODES

    people = [(f"{a.name} ({a.role}{', ' + ', '.join(a.skills) if a.skills else ''}, {a.availability})", a.name)
              for a in agents if a.role in (Role.ANALYST, Role.MANAGER)]
    fields = [
        Field("engineer", "Escalation engineer (the customer's primary contact)", "select", people,
              placeholder="choose the engineer…"),
        Field("comm_mode", "Communication", "select", COMM_MODES, default="email"),
        Field("comm_frequency", "How often", "text", default="daily"),
        Field("comm_attendees", "Who attends", "text", placeholder="customer contacts, engineer, manager"),
        Field("reason", "Note (optional)", "text"),
    ]

    def submit(vals: dict[str, Any]) -> Any:
        if not vals["engineer"]:
            raise InvalidInput(CHOOSE_ENGINEER)  # (the form opens again, with what was typed)
        return pane.service.decide_escalation(
            esc.case, "approve", actor=pane.me, reason=vals["reason"] or None,
            engineer=vals["engineer"], comm_mode=vals["comm_mode"] or "email",
            comm_frequency=vals["comm_frequency"] or "daily", comm_attendees=vals["comm_attendees"] or None,
        )

    pane.form(esc, "Approve the escalation", fields, submit, "Escalation approved")


__all__ = ["CHOOSE_ENGINEER", "approve", "reassign"]
