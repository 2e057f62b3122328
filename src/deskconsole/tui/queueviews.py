"""The queue's views as tabs (issue 17): switching, counting, saving and deleting them.

The queue shows one view at a time (domain/saved_views.py: built-in, the config file's, the
agent's saved ones); what is typed after `/` narrows it. The tabs over the table name every view
with its capped count. Counts are read in a worker when the desk changed (the change watcher or
the ticker moved the console's marker), never per keystroke; the saved views once the service
has loaded, and again after a save or a delete.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from deskconsole.domain.errors import DeskError
from deskconsole.domain.saved_views import View, built_in, find_view, first_view, saved_filter, view_query
from deskconsole.tui.text import cell as clean_text
from deskconsole.tui.text import clean
from deskconsole.tui.widgets.tabs import ViewTabs

if TYPE_CHECKING:
    from deskconsole.tui.app import DeskApp


class QueueViews:
    """Mixed into QueueScreen (which has view, sort, text, desk, service, call, _restart, me, role)."""

    if TYPE_CHECKING:
        desk: DeskApp
        view: str
        sort: str
        text: str
        me: str
        role: str
        service: Any

        def call(self, fn: Any, *, then: Any = None, otherwise: Any = None, group: str = "load",
                 exclusive: bool = True) -> Any: ...
        def _restart(self) -> None: ...
        def query_one(self, selector: Any, expect_type: Any = None) -> Any: ...
        def notify(self, message: str, **kw: Any) -> None: ...
        def show_refusal(self, error: Exception) -> None: ...
        def update_status(self) -> None: ...
        @property
        def app(self) -> Any: ...

    def start_views(self) -> None:
        """The views known before any read (built-in, config) and the one to open on."""
        quick = getattr(self.desk, "quick", None)  # (a fast start read the saved ones already: in the first frame)
        saved = quick.saved_views() if quick is not None and not self.desk.service_ready else []
        self.views: list[View] = [*built_in(self.role), *getattr(self.desk, "config_views", ()), *saved]
        self.current: View = first_view(self.role)
        self.view = self.current.base
        self.counts: dict[str, int] | None = None
        self.counted_marker: int | None = None
        self._saved_asked = False

    @property
    def tabs(self) -> ViewTabs:
        return self.query_one("#queue-tabs", ViewTabs)

    def draw_tabs(self) -> None:
        self.tabs.show(self.views, self.current.name, self.counts)

    def window_query(self) -> dict[str, Any]:
        """The window the queue asks for: the view in front narrowed by the typed text
        (InvalidInput for a bad term). Without a filter the same keys as queuespec.first_query."""
        asked = view_query(self.current, self.text)
        query = {"view": asked["view"], "actor": self.me, "text": asked["text"], "sort": self.sort}
        if asked["filter"] is not None:
            query["filter"] = asked["filter"]
        return query

    def after_window(self, marker: int) -> None:
        """A window was shown: count the views when the desk changed since they were counted;
        read the saved views once the service is there."""
        if not self.desk.service_ready:
            return
        if not self._saved_asked:
            self._saved_asked = True
            self.load_saved_views()
            return  # (counted once they are read)
        if self.counted_marker != marker:
            self.count_views(marker)

    def service_loaded(self) -> None:
        """The service loaded after the first window was shown (fast start): the saved views and the counts now."""
        self.after_window(self.desk.marker)

    def load_saved_views(self) -> None:
        def read() -> list[View]:
            return self.service.saved_views(actor=self.me)

        def got(saved: list[View]) -> None:
            config = list(getattr(self.desk, "config_views", ()))
            self.views = [*built_in(self.role), *config, *saved]
            if find_view(self.views, self.current.name) is None:  # (deleted elsewhere)
                self.switch_view(first_view(self.role))
            self.draw_tabs()
            self.count_views(self.desk.marker)

        self.call(read, then=got, group="views", exclusive=False)

    def count_views(self, marker: int) -> None:
        views = list(self.views)
        self.counted_marker = marker

        def count() -> dict[str, int]:
            return self.service.view_counts(views, actor=self.me)

        def counted(counts: dict[str, int]) -> None:
            self.counts = counts
            self.draw_tabs()

        def refused(error: Exception) -> None:
            self.counted_marker = None  # counted again with the next window
            self.show_refusal(error)

        self.call(count, then=counted, otherwise=refused, group="counts")

    # ----------------------------------------------------------------- keys
    def action_cycle_view(self, step: int = 1) -> None:
        index = next((i for i, v in enumerate(self.views) if v.name == self.current.name), 0)
        self.switch_view(self.views[(index + step) % len(self.views)])

    def action_set_view(self, name: str) -> None:
        view = find_view(self.views, name)
        if view is None:
            self.notify(clean(f"There is no view called {name}."), title="Views", severity="warning", markup=False)
            return
        self.switch_view(view)

    def set_view_to(self, name: str) -> None:
        self.action_set_view(name)

    def switch_view(self, view: View) -> None:
        self.current = view
        self.view = view.base
        if view.sort is not None:
            self.sort = view.sort
        self.draw_tabs()
        self._restart()

    def action_save_view(self) -> None:
        """Save what the queue shows now (the view in front and the typed filter) as a view of one's own."""
        from deskconsole.tui.widgets.form import Field, FormScreen

        try:
            whole = saved_filter(self.current, self.text)
        except DeskError as exc:
            self.show_refusal(exc)
            return
        config = [v.name for v in getattr(self.desk, "config_views", ())]

        def submitted(values: dict[str, Any] | None) -> None:
            if values is None:
                return
            name = values.get("name") or ""

            def save() -> View:
                return self.service.save_view(name, whole, sort=self.sort, actor=self.me, reserved=config)

            def saved(view: View) -> None:
                self.views.append(view)
                self.text = ""
                box = self.query_one("#queue-filter")
                box.value = ""
                box.add_class("hidden")
                self.notify(clean(f"Saved the view {view.name}: {view.filter or 'every case'}"), title="Views",
                            markup=False)
                self.switch_view(view)
                self.count_views(self.desk.marker)

            def refused(error: Exception) -> None:
                self.show_refusal(error)
                self.app.push_screen(form(values, str(error)), submitted)

            self.call(save, then=saved, otherwise=refused, group="action", exclusive=False)

        def form(values: dict[str, Any] | None = None, error: str | None = None) -> FormScreen:
            from rich.text import Text

            context = Text("Filter: ", "dim")
            context.append(whole or "(every case)", "")
            context.append(f"\nSort: {self.sort}", "dim")
            return FormScreen("Save as a view", [Field("name", "Name", placeholder="e.g. Billing P1")],
                              values=values, error=error, context=context, submit_label="Save")

        self.app.push_screen(form(), submitted)

    def action_delete_view(self) -> None:
        view = self.current
        if view.source != "saved":
            self.notify(clean(f"{view.name} is a {view.source} view: only views you saved can be deleted."),
                        title="Delete view", severity="warning", markup=False)
            return
        from rich.text import Text

        from deskconsole.tui.widgets.form import ConfirmScreen

        def answered(yes: bool | None) -> None:
            if not yes:
                return

            def deleted(_: Any) -> None:
                self.views = [v for v in self.views if v.name != view.name]
                self.notify(clean(f"Deleted the view {view.name}."), title="Views", markup=False)
                self.switch_view(first_view(self.role))
                self.count_views(self.desk.marker)

            self.call(lambda: self.service.delete_view(view.name, actor=self.me), then=deleted,
                      group="action", exclusive=False)

        question = Text("Delete your view ")
        question.append_text(clean_text(view.name))
        question.append("? Its cases stay as they are.")
        self.app.push_screen(ConfirmScreen(question), answered)


__all__ = ["QueueViews"]
