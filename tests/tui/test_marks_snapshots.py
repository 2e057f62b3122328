"""The queue with marks (issue 17) at 80×24 and 120×40: ● and the tinted rows, "5 marked" and the bulk keys
in the status line, the cursor on an unmarked row below them."""

from __future__ import annotations

import pytest
from test_snapshots import build, go

MARKING = ("space", "j", "j", "V", "j", "j", "space")  # rows 1-4 (space, then V to row 4) and row 6


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_queue_with_marks(snap_compare, app_as, ids, size):
    assert snap_compare(build(app_as, ids, "maria"), terminal_size=size, run_before=go(*MARKING))
