"""Ingest under service levels: a batch reads its lines' service-level histories ahead, in a few
statements for all of them, and stores exactly what the same actions taken one at a time store
(targets, their metric rows and audit events, the SLA timers), refused lines among them or not."""

from __future__ import annotations

import io
import json
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, select

from deskconsole.ingest import ingest_stream
from deskconsole.store.models import SlaMetric

POLICY = """\
[calendars.eu]
timezone = "Europe/Berlin"
hours = "mon-fri 08:00-18:00"
[policies.P2]
calendar = "eu"
first_response = "4h"
next_response = "4h"
resolution = "2d"
[policies.P3]
calendar = "eu"
first_response = "8h"
next_response = "4h"
resolution = "5d"
"""
MON_10 = "2026-11-30T09:00:00Z"  # Monday 10:00 in Berlin


class _Out:
    def __init__(self) -> None:
        self.out, self.err = io.StringIO(), io.StringIO()

    def json(self, value: dict, *, flush: bool = False) -> None:
        self.out.write(json.dumps(value) + "\n")

    def results(self) -> list[dict]:
        return [json.loads(line) for line in self.out.getvalue().splitlines()]


def _feed(events: list[dict]) -> io.BytesIO:
    return io.BytesIO("".join(json.dumps(e) + "\n" for e in events).encode())


def _service_levels(desk, case_id: int) -> dict[str, Any]:
    """What the case's service levels are and left behind: targets, SLA timers, audit events, metric rows."""
    case = desk.svc.get_case(case_id)
    with Session(desk.svc.engine) as s:
        metrics = [(m.target, m.kind, m.at, m.seconds, m.calendar, m.warning, m.used) for m in s.exec(
            select(SlaMetric).where(SlaMetric.case_id == case_id).order_by(SlaMetric.id)).all()]
    return {
        "status": case.status,
        "targets": case.sla,
        "timers": sorted((t.kind, t.due) for t in case.timers if t.kind.startswith("sla_")),
        "audit": [(e.kind, e.data) for e in case.events if e.kind.startswith("sla_")],
        "metrics": metrics,
    }


def _twin_cases(desk) -> list[tuple[str, Any, Any]]:
    """Pairs of cases in the same state at the same instants: one for ingest, one for the service."""
    pairs = []
    for status in ("new", "pending", "awaiting_confirmation", "in_progress"):
        pairs.append((status, desk.case_in(status), desk.case_in(status)))
    return pairs


def test_a_batch_stores_what_the_same_actions_one_at_a_time_store(desk) -> None:
    desk.clock.set(MON_10)
    desk.svc.load_sla(POLICY, actor="sue")
    pairs = _twin_cases(desk)
    desk.later(hours=1)

    def lines(cases: dict[str, int]) -> list[dict]:
        return [
            {"type": "customer.replied", "case": cases["new"], "body": "Any news?"},
            {"type": "customer.replied", "case": cases["pending"], "body": "Here are the logs you asked for."},
            # refused before it writes: the batch is applied again, a savepoint per line
            {"type": "customer.confirmed", "case": cases["in_progress"]},
            {"type": "customer.replied", "case": cases["awaiting_confirmation"], "body": "Still broken."},
            {"type": "customer.replied", "case": 999_999, "body": "Unknown case."},
            # the same case twice in one batch: the second reply sees what the first stored
            {"type": "customer.replied", "case": cases["new"], "body": "Hello?"},
            {"type": "case.opened", "title": "Export is empty", "customer": "acme", "severity": "high"},
            {"type": "customer.replied", "case": cases["in_progress"], "body": "It happens again."},
        ]

    out = _Out()
    assert ingest_stream(desk.svc, _feed(lines({s: a.id for s, a, _ in pairs})), out) == 1
    results = out.results()
    assert [r["ok"] for r in results] == [True, True, False, True, False, True, True, True]

    # the same lines as single actions, each in its own transaction, on the twin cases
    for event in lines({s: b.id for s, _, b in pairs}):
        try:
            if event["type"] == "customer.replied":
                desk.svc.customer_reply(event["case"], event["body"])
            elif event["type"] == "customer.confirmed":
                desk.svc.customer_confirm(event["case"])
            else:
                twin_opened = desk.svc.open_case(event["title"], event["customer"], severity=event["severity"])[0]
        except Exception:  # noqa: BLE001 - refused as the ingested line was
            continue

    for status, ingested, single in pairs:
        assert _service_levels(desk, ingested.id) == _service_levels(desk, single.id), status
    assert _service_levels(desk, results[6]["case"]) == _service_levels(desk, twin_opened.id)
    # and something happened to them: the replies started the next response, reopened, resumed
    assert _service_levels(desk, pairs[0][1].id)["targets"]["next_response"]["state"] == "running"
    assert _service_levels(desk, pairs[2][1].id)["status"] == "reopened"


def test_a_batch_reads_the_histories_of_its_replies_ahead_not_one_by_one(desk, tmp_path, monkeypatch,
                                                                        sla_metric_reads) -> None:
    monkeypatch.setattr("deskconsole.ingest.BATCH_SECONDS", 3600.0)  # one batch, however slow the machine
    desk.clock.set(MON_10)
    desk.svc.load_sla(POLICY, actor="sue")
    cases = [desk.case_in("in_progress") for _ in range(12)]
    desk.later(hours=1)
    sla_metric_reads.clear()  # (from here: the batch's reads)
    out = _Out()
    # (a file, not a pipe: every line is there when the batch begins)
    path = tmp_path / "replies.jsonl"
    path.write_bytes(_feed([{"type": "customer.replied", "case": c.id, "body": f"More ({k})."}
                            for k, c in enumerate(cases)]).getvalue())
    with path.open("rb") as stream:
        assert ingest_stream(desk.svc, stream, out, path=str(path)) == 0
    assert [r["ok"] for r in out.results()] == [True] * 12
    # read ahead for the batch in one statement, none per line
    assert len(sla_metric_reads) == 1 and " IN (" in sla_metric_reads[0], sla_metric_reads
    assert all(_service_levels(desk, c.id)["targets"]["next_response"]["state"] == "running" for c in cases)


def test_reading_ahead_on_postgres_skips_a_case_another_console_holds(desk) -> None:
    if desk.svc.engine.dialect.name != "postgresql":
        return  # (SQLite has one writer at a time: nobody else holds a case)
    desk.clock.set(MON_10)
    desk.svc.load_sla(POLICY, actor="sue")
    held, free = desk.case_in("in_progress"), desk.case_in("in_progress")
    with desk.svc.engine.connect() as other:
        other.execute(text('SELECT id FROM "case" WHERE id = :id FOR UPDATE'), {"id": held.id})
        with desk.svc.batch() as batch:
            batch.prefetch([held.id, free.id])  # returns at once: no wait for the held case
            assert set(batch.ahead) == {free.id}
            assert [row[1] for row in batch.ahead[free.id]] == ["start", "start"]
        other.rollback()


def test_a_line_naming_the_case_an_earlier_line_of_its_batch_opens_sees_that_case_whole(desk, tmp_path) -> None:
    desk.clock.set(MON_10)
    desk.svc.load_sla(POLICY, actor="sue")
    known = desk.case_in("in_progress")
    twin = desk.open(title="Export is empty", severity="high")
    desk.later(hours=1)
    coming = twin.id + 1  # the id the first line's case will get (read ahead before it exists)
    path = tmp_path / "lines.jsonl"
    path.write_bytes(_feed([
        {"type": "case.opened", "title": "Export is empty", "customer": "acme", "severity": "high"},
        {"type": "customer.replied", "case": coming, "body": "Any news?"},
        {"type": "customer.replied", "case": known.id, "body": "More logs."},
    ]).getvalue())
    out = _Out()
    with path.open("rb") as stream:
        assert ingest_stream(desk.svc, stream, out, path=str(path)) == 0
    assert [r.get("case") for r in out.results()] == [coming, coming, known.id]
    # the twin, opened an hour earlier, gets the same reply now: the same targets, timers and rows
    twin_alike = desk.svc.customer_reply(twin.id, "Any news?")[0]
    assert twin_alike.status == desk.svc.get_case(coming).status
    ingested, single = _service_levels(desk, coming), _service_levels(desk, twin.id)
    assert ingested["timers"] and [k for k, _ in ingested["timers"]] == [k for k, _ in single["timers"]]
    assert [m[:2] for m in ingested["metrics"]] == [m[:2] for m in single["metrics"]]
    assert [a[0] for a in ingested["audit"]] == [a[0] for a in single["audit"]]
