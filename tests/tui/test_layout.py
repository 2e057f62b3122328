"""Any terminal size: what the queue, the header and the footer keep as the terminal narrows, and
the config file's [keys] followed by the bindings, the footer, the help and the palette."""

from __future__ import annotations

from itertools import pairwise

from tuidesk import build, go, help_text, screen_text, settle

from deskconsole.tui.queuespec import columns_for

PANES = ("1", "2", "3", "4", "5", "6", "7", "8")


def table_columns(app) -> list[str]:
    return [str(column.key.value) for column in app.screen.table.ordered_columns]




# ------------------------------------------------------------------ sizes
async def test_at_80_columns_the_queue_keeps_what_matters_and_re_lays_out_live(app_as):
    app = app_as("sam")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert table_columns(app) == ["id", "priority", "status", "title", "next"]
        lines = screen_text(app).splitlines()
        assert "sam · supervisor" in lines[0] and "1 Queue" in lines[0]  # who, and the pane
        assert lines[1].startswith(" Open 8 · ")  # the view tabs
        assert lines[2].split() == ["Case", "P", "Status", "Title", "Next", "timer"]
        assert "? Help" in lines[-1] and "/ Filter" in lines[-1] and "t Take next" not in lines[-1]
        assert "pending/development" in screen_text(app) or "pending/customer" in screen_text(app)
        assert all(len(line) <= 80 for line in lines)

        await pilot.resize_terminal(200, 60)  # the same console, wider: every column, the title takes the room
        await settle(pilot)
        assert table_columns(app) == [key for key, _, _ in columns_for(200)]
        assert {"sla", "customer", "assignee", "age", "escalation"} <= set(table_columns(app))
        widths = {str(c.key.value): c.width for c in app.screen.table.ordered_columns}
        assert widths["title"] >= 90
        assert "2026-11-25 09:00:00 UTC" in screen_text(app).splitlines()[0]

        await pilot.resize_terminal(100, 30)
        await settle(pilot)
        assert table_columns(app) == ["id", "priority", "sla", "status", "title", "customer", "next"]


def test_columns_fold_in_order_as_the_width_shrinks():
    seen = [tuple(key for key, _, _ in columns_for(width)) for width in range(200, 59, -1)]
    folded = []
    for before, after in pairwise(seen):
        folded += [key for key in before if key not in after]
        assert set(after) <= set(before)  # narrower never brings a column back
    assert folded == ["age", "assignee", "escalation", "customer", "sla"]
    for width in (60, 80, 120, 200):
        kept = [key for key, _, _ in columns_for(width)]
        assert {"id", "priority", "status", "title", "next"} <= set(kept)
        assert sum(w + 2 for _, _, w in columns_for(width)) + 1 <= max(width, 75)  # no horizontal scrolling


async def test_every_pane_at_80_by_24_keeps_its_header_and_help_key(app_as, ids):
    app = app_as("maria")  # a manager sees every pane
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_case(ids["vat"])
        await settle(pilot)
        for key, title in zip(PANES, ("1 Queue", "2 Case", "3 Escalations", "4 Countdowns", "5 Surveys",
                                      "6 Outbox", "7 Parked", "8 Insight"), strict=True):
            await pilot.press(key)
            await settle(pilot)
            lines = screen_text(app).splitlines()
            assert len(lines) == 24
            assert title in lines[0] and "maria · manager" in lines[0], lines[0]
            assert "? Help" in lines[-1], (title, lines[-1])
            assert "▏^p palette" in lines[-1]


async def test_the_case_pane_footer_keeps_its_main_keys_at_80(app_as, ids):
    app = app_as("alice")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_case(ids["vpn"])
        await settle(pilot)
        footer = screen_text(app).splitlines()[-1]
        for shown in ("c Reply", "n Note", "p Pending", "a Resolve", "x Close", "? Help"):
            assert shown in footer, footer
        assert "…" not in footer and "v View" not in footer  # whole keys only; the least used went
        await pilot.resize_terminal(200, 60)
        await settle(pilot)
        assert "v View" in screen_text(app).splitlines()[-1]


# ------------------------------------------------------------------ snapshots
def test_queue_80x24(snap_compare, app_as, ids):
    assert snap_compare(build(app_as, ids, "sam"), terminal_size=(80, 24), run_before=go())


def test_queue_200x60(snap_compare, app_as, ids):
    assert snap_compare(build(app_as, ids, "sam"), terminal_size=(200, 60), run_before=go())


def test_case_80x24(snap_compare, app_as, ids):
    assert snap_compare(build(app_as, ids, "alice"), terminal_size=(80, 24), run_before=go(case="vat"))


def test_case_200x60(snap_compare, app_as, ids):
    assert snap_compare(build(app_as, ids, "alice"), terminal_size=(200, 60), run_before=go(case="vat"))


def test_escalations_80x24(snap_compare, app_as, ids):
    assert snap_compare(build(app_as, ids, "maria"), terminal_size=(80, 24), run_before=go("3"))


# ------------------------------------------------------------------ keys you can change
async def test_a_remapped_key_works_and_shows_in_help_footer_and_palette(service, clock, tmp_path, ids):
    from datetime import UTC

    from deskconsole.tui.app import make_app
    from deskconsole.tui.commands import DeskCommands
    from deskconsole.tui.drafts import Drafts
    from deskconsole.tui.keymap import read_keys

    keymap = read_keys({"close": "X", "queue": {"take_next": "T"}, "help": "f1"}, "test")
    app = make_app(service, "alice", clock=clock, ticker=False, tz=UTC, drafts=Drafts(tmp_path / "d", "t"),
                   keymap=keymap)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        footer = screen_text(app).splitlines()[-1]
        assert "T Take next" in footer and "t Take next" not in footer and "f1 Help" in footer
        await pilot.press("f1")
        await settle(pilot)
        keys = [line.split() for line in help_text(app).splitlines()]
        assert ["T", "Take", "next", "—"] in [k[:4] for k in keys] and ["f1", "Help", "—"] in [k[:3] for k in keys]
        assert ["t", "Take", "next", "—"] not in [k[:4] for k in keys]
        await pilot.press("escape")
        await pilot.press("t")  # the old key does nothing now
        await settle(pilot)
        assert app.current_mode == "queue"

        app.open_case(ids["vpn"])
        await settle(pilot)
        assert "X Close" in screen_text(app).splitlines()[-1]
        provider = DeskCommands(app.screen)
        titles = [provider._title(entry) for entry in provider._offered()]
        assert "Close (X)" in titles and "Close (x)" not in titles
        await pilot.press("x")  # not close any more
        await settle(pilot)
        assert app.screen.__class__.__name__ == "CaseScreen"
        await pilot.press("X")
        await settle(pilot)
        assert app.screen.__class__.__name__ == "FormScreen" and "Close" in screen_text(app)


async def test_at_80_by_24_a_notice_covers_few_rows_and_cut_text_ends_in_an_ellipsis(app_as):
    """A notice at 80x24 (take next's explanation, the longest the queue gives) keeps no blank lines
    inside and covers at most 4 rows, whole, above the footer; the surveys' comments cut by their
    column end in … (a reader sees there is more; the outbox's and the other lists' snapshots show theirs)."""
    app = app_as("alice")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        app.notify("Nothing unassigned in billing, network — your skills; 2 unassigned in other areas "
                   "(reports 1, storage 1).", title="Take next: nothing to take", markup=False, timeout=30)
        await settle(pilot)
        await pilot.pause(0.1)  # (Textual shows notices on its next refresh)
        [toast] = [w for w in app.screen.walk_children() if type(w).__name__ == "Toast"]
        assert toast.region.height <= 4
        text = screen_text(app)
        assert "Take next: nothing to take" in text and "storage 1)." in text  # (whole, above the footer)
        await pilot.press("5")
        await settle(pilot)
        lines = screen_text(app).splitlines()
        assert any("Took a week to …" in line for line in lines), "\n".join(lines)
