"""Lines applied in batches: a line that is refused after the service began writing it (an
overdue timer fired for it) leaves nothing behind, and the lines around it are applied once."""

from __future__ import annotations

import io
import json

from deskconsole.ingest import ingest_stream


class _Out:
    def __init__(self) -> None:
        self.out, self.err = io.StringIO(), io.StringIO()

    def json(self, value: dict, *, flush: bool = False) -> None:
        self.out.write(json.dumps(value) + "\n")

    def results(self) -> list[dict]:
        return [json.loads(line) for line in self.out.getvalue().splitlines()]


def _feed(*events: dict) -> io.BytesIO:
    return io.BytesIO("".join(json.dumps(e) + "\n" for e in events).encode())


def _timeline(desk, case_id: int) -> list[str]:
    return [e.kind for e in desk.svc.get_case(case_id).events]


def test_a_line_refused_after_a_timer_fired_for_it_leaves_nothing_and_its_neighbours_apply_once(desk) -> None:
    first, last = desk.open(title="Login loops"), desk.open(title="Export is empty")
    waiting = desk.case_in("awaiting_confirmation")
    desk.later(days=15)  # the waiting case's auto-close is overdue: no tick has fired it
    before = desk.snapshot(waiting.id)

    out = _Out()
    status = ingest_stream(desk.svc, _feed(
        {"type": "customer.replied", "case": first.id, "body": "Still looping."},
        # settling the case fires its auto-close first; the escalation is then refused (closed)
        {"type": "escalation.requested", "case": waiting.id, "reason": "Nobody answers."},
        {"type": "customer.replied", "case": last.id, "body": "Here is the file."},
        {"type": "customer.replied", "case": 999_999, "body": "Unknown case."},
        {"type": "customer.replied", "case": first.id, "body": "Now it works."},
    ), out)

    results = out.results()
    assert status == 1
    assert [r["ok"] for r in results] == [True, False, True, False, True]
    assert [r["line"] for r in results] == [1, 2, 3, 4, 5]
    assert "closed" in results[1]["error"] and "unknown case 999999" in results[3]["error"]
    # the refused line took back what its action wrote: the auto-close it fired is for the next tick
    assert desk.snapshot(waiting.id) == before
    assert desk.svc.get_case(waiting.id).status == "awaiting_confirmation"
    # the lines around the refused ones are applied exactly once, in order
    assert _timeline(desk, first.id).count("customer_replied") == 2
    assert _timeline(desk, last.id).count("customer_replied") == 1
    assert [e.body for e in desk.svc.get_case(first.id).events if e.kind == "customer_replied"] == [
        "Still looping.", "Now it works."]


def test_a_batch_without_refusals_applies_every_line_once(desk) -> None:
    cases = [desk.open(title=f"Invoice {i} is wrong", customer=f"c{i}") for i in range(30)]
    out = _Out()
    events = [{"type": "customer.replied", "case": c.id, "body": f"Reply {c.id}"} for c in cases]
    events += [{"type": "case.opened", "title": f"Billing run {i} failed", "customer": "acme",
                "product_area": "billing", "ref": f"r{i % 10}"} for i in range(20)]
    assert ingest_stream(desk.svc, _feed(*events), out) == 0
    results = out.results()
    assert len(results) == 50 and all(r["ok"] for r in results)
    for case in cases:
        assert _timeline(desk, case.id).count("customer_replied") == 1
    # the same ref twice gives back the same case, never a duplicate
    opened = [r["case"] for r in results[30:]]
    assert opened[:10] == opened[10:] and len(set(opened)) == 10


def test_a_batch_commits_its_services_actions_together_or_not_at_all(desk) -> None:
    """batch.service's actions run in the batch's transaction: a block that raises leaves none of
    them; a batch does not nest; once the block ends, batch.service acts on its own again."""
    import pytest

    case = desk.open(title="Login loops")
    with pytest.raises(RuntimeError, match="rolled back"):
        with desk.svc.batch(light=False) as batch:
            batch.service.customer_reply(case.id, "First words.")
            batch.service.customer_reply(case.id, "Second words.")
            with pytest.raises(RuntimeError, match="does not nest"):
                with batch.service.batch():
                    pass
            raise RuntimeError("rolled back")
    assert _timeline(desk, case.id).count("customer_replied") == 0

    with desk.svc.batch(light=False) as batch:
        shown = batch.service.customer_reply(case.id, "Kept words.")[0]
    assert [e.body for e in shown.events if e.kind == "customer_replied"] == ["Kept words."]
    assert _timeline(desk, case.id).count("customer_replied") == 1
    assert batch.service.customer_reply(case.id, "After the batch.")[0].version == shown.version + 1
