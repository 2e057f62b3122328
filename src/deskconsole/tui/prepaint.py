"""The pre-paint: the queue drawn with plain ANSI escapes before Textual has loaded.

Importing Textual and composing the first screen takes longer than reading the queue. In a
real terminal `deskconsole` therefore, before it imports Textual:

1. saves the terminal's attributes and turns off echo and line buffering, so that keys typed
   now are neither shown nor lost (the console reads them once it runs);
2. opens the quick connection (deskconsole.tui.quickstart), reads the queue's first window,
   switches to the alternate screen, hides the cursor and draws the queue as the console will
   draw it at this terminal size: the header line, the table (same columns, widths, row text,
   colours, the cursor on the first row, the scroll bars), the status line and the footer keys;
3. hands the rows to the console (its first window is this read, not a second one), which
   then paints over the same screen; `restore()` puts the saved attributes back when it ends.

It applies only when stdin and stdout are terminals, TERM is set and not `dumb`, NO_COLOR and
TEXTUAL_DRIVER are unset and DESKCONSOLE_NO_PREPAINT is not `1`. Any error on the way leaves
the terminal as it was and the console starts the ordinary way.

Customer text is drawn literally: control characters, escapes and bidi controls become
visible escapes (deskconsole.tui.text.clean) and cells are cut by cell width.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from itertools import pairwise
from math import ceil
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len, set_cell_size
from rich.color import Color, ColorSystem
from rich.style import Style
from rich.text import Text

from deskconsole.domain.saved_views import built_in
from deskconsole.domain.saved_views import first_view as opening_view
from deskconsole.tui.bindings import PALETTE_CELLS, footer_cells, footer_fit
from deskconsole.tui.headline import header_line
from deskconsole.tui.keymap import remap
from deskconsole.tui.panes import GLOBAL, pane
from deskconsole.tui.queuespec import PAGE, columns_for, first_query, first_view, row_cells
from deskconsole.tui.text import clean
from deskconsole.tui.viewtabs import tab_line

if TYPE_CHECKING:
    from deskconsole.domain.rows import CaseRow
    from deskconsole.domain.saved_views import View
    from deskconsole.settings import Settings
    from deskconsole.tui.quickstart import QuickStart

RGB = tuple[int, int, int]

# The console's colours (Textual's default dark theme as the queue pane shows it).
TEXT: RGB = (224, 224, 224)
SURFACE: RGB = (39, 39, 39)  # the table's rows
PANEL: RGB = (36, 47, 56)  # header line, status line, footer
TABLE_HEADER: RGB = (45, 55, 64)
CURSOR_TEXT: RGB = (221, 237, 249)
CURSOR: RGB = (1, 120, 212)
SCROLL_BACK: RGB = (0, 0, 0)
SCROLL_BAR: RGB = (0, 48, 84)
KEY: RGB = (255, 166, 43)
KEY_OFF: RGB = (180, 125, 47)
LABEL_OFF: RGB = (160, 163, 166)
FOOTER_RULE: RGB = (73, 82, 89)
DIM_FACTOR = 0.66  # dim text: blended this far from the background towards its colour
# Named colours as the console shows them (Textual's ANSI theme), by ANSI number.
NAMED: dict[int, RGB] = {
    0: (39, 40, 34), 1: (244, 0, 95), 2: (152, 224, 36), 3: (253, 151, 31), 4: (157, 101, 255),
    5: (244, 0, 95), 6: (88, 209, 235), 7: (196, 197, 181),
}

def footer_keys(keymap: Mapping[str, str] | None = None) -> list[tuple[str, str, str, frozenset[str] | None, int]]:
    """The footer of the queue: id, key, label, who is offered it (None: everyone), rank; the shown
    entries of the queue pane's keys then the global ones (tui/panes.py), after the config file's
    [keys], `enter` left out (it belongs to the table)."""
    return [
        (entry.id, entry.display_key(), entry.label, entry.roles, entry.rank)
        for entry in remap([*pane("queue").actions, *GLOBAL], keymap or {})
        if entry.show and entry.key and entry.key != "enter" and not entry.builtin
    ]


@dataclass(frozen=True)
class Look:
    """How one cell looks once drawn."""

    fg: RGB = TEXT
    bg: RGB = SURFACE
    bold: bool = False
    italic: bool = False
    underline: bool = False
    reverse: bool = False


Run = tuple[str, Look]  # text, and how it looks
Line = list[Run]


# ----------------------------------------------------------------------- looks
def _rgb(color: Color | None, default: RGB) -> RGB:
    if color is None or color.is_default:
        return default
    if color.triplet is not None:
        return tuple(color.triplet)  # type: ignore[return-value]
    number = color.number or 0
    return NAMED.get(number % 8, default)


def _blend(background: RGB, color: RGB, factor: float = DIM_FACTOR) -> RGB:
    return tuple(int(b + (c - b) * factor) for b, c in zip(background, color, strict=True))  # type: ignore[return-value]


def look(style: Style, fg: RGB, bg: RGB, *, over: Look | None = None) -> Look:
    """A rich style drawn over (fg, bg); `over` is the cursor row, whose colours win."""
    color = _rgb(style.color, fg)
    back = _rgb(style.bgcolor, bg)
    bold = bool(style.bold)
    if over is not None:  # the cursor's colours, except a cell's own background
        color, bold = over.fg, True
        back = _rgb(style.bgcolor, over.bg)
    if style.dim:
        color = _blend(back, color)
    return Look(color, back, bold, bool(style.italic), bool(style.underline), bool(style.reverse))


def runs_of(text: Text, fg: RGB, bg: RGB, *, over: Look | None = None) -> Line:
    """The text's pieces, each with its look (its own style and its spans over it)."""
    plain = text.plain
    cuts = {0, len(plain)}
    for span in text.spans:
        cuts.update((max(0, span.start), min(len(plain), span.end)))
    points = sorted(cuts)
    base = Style.parse(text.style) if isinstance(text.style, str) else text.style
    out: Line = []
    for start, end in pairwise(points):
        if start >= end:
            continue
        styles = [base] + [Style.parse(s.style) if isinstance(s.style, str) else s.style
                           for s in text.spans if s.start <= start and s.end >= end]
        out.append((plain[start:end], look(Style.combine(styles), fg, bg, over=over)))
    return out


def fit(line: Line, width: int, fill: Look, *, ellipsis: bool = False) -> Line:
    """The runs cut (or padded with `fill`) to exactly `width` cells; with `ellipsis` a cut line
    ends in `…` (as a table cell whose text overflows with an ellipsis)."""
    if ellipsis and sum(cell_len(text) for text, _ in line) > width > 0:
        cut = fit(line, width - 1, fill)
        return [*cut, ("…", cut[-1][1] if cut else fill)]
    out: Line = []
    used = 0
    for text, how in line:
        if used >= width:
            break
        size = cell_len(text)
        if used + size > width:
            text = set_cell_size(text, width - used)  # cuts by cell width; a split wide character becomes a space
            size = width - used
        out.append((text, how))
        used += size
    if used < width:
        out.append((" " * (width - used), fill))
    return out


# ----------------------------------------------------------------------- parts
def first_line(text: Text, width: int) -> Text:
    """What a one-line widget shows of a longer text: the words that fit (the rest wraps out of sight)."""
    if text.cell_len <= width:
        return text
    plain = text.plain
    cut = 0
    for i, ch in enumerate(plain):
        if ch == " " and cell_len(plain[:i]) <= width:
            cut = i
    return text[:cut] if cut else text


def status_line(view: str, sort: str, count: int) -> Text:
    """The line under the table, as QueueScreen.update_status makes it on the first page."""
    line = Text(no_wrap=True)
    line.append(" view ", "dim")
    line.append(view, "bold")
    line.append("  sort ", "dim")
    line.append(sort, "bold")
    line.append("  page 1", "dim")
    line.append(f"  {count} case{'s' if count != 1 else ''} shown", "dim")
    if count == PAGE:
        line.append("  ] next page", "dim")
    if not count:
        line.append("  — nothing here: tab changes the view", "italic")
    return line


def footer_line(role: str, count: int, width: int, keymap: Mapping[str, str] | None = None) -> Line:
    key, label = Look(KEY, PANEL, bold=True), Look(TEXT, PANEL)
    key_off, label_off = Look(KEY_OFF, PANEL, bold=True), Look(LABEL_OFF, PANEL)
    left: Line = []
    offered = [(key_id, shown, name, rank) for key_id, shown, name, roles, rank in footer_keys(keymap)
               if roles is None or role in roles]
    # no next page; the first page has no previous
    off = {key_id: (key_id == "queue.next_page" and count < PAGE) or key_id == "queue.prev_page"
           for key_id, _, _, _ in offered}
    kept = footer_fit([(key_id, footer_cells(shown, name), rank, not off[key_id])
                       for key_id, shown, name, rank in offered], width - PALETTE_CELLS)
    for key_id, shown, name, _ in offered:
        if key_id in kept:
            dim = off[key_id]
            left += [(f" {shown} ", key_off if dim else key), (f"{name} ", label_off if dim else label)]
    right: Line = [("▏", Look(FOOTER_RULE, PANEL)), ("^p", key), (" palette", label), (" ", label)]
    room = width - sum(cell_len(t) for t, _ in right)  # the palette key keeps its place
    if room < 0:
        return fit(left, width, label)
    return fit(left, room, label) + right


def scrollbar(size: int, virtual: int, window: int, *, vertical: bool) -> list[Run]:
    """One scroll bar at the top of its range, cell by cell (as Textual's ScrollBarRender draws it)."""
    bars = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", " "] if vertical else ["▉", "▊", "▋", "▌", "▍", "▎", "▏", " "]
    back = Look(TEXT, SCROLL_BACK)
    cells: list[Run] = [(" ", back)] * size
    if not (window and size and virtual and size != virtual):
        return cells
    thumb = max(1.0, window / (virtual / size))
    end = ceil(thumb * len(bars))
    end_index, end_bar = divmod(end, len(bars))
    for i in range(min(end_index, size)):
        cells[i] = (" ", Look(SCROLL_BAR, SURFACE, reverse=True))
    if end_index < size:
        glyph = bars[len(bars) - 1 - end_bar]
        if glyph != " ":
            cells[end_index] = (glyph, Look(SCROLL_BAR, SCROLL_BACK, reverse=vertical))
    return cells


# ----------------------------------------------------------------------- frame
def frame_lines(*, width: int, height: int, user: str, role: str, view: str, sort: str, rows: Sequence[CaseRow],
                now: datetime, tz: tzinfo | None, keymap: Mapping[str, str] | None = None,
                views: Sequence[View] | None = None, counts: Mapping[str, int] | None = None) -> list[Line]:
    """The queue's first screen, line by line, each exactly `width` cells. `views`: the view tabs
    (default: the built-in ones of the role), the first view of the role in front; `counts`: their
    counts (None: not counted yet, as the console's first frame shows them)."""
    here = now.astimezone(tz)
    bar = Look(TEXT, PANEL)
    top = first_line(header_line("queue", user, role, here, width), width)
    lines: list[Line] = [fit(runs_of(top, TEXT, PANEL), width, bar)]
    front = opening_view(role).name
    tabs = tab_line(built_in(role) if views is None else views, front, counts, width)
    lines.append(fit(runs_of(tabs, TEXT, PANEL), width, bar))
    table_height = max(0, height - 4)  # under the header and tab lines, over the status line and the footer
    columns = columns_for(width)
    content_width = sum(w + 2 for _, _, w in columns)
    content_height = 1 + len(rows)
    vertical = horizontal = False
    for _ in range(2):  # each bar takes room from the other direction
        horizontal = content_width > width - (1 if vertical else 0)
        vertical = content_height > table_height - (1 if horizontal else 0)
    view_width = max(0, width - (1 if vertical else 0))
    view_height = max(0, table_height - (1 if horizontal else 0))

    heading = Look(TEXT, TABLE_HEADER, bold=True)
    header: Line = [(" " + set_cell_size(label, w) + " ", heading) for _, label, w in columns]
    table: list[Line] = [fit(header, view_width, heading)]  # the header and the cursor span the whole width
    cursor = Look(CURSOR_TEXT, CURSOR, bold=True)
    for index, r in enumerate(rows[: max(0, view_height - 1)]):
        over = cursor if index == 0 else None
        pad = cursor if over is not None else Look(TEXT, SURFACE)
        cells = row_cells(r, now)
        line: Line = []
        for key, _, w in columns:
            line.append((" ", pad))
            line += fit(runs_of(cells[key], TEXT, SURFACE, over=over), w, pad,
                        ellipsis=cells[key].overflow == "ellipsis")
            line.append((" ", pad))
        table.append(fit(line, view_width, pad))
    while len(table) < view_height:
        table.append([(" " * view_width, Look(TEXT, SURFACE))])
    table = table[:view_height]
    if vertical:
        bar_cells = scrollbar(view_height, content_height, view_height, vertical=True)
        table = [line + [bar_cells[i]] for i, line in enumerate(table)]
    if horizontal:
        bottom = scrollbar(view_width, content_width, view_width, vertical=False)
        if vertical:
            bottom.append((" ", Look(TEXT, SCROLL_BACK)))
        table.append(bottom)
    lines += table[:table_height]
    lines.append(fit(runs_of(status_line(front, sort, len(rows)), TEXT, PANEL), width, bar))
    lines.append(fit(footer_line(role, len(rows), width, keymap), width, bar))
    return lines[:height]


def color_system(environ: Mapping[str, str]) -> ColorSystem:
    """The colours the console will use here (as Rich, under Textual, decides)."""
    if environ.get("COLORTERM", "").strip().lower() in ("truecolor", "24bit"):
        return ColorSystem.TRUECOLOR
    colors = environ.get("TERM", "").strip().lower().rpartition("-")[2]
    return {"kitty": ColorSystem.EIGHT_BIT, "256color": ColorSystem.EIGHT_BIT}.get(colors, ColorSystem.STANDARD)


def _sgr(how: Look, system: ColorSystem) -> str:
    codes = ["0"]
    if how.bold:
        codes.append("1")
    if how.italic:
        codes.append("3")
    if how.underline:
        codes.append("4")
    if how.reverse:
        codes.append("7")
    codes += Color.from_rgb(*how.fg).downgrade(system).get_ansi_codes(foreground=True)
    codes += Color.from_rgb(*how.bg).downgrade(system).get_ansi_codes(foreground=False)
    return "\x1b[" + ";".join(codes) + "m"


def render(lines: Sequence[Line], system: ColorSystem) -> str:
    """The lines as escapes: each placed at its row, drawn in one synchronized update."""
    out = ["\x1b[?2026h"]
    for y, line in enumerate(lines):
        out.append(f"\x1b[{y + 1};1H")
        last: Look | None = None
        for text, how in line:
            if how != last:
                out.append(_sgr(how, system))
                last = how
            out.append(clean(text, single_line=True))  # (cleaned already: nothing raw gets through, ever)
    out.append("\x1b[0m\x1b[?2026l")
    return "".join(out)


def build_frame(*, width: int, height: int, user: str, role: str, rows: Sequence[CaseRow], now: datetime,
                tz: tzinfo | None = None, view: str | None = None, sort: str = "oldest",
                system: ColorSystem = ColorSystem.TRUECOLOR, keymap: Mapping[str, str] | None = None,
                views: Sequence[View] | None = None) -> str:
    """The queue's first screen as ANSI escapes for a width x height terminal."""
    lines = frame_lines(width=width, height=height, user=user, role=role, view=view or first_view(role),
                        sort=sort, rows=rows, now=now, tz=tz, keymap=keymap, views=views)
    return render(lines, system)


# -------------------------------------------------------------------- terminal
ENTER = "\x1b[?1049h\x1b[?25l"  # the alternate screen, the cursor hidden
LEAVE = "\x1b[0m\x1b[?25h\x1b[?1049l"


def applies(environ: Mapping[str, str], stdin: Any, stdout: Any) -> bool:
    """Whether to pre-paint: a real terminal on both ends, and nobody asked for something else."""
    if environ.get("DESKCONSOLE_NO_PREPAINT") == "1" or environ.get("TEXTUAL_DRIVER") or "NO_COLOR" in environ:
        return False
    term = environ.get("TERM", "")
    if not term or term == "dumb" or sys.platform == "win32":
        return False
    try:
        return stdin.isatty() and stdout.isatty()
    except (AttributeError, ValueError, OSError):
        return False


class Prepainted:
    """A terminal with the queue drawn on its alternate screen, and the read behind it."""

    def __init__(self, fd: int, out: int, saved: list[Any], quick: QuickStart) -> None:
        self.fd = fd
        self.out = out
        self.saved = saved
        self.quick = quick
        self._restored = False
        self.handed_over = False  # the console's driver took the screen over

    def finish(self) -> None:
        """After the console ran: restore the terminal (and leave the screen if the console never took it)."""
        if self.handed_over:
            self.restore()
        else:
            self.abandon()

    def restore(self) -> None:
        """Put back the terminal attributes saved before the pre-paint (after the console ran)."""
        if self._restored:
            return
        self._restored = True
        import termios

        try:
            termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)
        except termios.error:
            pass

    def abandon(self) -> None:
        """The console will not run: leave the alternate screen and restore the terminal."""
        try:
            os.write(self.out, LEAVE.encode())
        except OSError:
            pass
        self.restore()

    def driver(self, driver_class: type) -> type:
        """The console's terminal driver, told that the alternate screen is on already.

        Some terminals clear the alternate screen when asked to switch to it again: the
        driver's first switch is left out so the pre-painted queue stays until the
        console's first frame covers it (later switches, after a suspend, go through)."""

        screen = self

        class Prepainted(driver_class):  # type: ignore[misc, valid-type]
            _screen_on = True

            def write(self, data: str) -> None:
                if self._screen_on and "\x1b[?1049h" in data:
                    self._screen_on = False
                    screen.handed_over = True
                    data = data.replace("\x1b[?1049h", "", 1)
                super().write(data)

        Prepainted.__name__ = f"Prepainted{driver_class.__name__}"
        return Prepainted


def prepaint(settings: Settings, environ: Mapping[str, str] | None = None, stdin: Any = None,
             stdout: Any = None) -> Prepainted | None:
    """Draw the queue now, before Textual loads; None (terminal untouched) when it does not apply."""
    environ = os.environ if environ is None else environ
    stdin = sys.stdin if stdin is None else stdin
    stdout = sys.stdout if stdout is None else stdout
    if not settings.user or not applies(environ, stdin, stdout):
        return None
    try:
        import termios

        fd, out = stdin.fileno(), stdout.fileno()
        saved = termios.tcgetattr(fd)
    except Exception:  # noqa: BLE001 -- no terminal to paint on: the console starts as usual
        return None
    quick = None
    entered = False
    try:
        quiet = termios.tcgetattr(fd)
        quiet[3] &= ~(termios.ECHO | termios.ICANON)  # keys typed now wait, unshown, for the console
        quiet[6][termios.VMIN] = 1
        quiet[6][termios.VTIME] = 0
        termios.tcsetattr(fd, termios.TCSANOW, quiet)

        from deskconsole.tui.quickstart import open_for

        quick = open_for(settings)
        if quick is None:
            termios.tcsetattr(fd, termios.TCSANOW, saved)
            return None
        width, height = os.get_terminal_size(out)
        query = first_query(quick.role, quick.name)
        view, sort = query["view"], query["sort"]
        rows = quick.list_cases(**query)
        quick.handover(query, rows)
        frame = build_frame(width=width, height=height, user=quick.name, role=quick.role, rows=rows,
                            now=settings.clock.now(), view=view, sort=sort, system=color_system(environ),
                            keymap=settings.keys,
                            views=[*built_in(quick.role), *settings.views, *quick.saved_views()])
        data = (ENTER + frame).encode("utf-8")
        entered = True
        while data:
            data = data[os.write(out, data):]
        return Prepainted(fd, out, saved, quick)
    except BaseException as exc:
        try:
            if entered:
                os.write(out, LEAVE.encode())
            termios.tcsetattr(fd, termios.TCSANOW, saved)
        except Exception:  # noqa: BLE001 -- best effort: the console sets the terminal up itself
            pass
        if quick is not None:
            quick.close()
        if isinstance(exc, Exception):
            return None  # the console starts the ordinary way
        raise


__all__ = ["Prepainted", "applies", "build_frame", "color_system", "frame_lines", "prepaint"]
