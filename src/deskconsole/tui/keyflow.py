"""Fast hands: keys typed faster than the console draws reach what they were meant for (DeskApp's part).

Textual hands each key to the focused widget's queue at once: keys typed in a burst would all be
queued on the pane in front even when the first of them opens a form or another pane. Here one key
at a time goes in: the next only once the one before has been handled (its actions run, a screen it
opened mounted), and none while a form's submit is being answered (hold_keys / release_keys).
"""

from __future__ import annotations

from collections import deque
from typing import Any

from textual import events
from textual.app import App
from textual.timer import Timer

HOLD_KEYS = 3.0  # seconds at most that keys typed after a form's submit wait for its answer (hold_keys)
KEY_AT_MOST = 1.0  # seconds at most one key holds back the next (a key whose handling never reports back)


class KeyFlow(App[None]):
    """Mixed into DeskApp before Textual's App: typed keys go through on_event one at a time."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._keys: deque[events.Key] = deque()  # typed, not yet handed on
        self._key_busy: Timer | None = None  # a key is being handled (at most KEY_AT_MOST seconds)
        self._keys_held = False  # a form's submit is being answered
        self._hold_timer: Timer | None = None

    def hold_keys(self) -> None:
        """Keys typed from now until release_keys() wait: a form was submitted and its answer is on
        the way; a refusal reopens the form, and what was typed meanwhile (a tab, more text)
        belongs to it, an acceptance gives them to the pane. Held at most HOLD_KEYS seconds."""
        if not self._keys_held:
            self._keys_held = True
            self._hold_timer = self.set_timer(HOLD_KEYS, lambda: self.release_keys(force=True), name="hold-keys")

    def release_keys(self, *, force: bool = False, answered: bool = False) -> None:
        """Hand the held keys on, in order, to what is in front now. Not while a form reopened after
        a refusal is still mounting (its on_mount releases them), nor while a submit's service call
        runs (unless it `answered`), unless `force`."""
        if not self._keys_held:
            return  # (every service answer asks: the form widgets load when a form first opens, not here)
        from deskconsole.tui.widgets.form import FormScreen

        if not force:
            screen = self.screen
            if isinstance(screen, FormScreen) and not screen.is_mounted:
                return
            if not answered and any(w.group == "action" and w.is_running for w in self.workers):
                return
        self._keys_held = False
        if self._hold_timer is not None:
            self._hold_timer.stop()
            self._hold_timer = None
        self._next_key()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded:
            self._keys.append(event)
            self._next_key()
            return
        await super().on_event(event)

    def _next_key(self) -> None:
        if self._key_busy is not None or self._keys_held or not self._keys:
            return
        if not self.screen_stack:  # (a pane being switched to: in a moment)
            self.set_timer(0.02, self._next_key, name="keys")
            return
        screen = self.screen
        if not screen.is_mounted:  # a screen the last key opened: its keys once it is there
            screen.call_later(self._next_key)
            return
        key = self._keys.popleft()
        self._key_busy = self.set_timer(KEY_AT_MOST, self._key_done, name="key")
        self.call_later(self._send_key, key)

    async def _send_key(self, key: events.Key) -> None:
        target = self.focused or self.screen
        await super().on_event(key)  # (Textual's: priority bindings, else to the focused widget; not queued again)
        self._after(target)

    def _after(self, node: Any) -> None:
        """Follow the key up the tree behind it: when this reaches the App, the key was handled."""
        if node is None or node is self or not node.is_attached:
            self.call_later(self._key_done)
            return
        node.call_later(self._after, node.parent)

    def _key_done(self) -> None:
        if self._key_busy is not None:
            self._key_busy.stop()
            self._key_busy = None
        self._next_key()


__all__ = ["HOLD_KEYS", "KEY_AT_MOST", "KeyFlow"]
