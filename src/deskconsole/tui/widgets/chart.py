"""A chart drawn in the terminal (textual-plotext): a titled PlotextPlot redrawn from a function.

Plotext keeps its figure in the widget (no global state); each render makes a new figure and draws
the current figures again at the widget's size, so a resize or new data just asks for a refresh.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import RenderableType
from textual_plotext import Plot, PlotextPlot


class Chart(PlotextPlot):
    """A plot whose contents `draw(plt)` makes (set with `show`); empty until then."""

    def __init__(self, title: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.chart_title = title
        self._draw: Callable[[Any], None] | None = None

    def show(self, draw: Callable[[Any], None]) -> None:
        self._draw = draw
        self.refresh()

    def render(self) -> RenderableType:
        # A new figure each time: plotext's clear_figure leaves some layout behind (a bar chart's
        # labels moved a column from one render to the next), so a chart depended on how often
        # it had been drawn before. (PlotextPlot.render draws self._plot.)
        self._plot = plt = Plot()
        plt.title(self.chart_title)
        if self._draw is not None:
            self._draw(plt)
        return super().render()
