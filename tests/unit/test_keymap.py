"""The config file's [keys] table: which keys it accepts, and how it refuses a bad one."""

from __future__ import annotations

from pathlib import Path

import pytest

from deskconsole.cli import console_keys
from deskconsole.domain.errors import InvalidInput
from deskconsole.settings import load_settings
from deskconsole.tui.keymap import display, parse_key, read_keys, remap


def settings_with(tmp_path: Path, text: str):
    config = tmp_path / "config.toml"
    config.write_text(text, encoding="utf-8")
    return load_settings(environ={"DESKCONSOLE_CONFIG": str(config)}, keys_reader=console_keys)


def test_the_keys_table_remaps_actions_by_id(tmp_path: Path) -> None:
    s = settings_with(tmp_path, '[keys]\nclose = "X"\nqueue.take_next = "T"\n"case.note" = "ctrl+n,K"\nhelp = "f1"\n')
    assert s.keys == {"case.close": "X", "queue.take": "T", "case.note": "ctrl+n,K", "help": "f1"}
    assert settings_with(tmp_path, 'user = "alice"\n').keys == {}


def test_keys_are_read_as_the_console_names_them() -> None:
    assert [parse_key(k) for k in ("X", "?", "/", "ctrl+x", "F5", "question_mark", "alt+enter")] == [
        "X", "question_mark", "slash", "ctrl+x", "f5", "question_mark", "alt+enter"]
    assert [display(k) for k in ("question_mark", "ctrl+x", "X", "escape", "slash")] == ["?", "^x", "X", "esc", "/"]


@pytest.mark.parametrize(("text", "line", "reason"), [
    ('[keys]\nclsoe = "X"\n', 2, "keys.clsoe: no action has this id (like: "),
    ('user = "a"\n\n[keys]\nqueue.filter = "ctrl+"\n', 4, "keys.queue.filter: 'ctrl+' is no key"),
    ('[keys]\nclose = "hyperdrive+x"\n', 2, "'hyperdrive' is not a modifier"),
    ('[keys]\nclose = "w"\n', 2, "'w' would be both case.start (Start) and case.close (Close) in the case pane"),
    ('[keys]\nhelp = "q"\n', 2, "'q' would be both help (Help) and quit (Quit)"),
    ('[keys]\nclose = 3\n', 2, "keys.close must be a string"),
    ('[keys]\ntake = "T"\n', 2, "keys.take is in several panes: write one of case.take, queue.take"),
    ('[keys]\ntick = "z"\n', 2, "has no key of its own to change"),
    ('keys = "X"\n', None, "[keys] must be a table"),
])
def test_a_bad_keys_table_is_refused_with_the_file_line_and_reason(tmp_path: Path, text, line, reason) -> None:
    with pytest.raises(InvalidInput) as refused:
        settings_with(tmp_path, text)
    message = str(refused.value)
    where = f"config file {tmp_path / 'config.toml'}" + (f" line {line}:" if line else ":")
    assert message.startswith(where), message
    assert reason in message and "\n" not in message


def test_remapped_entries_show_their_new_key() -> None:
    from deskconsole.tui.bindings import CASE

    shown = {e.id: e.display_key() for e in remap(CASE, read_keys({"close": "X", "note": "ctrl+n"}, "f"))}
    assert shown["case.close"] == "X" and shown["case.note"] == "^n" and shown["case.compose"] == "c"


def test_the_cli_refuses_a_bad_keys_table_with_one_error_line(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    config = tmp_path / "config.toml"
    config.write_text('[keys]\nclose = "w"\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKCONSOLE_")}
    env |= {"DESKCONSOLE_CONFIG": str(config), "PYTHONUTF8": "1"}
    run = subprocess.run([sys.executable, "-m", "deskconsole", "--db", f"sqlite:///{tmp_path / 'd.db'}", "--as", "x",
                          "case", "list"], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 1 and run.stdout == ""
    assert run.stderr.startswith(f"error: config file {config} line 2: keys: 'w' would be both") and \
        run.stderr.count("\n") == 1
    assert not (tmp_path / "d.db").exists()  # nothing was created
