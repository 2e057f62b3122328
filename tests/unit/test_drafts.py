"""The composer's drafts: one file per desk, person and case, written whole or not at all."""

from __future__ import annotations

import os

import pytest

from deskconsole.tui.drafts import NOTE, REPLY, Drafts, default_root, desk_key


def test_a_draft_is_kept_per_desk_person_and_case(tmp_path):
    one, other = Drafts(tmp_path, desk_key("sqlite:///a.db")), Drafts(tmp_path, desk_key("sqlite:///b.db"))
    one.save("alice", 12, "Dear customer,\n\nthe fix is ready.", NOTE)
    assert one.load("alice", 12).text == "Dear customer,\n\nthe fix is ready." and one.load("alice", 12).mode == NOTE
    assert one.load("bob", 12) is None and one.load("alice", 13) is None
    assert other.load("alice", 12) is None  # case 12 of another desk
    one.save("../evil", 12, "x", REPLY)  # a name is a file name, never a path
    assert one.path("../evil", 12).parent.parent == tmp_path / one.desk
    one.save("alice", 12, "  ", REPLY)  # nothing left to keep: gone
    assert one.load("alice", 12) is None


def test_a_failed_write_leaves_the_old_draft(tmp_path, monkeypatch):
    drafts = Drafts(tmp_path, "desk")
    drafts.save("alice", 1, "first version", REPLY)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        drafts.save("alice", 1, "second version", REPLY)
    assert drafts.load("alice", 1).text == "first version"
    assert [p.name for p in drafts.path("alice", 1).parent.iterdir()] == ["1.json"]  # no temporary file left


def test_an_unreadable_draft_is_no_draft(tmp_path):
    drafts = Drafts(tmp_path, "desk")
    path = drafts.path("alice", 1)
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    assert drafts.load("alice", 1) is None
    assert default_root({"DESKCONSOLE_DRAFTS_DIR": str(tmp_path / "here")}) == tmp_path / "here"
