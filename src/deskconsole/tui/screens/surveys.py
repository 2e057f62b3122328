"""Pane 5, surveys: sent and answered, CSAT, score distribution, weekly trend, low scores to follow up."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Label, Sparkline, Static

from deskconsole.domain.views import SurveySummary, SurveyView
from deskconsole.tui import format as fmt
from deskconsole.tui.panes import pane, screen_keys
from deskconsole.tui.screens.base import PaneScreen
from deskconsole.tui.styles import style
from deskconsole.tui.text import cell
from deskconsole.tui.widgets.footer import DeskFooter
from deskconsole.tui.widgets.table import KeyedTable

COLUMNS = [
    ("case", "Case", 6),
    ("answered", "Answered", 16),
    ("score", "Score", 5),
    ("customer", "Customer", 14),
    ("assignee", "Assignee", 9),
    ("comment", "Comment", 38),
]
SCORE_STYLES = {1: "bold red", 2: "red", 3: "yellow", 4: "green", 5: "bold green"}
# Cells beside the comment: the other columns' widths, each column's padding (1 a side) and the scrollbar.
BESIDE_COMMENT = sum(w for key, _, w in COLUMNS if key != "comment") + 2 * len(COLUMNS) + 2


def columns_for(width: int) -> list[tuple[str, str, int]]:
    """The columns at this terminal width: the comment takes what is left (at most its 38 cells, at
    least 12), so that at 80 columns a long comment ends in `…` on screen instead of past its edge."""
    comment = max(12, min(38, width - BESIDE_COMMENT))
    return [(key, label, comment if key == "comment" else w) for key, label, w in COLUMNS]


class SurveysScreen(PaneScreen):
    CSS_PATH = style(pane("surveys").stylesheet)
    PANE = "surveys"
    ACTIONS, BINDINGS = screen_keys("surveys")

    def __init__(self) -> None:
        super().__init__()
        self.summary: SurveySummary | None = None

    def compose(self) -> ComposeResult:
        yield self.header()
        with Horizontal(id="survey-top"):
            yield Static(id="survey-stats", markup=False)
            yield Static(id="survey-dist", markup=False)
            with Vertical(id="survey-trend-box"):
                yield Label("CSAT by week", classes="section-title")
                yield Sparkline([], id="survey-trend")
                yield Static(id="survey-trend-axis", markup=False)
        yield Label("Low scores — follow up", classes="section-title")
        yield KeyedTable(COLUMNS, id="survey-flagged")
        yield Label("Recent answers", classes="section-title")
        yield KeyedTable(COLUMNS, id="survey-recent")
        yield DeskFooter()

    def on_mount(self) -> None:
        self.query_one("#survey-flagged").focus()

    def on_resize(self, event: events.Resize) -> None:
        for table in self.query(KeyedTable):
            table.set_columns(columns_for(event.size.width))

    def reload(self) -> None:
        marker = self.desk.marker

        def loaded(summary: SurveySummary) -> None:
            self.mark_loaded(marker)
            self.show(summary)

        self.call(lambda: self.service.survey_summary(), then=loaded)

    def show(self, s: SurveySummary) -> None:
        self.summary = s
        stats = Table.grid(padding=(0, 1))
        stats.add_column(style="dim")
        stats.add_column(justify="right", style="bold")
        csat = "—" if s.csat is None else f"{s.csat:.1f}%"
        stats.add_row("Surveys sent", str(s.sent))
        stats.add_row("Answered", str(s.answered))
        rate = f"{100.0 * s.answered / s.sent:.0f}%" if s.sent else "—"
        stats.add_row("Response rate", rate)
        stats.add_row("CSAT (4–5)", Text(csat, style="bold green" if (s.csat or 0) >= 80 else "bold yellow"))
        stats.add_row("Flagged (1–2)", Text(str(len(s.flagged)), style="bold red" if s.flagged else ""))
        self.query_one("#survey-stats", Static).update(stats)

        dist = Table.grid(padding=(0, 1))
        dist.add_column(justify="right")
        dist.add_column()
        dist.add_column(justify="right", style="dim")
        top = max(s.distribution.values()) if s.distribution else 0
        for score in range(5, 0, -1):
            n = s.distribution.get(score, 0)
            bar = "█" * (round(24 * n / top) if top else 0)
            dist.add_row(f"{score}", Text(bar or "·", style=SCORE_STYLES[score]), str(n))
        self.query_one("#survey-dist", Static).update(dist)

        values = [pct if pct is not None else 0.0 for _, pct, _ in s.trend]
        self.query_one("#survey-trend", Sparkline).data = values
        axis = Text(overflow="ellipsis", no_wrap=True)  # (each line cut with `…` in a narrow box)
        if s.trend:
            axis.append(f"{len(s.trend)} weeks from {s.trend[0][0]}", "dim")
            answered = [w for w in s.trend if w[1] is not None]
            if answered:
                week, pct, n = answered[-1]
                axis.append(f"\nlatest: week of {week} ", "dim")
                axis.append(f"{pct:.0f}%", "bold")
                axis.append(f" ({n} answer{'s' if n != 1 else ''})", "dim")
        self.query_one("#survey-trend-axis", Static).update(axis)

        with self.app.batch_update():
            self.query_one("#survey-flagged", KeyedTable).sync([(str(v.case), self.cells(v)) for v in s.flagged])
            self.query_one("#survey-recent", KeyedTable).sync([(str(v.case), self.cells(v)) for v in s.recent])
        self.refresh_bindings()

    def cells(self, v: SurveyView) -> dict[str, Any]:
        return {
            "case": Text(str(v.case), style="bold"),
            "answered": Text(fmt.when(v.answered_at, self.desk.tz), style="dim"),
            "score": Text(f"{v.score}" + (" ⚑" if v.flagged else ""), style=SCORE_STYLES.get(v.score or 0, "")),
            "customer": cell(v.customer, limit=30),
            "assignee": cell(v.assignee or "—"),
            "comment": cell(v.comment or "", limit=80),
        }

    def can(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open_case":
            return self.selected() is not None or None
        return True

    def selected(self) -> int | None:
        focused = self.focused
        table = focused if isinstance(focused, KeyedTable) else self.query_one("#survey-flagged", KeyedTable)
        key = table.selected_key
        return int(key) if key else None

    def action_open_case(self) -> None:
        case_id = self.selected()
        if case_id is not None:
            self.desk.open_case(case_id)

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.desk.open_case(int(event.row_key.value))

    def action_switch_list(self) -> None:
        flagged = self.query_one("#survey-flagged", KeyedTable)
        recent = self.query_one("#survey-recent", KeyedTable)
        (recent if self.focused is flagged else flagged).focus()

    def action_reload(self) -> None:
        self.reload()
