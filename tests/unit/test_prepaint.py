"""The terminal pre-paint's frame: the queue drawn with plain ANSI escapes before the console loads."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta

from rich.cells import cell_len
from rich.color import ColorSystem

from deskconsole.domain.views import CaseRow
from deskconsole.tui import prepaint
from deskconsole.tui.prepaint import applies, build_frame, footer_keys, frame_lines
from deskconsole.tui.queuespec import PAGE
from deskconsole.tui.quickstart import QuickStart

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
HOSTILE = ("[bold red]x[/] \x1b[31mred\x1b[0m \x1b]0;title\x07 \x1b[2J\x1b[1;1H\r\b\x7f\x9b "
           "\u200b\u202eevil\u202c\u2028end")
RAW = ("\x07", "\r", "\b", "\x7f", "\x9b", "\u202e", "\u202c", "\u2028")
# What the frame itself writes: colours (SGR), a place per line (CUP), the synchronized update around it.
OURS = re.compile(r"\x1b\[[0-9;]*[mH]|\x1b\[\?2026[hl]")


def row(case_id: int, title: str, customer: str = "Acme", **extra) -> CaseRow:
    fields = dict(id=case_id, priority="P3", status="new", sub_status=None, title=title, customer=customer,
                  assignee="alice", product_area="billing", created_at=NOW - timedelta(hours=3),
                  updated_at=NOW, version=1)
    fields.update(extra)
    return CaseRow(**fields)


def screen_lines(frame: str) -> list[str]:
    """The text of each line as the terminal shows it (each line starts with its CUP)."""
    return [OURS.sub("", part) for part in re.split(r"\x1b\[\d+;1H", frame)[1:]]


def test_hostile_text_reaches_the_terminal_only_as_visible_escapes():
    rows = [
        row(1, HOSTILE, HOSTILE, assignee=HOSTILE, attention="chase \x1b[5m"),
        row(2, "請求書の合計が一致しません 東京本社", "株式会社テスト🎉"),
        row(3, "Emoji 🎉🎉🎉 title with wide glyphs 🎉🎉", "Ünïcødé GmbH", priority="P1",
            escalation="approved", next_timer="status_update", next_timer_due=NOW - timedelta(minutes=5)),
    ]
    for system in (ColorSystem.TRUECOLOR, ColorSystem.EIGHT_BIT, ColorSystem.STANDARD):
        frame = build_frame(width=120, height=40, user="alice\x1b[2J", role="analyst", rows=rows, now=NOW,
                            tz=UTC, system=system)
        left = OURS.sub("", frame)
        assert "\x1b" not in left, repr(left[max(0, left.find("\x1b") - 40):left.find("\x1b") + 40])
        assert not [ch for ch in RAW if ch in left]
        lines = screen_lines(frame)
        assert len(lines) == 40
        assert all(cell_len(line) == 120 for line in lines), [cell_len(line) for line in lines]
        shown = "\n".join(lines)
        assert "⚑ [bold red]x[/] \\x1b[3…  " in shown  # the title, literally, cut to its 24 cells with a …
        assert "alice\\x1b[2J" in lines[0]
        assert "請求書の合計が一致しま … " in lines[4]  # 11 wide characters and the …: 24 cells
        assert "株式会社テス… " in lines[4]  # 13 cells: six wide characters and the …
        assert "Emoji 🎉🎉🎉 title with…  Ünïcødé" in lines[5]
        assert "▲▲ ESC   update overdue 5…  " in lines[5]  # cut at the column's 17 cells


def test_the_frame_is_the_queue_screen_at_that_size():
    rows = [row(i, f"Case number {i}") for i in range(1, PAGE + 1)]
    lines = frame_lines(width=120, height=40, user="sue", role="supervisor", view="all", sort="oldest", rows=rows,
                        now=NOW, tz=UTC)
    text = ["".join(t for t, _ in line) for line in lines]
    assert text[0].startswith(" deskconsole   1 Queue ") and "sue · supervisor  2026-11-25 09:00:00 UTC" in text[0]
    # the view tabs, not counted yet (the console counts them once its service has loaded)
    assert text[1].rstrip() == " Open · Unassigned · Breached · Escalated · All"
    assert text[2].startswith(" Case    P   SLA    Status               Title                     Customer       ")
    assert "Age" not in text[2]  # (folded away at 120 columns)
    assert text[3].startswith(" 1       P3         new                  Case number 1 ")
    assert text[37].startswith(" 35      P3 ")  # 35 rows fit: no horizontal scroll bar at any width
    assert text[38].startswith(" view Open  sort oldest  page 1  100 cases shown  ] next page")
    assert text[39].startswith(" tab View  / Filter  s Sort  ] Next page  [ Prev page  ? Help  q Quit ")
    assert text[39].endswith("▏^p palette ")
    cursor = {how.bg for _, how in lines[3]}
    assert cursor - {prepaint.SCROLL_BACK, prepaint.SURFACE} == {prepaint.CURSOR}  # the first row is the cursor's
    assert prepaint.CURSOR not in {how.bg for _, how in lines[4]}
    counted = frame_lines(width=120, height=40, user="sue", role="supervisor", view="open", sort="oldest", rows=rows,
                          now=NOW, tz=UTC, counts={"Open": 1_234, "Unassigned": 3, "Breached": 0, "All": 10_000})
    tabs = "".join(t for t, _ in counted[1]).rstrip()
    assert tabs == " Open 1,234 · Unassigned 3 · Breached 0 · Escalated … · All 10k+"
    analyst = frame_lines(width=90, height=10, user="alice", role="analyst", view="mine", sort="oldest",
                          rows=rows[:2], now=NOW, tz=UTC)
    footer = "".join(t for t, _ in analyst[-1])
    assert " t Take next " in footer and len(analyst) == 10
    assert "  2 cases shown" in "".join(t for t, _ in analyst[-2])


def test_footer_keys_are_the_queue_bindings_shown():
    from deskconsole.tui.bindings import GLOBAL, QUEUE

    shown = [(e.id, e.display_key(), e.label, e.roles, e.rank) for e in QUEUE + GLOBAL
             if e.show and e.key and e.key != "enter"]
    assert footer_keys() == shown


def test_the_footer_keys_follow_the_config_files_keys():
    keys = {key_id: shown for key_id, shown, *_ in footer_keys({"queue.take": "T", "queue.filter": "ctrl+f"})}
    assert keys["queue.take"] == "T" and keys["queue.filter"] == "^f"
    rows = []
    line = "".join(t for t, _ in frame_lines(width=120, height=10, user="alice", role="analyst", view="mine",
                                            sort="oldest", rows=rows, now=NOW, tz=UTC,
                                            keymap={"queue.take": "T"})[-1])
    assert " T Take next " in line and " t Take next " not in line


def test_applies_only_to_a_real_terminal():
    class Tty:
        def __init__(self, tty: bool) -> None:
            self.tty = tty

        def isatty(self) -> bool:
            return self.tty

    yes, no = Tty(True), Tty(False)
    assert applies({"TERM": "xterm-256color"}, yes, yes)
    assert not applies({"TERM": "xterm-256color"}, no, yes)
    assert not applies({"TERM": "xterm-256color"}, yes, no)
    assert not applies({"TERM": "dumb"}, yes, yes)
    assert not applies({}, yes, yes)
    assert not applies({"TERM": "xterm", "DESKCONSOLE_NO_PREPAINT": "1"}, yes, yes)
    assert not applies({"TERM": "xterm", "TEXTUAL_DRIVER": "x:y"}, yes, yes)


def test_the_handed_over_window_answers_the_same_question_once(tmp_path):
    path = tmp_path / "quick.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE agent (id INTEGER, name TEXT, role TEXT)")
    con.close()
    quick = QuickStart(sqlite3.connect(path), "qmark", (1, "alice", "analyst"), lambda: None)
    handed = [row(1, "first")]
    query = dict(view="mine", actor="alice", text=None, sort="oldest", after=None, limit=PAGE)
    quick.handover(query, handed)
    assert quick.list_cases(**query) == handed
    quick.handover(query, handed)
    try:
        quick.list_cases(**dict(query, view="all"))  # another question: read (no case table here), not handed
    except sqlite3.OperationalError:
        pass
    else:
        raise AssertionError("another window was answered with the handed-over rows")
    try:
        quick.list_cases(**query)  # handed over once only
    except sqlite3.OperationalError:
        pass
    else:
        raise AssertionError("the handed-over rows answered twice")
    quick.close()
