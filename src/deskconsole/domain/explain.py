"""What the console says when an action does nothing or may be a mistake: plain words from
plain values (the service gathers the values, the console shows the words)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def nothing_to_take(skills: Sequence[str], elsewhere: Mapping[str | None, int]) -> str:
    """Why take-next found nothing: no unassigned open case in the analyst's skills (nor without a
    product area); `elsewhere`, the unassigned open cases of other areas by area."""
    mine = ", ".join(skills) if skills else None
    words = (f"nothing unassigned in {mine} — your skills" if mine
             else "nothing unassigned without a product area — you have no skills to match others")
    others = {area: n for area, n in elsewhere.items() if area and n}
    if others:
        total = sum(others.values())
        areas = ", ".join(f"{area} {n}" for area, n in sorted(others.items(), key=lambda kv: (-kv[1], kv[0]))[:4])
        more = ", …" if len(others) > 4 else ""
        words += f"; {total} unassigned in other areas ({areas}{more})"
    return words


def assignment_warnings(name: str, *, availability: str, skills: Sequence[str], area: str | None) -> list[str]:
    """Why giving a case to analyst `name` may be a mistake: they are away, or lack its skill."""
    warnings = []
    if availability != "available":
        warnings.append(f"{name} is {availability}")
    if area and area not in skills:
        have = ", ".join(skills) if skills else "no skills"
        warnings.append(f"{name} lacks the case's skill {area} (has {have})")
    return warnings


#: The review's checks of an escalation request (LIFECYCLE.md), as the manager reads them.
ASSESSMENT_CHECKS = (
    ("problem_statement_ok", "the problem statement is correct"),
    ("impact_described", "the business impact is described"),
    ("workaround_impractical", "a workaround is impractical (or none exists)"),
)


def unchecked_assessment(review: object) -> list[str]:
    """The review's checks not ticked on an escalation (a view with the three check fields)."""
    return [words for name, words in ASSESSMENT_CHECKS if not getattr(review, name, None)]


__all__ = ["ASSESSMENT_CHECKS", "assignment_warnings", "nothing_to_take", "unchecked_assessment"]
