"""Keys you can change: the config file's `[keys]` table remaps an action by its id.

    [keys]
    close = "X"                # an action's id without its pane, when only one pane has it
    queue.take = "T"           # or with it (tui/bindings.py lists the ids; `?` shows the keys)
    "case.compose" = "c,r"     # several keys: a comma between them

The console's bindings follow (Textual's keymap, by binding id), and so do `?` help, the
footer, the command palette and the terminal pre-paint. A bad table is refused before the
console opens: an unknown id, a key that cannot be typed, a key used twice in one pane.

Plain Python (read by settings.py before Textual is imported).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import replace
from difflib import get_close_matches
from typing import Any

from deskconsole.domain.errors import InvalidInput
from deskconsole.tui.bindings import (
    COMPOSER,
    CONFIRM,
    FORM,
    HELP,
    MACRO_PICKER,
    MESSAGE,
    PICKER,
    KeyAction,
)

MODIFIERS = ("ctrl", "alt", "shift", "meta", "super", "hyper")
NAMED = {
    "enter", "escape", "tab", "space", "backspace", "delete", "insert", "home", "end", "pageup", "pagedown",
    "up", "down", "left", "right",
    *(f"f{n}" for n in range(1, 25)),
}
# Textual's names for some characters (its keys module), and how a few keys are shown
CHAR_NAMES = {"solidus": "slash", "reverse_solidus": "backslash", "commercial_at": "at",
              "hyphen_minus": "minus", "plus_sign": "plus", "low_line": "underscore"}
NAME_CHARS = {name: ch for ch, name in (("/", "slash"), ("\\", "backslash"), ("@", "at"), ("-", "minus"),
                                        ("+", "plus"), ("_", "underscore"))}
SHOWN = {"escape": "esc", "enter": "enter", "tab": "tab", "space": "space", "up": "↑", "down": "↓",
         "left": "←", "right": "→", "backspace": "⌫", "delete": "del", "pageup": "pgup", "pagedown": "pgdn"}

Keymap = dict[str, str]


def _char_name(ch: str) -> str:
    """A character as Textual names its key: `/` is `slash`, `?` is `question_mark`, `X` is `X`."""
    if ch.isalnum():
        return ch
    name = unicodedata.name(ch, "").lower().replace("-", "_").replace(" ", "_")
    return CHAR_NAMES.get(name, name) or ch


def _name_char(name: str) -> str | None:
    """The character a key name stands for (`question_mark` → `?`), None for other names."""
    if name in NAME_CHARS:
        return NAME_CHARS[name]
    try:
        return unicodedata.lookup(name.replace("_", " ").upper())
    except KeyError:
        return None


def parse_key(text: str) -> str:
    """One key as written in the config file (`X`, `?`, `ctrl+x`, `f5`, `question_mark`), in
    Textual's form; ValueError says why it is no key."""
    raw = text.strip()
    if not raw:
        raise ValueError("an empty key")
    if len(raw) == 1:
        if not raw.isprintable() or raw.isspace():
            raise ValueError(f"{text!r} cannot be typed (write space, tab, enter, ...)")
        return _char_name(raw)
    *mods, last = raw.split("+") if not raw.endswith("++") else [*raw[:-2].split("+"), "+"]
    for mod in mods:
        if mod.lower() not in MODIFIERS:
            raise ValueError(f"{text!r}: {mod!r} is not a modifier (one of: {', '.join(MODIFIERS)})")
    if len(last) == 1:
        if not last.isprintable() or last.isspace():
            raise ValueError(f"{text!r} cannot be typed")
        key = _char_name(last)
    elif last.lower() in NAMED:
        key = last.lower()
    elif _name_char(last) is not None and len(_name_char(last) or "") == 1:
        key = last
    else:
        raise ValueError(f"{text!r} is no key (a character, or one of: enter, escape, tab, space, up, f1, ...; "
                         "with ctrl+, alt+, shift+ in front)")
    return "+".join([*(m.lower() for m in mods), key])


def display(key: str) -> str:
    """How a key is shown in help, the footer and the palette: `?`, `X`, `^x`, `esc`."""
    *mods, last = key.split("+") if key != "plus" else [key]
    shown = SHOWN.get(last) or (last if len(last) == 1 else (_name_char(last) or last))
    if "ctrl" in mods:
        mods.remove("ctrl")
        shown = "^" + shown
    return "+".join([*mods, shown])


def pane_groups() -> dict[str, list[KeyAction]]:
    """The keys that are live together: each pane's with the global ones (number keys, help, quit),
    and each form or picker's own."""
    from deskconsole.tui.panes import GLOBAL, PANES

    groups = {p.name: [*p.actions, *GLOBAL] for p in PANES}
    groups.update({"form": FORM, "composer": COMPOSER, "message": MESSAGE, "confirm": CONFIRM, "help": HELP,
                   "knowledge-base picker": PICKER, "macro picker": MACRO_PICKER})
    return groups


def all_entries() -> dict[str, KeyAction]:
    out: dict[str, KeyAction] = {}
    for group in pane_groups().values():
        for entry in group:
            out.setdefault(entry.id, entry)
    return out


def find(name: str) -> list[str]:
    """The ids a `[keys]` name means: an id (`queue.take`), a pane's action by name
    (`queue.take_next`), or either without its pane when one pane alone has it (`close`: the
    case's; the panes before the forms)."""
    from deskconsole.tui.bindings import action_name
    from deskconsole.tui.panes import GLOBAL, PANES

    entries = all_entries()
    if name in entries:
        return [name]
    if "." in name:
        prefix, rest = name.rsplit(".", 1)
        return [i for i, e in entries.items() if i.startswith(prefix + ".") and action_name(e.action) == rest]
    panes = {e.id: e for group in (*(p.actions for p in PANES), GLOBAL) for e in group}
    for pool in (panes, entries):
        found = sorted({i for i, e in pool.items() if i.rsplit(".", 1)[-1] == name or action_name(e.action) == name})
        if found:
            return found
    return []


def _flatten(table: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    """`queue.take = "T"` in TOML is a nested table: back to dotted ids."""
    for name, value in table.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", value


def read_keys(table: Any, where: str, source: str | None = None) -> Keymap:
    """The `[keys]` table of the config file as {binding id: keys in Textual's form}; `where` names
    the file in refusals (InvalidInput: the file, the line, the entry and the reason), `source` is
    its text (for the line)."""
    try:
        return _read_keys(table, where)
    except InvalidInput as exc:
        name = getattr(exc, "entry", None)
        line = _line_of(source, name) if source and name else None
        if line is None:
            raise
        raise InvalidInput(str(exc).replace(f"config file {where}:", f"config file {where} line {line}:", 1)) from None


def _line_of(source: str, name: str) -> int | None:
    """The line of `name = ...` in the [keys] table of the file's text."""
    inside = False
    short = name.rsplit(".", 1)[-1]
    for number, raw in enumerate(source.splitlines(), 1):
        text = raw.strip()
        if text.startswith("["):
            inside = text.replace(" ", "").startswith("[keys") or (inside and text.startswith("[keys."))
            continue
        key = text.split("=", 1)[0].strip().replace('"', "").replace("'", "")
        if inside and "=" in text and (key == name or key.rsplit(".", 1)[-1] == short):
            return number
    return None


def _refused(message: str, entry: str) -> InvalidInput:
    error = InvalidInput(message)
    error.entry = entry  # type: ignore[attr-defined]
    return error


def _read_keys(table: Any, where: str) -> Keymap:
    if table is None:
        return {}
    if not isinstance(table, dict):
        raise InvalidInput(f"config file {where}: [keys] must be a table of action id = \"key\"")
    entries = all_entries()
    keymap: Keymap = {}
    names: dict[str, str] = {}  # the names the table used
    for name, value in _flatten(table):
        if not isinstance(value, str):
            raise _refused(f"config file {where}: keys.{name} must be a string like \"X\" or \"ctrl+x\"", name)
        found = find(name)
        if len(found) > 1:
            raise _refused(f"config file {where}: keys.{name} is in several panes: write one of "
                           f"{', '.join(sorted(found))}", name)
        if not found:
            known = sorted(i for i, e in entries.items() if e.key and not e.builtin)
            near = get_close_matches(name, known, n=3) or known[:3]
            raise _refused(f"config file {where}: keys.{name}: no action has this id (like: {', '.join(near)}; "
                           "README's Keys section lists them all)", name)
        key_id = found[0]
        entry = entries[key_id]
        if entry.key is None or entry.builtin:
            raise _refused(f"config file {where}: keys.{name}: {entry.label!r} has no key of its own to "
                           "change (find it by name in the command palette, ctrl+p)", name)
        try:
            keys = [parse_key(part) for part in value.split(",")] if value.strip() != "," else [_char_name(",")]
        except ValueError as exc:
            raise _refused(f"config file {where}: keys.{name}: {exc}", name) from None
        keymap[key_id] = ",".join(keys)
        names[key_id] = name
    _refuse_clashes(keymap, where, names)
    return keymap


def _refuse_clashes(keymap: Keymap, where: str, names: Mapping[str, str]) -> None:
    """A key that would run two actions of one pane is refused (only where the table changed something)."""
    for group_name, group in pane_groups().items():
        owner: dict[str, KeyAction] = {}
        for entry in group:
            if entry.key is None or entry.builtin:
                continue
            for key in keys_of(entry, keymap):
                other = owner.get(key)
                if other is not None and other.id != entry.id and (entry.id in keymap or other.id in keymap):
                    raise _refused(
                        f"config file {where}: keys: {display(key)!r} would be both {other.id} ({other.label}) "
                        f"and {entry.id} ({entry.label}) in the {group_name} pane",
                        names.get(entry.id) or names[other.id])
                owner.setdefault(key, entry)


def keys_of(entry: KeyAction, keymap: Mapping[str, str]) -> list[str]:
    """The keys that run an entry, after the keymap."""
    keys = keymap.get(entry.id, entry.key)
    return [] if keys is None else keys.split(",")


def remap(entries: Iterable[KeyAction], keymap: Mapping[str, str]) -> list[KeyAction]:
    """The entries with the keymap's keys (and how those are shown) in place of their own."""
    if not keymap:
        return list(entries)
    return [replace(e, key=keymap[e.id], key_display=display(keymap[e.id].split(",")[0])) if e.id in keymap else e
            for e in entries]


__all__ = ["Keymap", "display", "keys_of", "parse_key", "read_keys", "remap"]
