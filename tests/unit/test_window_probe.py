"""PostgreSQL asks a filter word's window among the first PROBE cases in order first
(store/window.py probes): the rows are the same as the matches read first, in every order, page
after page, whether the word fills its page there or not."""

from __future__ import annotations

import pytest

import deskconsole.store.window as window


@pytest.mark.parametrize("sort", ["oldest", "newest", "priority", "updated"])
def test_the_first_cases_asked_first_give_the_same_pages(desk, monkeypatch, sort):
    for i in range(12):
        desk.open(f"Login fails {i}" if i % 3 else f"Export stalls {i}", "initech" if i % 2 else "acme",
                  severity=["low", "high", "normal", "production_down"][i % 4])
        desk.later(minutes=5)
    expected = {text: desk.svc.list_cases(sort=sort, text=text) for text in ("login", "export", "acme", "zzzq")}
    assert [len(rows) for rows in expected.values()] == [8, 4, 6, 0]
    monkeypatch.setattr(window, "PROBE", 5)  # "login" fills a page of 2 among the first 5, "export" not
    for text, rows in expected.items():
        for view in ("all", "open"):
            seen, after = [], None
            while page := desk.svc.list_cases(sort=sort, text=text, limit=2, after=after, view=view):
                seen += page
                after = page[-1].id
            assert [r.id for r in seen] == [r.id for r in rows], (text, view)
