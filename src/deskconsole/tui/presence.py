"""The console's heartbeat at the case it shows (domain/presence.py, service/presence.py).

One PresenceBeat per console (DeskApp.presence). `beat()` works out where this person is now: at
the case of the case pane when that pane is in front (under any modal), typing when the composer
is open on it in reply mode and its text changed; nowhere otherwise. It then writes that in a
worker (the case's row upserted; the row of a case left removed) and hands who else is at the
case to the case pane. The App calls `tick()` every BEAT_SECONDS (with the ticker on): a beat, and
the queue's marks read afresh. Panes call `beat()` when what they show changes (a case opened,
the pane left, the first keystroke of a reply), so that is written at once.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from deskconsole.domain.presence import TTL, TYPING, VIEWING, Presence

if TYPE_CHECKING:
    from deskconsole.tui.app import DeskApp

Where = tuple[int, str]  # (case id, state)
# An unchanged heartbeat is written again after this many seconds (half the TTL); the beats in
# between only read who else is there. (On SQLite every commit wakes every console's change
# watcher: fewer writes, fewer reloads.)
REWRITE = TTL.total_seconds() / 2


class PresenceBeat:
    def __init__(self, app: DeskApp) -> None:
        self.app = app
        self.sent: Where | None = None  # what the last beat wrote
        self.typing_in: int | None = None  # the case whose reply is being typed (while the composer is open)
        self._lock = threading.Lock()  # beats are written in the order they were asked for
        self._written = 0.0  # (monotonic) when the last heartbeat was written

    # ------------------------------------------------------------ where am I
    def wanted(self) -> Where | None:
        app = self.app
        if not app.service_ready:
            return None
        pane = app.pane
        case_id = getattr(pane, "case_id", None) if pane is not None and pane.PANE == "case" else None
        if case_id is None:
            return None
        typing = self.typing_in == case_id and self._composing()
        return case_id, TYPING if typing else VIEWING

    def _composing(self) -> bool:
        from deskconsole.tui.widgets.composer import ComposerScreen

        return any(isinstance(screen, ComposerScreen) for screen in self.app.screen_stack)

    def typed(self, case_id: int, replying: bool) -> None:
        """The composer's text changed on `case_id` (a reply, or a note): a reply's first keystroke is
        written at once; later ones ride on the next beat."""
        self.typing_in = case_id if replying else None
        if self.sent != self.wanted():
            self.beat()

    # ------------------------------------------------------------ writing
    def tick(self) -> None:
        """The App's interval: beat, and let the pane in front read its marks."""
        self.beat(force=True)
        pane = self.app.pane
        refresh = getattr(pane, "refresh_presence", None)
        if refresh is not None and pane is not None and pane.PANE != "case":
            refresh()

    def beat(self, *, force: bool = False) -> None:
        """Write where this person is, if it changed (or `force`: the periodic heartbeat)."""
        want, previous = self.wanted(), self.sent
        if want == previous and not (force and want is not None):
            return
        self.sent = want
        write = want != previous or time.monotonic() - self._written >= REWRITE
        if write:
            self._written = time.monotonic()
        self.app.run_worker(lambda: self._write(want, previous, write), thread=True, group="presence",
                            exclusive=False, exit_on_error=False, name="presence")

    def _write(self, want: Where | None, previous: Where | None, write: bool = True) -> None:
        app = self.app
        service, me = app.service, app.user
        left = previous[0] if previous is not None and (want is None or want[0] != previous[0]) else None
        try:
            with self._lock:
                if want is None:
                    if left is not None:
                        service.presence_leave(left, actor=me)
                    return
                if write:
                    others = service.presence_beat(want[0], actor=me, state=want[1], left=left)
                else:  # (written less than REWRITE ago: only read)
                    others = service.presence_at([want[0]], actor=me).get(want[0], [])
        except Exception as exc:  # noqa: BLE001 -- presence is a courtesy: never a crash, never an error box
            app.log.warning("presence heartbeat failed", exc)  # (a lost database: the header says so)
            self.sent = None  # written again at the next beat
            return
        app.call_from_thread(self._show, want[0], others)

    def _show(self, case_id: int, others: list[Presence]) -> None:
        pane = self.app.pane
        show = getattr(pane, "show_presence", None)
        if show is not None:
            show(case_id, others)

    def leave_now(self) -> None:
        """The console closes: its row goes now, not when it grows stale (on the closing thread)."""
        sent, self.sent = self.sent, None
        if sent is None or not self.app.service_ready:
            return
        try:
            with self._lock:
                self.app.service.presence_leave(sent[0], actor=self.app.user)
        except Exception:  # noqa: BLE001 -- the row goes stale in seconds anyway
            pass


def presence_marks(found: dict[int, list[Presence]]) -> dict[str, Any]:
    """The queue's marks by row key (str case id), from Service.presence_at."""
    from deskconsole.domain.presence import mark

    return {str(case_id): mark(rows) for case_id, rows in found.items() if rows}


__all__ = ["PresenceBeat", "presence_marks"]


class CasePresence:
    """The case pane's part: who else is at the case, in its header; a beat when the pane shows
    another case, comes to the front or goes behind another pane."""

    present: list[Presence]
    case_id: int | None

    if TYPE_CHECKING:
        @property
        def desk(self) -> DeskApp: ...  # (PaneScreen's)

    def presence_reset(self, case_id: int) -> None:
        """The pane shows `case_id` (call before drawing its header): another case's people go."""
        if case_id != self.case_id:
            self.present = []

    def show_presence(self, case_id: int, others: list[Presence]) -> None:
        if case_id != self.case_id or others == self.present:
            return
        self.present = others
        self.redraw_head()

    def redraw_head(self) -> None:  # (the pane's)
        raise NotImplementedError

    def on_screen_suspend(self) -> None:
        self.desk.call_later(self.desk.presence.beat)  # (after the pane in front has changed)

    def on_screen_resume(self) -> None:
        self.desk.call_later(self.desk.presence.beat)


__all__ += ["CasePresence"]


class QueuePresence:
    """The queue's part: a mark before the title of each row someone else has open (◉) or is
    typing a reply in (✎), read for the rows on the page only (one query), at each beat and after
    each window."""

    present: dict[str, str]  # (row key -> its mark; QueueMarks owns `marks`)
    rows: dict[str, Any]
    _marks_asked: int

    if TYPE_CHECKING:
        @property
        def desk(self) -> DeskApp: ...  # (PaneScreen's)
        @property
        def me(self) -> str: ...
        @property
        def table(self) -> Any: ...
        def call(self, fn: Any, **kw: Any) -> Any: ...
        def title_cell(self, row: Any) -> Any: ...

    def refresh_presence(self) -> None:
        if not self.desk.service_ready:
            return
        ids = [int(key) for key in self.rows]
        if not ids and not self.present:
            return
        service, me = self.desk.service, self.me
        self._marks_asked = asked = getattr(self, "_marks_asked", 0) + 1

        def answered(found: dict[int, list[Presence]]) -> None:
            if asked == self._marks_asked:  # (an older answer never shows over a newer one)
                self.show_marks(found)

        self.call(lambda: service.presence_at(ids, actor=me) if ids else {}, then=answered,
                  otherwise=lambda error: None, group="presence", exclusive=False)  # (a courtesy: no error box)

    def show_marks(self, found: dict[int, list[Presence]]) -> None:
        marks = presence_marks(found)
        if marks == self.present:
            return
        changed = {key for key in set(marks) | set(self.present) if marks.get(key) != self.present.get(key)}
        self.present = marks
        table = self.table
        for key in changed:
            row = self.rows.get(key)
            if row is not None:
                table.set_cell(key, "title", self.title_cell(row))

    def marked(self, key: str, cells: dict[str, Any]) -> dict[str, Any]:
        """A row's cells with its presence mark before the title."""
        glyph = self.present.get(key)
        if glyph:
            from rich.text import Text

            cells["title"] = Text.assemble((glyph + " ", "bold yellow"), cells["title"], no_wrap=True)
        return cells


__all__ += ["QueuePresence"]
