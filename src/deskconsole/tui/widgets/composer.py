"""The case's composer: one box for a public reply to the customer or an internal note.

Its mode is shown in words at the top (and by colour), switched by one key; `ctrl+e`
hands the draft to `$VISUAL` / `$EDITOR` (the console suspends while it runs, through
Textual's App.suspend) and takes back what was saved. Every change is kept as the
draft of the case (tui/drafts.py) as it is typed, so a refused send, a conflict, a lost
database or a closed console never loses it; the pane discards it once sent.
The screen sends nothing itself: it answers (mode, text), and the case pane calls the service.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult, SuspendNotSupported
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static, TextArea

from deskconsole.tui.bindings import COMPOSER, bindings, by_action
from deskconsole.tui.drafts import NOTE, REPLY
from deskconsole.tui.text import clean

MODE_WORDS = {
    REPLY: ("PUBLIC REPLY", "sent to the customer"),
    NOTE: ("INTERNAL NOTE", "seen by the team only, never sent"),
}


def editor_command(environ: Mapping[str, str]) -> list[str] | None:
    """The user's editor ($VISUAL, then $EDITOR), as a command line, or None."""
    for name in ("VISUAL", "EDITOR"):
        value = (environ.get(name) or "").strip()
        if value:
            return shlex.split(value)
    return None


class ComposerScreen(ModalScreen[tuple[str, str] | None]):
    BINDINGS = bindings(COMPOSER)

    def __init__(
        self,
        context: Text,
        recipient: str,
        *,
        text: str = "",
        mode: str = REPLY,
        error: str | None = None,
        notice: str | None = None,
        save: Callable[[str, str], str | None] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(classes="form-screen")
        self.context = context
        self.recipient = recipient
        self.text = text
        self.mode = mode if mode in MODE_WORDS else REPLY
        self.error = error
        self.notice = notice  # a word on how it opened (e.g. its draft is back), under the text
        self._save = save  # keeps the draft; answers a problem to show, or None
        self.environ = os.environ if environ is None else environ
        self._keys = by_action(COMPOSER)

    def compose(self) -> ComposeResult:
        with Vertical(id="form", classes="composer"):
            yield Static(id="composer-mode", markup=False)
            yield Static(self.context, id="form-context", markup=False)
            yield Static(self.error or "", id="form-error", markup=False, classes="" if self.error else "hidden")
            area = TextArea(self.text, id="composer-text", soft_wrap=True, show_line_numbers=False)
            area.cursor_blink = False
            yield area
            yield Static(self.notice or "", id="composer-status", markup=False)
            yield Static(self.keys_line(), id="form-keys", markup=False)

    def on_mount(self) -> None:
        area = self.query_one("#composer-text", TextArea)
        area.focus()
        area.move_cursor(area.document.end)
        self.show_mode()

    @property
    def area(self) -> TextArea:
        return self.query_one("#composer-text", TextArea)

    def keys_line(self) -> Text:
        line = Text()
        for action in ("send", "switch_mode", "editor", "close"):
            entry = self._keys[action]
            if line.plain:
                line.append("   ")
            line.append(entry.display_key(), "bold")
            line.append(f" {entry.label}")
        return line

    def show_mode(self) -> None:
        word, what = MODE_WORDS[self.mode]
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(f" {word} ", "bold reverse " + ("magenta" if self.mode == REPLY else "yellow"))
        line.append(f"  {what}")
        if self.mode == REPLY:
            line.append(" — to ")
            line.append(clean(self.recipient or "the customer's contact", single_line=True), "bold")
        other = NOTE if self.mode == REPLY else REPLY
        line.append(f"   ({self._keys['switch_mode'].display_key()}: {MODE_WORDS[other][0].lower()})", "dim")
        self.query_one("#composer-mode", Static).update(line)
        self.set_class(self.mode == NOTE, "-note")

    # ------------------------------------------------------------ the draft
    def keep(self) -> None:
        if self._save is None:
            return
        problem = self._save(self.area.text, self.mode)
        status = self.query_one("#composer-status", Static)
        status.update(Text(problem, "bold red") if problem else Text("draft kept", "dim"))

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        event.stop()
        self.keep()

    # ------------------------------------------------------------ actions
    def action_switch_mode(self) -> None:
        self.mode = NOTE if self.mode == REPLY else REPLY
        self.show_mode()
        self.keep()

    def action_send(self) -> None:
        text = self.area.text
        if not text.strip():
            self.show_error("Nothing to send: write the message first.")
            return
        self.keep()
        self.dismiss((self.mode, text))

    def action_close(self) -> None:
        self.keep()
        self.dismiss(None)

    def show_error(self, message: str) -> None:
        box = self.query_one("#form-error", Static)
        box.update(message)
        box.remove_class("hidden")

    def action_editor(self) -> None:
        """The draft in the user's editor; what it saved comes back into the composer."""
        command = editor_command(self.environ)
        if command is None:
            self.show_error("No editor: set $VISUAL or $EDITOR (e.g. export EDITOR=nano), then press "
                            f"{self._keys['editor'].display_key()} again.")
            return
        fd, name = tempfile.mkstemp(prefix="deskconsole-", suffix=".txt")
        path = Path(name)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(self.area.text)
            try:
                with self.app.suspend():
                    done = subprocess.run([*command, str(path)], check=False)
            except SuspendNotSupported:  # no terminal to hand over (headless): the editor runs without one
                done = subprocess.run([*command, str(path)], check=False, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            except OSError as err:
                self.show_error(f"The editor could not start: {clean(err, single_line=True)}")
                return
            if done.returncode != 0:
                self.show_error(f"The editor exited with status {done.returncode}: the draft is as it was.")
                return
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as err:
            self.show_error(f"The editor could not start: {clean(err, single_line=True)}")
            return
        finally:
            path.unlink(missing_ok=True)
        self.area.load_text(text[:-1] if text.endswith("\n") else text)  # (editors end the file with a newline)
        self.area.move_cursor(self.area.document.end)
        self.keep()
        self.refresh()


__all__ = ["MODE_WORDS", "ComposerScreen", "editor_command"]
