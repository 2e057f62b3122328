"""One line of one Text cell drawn as DataTable draws it through Rich, with Rich's public API.

textual_adapter.FastDataTable keeps what these draw by what the cells show; tests/tui/test_table_fast.py
compares the result with DataTable's own drawing, segment by segment.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import pairwise
from operator import itemgetter
from typing import Any

from rich.cells import cell_len, set_cell_size
from rich.control import strip_control_codes
from rich.segment import Segment
from rich.style import Style
from rich.text import Span, Text

_NULL = Style.null()


def draw_line(
    console: Any, cell: Text, plain: str, justify: str, overflow: str, width: int, padding: int,
    pre_style: Style, post_style: Style,
) -> list[Segment]:
    """One line of one cell, exactly as DataTable renders it through Rich for a one-line row."""
    # Text.wrap with no_wrap on a copy of the cell: (left justification pads,) then truncate.
    inner = width - 2 * padding
    text = strip_control_codes(plain)
    spans = list(cell.spans)
    length = cell_len(text)
    if length > inner:
        cut = set_cell_size(text, inner - 1) + "…" if overflow == "ellipsis" else set_cell_size(text, inner)
        if cut != text:
            cut = strip_control_codes(cut)
            if len(text) > len(cut):  # Text._trim_spans
                end = len(cut)
                spans = [span if span.end < end else Span(span.start, min(end, span.end), span.style)
                         for span in spans if span.start < end]
            text = cut
    elif justify == "left" and length < inner:
        text = text + " " * (inner - length)

    # Text("\n").join([line]).render(console): the line's own style becomes the first span.
    if cell.style:
        spans.insert(0, Span(0, len(text), cell.style))
    segments: list[Segment] = []
    if not spans:
        segments.append(Segment(text))
    else:
        segments.extend(render_spans(console, text, spans))

    # render_lines in Padding: the line padded to the inner width (Padding's style is "none").
    line = Segment.adjust_line_length(segments, inner, style=_NULL, pad=True)
    if padding:
        edge = Segment(" " * padding, _NULL)
        line = [edge, *line, edge]

    # Styled: the row/component style under the cell's styles, the cursor colours over them.
    styled = []
    for segment in line:
        style = segment.style
        if pre_style:
            style = pre_style + style
        if post_style:
            style = style + post_style if style else post_style
        styled.append(Segment(segment.text, style))
    return Segment.adjust_line_length(styled, width, style=None, pad=True)


def join_simplified(pieces: list[list[Segment]]) -> list[Segment]:
    """Segment.simplify over the pieces one after another, each piece simplified already: only
    the first segment of a piece can join the segment before it."""
    joined: list[Segment] = []
    for piece in pieces:
        if not piece:
            continue
        first = piece[0]
        if joined and joined[-1].style == first.style and not first.control:
            last = joined[-1]
            joined[-1] = Segment(last.text + first.text, last.style)
        else:
            joined.append(first)
        joined.extend(piece[1:])
    return joined


def render_spans(console: Any, text: str, spans: list[Span]) -> Iterable[Segment]:
    """Text.render for a text with spans (the same sweep, so the same segments)."""
    get_style = console.get_style
    style_map = {index: get_style(span.style, default=_NULL) for index, span in enumerate(spans, 1)}
    style_map[0] = get_style("", default=_NULL)
    marks = [
        (0, False, 0),
        *((span.start, False, index) for index, span in enumerate(spans, 1)),
        *((span.end, True, index) for index, span in enumerate(spans, 1)),
        (len(text), True, 0),
    ]
    marks.sort(key=itemgetter(0, 1))
    stack: list[int] = []
    combined: dict[tuple[Style, ...], Style] = {}
    for (offset, leaving, style_id), (next_offset, _, _) in pairwise(marks):
        if leaving:
            stack.remove(style_id)
        else:
            stack.append(style_id)
        if next_offset > offset:
            styles = tuple(style_map[i] for i in sorted(stack))
            style = combined.get(styles)
            if style is None:
                style = combined[styles] = Style.combine(styles)
            yield Segment(text[offset:next_offset], style)


__all__ = ["draw_line", "join_simplified", "render_spans"]
