"""The Parked list (pane 7) at 120×40 on the deterministic desk, frozen clock, ticker off."""

from __future__ import annotations

from test_parked import park_three
from test_snapshots import SIZE, build, go


def test_parked_list(snap_compare, app_as, ids, service, clock):
    park_three(service, clock)
    assert snap_compare(build(app_as, ids, "maria"), terminal_size=SIZE, run_before=go("7"))
