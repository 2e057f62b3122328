"""What every pane shares: the header, role-aware keys, and service calls in workers."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events
from textual.screen import Screen
from textual.widgets import Input
from textual.worker import Worker

from deskconsole.domain.errors import DeskError
from deskconsole.store.changes import Change, connection_lost, storage_full
from deskconsole.tui.bindings import KeyAction, action_name, by_action
from deskconsole.tui.keymap import keys_of
from deskconsole.tui.messages import ServiceAnswered, ServiceRefused
from deskconsole.tui.text import clean
from deskconsole.tui.textual_adapter import mark_styles_current
from deskconsole.tui.widgets.header import DeskHeader

if TYPE_CHECKING:
    from deskconsole.tui.app import DeskApp



# What the console says when a write failed for want of room (store.changes.storage_full).
FULL_DISK = "the disk holding the desk is full (or failing), and nothing of it was stored"

class PaneScreen(Screen):
    PANE: ClassVar[str] = ""
    ACTIONS: ClassVar[list[KeyAction]] = []
    # The first visit of a pane focuses its list, never its hidden filter box (keys typed in a burst
    # while the pane mounts would be typed into the filter): panes without a list focus in on_mount.
    AUTO_FOCUS = "DataTable"

    def __init__(self) -> None:
        super().__init__(id=f"pane-{self.PANE}", classes="pane")
        mark_styles_current(self)  # styled once as it mounts, not restyled twice when first shown
        self.loaded_marker = -1
        self.ready = False
        self._entries = by_action(self.ACTIONS)

    def on_mount(self) -> None:
        self.ready = True

    @property
    def desk(self) -> DeskApp:
        return self.app  # type: ignore[return-value]

    @property
    def service(self):
        return self.desk.service

    @property
    def me(self) -> str:
        return self.desk.user

    @property
    def role(self) -> str:
        return self.desk.role

    def header(self) -> DeskHeader:
        return DeskHeader(self.PANE, self.desk.user, self.desk.role, self.desk.clock, self.desk.tz)

    # ------------------------------------------------------------------ keys
    def open_filter(self, box: Input) -> None:
        """Show a filter box and focus it now, not at the next turn of the event loop (Widget.focus)."""
        box.remove_class("hidden")
        self.set_focus(box)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        entry = self._entries.get(action)
        if entry is not None and not entry.offered_to(self.role):
            return False
        return self.can(action, parameters)

    def can(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Whether an action applies right now (None shows it dimmed)."""
        return True

    def why_not(self, action: str) -> str | None:
        """Why an action offered to you does not apply now (domain/permissions.py), or None."""
        return None

    def on_key(self, event: events.Key) -> None:
        """A key whose action does not apply now does nothing (it is dimmed): say why."""
        if isinstance(self.focused, Input):
            return
        for entry in self.ACTIONS:
            if event.key not in keys_of(entry, self.desk.keymap) or not entry.offered_to(self.role):
                continue
            reason = self.why_not(action_name(entry.action))
            if reason:
                event.stop()
                self.notify(clean(reason), title=f"{entry.label}: not now", severity="warning", markup=False)
            return

    def action_cursor_down(self) -> None:
        focused = self.focused
        if focused is not None and hasattr(focused, "action_cursor_down"):
            focused.action_cursor_down()

    def action_cursor_up(self) -> None:
        focused = self.focused
        if focused is not None and hasattr(focused, "action_cursor_up"):
            focused.action_cursor_up()

    def action_back(self) -> None:
        self.desk.action_pane("queue")

    # --------------------------------------------------------------- service
    def call(
        self,
        fn: Callable[[], Any],
        *,
        then: Callable[[Any], None] | None = None,
        otherwise: Callable[[Exception], None] | None = None,
        group: str = "load",
        exclusive: bool = True,
    ) -> Worker:
        """Run a service call in a thread worker; its answer comes back as a message."""

        def job() -> None:
            try:
                result = fn()
            except Exception as exc:  # noqa: BLE001 -- refusals and failures reach the user, never crash the console
                self.post_message(ServiceRefused(exc, otherwise))
                return
            self.post_message(ServiceAnswered(result, then))

        return self.run_worker(job, thread=True, group=group, exclusive=exclusive, exit_on_error=False,
                               name=f"{self.PANE}:{group}")

    def on_service_answered(self, message: ServiceAnswered) -> None:
        message.stop()
        if message.then is not None:
            message.then(message.result)
        self.app.call_after_refresh(self.desk.release_keys, answered=True)  # (keys typed after a form's submit)

    def on_service_refused(self, message: ServiceRefused) -> None:
        message.stop()
        if message.otherwise is not None:
            message.otherwise(message.error)
        else:
            self.show_refusal(message.error)
        self.app.call_after_refresh(self.desk.release_keys, answered=True)

    def not_saved(self, error: Exception) -> str | None:
        """Why a form's submit was not stored when submitting again later will do (a full disk, the
        database out of reach), for the form reopened with the typed text; None for any other error."""
        if storage_full(error):
            return f"Not saved: {FULL_DISK}. Your text is kept: submit again once there is room."
        if connection_lost(error):
            self.desk.database_lost(error)
            return ("Not saved: the database cannot be reached. Your text is kept: submit again when the header "
                    "no longer says the database is unreachable.")
        return None

    def show_refusal(self, error: Exception) -> None:
        if storage_full(error):
            self.notify(clean(f"Not done: {FULL_DISK}. Try again once there is room."), title="Not saved",
                        severity="error", timeout=10, markup=False)
            return
        if connection_lost(error):
            self.desk.database_lost(error)  # the header says it; no error text per failed read
            return
        if isinstance(error, DeskError):
            self.notify(clean(error.console or str(error)), title="Refused", severity="error", timeout=8, markup=False)
        else:
            self.notify(clean(f"{type(error).__name__}: {error}"), title="Error", severity="error", timeout=10,
                        markup=False)

    # ---------------------------------------------------------------- refresh
    def reload(self) -> None:
        """Read what the pane shows again (in a worker)."""

    def changed(self, change: Change) -> None:
        """Someone committed a change (the change watcher): read this pane's window again."""
        self.reload()

    def refresh_countdowns(self) -> None:
        """Recompute the countdowns on screen from due times in memory (no database)."""
        for header in self.query(DeskHeader):
            header.tick()

    def on_screen_resume(self) -> None:
        if self.loaded_marker != self.desk.marker:
            self.reload()

    def mark_loaded(self, marker: int | None = None) -> None:
        self.loaded_marker = self.desk.marker if marker is None else marker


class LocalFilter:
    """A `/` filter over the rows a pane already holds: the box shows on demand,
    `escape` clears it, and a second `escape` goes back to the queue.

    The pane sets FILTER_ID (its Input's id), keeps `self.text`, and has
    `render_rows()` and `table`.
    """

    FILTER_ID: ClassVar[str] = ""
    text: str

    def _filter_box(self) -> Input:
        return self.query_one(f"#{self.FILTER_ID}", Input)  # type: ignore[attr-defined]

    def action_filter(self) -> None:
        self.open_filter(self._filter_box())  # type: ignore[attr-defined]

    def action_back(self) -> None:
        box = self._filter_box()
        if box.has_class("hidden") and not self.text:
            self.desk.action_pane("queue")  # type: ignore[attr-defined]
            return
        box.value = ""
        box.add_class("hidden")
        self.text = ""
        self.render_rows()  # type: ignore[attr-defined]
        self.table.focus()  # type: ignore[attr-defined]

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == self.FILTER_ID:
            self.text = event.value
            self.render_rows()  # type: ignore[attr-defined]

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == self.FILTER_ID:
            if not event.value:
                event.input.add_class("hidden")
            self.table.focus()  # type: ignore[attr-defined]
