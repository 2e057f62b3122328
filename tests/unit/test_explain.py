"""Take next explains itself, and the words of the warnings before a questionable decision
(domain/explain.py, service/routing.py nothing_to_take), on both databases."""

from __future__ import annotations

from deskconsole.domain.explain import assignment_warnings, nothing_to_take


def test_take_next_says_which_skills_it_looked_in_and_what_waits_elsewhere(desk) -> None:
    svc = desk.svc
    desk.open("Report export hangs", product_area="reports")
    desk.open("Dashboard empty", product_area="reports")
    desk.open("Storage full", product_area="storage")
    assert svc.take_next(actor="alice") is None
    assert svc.nothing_to_take(actor="alice") == (
        "nothing unassigned in billing, login — your skills; 3 unassigned in other areas (reports 2, storage 1)")
    svc.assign(desk.open("Storage again", product_area="storage").id, "bob", actor="mona")  # assigned: not counted
    assert svc.nothing_to_take(actor="bob").endswith("(reports 2, storage 1)")


def test_the_words() -> None:
    assert nothing_to_take([], {}) == "nothing unassigned without a product area — you have no skills to match others"
    assert nothing_to_take(["billing"], {None: 3, "a": 1, "b": 1, "c": 1, "d": 1, "e": 2}) == (
        "nothing unassigned in billing — your skills; 6 unassigned in other areas (e 2, a 1, b 1, c 1, …)")
    assert assignment_warnings("bob", availability="away", skills=["billing"], area="mobile") == [
        "bob is away", "bob lacks the case's skill mobile (has billing)"]
    assert assignment_warnings("bob", availability="available", skills=["billing"], area="billing") == []
    assert assignment_warnings("bob", availability="available", skills=[], area=None) == []
