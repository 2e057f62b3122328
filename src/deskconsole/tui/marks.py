"""Marks and bulk actions in the queue: `space` marks the selected case, `V` a range (from the last case
marked to the selected one), `*` the whole page, `U` (or `esc` with no filter open) clears the marks.
A marked row starts with ● and is drawn on a tinted ground; the status line counts the marks and names
the bulk keys. Marks are kept by case id with the version the queue last showed of each, so they survive
paging, reloads and live refreshes (a refresh that shows a marked case again takes its newer version).

A bulk action — close (`x`), assign (`g`), move (`m`), macro (`M`), reply (`c`) — works on the marked
cases, or the selected one when none is marked, and is ONE service call (Service.apply_many, brief):
each case applied or refused on its own, its version checked against what the queue showed. The
outcome says "12 done, 2 refused" and lists each refusal with its reason (a modal the user reads and
dismisses); the refused stay marked, the done are unmarked. `u` right after a bulk close or assign
undoes it as a whole within the undo window (Service.undo_many); otherwise `u` is the queue's undo of
the selected case's close (tui/macros.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from deskconsole.domain import labels
from deskconsole.domain.errors import DeskError
from deskconsole.domain.lifecycle import Status, SubStatus
from deskconsole.domain.rows import CaseRow
from deskconsole.tui.bindings import BULK_OUTCOME, MARKS, bindings
from deskconsole.tui.styles import style
from deskconsole.tui.text import clean

if TYPE_CHECKING:  # (the service is imported when a bulk action runs: the queue paints before it loads)
    from deskconsole.service.many import Action, Assign, Close, Move, Outcome
    from deskconsole.tui.widgets.form import Field  # (the form widgets load when a form first opens)

MARK = "●"
MARK_STYLE = "bold yellow"
MARKED_ROW = "on #3a3418"  # the ground of a marked row's text
SHOWN_IDS = 12  # case ids named in a bulk form's context line
ASKING = f"{Status.PENDING.value}/{SubStatus.CUSTOMER_INPUT.value}"
# The status line's bulk keys while cases are marked (the key list's own, then unmark), as "x close".
_BULK_KEYS = [(k, f"{k.display_key()} {k.label.split()[0].lower()}")
              for k in [*(k for k in MARKS if k.id.startswith("queue.bulk_")),
                        *(k for k in MARKS if k.id == "queue.clear_marks")]]
# Where a bulk move goes: one choice per status and sub-status (the form shows what each needs).
MOVE_TARGETS = (
    [(labels.STATUS[Status.IN_PROGRESS], Status.IN_PROGRESS.value)]
    + [(f"{labels.STATUS[Status.PENDING]}: {labels.SUB_STATUS[sub]}", f"{Status.PENDING.value}/{sub.value}")
       for sub in SubStatus]
    + [("awaiting confirmation (sends each customer the resolution)", Status.AWAITING_CONFIRMATION.value)]
)
OTHER_PENDING = tuple(v for _, v in MOVE_TARGETS if v.startswith("pending/") and v != ASKING)


def _many() -> Any:
    """deskconsole.service.many, imported when first needed."""
    from deskconsole.service import many

    return many


@dataclass(frozen=True)
class LastBulk:
    """The bulk action `u` may take back: what it did, each case's version after it, and when."""

    action: Close | Assign
    done: dict[int, int]
    at: datetime


def move_action(vals: dict[str, Any]) -> Move:
    """The bulk move form's values as the Move they ask for."""
    Move = _many().Move  # noqa: N806
    target = vals.get("target") or ""
    status, _, sub = target.partition("/")
    if target == ASKING:
        return Move(status, sub, note=vals.get("question") or None, asked_outside=vals.get("asked") or None)
    if status == Status.AWAITING_CONFIRMATION:
        return Move(status, note=vals.get("resolution") or None)
    return Move(status, sub or None, note=vals.get("note") or None)


def refusal_lines(refused: list[Outcome]) -> list[Text]:
    """One line per refused case: its id and why (the console's words when the refusal has them)."""
    out = []
    for o in refused:
        error = o.error
        why = (error.console or str(error)) if isinstance(error, DeskError) else str(error)
        why = why.removeprefix(f"case {o.case_id}: ").removeprefix(f"case {o.case_id} ")  # (named once)
        out.append(Text.assemble((f"case {o.case_id}", "bold"), "  ", clean(why, single_line=True)))
    return out


def outcome_summary(done: int, refused: int, verb: str = "done") -> str:
    return f"{done} {verb}, {refused} refused" if refused else f"{done} {verb}"


class BulkOutcomeScreen(ModalScreen[None]):
    """What a bulk action did: "12 done, 2 refused", then each refused case with its reason."""

    CSS_PATH = style("forms.tcss")
    BINDINGS = bindings(BULK_OUTCOME)

    def __init__(self, title: str, summary: str, lines: list[Text], note: str) -> None:
        super().__init__(classes="form-screen", id="bulk-outcome")
        self.title_text = title
        self.summary = summary
        self.lines = lines
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical(id="form"):
            yield Label(Text(f"{self.title_text}: {self.summary}", style="bold"), id="form-title")
            yield Static(Text(self.note, style="dim"), markup=False)
            with VerticalScroll(id="form-fields"):
                for line in self.lines:
                    yield Static(line, markup=False, classes="bulk-refusal")
            yield Label(Text.assemble(("esc", "bold"), "/", ("enter", "bold"), " close"), id="form-keys")

    def action_close(self) -> None:
        self.dismiss(None)


class QueueMarks:
    """The queue's marks and bulk actions. Mixed into QueueScreen (before QueueMacroKeys, whose `u` it
    extends): uses its `rows`, `table`, `cells`, `update_status`, `reload`, `call`, `service`, `me`, `desk`."""

    rows: dict[str, CaseRow]
    service: Any
    me: str
    desk: Any
    app: Any

    # ------------------------------------------------------------------ state
    @property
    def marks(self) -> dict[str, int]:
        """Marked case ids (as row keys) -> the version the queue last showed of each."""
        marks = self.__dict__.get("_marks")
        if marks is None:
            marks = self.__dict__["_marks"] = {}
        return marks

    @property
    def last_bulk(self) -> LastBulk | None:
        return self.__dict__.get("_last_bulk")

    # ------------------------------------------------------------------ drawing
    def mark_cells(self, r: CaseRow, cells: dict[str, Any]) -> dict[str, Any]:
        """A row's cells as drawn: a marked row takes its newer version and its look."""
        key = str(r.id)
        if key not in self.marks:
            return cells
        self.marks[key] = r.version
        return {column: self.marked_value(key, column, value) for column, value in cells.items()}

    def marked_value(self, key: str, column: str, value: Any) -> Any:
        """One cell of a row as drawn (the countdowns are redrawn each second through this)."""
        if key not in self.marks:
            return value
        text = value.copy() if isinstance(value, Text) else Text(str(value))
        if column == "id":
            text = Text.assemble((MARK, MARK_STYLE), text)
        text.stylize_before(MARKED_ROW)
        return text

    def _redraw(self, keys: list[str]) -> None:
        now = self.desk.clock.now()
        table = self.table  # type: ignore[attr-defined]
        with self.app.batch_update():
            for key in keys:
                r = self.rows.get(key)
                if r is not None:
                    for column, value in self.cells(r, now).items():  # type: ignore[attr-defined]
                        table.set_cell(key, column, value)
        self.update_status()  # type: ignore[attr-defined]

    def marks_status(self, line: Text) -> None:
        """The status line's start while cases are marked: how many."""
        if self.marks:
            line.append(f" {len(self.marks)} marked ", "bold black on yellow")

    def marks_keys(self, line: Text) -> None:
        """The status line's end while cases are marked: the bulk keys this person is offered (the
        key list's own, tui/bindings.py MARKS: a supervisor is not offered x close)."""
        if self.marks:
            role = self.role  # type: ignore[attr-defined]
            line.append("  " + " · ".join(word for key, word in _BULK_KEYS if key.offered_to(role)), "dim")

    # ------------------------------------------------------------------ marking
    def action_toggle_mark(self) -> None:
        table = self.table  # type: ignore[attr-defined]
        key = table.selected_key
        if key is None or key not in self.rows:
            return
        if key in self.marks:
            del self.marks[key]
        else:
            self.marks[key] = self.rows[key].version
            self.__dict__["_anchor"] = key
        self._redraw([key])
        table.action_cursor_down()  # (marking a run of cases is one key after another)

    def action_mark_range(self) -> None:
        table = self.table  # type: ignore[attr-defined]
        key = table.selected_key
        if key is None or key not in self.rows:
            return
        order = table.keys()
        anchor = self.__dict__.get("_anchor")
        if anchor not in self.marks or anchor not in order:
            anchor = key  # (no marked case on this page to start from: the selected one alone)
        a, b = sorted((order.index(anchor), order.index(key)))
        span = order[a:b + 1]
        for k in span:
            self.marks[k] = self.rows[k].version
        self.__dict__["_anchor"] = key
        self._redraw(span)

    def action_mark_page(self) -> None:
        keys = list(self.rows)
        if not keys:
            return
        if all(k in self.marks for k in keys):
            for k in keys:
                del self.marks[k]
        else:
            for k in keys:
                self.marks[k] = self.rows[k].version
        self._redraw(keys)

    def action_clear_marks(self) -> bool:
        """Clear every mark; False when there was none."""
        if not self.marks:
            return False
        shown = [k for k in self.marks if k in self.rows]
        self.marks.clear()
        self._redraw(shown)
        return True

    # ------------------------------------------------------------------ bulk actions
    def targets(self) -> dict[int, int] | None:
        """The cases a bulk action works on, with the versions the queue showed: the marked ones, or
        the selected one when none is marked."""
        if self.marks:
            return {int(k): v for k, v in sorted(self.marks.items(), key=lambda kv: int(kv[0]))}
        key = self.table.selected_key  # type: ignore[attr-defined]
        if key is None or key not in self.rows:
            self.notify("Nothing marked and no case selected: space marks a case.",  # type: ignore[attr-defined]
                        title="Bulk action", severity="warning", markup=False)
            return None
        return {int(key): self.rows[key].version}

    @staticmethod
    def targets_text(targets: dict[int, int]) -> Text:
        ids = list(targets)
        more = f" … and {len(ids) - SHOWN_IDS} more" if len(ids) > SHOWN_IDS else ""
        what = f"{len(ids)} case{'s' if len(ids) != 1 else ''}: "
        return Text.assemble((what, "bold"), ", ".join(str(i) for i in ids[:SHOWN_IDS]) + more)

    def bulk_form(self, title: str, fields: list[Field], make: Callable[[dict[str, Any]], Action],
                  targets: dict[int, int], required: dict[str, str], *, values: dict[str, Any] | None = None,
                  error: str | None = None) -> None:
        """Ask what the bulk action needs (a blank required field reopens the form saying so), then run it."""
        from deskconsole.tui.widgets.form import FormScreen

        def submitted(vals: dict[str, Any] | None) -> None:
            if vals is None:
                return
            missing = [why for name, why in required.items() if self._shown_blank(fields, vals, name)
                       and not (name == "question" and vals.get("asked"))]  # (asked outside: no text needed)
            if missing:
                self.bulk_form(title, fields, make, targets, required, values=vals, error=missing[0])
                return

            def refused(err: Exception) -> None:  # (the call as a whole: e.g. an empty reply)
                if isinstance(err, DeskError):
                    self.bulk_form(title, fields, make, targets, required, values=vals, error=str(err))
                else:
                    self.show_refusal(err)  # type: ignore[attr-defined]

            self.run_bulk(make(vals), targets, otherwise=refused)

        self.app.push_screen(FormScreen(title, fields, values=values, error=error, context=self.targets_text(targets),
                                        submit_label=title.split(" ")[0]), submitted)

    @staticmethod
    def _shown_blank(fields: list[Field], vals: dict[str, Any], name: str) -> bool:
        """Whether a field the form shows (its `when` holds) was left blank."""
        f = next(f for f in fields if f.name == name)
        if f.when is not None and vals.get(f.when[0]) not in f.when[1]:
            return False
        return not str(vals.get(name) or "").strip()

    def run_bulk(self, action: Action, targets: dict[int, int], *,
                 otherwise: Callable[[Exception], None] | None = None) -> None:
        """ONE service call for every case; the outcome is shown when it answers."""
        ids = list(targets)
        me = self.me

        def answered(outcomes: list[Outcome]) -> None:
            self.bulk_done(action, outcomes)

        self.call(lambda: self.service.apply_many(ids, action, actor=me, versions=targets, brief=True),  # type: ignore[attr-defined]
                  then=answered, otherwise=otherwise, group="action", exclusive=False)

    def bulk_done(self, action: Action, outcomes: list[Outcome]) -> None:
        done = {o.case_id: o.version or 0 for o in outcomes if o.done}
        refused = [o for o in outcomes if not o.done]
        for case_id in done:
            self.marks.pop(str(case_id), None)
        undoable = isinstance(action, _many().Close | _many().Assign) and bool(done)
        self.__dict__["_last_bulk"] = (LastBulk(action, done, self.desk.clock.now())  # type: ignore[arg-type]
                                       if undoable else None)
        hint = "; u undoes it within the undo window" if undoable else ""
        self.show_outcome(_many().describe(action), outcome_summary(len(done), len(refused)), refused, hint,
                          "Refused, each with its reason (they stay marked):")
        self.reload()  # type: ignore[attr-defined]

    def show_outcome(self, title: str, summary: str, refused: list[Outcome], hint: str = "",
                     note: str = "Refused, each with its reason:") -> None:
        if refused:
            self.app.push_screen(BulkOutcomeScreen(title, summary + hint, refusal_lines(refused), note))
        else:
            self.notify(summary + hint, title=title, markup=False)  # type: ignore[attr-defined]

    def action_bulk_close(self) -> None:
        from deskconsole.tui.widgets.form import Field
        targets = self.targets()
        if targets is None:
            return
        self.bulk_form(
            f"Close {len(targets)} case{'s' if len(targets) != 1 else ''}",
            [Field("reason", "Reason (the same for each case)", "text",
                   placeholder="e.g. duplicate of 123, withdrawn by the customer, fixed by the outage repair")],
            lambda vals: _many().Close(reason=vals["reason"]), targets,
            {"reason": "Give the reason the cases close for."},
        )

    def action_bulk_reply(self) -> None:
        from deskconsole.tui.widgets.form import Field
        targets = self.targets()
        if targets is None:
            return
        self.bulk_form(
            f"Reply to {len(targets)} customer{'s' if len(targets) != 1 else ''}",
            [Field("body", "Reply sent to each case's customer (through the outbox)", "area")],
            lambda vals: _many().Reply(vals["body"]), targets, {"body": "Write the reply first."},
        )

    def action_bulk_move(self) -> None:
        from deskconsole.tui.widgets.form import Field
        targets = self.targets()
        if targets is None:
            return
        from deskconsole.tui.caseactions import ASKED_CHOICES  # (the case pane's choices, imported when used)

        asking = (ASKING,)
        self.bulk_form(
            f"Move {len(targets)} case{'s' if len(targets) != 1 else ''}",
            [Field("target", "Move to", "select", MOVE_TARGETS),
             Field("asked", "The question", "select", ASKED_CHOICES, default="", when=("target", asking)),
             Field("question", "Question to each customer (sent to them unless already asked)", "area",
                   when=("target", asking)),
             Field("resolution", "Resolution sent to each customer", "area",
                   when=("target", (Status.AWAITING_CONFIRMATION.value,))),
             Field("note", "Note (optional, internal)", "area",
                   when=("target", (Status.IN_PROGRESS.value, *OTHER_PENDING)))],
            move_action, targets, {"target": "Choose where the cases move to.",
                                   "question": "Write the question to the customers (or say how it was asked).",
                                   "resolution": "Write the resolution sent to the customers."},
        )

    def action_bulk_assign(self) -> None:
        from deskconsole.tui.widgets.form import Field
        targets = self.targets()
        if targets is None:
            return

        def agents_loaded(agents: list[Any]) -> None:
            options = [("team queue (unassigned)", "")] + [
                (f"{a.name} ({a.open_cases} open, {', '.join(a.skills) or 'no skills'}, {a.availability})", a.name)
                for a in agents if a.role == "analyst"]
            self.bulk_form(
                f"Assign {len(targets)} case{'s' if len(targets) != 1 else ''}",
                [Field("assignee", "Give the cases to", "select", options)],
                lambda vals: _many().Assign(vals["assignee"] or None), targets, {},
            )

        self.call(self.service.list_agents, then=agents_loaded, group="agents")  # type: ignore[attr-defined]

    def action_bulk_macro(self) -> None:
        targets = self.targets()
        if targets is None:
            return
        from deskconsole.tui.macros import MacroPicker

        def picked(name: str | None) -> None:
            if name is not None:
                self.run_bulk(_many().ApplyMacro(name), targets)

        first = next(iter(targets))
        target = f"case {first}" if len(targets) == 1 else f"{len(targets)} cases"
        self.app.push_screen(MacroPicker(self.service, first, target=target), picked)

    # ------------------------------------------------------------------ undo
    def action_undo_close(self) -> None:
        """`u`: the last bulk close or assign undone as a whole while its window is open; else the
        selected case's close (QueueMacroKeys)."""
        last = self.last_bulk
        if last is None or self.desk.clock.now() >= last.at + self.service.durations.undo_window:
            super().action_undo_close()  # type: ignore[misc]
            return
        self.__dict__["_last_bulk"] = None
        me = self.me
        title = f"Undo: {_many().describe(last.action).lower()}"

        def undone(outcomes: list[Outcome]) -> None:
            done = [o for o in outcomes if o.done]
            refused = [o for o in outcomes if not o.done]
            self.show_outcome(title, outcome_summary(len(done), len(refused), "undone"), refused)
            self.reload()  # type: ignore[attr-defined]

        self.call(lambda: self.service.undo_many(last.done, last.action, actor=me), then=undone,  # type: ignore[attr-defined]
                  group="action", exclusive=False)
