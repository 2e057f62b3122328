"""The footer of every pane: Textual's, redrawn only when the keys it shows change."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.widgets import Footer

from deskconsole.tui.textual_adapter import footer_ready


class DeskFooter(Footer):
    """Textual's Footer rebuilds all of its keys (a widget each) whenever the screen's bindings
    are refreshed: on every focus change, mount and key state update, a dozen times while the
    console starts. This one rebuilds them only when what they show changed (which keys, their
    labels, whether each is enabled)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._keys_shown: tuple | None = None

    def _showing(self) -> tuple:
        """What compose() would show now: the keys shown, each enabled or not, and the palette's."""
        if not self.is_attached or not footer_ready(self):
            return (False,)
        bindings = self.screen.active_bindings
        keys = tuple((binding, enabled, tooltip) for _, binding, enabled, tooltip in bindings.values()
                     if binding.show)
        palette = None
        if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE:
            entry = bindings.get(self.app.COMMAND_PALETTE_BINDING)
            palette = entry and entry[1:]
        return (True, self.combine_groups, keys, palette)

    def compose(self) -> ComposeResult:
        self._keys_shown = self._showing()
        yield from super().compose()

    async def recompose(self) -> None:
        if self._keys_shown is not None and self._showing() == self._keys_shown:
            return
        await super().recompose()


__all__ = ["DeskFooter"]
