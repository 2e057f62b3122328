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


def test_a_word_neither_common_nor_rare_is_asked_over_a_wider_range_not_read_whole(desk, monkeypatch):
    """A word the first cases hold some of, but less than a page: a second, longer range sized from
    what the first found gives the page (the same rows as every match read and sorted), and its
    matches are not all read."""
    for i in range(12):
        desk.open(f"Export stalls {i}" if i % 3 == 0 else f"Login fails {i}", "acme")
        desk.later(minutes=5)
    expected = desk.svc.list_cases(sort="priority", text="export")
    assert [r.title for r in expected] == [f"Export stalls {i}" for i in (0, 3, 6, 9)]
    asked: list[int | None] = []
    plain = window.window_sql

    def spy(**query):
        asked.append(query.get("probe"))
        return plain(**query)

    monkeypatch.setattr(window, "window_sql", spy)
    monkeypatch.setattr(window, "PROBE", 5)  # 2 of the first 5 say "export"; a page is 3
    monkeypatch.setattr(window, "WIDER_AT", 2)
    page = desk.svc.list_cases(sort="priority", text="export", limit=3)
    assert [r.id for r in page] == [r.id for r in expected[:3]]
    assert asked == [5, 12]  # 5 * 3 / 2, half as much again: 12 cases, and no read of every match
    asked.clear()
    monkeypatch.setattr(window, "WIDEST", 11)  # a range that long is not asked: the matches are read
    page = desk.svc.list_cases(sort="priority", text="export", limit=3)
    assert [r.id for r in page] == [r.id for r in expected[:3]]
    assert asked == [5, None]
