"""Pane 7, insight (supervisors and managers): the desk at a glance, as charts.

Open backlog by age, service-level compliance per week by priority, CSAT per week, reopen rate and
first-contact resolution per week, and a summary; `n` shows each chart's numbers as a table
instead. The figures are Service.insight's (aggregate queries); the pane reads them again when the
desk changes, like the other panes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from textual.widgets import Static

from deskconsole.tui.panes import pane, screen_keys
from deskconsole.tui.screens.base import PaneScreen
from deskconsole.tui.styles import style
from deskconsole.tui.widgets.chart import Chart
from deskconsole.tui.widgets.footer import DeskFooter

CHARTS = (
    ("backlog", "Open backlog by age"),
    ("sla", "SLA compliance % by week"),
    ("csat", "CSAT % by week"),
    ("reopen", "Reopen rate % by week"),
    ("fcr", "First-contact resolution % by week"),
)
PRIORITY_COLORS = {"P1": "red", "P2": "orange", "P3": "cyan", "P4": "gray"}  # plotext's names
PLOT_TO_RICH = {"orange": "dark_orange", "gray": "grey50"}  # (the legend, drawn by rich: plotext's legend
# fails on the console's themes, so the chart has none)


def short_week(week: str) -> str:
    """`2026-11-30` as `11-30` (the charts' axis)."""
    return week[5:]


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:g}%"


class InsightScreen(PaneScreen):
    CSS_PATH = style(pane("insight").stylesheet)
    PANE = "insight"
    ACTIONS, BINDINGS = screen_keys("insight")

    def __init__(self) -> None:
        super().__init__()
        self.figures: Any = None
        self.numbers = False

    def compose(self) -> ComposeResult:
        yield self.header()
        with Grid(id="insight-grid"):
            for name, title in CHARTS:
                with Vertical(classes="insight-box"):
                    yield Chart(title, id=f"chart-{name}")
                    yield Static(id=f"numbers-{name}", classes="insight-numbers", markup=False)
            yield Static(id="insight-summary", markup=False)
        yield Static(id="insight-status", markup=False)
        yield DeskFooter()

    def reload(self) -> None:
        marker = self.desk.marker

        def loaded(figures: Any) -> None:
            self.mark_loaded(marker)
            self.show(figures)

        self.call(lambda: self.service.insight(), then=loaded)

    # ---------------------------------------------------------------- drawing
    def show(self, f: Any) -> None:
        self.figures = f
        weeks = list(f.weeks)
        ticks = list(range(1, len(weeks) + 1))
        labels = [short_week(w) for w in weeks]
        shown_ticks = ticks[::3] if len(ticks) > 6 else ticks
        shown_labels = labels[::3] if len(ticks) > 6 else labels

        open_by_age = dict.fromkeys(f.ages, 0)
        for row in f.backlog:
            open_by_age[row["age"]] = open_by_age.get(row["age"], 0) + row["open"]
        def backlog(plt: Any) -> None:
            # Sideways, the ages down the side: under the bars plotext places labels this close
            # together differently from run to run.
            places = list(range(len(open_by_age), 0, -1))  # youngest at the top
            plt.bar(places, list(open_by_age.values()), color="cyan", width=0.6, orientation="horizontal")
            plt.yticks(places, list(open_by_age))
            plt.ylim(0.5, len(places) + 0.5)

        self.chart("backlog", backlog, ["Age", "Open"], [[age, n] for age, n in open_by_age.items()])

        by_priority: dict[str, dict[str, float]] = {}
        for row in f.sla:
            if row["compliance"] is not None:
                by_priority.setdefault(row["priority"], {})[row["week"]] = row["compliance"]

        def sla(plt: Any) -> None:
            for priority, values in sorted(by_priority.items()):
                xs = [i for i, w in zip(ticks, weeks, strict=True) if w in values]
                plt.plot(xs, [values[weeks[x - 1]] for x in xs], marker="dot",
                         color=PRIORITY_COLORS.get(priority, "white"))
            self._axis(plt, len(weeks), shown_ticks, shown_labels)

        self.chart("sla", sla, ["Week", "P", "Met", "Late", "%"],
                   [[short_week(r["week"]), r["priority"], r["met"], r["breached"], _percent(r["compliance"])]
                    for r in f.sla])

        csat = {r["week"]: r for r in f.csat}
        self.weekly("csat", weeks, ticks, shown_ticks, shown_labels, {w: r["csat"] for w, r in csat.items()}, "green",
                    ["Week", "Answers", "Average", "CSAT"],
                    [[short_week(w), r["answered"], f"{r['average']:.2f}", _percent(r["csat"])]
                     for w, r in csat.items()])
        resolved = {r["week"]: r for r in f.resolutions}
        self.weekly("reopen", weeks, ticks, shown_ticks, shown_labels,
                    {w: r["reopen_rate"] for w, r in resolved.items()}, "magenta",
                    ["Week", "Resolved", "Reopened", "%"],
                    [[short_week(w), r["resolved"], r["reopened"], _percent(r["reopen_rate"])]
                     for w, r in resolved.items()])
        self.weekly("fcr", weeks, ticks, shown_ticks, shown_labels,
                    {w: r["fcr_rate"] for w, r in resolved.items()}, "blue",
                    ["Week", "Resolved", "First reply", "%"],
                    [[short_week(w), r["resolved"], r["first_contact"], _percent(r["fcr_rate"])]
                     for w, r in resolved.items()])
        self.summary(f, open_by_age)
        self.update_status()

    def chart(self, name: str, draw: Callable[[Any], None], headers: Sequence[str],
              rows: Sequence[Sequence[object]]) -> None:
        """One chart and its numbers (the table `n` shows)."""
        self.query_one(f"#chart-{name}", Chart).show(draw)
        title = dict(CHARTS)[name]
        table = Table(title=title, title_justify="left", expand=True, show_edge=False, pad_edge=False)
        for i, header in enumerate(headers):
            table.add_column(header, justify="left" if i == 0 else "right", no_wrap=True)
        for row in rows:
            table.add_row(*(str(v) for v in row))
        if not rows:
            table.add_row(*(["—"] * len(headers)))
        self.query_one(f"#numbers-{name}", Static).update(table)

    def weekly(self, name: str, weeks: list[str], ticks: list[int], shown_ticks: list[int], shown_labels: list[str],
               values: dict[str, float | None], color: str, headers: Sequence[str],
               rows: Sequence[Sequence[object]]) -> None:
        """A percentage per week as bars (weeks without figures are left empty)."""

        def draw(plt: Any) -> None:
            xs = [i for i, w in zip(ticks, weeks, strict=True) if values.get(w) is not None]
            if xs:
                plt.bar(xs, [values[weeks[x - 1]] for x in xs], color=color, width=0.6)
            self._axis(plt, len(weeks), shown_ticks, shown_labels)

        self.chart(name, draw, headers, rows)

    @staticmethod
    def _axis(plt: Any, weeks: int, ticks: list[int], labels: list[str]) -> None:
        """Weeks 1..`weeks` along x (labelled at `ticks`), 0-100 % up."""
        plt.xticks(ticks, labels)
        plt.xlim(0.5, weeks + 0.5)
        plt.ylim(0, 105)

    def summary(self, f: Any, open_by_age: dict[str, int]) -> None:
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="dim")
        grid.add_column(justify="right", style="bold")
        grid.add_row("Open cases", str(sum(open_by_age.values())))
        older = sum(n for age, n in open_by_age.items() if age in f.ages[3:])
        grid.add_row("Open over a week", Text(str(older), style="bold red" if older else ""))
        this_week = f.weeks[-1] if f.weeks else None
        met = sum(r["met"] for r in f.sla if r["week"] == this_week)
        breached = sum(r["breached"] for r in f.sla if r["week"] == this_week)
        grid.add_row("SLA this week", _percent(round(100.0 * met / (met + breached), 1) if met + breached else None))
        grid.add_row("Breaches this week", Text(str(breached), style="bold red" if breached else ""))
        csat = next((r for r in reversed(f.csat)), None)
        grid.add_row("Latest CSAT", f"{_percent(csat['csat'])} (week of {csat['week']})" if csat else "—")
        resolved = next((r for r in reversed(f.resolutions)), None)
        grid.add_row("Reopen rate", _percent(resolved["reopen_rate"]) if resolved else "—")
        grid.add_row("First contact", _percent(resolved["fcr_rate"]) if resolved else "—")
        legend = Text()
        for priority, color in PRIORITY_COLORS.items():
            legend.append(f"{priority} ", style=f"bold {PLOT_TO_RICH.get(color, color)}")
        grid.add_row("SLA lines", legend)
        if not f.sla and not f.resolutions:
            grid.add_row("", "")
            grid.add_row(Text("Service-level, reopen and first-contact figures come from\nthe service levels: "
                              "deskconsole sla load FILE", style="italic"), "")
        self.query_one("#insight-summary", Static).update(grid)

    def update_status(self) -> None:
        line = Text(no_wrap=True)
        line.append(" showing ", "dim")
        line.append("numbers" if self.numbers else "charts", "bold")
        if self.figures is not None and self.figures.weeks:
            line.append(f"  {len(self.figures.weeks)} weeks from {self.figures.weeks[0]} (weeks start on Monday, UTC)",
                        "dim")
        line.append("  n ", "bold")
        line.append("charts" if self.numbers else "numbers", "dim")
        self.query_one("#insight-status", Static).update(line)

    # ---------------------------------------------------------------- actions
    def action_toggle_numbers(self) -> None:
        self.numbers = not self.numbers
        self.set_class(self.numbers, "numbers")
        self.update_status()

    def action_reload(self) -> None:
        self.reload()
