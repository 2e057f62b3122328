"""The footer of every pane: Textual's, redrawn only when the keys it shows change, and cut to the
terminal's width by each key's rank (bindings.footer_fit): the keys that matter stay."""

from __future__ import annotations

from typing import Any

from textual import events
from textual.app import ComposeResult
from textual.widgets import Footer

from deskconsole.tui.bindings import PALETTE_CELLS, footer_cells, footer_fit, rank_of
from deskconsole.tui.textual_adapter import footer_ready


class DeskFooter(Footer):
    """Textual's Footer rebuilds all of its keys (a widget each) whenever the screen's bindings
    are refreshed: on every focus change, mount and key state update, a dozen times while the
    console starts. This one rebuilds them only when what they show changed (which keys, their
    labels, whether each is enabled, the width they have). Keys that do not fit the width are left
    out, the highest rank first (`?` lists them all)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._keys_shown: tuple | None = None

    def _width(self) -> int:
        return self.size.width or self.app.size.width

    def _kept(self) -> set[str]:
        """The actions of the keys shown: those that fit the width."""
        app = self.app
        keys: list[tuple[str, int, int, bool]] = []
        seen: set[str] = set()
        for _, binding, enabled, _ in self.screen.active_bindings.values():
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            keys.append((binding.action, footer_cells(app.get_key_display(binding), binding.description),
                         rank_of(binding.id), enabled))
        room = self._width() - (PALETTE_CELLS if self.show_command_palette and app.ENABLE_COMMAND_PALETTE else 0)
        return footer_fit(keys, room)

    def _showing(self) -> tuple:
        """What compose() would show now: the keys shown, each enabled or not, and the palette's."""
        if not self.is_attached or not footer_ready(self):
            return (False,)
        bindings = self.screen.active_bindings
        kept = self._kept()
        keys = tuple((binding, enabled, tooltip) for _, binding, enabled, tooltip in bindings.values()
                     if binding.show and binding.action in kept)
        palette = None
        if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE:
            entry = bindings.get(self.app.COMMAND_PALETTE_BINDING)
            palette = entry and entry[1:]
        return (True, self.combine_groups, keys, palette)

    def compose(self) -> ComposeResult:
        self._keys_shown = self._showing()
        if not self._keys_shown[0]:
            return
        kept = self._kept()
        count = 0
        for widget in super().compose():
            action = getattr(widget, "action", None)
            if action is not None and not widget.has_class("-command-palette") and action not in kept:
                continue
            count += 1
            yield widget
        self.styles.grid_size_columns = count

    async def recompose(self) -> None:
        if self._keys_shown is not None and self._showing() == self._keys_shown:
            return
        await super().recompose()

    def on_resize(self, event: events.Resize) -> None:
        self.call_after_refresh(self.recompose)


__all__ = ["DeskFooter"]
