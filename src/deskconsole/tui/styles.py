"""The console's stylesheets (styles/): where they are, and which the first screen needs.

app.tcss (what every pane shares) and queue.tcss are the App's own stylesheets: the queue's first
frame is styled by them alone. Each other pane, and the modal screens (forms.tcss), name their
file as their screen's CSS_PATH, which Textual reads when that screen is first shown; and
DeskApp.load_styles() reads all of them at once right after the first frame, so that showing a
pane for the first time does not pay for parsing and applying the whole stylesheet again. Every
file more at the start is parsed before the first frame (three times) and each of its rules
checked against every widget of the queue: the five other panes' files cost ~16 ms.
"""

from __future__ import annotations

from pathlib import Path

from deskconsole.tui.panes import PANES

SHARED = "app.tcss"  # what every pane shares
MODALS = "forms.tcss"  # forms, confirmations, help, the article picker
FIRST = [SHARED, *(p.stylesheet for p in PANES if p.first)]  # (tui/panes.py)
LATER = [*(p.stylesheet for p in PANES if not p.first), MODALS]


def styles_dir() -> Path:
    """The styles/ folder: inside the installed package, or at the top of the source tree."""
    here = Path(__file__).resolve()
    candidates = [
        here.parents[1] / "styles",  # wheel: deskconsole/styles
        here.parents[3] / "styles",  # source tree: <repo>/styles (src/deskconsole/tui/styles.py)
    ]
    for candidate in candidates:
        if (candidate / "app.tcss").is_file():
            return candidate
    return candidates[-1]


def style(name: str) -> Path:
    """One stylesheet of styles/ (a screen's CSS_PATH)."""
    return styles_dir() / name


__all__ = ["FIRST", "LATER", "style", "styles_dir"]
