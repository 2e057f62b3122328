"""The command palette (ctrl+p): every action of the current pane and the console, by name.

Built from the same list as the keys (bindings.py), filtered the same way: what
your role may not do, or what does not apply right now, is not offered.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

from textual.actions import parse
from textual.command import DiscoveryHit, Hit, Hits, Provider

from deskconsole.tui.bindings import KeyAction
from deskconsole.tui.keymap import remap
from deskconsole.tui.panes import GLOBAL


class DeskCommands(Provider):
    def _offered(self) -> Iterator[KeyAction]:
        screen = self.screen
        role = getattr(self.app, "role", "")
        keymap = getattr(self.app, "keymap", {})
        for entry in remap([*getattr(screen, "ACTIONS", []), *GLOBAL], keymap):
            if entry.builtin or entry.id.endswith((".down", ".up")):
                continue
            if not entry.offered_to(role):
                continue
            target, name, params = parse(entry.action)
            checker = self.app if target == "app" else screen
            try:
                if checker.check_action(name, params) is False:
                    continue
            except Exception:  # noqa: BLE001 -- a check that cannot answer does not hide the command
                pass
            yield entry

    def _title(self, entry: KeyAction) -> str:
        return entry.label if entry.key is None else f"{entry.label} ({entry.display_key()})"

    async def discover(self) -> Hits:
        for entry in self._offered():
            yield DiscoveryHit(self._title(entry), partial(self.screen.run_action, entry.action), help=entry.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for entry in self._offered():
            title = self._title(entry)
            score = max(matcher.match(title), matcher.match(entry.help) * 0.5)
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(self.screen.run_action, entry.action),
                          help=entry.help)
