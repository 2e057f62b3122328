"""Ingest on PostgreSQL sized for a server: a batch's writes wait in the pipeline and go in as a few
statements of many rows, a new case's number is drawn ahead instead of asked for line by line, and
a case's pending timers are read once per action however many steps change them. What is stored is
what the same lines store one at a time (test_ingest_sla.py), in the order written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import psycopg
import pytest
from sqlmodel import Session, select
from test_ingest_sla import POLICY, _Out  # (the same policy file and output collector)

from deskconsole.domain.clock import FixedClock
from deskconsole.ingest import ingest_stream
from deskconsole.service import CaseIds, Service
from deskconsole.service.records import _CANCEL_TIMER, _INSERT_CASE, _INSERT_EVENT, _INSERT_TIMER, _UPDATE_CASE, _db
from deskconsole.store.engine import make_engine
from deskconsole.store.models import Case, Event, Timer
from deskconsole.store.prepared import DEFERRED, defer_inserts

AT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # Monday 10:00 in Berlin


class RoundTrips:
    """Every wait for the server a test's code causes on psycopg connections: a statement sent
    outside a pipeline, or a pipeline (however many statements it sends)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        self.statements = 0  # every statement sent, in a pipeline or not
        self.alone: list[str] = []  # the statements sent outside a pipeline (their first words)
        self._depth = 0
        original_pipeline = psycopg.Connection.pipeline
        original_execute = psycopg.Cursor.execute
        original_many = psycopg.Cursor.executemany
        trips = self

        @contextmanager
        def pipeline(conn: psycopg.Connection) -> Iterator[object]:
            trips._depth += 1
            try:
                with original_pipeline(conn) as p:
                    yield p
            finally:
                trips._depth -= 1
                trips.count += 1

        def execute(cursor: psycopg.Cursor, *args: object, **kwargs: object) -> object:
            trips.statements += 1
            if not trips._depth:
                trips.count += 1
                trips.alone.append(str(args[0])[:60])
            return original_execute(cursor, *args, **kwargs)  # type: ignore[arg-type]

        def executemany(cursor: psycopg.Cursor, query: object, params: list, **kwargs: object) -> object:
            params = list(params)
            trips.statements += len(params)
            if not trips._depth:
                trips.count += 1
            return original_many(cursor, query, params, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(psycopg.Connection, "pipeline", pipeline)
        monkeypatch.setattr(psycopg.Cursor, "execute", execute)
        monkeypatch.setattr(psycopg.Cursor, "executemany", executemany)


@pytest.fixture
def pg_service(pg_url: str) -> Iterator[Service]:
    engine = make_engine(pg_url)
    service = Service(engine, FixedClock(AT))
    service.add_agent("mona", "manager", actor=None)
    service.add_agent("sue", "supervisor", actor="mona")
    service.add_agent("alice", "analyst", actor="mona", skills=["billing"], manager="mona")
    service.load_sla(POLICY, actor="sue")
    yield service
    engine.dispose()


def test_a_batch_of_new_cases_and_replies_waits_for_the_server_a_few_times_not_per_line(
    pg_service: Service, tmp_path, monkeypatch,
) -> None:
    monkeypatch.setattr("deskconsole.ingest.BATCH_SECONDS", 3600.0)  # one batch, however slow the machine
    replied = [pg_service.open_case(f"Report {k} is empty", "acme")[0].id for k in range(16)]
    lines = []
    for k in range(16):  # the bench's mix: a new case, a reply to an open one (32 lines: what a first
        # batch reads ahead; the next batches read ahead as many as the last one took, and some), each
        # reply to a case of its own (a second action on a case in one batch reads it again)
        lines.append({"type": "case.opened", "title": f"Export {k} fails", "customer": f"customer {k % 7}"})
        lines.append({"type": "customer.replied", "case": replied[k], "body": f"More logs ({k})."})
    path = tmp_path / "lines.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    trips = RoundTrips(monkeypatch)
    out = _Out()
    with path.open("rb") as stream:
        assert ingest_stream(pg_service, stream, out, path=str(path)) == 0
    results = out.results()
    assert all(r["ok"] for r in results)
    # a few waits for the whole batch (reading ahead, numbers drawn, the pipeline sent, the progress
    # mark), not one or more per line: line by line it was about two per line
    assert trips.count <= 20, (trips.count, trips.alone)
    # and the rows went in as statements of many rows (line by line it was several per line)
    assert trips.statements <= 120, trips.statements
    # the new cases got consecutive numbers, in the order of their lines, each with its own events
    opened = [r["case"] for r in results[0::2]]
    assert opened == list(range(replied[-1] + 1, replied[-1] + 17))
    with Session(pg_service.engine) as s:
        titles = dict(s.exec(select(Case.id, Case.title).where(Case.id.in_(opened))).all())  # type: ignore[union-attr]
        events = s.exec(select(Event.case_id, Event.kind).where(Event.case_id.in_(opened))  # type: ignore[union-attr]
                        .order_by(Event.id)).all()
    assert [titles[c] for c in opened] == [f"Export {k} fails" for k in range(16)]
    firsts: dict[int, str] = {}
    for case_id, kind in events:
        firsts.setdefault(case_id, kind)
    assert set(firsts) == set(opened) and set(firsts.values()) == {"opened"}
    # every reply kept the one next-response timer its case should have: no timer twice, none lost
    for case_id in replied:
        kinds = [t.kind for t in pg_service.get_case(case_id).timers]
        assert kinds.count("sla_breach") == 1 and kinds.count("sla_warning") == 1, (case_id, kinds)


def test_case_numbers_drawn_ahead_are_given_again_after_a_batch_rolls_back(pg_service: Service) -> None:
    numbers = CaseIds()
    with pg_service.batch(case_ids=numbers) as batch:
        numbers.expect(2)  # two lines ahead look like new cases; one is applied in this batch
        first = batch.service.open_case("Export fails", "acme")[0].id
    with pytest.raises(RuntimeError), pg_service.batch(case_ids=numbers) as batch:
        numbers.expect(1)
        lost = batch.service.open_case("Rolled back", "acme")[0].id
        raise RuntimeError("the batch fails after writing")
    assert lost == first + 1
    with pg_service.batch(case_ids=numbers) as batch:
        numbers.expect(1)
        again = batch.service.open_case("Login loops", "acme")[0].id
    alone = pg_service.open_case("Printer jams", "acme")[0].id  # outside a batch: the sequence's next
    assert (again, alone) == (first + 1, first + 2)
    assert [pg_service.get_case(n).title for n in (first, again, alone)] == ["Export fails", "Login loops",
                                                                           "Printer jams"]


def test_kept_rows_go_in_as_one_statement_per_kind_and_keep_every_order_that_matters(
    pg_service: Service, monkeypatch,
) -> None:
    """Rows kept at different times, interleaved (as a batch's lines write them): the rows of each
    statement go together, yet a row still goes after the row it refers to, an update after the
    insert of its row, and rows of one table in the order written."""
    old = pg_service.open_case("Already here", "acme")[0].id
    trips = RoundTrips(monkeypatch)
    engine = pg_service.engine
    with Session(engine) as s, s.begin():
        conn = s.connection()
        with defer_inserts(conn):
            db = _db(s)
            trips.count = trips.statements = 0  # (from here: what the kept rows cost)
            new = old + 1000
            kinds = []
            for k in range(3):
                db.execute_many(_UPDATE_CASE, [{"b_id": old, "last_change": f"step {k}"}], ["last_change"])
                db.insert_later(_INSERT_CASE, {"id": new + k, "title": f"New {k}", "description": "",
                                               "customer": "acme", "severity": "normal", "priority": "P3",
                                               "status": "new", "created_at": AT, "updated_at": AT, "version": 1})
                for case_id in (old, new + k):
                    kinds.append((case_id, f"note {k}"))
                    db.insert_later(_INSERT_EVENT, {"case_id": case_id, "at": AT, "recorded_at": AT,
                                                    "actor": "sue", "kind": f"note {k}", "body": None, "data": None})
                timer = 900_000 + k
                db.insert_later(_INSERT_TIMER, {"id": timer, "case_id": new + k, "kind": "reminder",
                                                "state": "pending", "started_at": AT, "due_at": AT})
                db.execute_many(_CANCEL_TIMER, [{"b_case_id": new + k, "b_timer_id": timer, "b_at": AT}])
            assert len(conn.info[DEFERRED]) == 18 and trips.statements == 0  # all kept, nothing sent
            db.flush()
    assert trips.count == 1  # one pipeline
    # the 3 new cases, 6 events and 3 timers go as statements of many rows (3 rows: one of 2, one of 1;
    # 6 rows: 4 and 2); the updates of the case and the cancels one row each, in the same pipeline
    assert trips.statements == 2 + 2 + 2 + 3 + 3, trips.statements
    with Session(engine) as s:
        assert s.get_one(Case, old).last_change == "step 2"  # the updates of one row in the order written
        assert [s.get_one(Case, new + k).title for k in range(3)] == ["New 0", "New 1", "New 2"]
        stored = s.exec(select(Event.case_id, Event.kind).where(Event.kind.like("note %"))  # type: ignore[attr-defined]
                        .order_by(Event.id)).all()
        timers = s.exec(select(Timer.state).where(Timer.id >= 900_000)).all()
    assert [tuple(row) for row in stored] == kinds  # ids in the order written
    assert timers == ["cancelled"] * 3  # each cancel after the insert of its timer


def test_lines_read_ahead_in_the_middle_of_a_batch_are_applied_in_their_order(desk, tmp_path, monkeypatch) -> None:
    """On both databases: a batch longer than what it read ahead for at its start reads ahead again as
    it goes (the next lines already there); every line is still applied once, in input order."""
    monkeypatch.setattr("deskconsole.ingest.BATCH_SECONDS", 3600.0)  # one batch, however slow the machine
    monkeypatch.setattr("deskconsole.ingest.AHEAD_MORE", 3)
    case = desk.open(title="Export is empty")
    others = [desk.open(title=f"Login {k} loops").id for k in range(3)]
    lines = []
    for k in range(40):  # more than the 32 a first batch reads ahead for
        lines.append({"type": "customer.replied", "case": case.id, "body": f"Note {k}."})
        if k % 10 == 9:
            lines.append({"type": "customer.replied", "case": others[k % 3], "body": f"Other {k}."})
    path = tmp_path / "lines.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    out = _Out()
    with path.open("rb") as stream:
        assert ingest_stream(desk.svc, stream, out, path=str(path)) == 0
    results = out.results()
    assert [r["line"] for r in results] == list(range(1, len(lines) + 1))
    replies = [e.body for e in desk.svc.get_case(case.id).events if e.kind == "customer_replied"]
    assert replies == [f"Note {k}." for k in range(40)]
