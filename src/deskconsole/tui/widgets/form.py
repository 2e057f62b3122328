"""One modal form for every action that needs input.

A form is a list of Fields; it gives back a dict of values, or None when
cancelled. Reopened with the values it returned (after a refusal or a conflict),
it keeps what the user typed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, Label, Select, Static, TextArea

from deskconsole.tui.bindings import CONFIRM, FORM, bindings
from deskconsole.tui.styles import style


@dataclass
class Field:
    name: str
    label: str
    kind: str = "text"  # text, area, select, check
    options: list[tuple[str, str]] = field(default_factory=list)  # (shown, value)
    default: Any = None
    placeholder: str = ""
    # Shown only while the select field named first has one of these values (e.g. the question
    # to the customer, only while the case is to wait on the customer).
    when: tuple[str, tuple[str, ...]] | None = None


class FormScreen(ModalScreen[dict[str, Any] | None]):
    CSS_PATH = style("forms.tcss")
    BINDINGS = bindings(FORM)

    def __init__(
        self,
        title: str,
        fields: list[Field],
        *,
        values: dict[str, Any] | None = None,
        error: str | None = None,
        context: Text | None = None,
        submit_label: str = "Submit",
    ) -> None:
        super().__init__(classes="form-screen")
        self.form_title = title
        self.fields = fields
        self.values = values or {}
        self.error = error
        self.context = context
        self.submit_label = submit_label

    def compose(self) -> ComposeResult:
        with Vertical(id="form"):
            yield Label(Text(self.form_title, style="bold"), id="form-title")
            if self.context is not None:
                yield Static(self.context, id="form-context", markup=False)
            yield Static(Text(self.error or "", style="bold"), id="form-error", markup=False,
                         classes="" if self.error else "hidden")
            with VerticalScroll(id="form-fields"):
                for f in self.fields:
                    value = self.values.get(f.name, f.default)
                    hidden = "" if self._shown(f, self.values) else " hidden"
                    if f.kind != "check":
                        yield Label(f.label, classes="field-label" + hidden, markup=False, id=f"label-{f.name}")
                    widget_id = f"field-{f.name}"
                    if f.kind == "text":
                        yield Input(value=value or "", placeholder=f.placeholder, id=widget_id, classes=hidden)
                    elif f.kind == "area":
                        area = TextArea(value or "", id=widget_id, soft_wrap=True, show_line_numbers=False,
                                        classes=hidden)
                        area.cursor_blink = False
                        yield area
                    elif f.kind == "select":
                        yield Select(
                            f.options, value=value if value is not None else Select.NULL,
                            allow_blank=value is None, id=widget_id, prompt=f.placeholder or "choose…",
                            classes=hidden,
                        )
                    elif f.kind == "check":
                        yield Checkbox(f.label, value=bool(value), id=widget_id, classes=hidden)
            yield Label(
                Text.assemble(("ctrl+s", "bold"), f" {self.submit_label.lower()}   ", ("esc", "bold"), " cancel"),
                id="form-keys",
            )

    def _shown(self, f: Field, values: dict[str, Any]) -> bool:
        if f.when is None:
            return True
        source = next((g for g in self.fields if g.name == f.when[0]), None)
        current = values.get(f.when[0], source.default if source else None)
        return current in f.when[1]

    @on(Select.Changed)
    def _select_changed(self, event: Select.Changed) -> None:
        """Show the fields that depend on a select's value, hide the others."""
        if not any(f.when for f in self.fields):
            return
        values = self.collect()
        for f in self.fields:
            if f.when is None:
                continue
            shown = self._shown(f, values)
            for widget in self.query(f"#field-{f.name}, #label-{f.name}"):
                widget.set_class(not shown, "hidden")

    def on_mount(self) -> None:
        for box in self.query(Input):
            box.cursor_blink = False  # a steady cursor (and stable snapshots)
        focusable = [w for w in self.query("Input, TextArea, Select, Checkbox") if not w.has_class("hidden")]
        if focusable:
            self.set_focus(focusable[0])  # now: a tab typed right after moves on from it
        held = getattr(self.app, "release_keys", None)
        if held is not None:
            self.call_after_refresh(held, answered=True)  # keys typed while the last submit was answered

    def collect(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in self.fields:
            widget = self.query_one(f"#field-{f.name}")
            if isinstance(widget, Input):
                out[f.name] = widget.value
            elif isinstance(widget, TextArea):
                out[f.name] = widget.text
            elif isinstance(widget, Select):
                out[f.name] = None if widget.value is Select.NULL else widget.value
            elif isinstance(widget, Checkbox):
                out[f.name] = widget.value
        return out

    def action_submit(self) -> None:
        app = self.app
        hold = getattr(app, "hold_keys", None)
        if hold is not None:  # what is typed next waits for the answer (DeskApp.hold_keys)
            hold()
            app.call_after_refresh(app.release_keys)  # (at once, when the submit started no service call)
        self.dismiss(self.collect())

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    def _enter_in_input(self, event: Input.Submitted) -> None:
        event.stop()
        inputs = [w for w in self.query("Input, TextArea, Select, Checkbox") if not w.has_class("hidden")]
        if event.input is inputs[-1]:
            self.action_submit()
        else:
            self.focus_next()


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question."""

    CSS_PATH = style("forms.tcss")
    BINDINGS = bindings(CONFIRM)

    def __init__(self, question: Text) -> None:
        super().__init__(classes="form-screen")
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="form"):
            yield Static(self.question, markup=False)
            yield Label(Text.assemble(("y", "bold"), " yes   ", ("n", "bold"), "/", ("esc", "bold"), " no"),
                        id="form-keys")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
