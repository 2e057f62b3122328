"""Every assumption deskconsole makes about Textual's private names, checked against the
installed Textual (src/deskconsole/tui/textual_adapter.py lists them in RELIED_ON).

A Textual upgrade that renames, removes or reshapes one of them fails here with the name, what
changed and why the console needs it, instead of as a wrong or slow screen somewhere else. The
behaviour tests check that what the adapter does still has the effect it is there for.
"""

from __future__ import annotations

import importlib
import inspect
from importlib.metadata import version

import pytest
from textual.app import App, ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from deskconsole.tui.textual_adapter import RELIED_ON, FastDataTable, Private, footer_ready, mark_styles_current

TEXTUAL = version("textual")


def owner_of(private: Private) -> object:
    module_name, _, class_name = private.owner.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:  # pragma: no cover - only on a breaking Textual
        pytest.fail(broken(private, f"module {module_name} cannot be imported ({exc})"))
    if not class_name:
        return module
    owner = getattr(module, class_name, None)
    if owner is None:  # pragma: no cover
        pytest.fail(broken(private, f"{module_name} has no {class_name}"))
    return owner


def broken(private: Private, what: str) -> str:
    return (f"Textual {TEXTUAL} broke an assumption of deskconsole's textual_adapter: {private.owner} "
            f"{private.name} ({private.kind}): {what}. deskconsole relies on it because: {private.why}")


class Probe(App):
    """One of everything the adapter reads attributes from, mounted."""

    def compose(self) -> ComposeResult:
        table = DataTable(id="table")
        table.add_column("a", key="a", width=3)
        table.add_row("x", key="r")
        yield table
        yield Footer()


@pytest.mark.parametrize("private", RELIED_ON, ids=lambda p: f"{p.owner.rsplit('.', 1)[-1]}.{p.name}")
async def test_each_private_name_the_console_relies_on_is_there_as_assumed(private: Private) -> None:
    owner = owner_of(private)
    if private.kind in ("class", "function"):
        found = getattr(owner, private.name, None)
        assert found is not None, broken(private, "gone")
        if private.kind == "class":
            assert inspect.isclass(found), broken(private, f"no longer a class ({type(found).__name__})")
        else:
            assert callable(found), broken(private, "no longer callable")
            names = tuple(inspect.signature(found).parameters)
            assert names == private.parameters, broken(private, f"parameters {names}, expected {private.parameters}")
        return
    if private.kind == "method":
        found = inspect.getattr_static(owner, private.name, None)
        found = inspect.unwrap(found) if callable(found) else found  # (lru_cache keeps the function's signature)
        assert inspect.isfunction(found), broken(private, "gone, or no longer a plain method")
        names = tuple(inspect.signature(found).parameters)[1:]
        assert names == private.parameters, broken(private, f"parameters {names}, expected {private.parameters}")
        return
    assert private.kind == "attribute"
    app = Probe()
    async with app.run_test(size=(40, 8)) as pilot:
        await pilot.pause()
        instance = {
            App: app, Screen: app.screen, Footer: app.query_one(Footer), DataTable: app.query_one(DataTable),
        }
        target = instance.get(owner) or app.query_one(DataTable)  # (Widget's: the table has them)
        assert hasattr(target, private.name), broken(private, f"no such attribute on a mounted {type(target).__name__}")


async def test_a_screen_marked_current_is_not_restyled_when_it_first_shows() -> None:
    """mark_styles_current saves a whole CSS refresh at each pane's first showing; without the
    mark Textual still refreshes it (if it stops doing so, the mark is no longer needed)."""

    class Plain(Screen):
        def compose(self) -> ComposeResult:
            yield Static("plain")

    class Marked(Plain):
        def __init__(self) -> None:
            super().__init__()
            mark_styles_current(self)

    class Modes(App):
        MODES = {"start": Plain, "plain": Plain, "marked": Marked}

        def on_mount(self) -> None:
            self.switch_mode("start")

    app = Modes()
    async with app.run_test(size=(40, 8)) as pilot:
        await pilot.pause()
        refreshed: list[str] = []
        refresh_css = app.refresh_css
        app.refresh_css = lambda *a, **k: refreshed.append(app.current_mode) or refresh_css(*a, **k)  # type: ignore[method-assign]
        await app.switch_mode("marked")
        await pilot.pause()
        assert refreshed == [], "a marked screen was restyled as it first showed"
        assert "marked" in str(app.screen.query_one(Static).render()) or app.current_mode == "marked"
        await app.switch_mode("plain")
        await pilot.pause()
        assert refreshed, ("Textual no longer restyles a new screen when it first shows: "
                           "textual_adapter.mark_styles_current can go")
    assert mark_styles_current(Plain()) is None  # made outside a running app: nothing to copy, no error


async def test_the_footer_is_ready_once_it_shows_keys() -> None:
    footer = Footer()
    assert footer_ready(footer) is False
    app = Probe()
    async with app.run_test(size=(40, 8)) as pilot:
        await pilot.pause()
        assert footer_ready(app.query_one(Footer)) is True


class Pair(App):
    def compose(self) -> ComposeResult:
        yield FastDataTable(id="fast", cursor_type="row")
        yield DataTable(id="plain", cursor_type="row")

    def on_mount(self) -> None:
        for table in self.query(DataTable):
            for key, width in (("a", 4), ("b", 6)):
                table.add_column(key.upper(), key=key, width=width)


def shown(table: DataTable) -> list[tuple[str, list[str]]]:
    return [(table.coordinate_to_cell_key((i, 0)).row_key.value, [str(c) for c in table.get_row_at(i)])
            for i in range(table.row_count)]


async def test_rows_changed_in_bulk_are_what_add_row_remove_row_and_sort_leave() -> None:
    """append_rows, remove_rows and order_rows write DataTable's row bookkeeping directly: the
    table must answer every public question as if the rows had been added, removed and sorted
    one by one."""
    app = Pair()
    async with app.run_test(size=(40, 30)) as pilot:
        await pilot.pause()
        fast = app.query_one("#fast", FastDataTable)
        plain = app.query_one("#plain", DataTable)
        rows = [(f"k{n}", [f"a{n}", f"b{n}"]) for n in range(10)]
        fast.append_rows(rows)
        for key, cells in rows:
            plain.add_row(*cells, key=key)
        await pilot.pause()
        assert shown(fast) == shown(plain)
        assert fast.virtual_size == plain.virtual_size
        gone = ["k2", "k5", "k6"]
        fast.remove_rows(gone)
        order = [key for key, _ in reversed(rows) if key not in gone]
        fast.order_rows({key: i for i, key in enumerate(order)})
        for key in gone:
            plain.remove_row(key)
        plain.sort("a", key=lambda a: -int(a[1:]))
        await pilot.pause()
        assert shown(fast) == shown(plain)
        assert [key for key, _ in shown(fast)] == order
        assert fast.row_count == 7 and fast.get_row_index("k9") == 0 and fast.get_row_index("k0") == 6
        fast.move_cursor(row=6)
        fast.update_cell("k0", "b", "changed")
        await pilot.pause()
        assert fast.get_cell("k0", "b") == "changed" and fast.cursor_row == 6
        assert fast.virtual_size.height == 8  # the header and seven rows, none measured again
        with pytest.raises(Exception, match="already exists"):
            fast.append_rows([("k1", ["x", "y"])])


async def test_no_other_module_of_the_console_touches_a_private_name_of_textual() -> None:
    """Only textual_adapter.py imports from Textual's private modules or reads, sets or
    overrides a private name of Textual's classes (the names a mounted app, screen, footer and
    table have, and their classes')."""
    import ast
    from pathlib import Path

    import deskconsole

    app = Probe()
    async with app.run_test(size=(40, 8)) as pilot:
        await pilot.pause()
        objects = [app, app.screen, app.query_one(Footer), app.query_one(DataTable)]
        private = {name for obj in objects for name in [*vars(obj), *dir(type(obj))]
                   if name.startswith("_") and not name.startswith("__")}
    root = Path(deskconsole.__file__).parent / "tui"
    offences = []
    for path in sorted(root.rglob("*.py")):
        if path.name == "textual_adapter.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            where = f"{path.relative_to(root)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("textual"):
                if any(part.startswith("_") for part in node.module.split(".")) or any(
                        alias.name.startswith("_") for alias in node.names):
                    offences.append(f"{where} imports from {node.module}")
            elif isinstance(node, ast.Attribute) and node.attr in private:
                offences.append(f"{where} uses .{node.attr}")
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in private:
                offences.append(f"{where} overrides {node.name}")
    assert offences == [], "private names of Textual outside textual_adapter.py:\n" + "\n".join(offences)
