"""Bulk desks: the rows are what the lifecycle service writes, and the service carries on with them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from deskconsole import demo
from deskconsole.bulk import build_bulk
from deskconsole.bulk.slalife import DEMO_POLICY
from deskconsole.domain.clock import FixedClock, to_utc
from deskconsole.domain.timers import Durations
from deskconsole.service import Service
from deskconsole.store.engine import init_schema, make_engine

END = datetime(2026, 11, 25, 9, 0, 0, 429036, tzinfo=UTC)
D = timedelta(days=1)


def desk(url: str, agents: list[tuple[str, str, list[str], str | None]] = demo.AGENTS,
         clock: FixedClock | None = None, os_login: str | None = None) -> Service:
    engine = make_engine(url)
    init_schema(engine)
    service = Service(engine, clock or FixedClock(END), Durations(), os_login=os_login)
    for name, role, skills, manager in agents:
        service.add_agent(name, role, actor=None if name == agents[0][0] else agents[0][0], skills=skills,
                          manager=manager, email=f"{name}@desk.example")
    return service


@pytest.fixture(scope="module")
def bulk_desk(tmp_path_factory: pytest.TempPathFactory) -> tuple[Service, Any]:
    path = tmp_path_factory.mktemp("bulk") / "bulk.db"
    service = desk(f"sqlite:///{path}")
    reports: list[tuple[int, int]] = []
    summary = build_bulk(service.engine, 2_000, end=END, seed=5, chunk=700,
                         progress=lambda d, t: reports.append((d, t)))
    assert reports[0] == (0, 2_000) and reports[-1] == (2_000, 2_000)
    assert [d for d, _ in reports] == sorted(d for d, _ in reports), "progress only grows, chunk by chunk"
    return service, summary


def test_a_bulk_desk_has_every_status_and_nothing_due(bulk_desk: tuple[Service, Any]) -> None:
    service, summary = bulk_desk
    rows = service.list_cases()
    assert len(rows) == 2_000 == summary.cases
    assert {r.status for r in rows} == {"new", "in_progress", "pending", "awaiting_confirmation", "reopened",
                                        "update_received", "closed"}
    assert {r.sub_status for r in rows if r.status == "pending"} == {"customer_input", "development",
                                                                      "scheduled_service", "third_party"}
    closed = sum(r.status == "closed" for r in rows)
    assert 0.7 < closed / len(rows) < 0.9
    assert [r.id for r in rows] == list(range(1, 2_001))
    assert [r.created_at for r in rows] == sorted(r.created_at for r in rows), "ids follow the order of opening"
    assert service.tick() == [], "a fresh bulk desk has nothing due"
    running = service.running_timers(limit=100_000)
    assert running and min(t.due for t in running) > END
    assert {"reminder", "survey", "followup", "awaiting_confirmation"} <= {o.kind for o in service.list_outbox()}
    assert any(r.attention and r.attention.startswith("chase") for r in rows)
    surveys = service.survey_summary()
    assert surveys.answered == summary.surveys_answered > 0 and surveys.flagged


def test_every_bulk_case_reads_back_as_the_life_cycle_says(bulk_desk: tuple[Service, Any]) -> None:
    service, _ = bulk_desk
    durations = Durations()
    outbox: dict[int, list[Any]] = {}
    for o in service.list_outbox():
        outbox.setdefault(o.case, []).append(o)
    for row in service.list_cases():
        case = service.get_case(row.id)
        shown = json.loads(json.dumps(case.to_json()))  # what `case show --json` prints
        assert shown["id"] == case.id
        events = case.events
        # written in the order it happened (a drafted article is written once its case is known to be first)
        ids = [e.id for e in events if e.kind != "article_drafted"]
        assert ids == sorted(ids)
        assert [e.kind for e in events[:2]] == ["opened", "assigned"]
        assert all(e.at <= END and e.recorded_at >= e.at for e in events)
        moves = [e for e in events if e.kind == "status_changed"]
        path = ["new"] + [m.data["to"] for m in moves]
        assert all(m.data["from"] == before for m, before in zip(moves, path, strict=False))
        assert path[-1] == case.status
        reminders = [e for e in events if e.kind == "timer_fired" and e.data["timer"] == "reminder"]
        assert case.version == 1 + len(moves) + len(reminders)
        assert case.updated_at == max([case.created_at] + [m.at for m in moves] + [r.at for r in reminders])
        assert all(t.due > END for t in case.timers)
        kinds = [o.kind for o in outbox.get(case.id, [])]
        entered = moves[-1].at if moves else case.created_at
        if case.status == "closed":
            assert case.closed_at == moves[-1].at and case.close_reason and case.attention is None
            assert case.survey is not None and case.survey.sent_at == case.closed_at
            assert "survey" in kinds
            if case.closed_at + durations.followup_after_close <= END:
                assert kinds.count("followup") == 1 and not case.timers
            else:
                assert [(t.kind, t.due) for t in case.timers] == [
                    ("followup", case.closed_at + durations.followup_after_close)]
        else:
            assert case.closed_at is None and case.survey is None
            expected = []
            if case.status == "awaiting_confirmation":
                expected = [("auto_close", entered + durations.awaiting_confirmation_close)]
            elif (case.status, case.sub_status) == ("pending", "customer_input"):
                if not reminders:
                    expected.append(("reminder", entered + durations.customer_input_reminder))
                expected.append(("auto_close", entered + durations.customer_input_close))
            assert [(t.kind, t.due) for t in case.timers] == expected
            assert (case.attention or "").startswith("chase") == bool(reminders)
        if case.resolution:
            assert "awaiting_confirmation" in kinds


def test_the_service_acts_on_bulk_cases(tmp_path: Path) -> None:
    clock = FixedClock(END)
    service = desk(f"sqlite:///{tmp_path}/b.db", clock=clock)
    build_bulk(service.engine, 600, end=END, seed=9, due=7)
    rows = service.list_cases()
    working = next(r for r in rows if r.status == "in_progress")
    moved = service.move(working.id, "pending", sub_status="third_party", actor=working.assignee,
                         expected_version=working.version)
    assert moved.status == "pending" and moved.version == working.version + 1
    waiting = next(r for r in rows if r.status == "awaiting_confirmation")
    replied, _ = service.customer_reply(waiting.id, "Still broken here.")
    assert replied.status == "reopened" and not replied.timers
    opened, created = service.open_case("Brand new trouble", "Globex", product_area="billing")
    assert created and opened.id == 601

    # the benchmark's reminders, due a second before END and not yet processed, fire once
    fired = service.tick()
    assert len(fired) == 7 and {f.timer for f in fired} == {"reminder"}
    assert service.tick() == []

    # two weeks on: everything that falls due fires exactly once
    later = END + 15 * D
    due = [t for t in service.running_timers(limit=100_000) if t.due <= later]
    assert due
    clock.set(later)
    fired = service.tick()
    assert service.tick() == []
    got = {(f.case, f.timer, f.due) for f in fired}
    assert {(t.case, t.kind, t.due) for t in due} <= got
    assert len(got) == len(fired), "no timer fired twice"
    for t in due:
        firings = [e for e in service.get_case(t.case).events
                   if e.kind == "timer_fired" and e.data["timer"] == t.kind and e.data["due"] == t.due.isoformat()]
        assert len(firings) == 1


# One analyst per skill: the service's router then picks the same analyst as the bulk builder,
# so replaying a bulk desk's history through the service must give the same desk.
REPLAY_AGENTS = [("sue", "supervisor", [], None), ("mona", "manager", [], None)] + [
    (f"{area}-analyst", "analyst", [area], "mona") for area in demo.AREAS
]


@pytest.mark.parametrize(("sla", "since"), [(None, None), (DEMO_POLICY, None), (DEMO_POLICY, 20)],
                         ids=["no-policy", "service-levels", "service-levels-loaded-mid-history"])
def test_replaying_the_history_through_the_service_gives_the_same_desk(tmp_path: Path, sla: str | None,
                                                                       since: int | None) -> None:
    # the operating-system login is one of the analysts': the events record it beside every other
    # actor, and not beside that analyst's own (as the service does). With service levels (the
    # demo's policies, loaded before the history), the service derives the metric events, their
    # audit events, the SLA timers and the breach messages from the same steps and ticks.
    login = f"{demo.AREAS[0]}-analyst"
    bulk = desk(f"sqlite:///{tmp_path}/bulk.db", REPLAY_AGENTS)
    if sla is not None:
        bulk.load_sla(sla, actor="sue")
    # (`since`: the policies loaded that many days before the end, amid the cases' lives)
    loaded = END - since * D if since is not None else None
    summary = build_bulk(bulk.engine, 160, end=END, seed=11, open_share=0.4, os_login=login, sla=sla,
                         sla_since=loaded)
    clock = FixedClock(END - 400 * D)
    replay = desk(f"sqlite:///{tmp_path}/replay.db", REPLAY_AGENTS, clock=clock, os_login=login)
    if sla is not None and loaded is None:
        replay.load_sla(sla, actor="sue")

    cases = [bulk.get_case(r.id) for r in bulk.list_cases()]
    steps = []
    for case in cases:
        for e in case.events:
            steps.append((e.at, case.id, e.id, e, case))
    steps.sort(key=lambda s: s[:3])
    start = steps[0][0]
    ticks = [END - timedelta(hours=h) for h in range(int((END - start).total_seconds() // 3600) + 1)][::-1]
    opened: set[int] = set()
    for at, _cid, _eid, e, case in steps:
        while ticks and ticks[0] < at:
            if loaded is not None and ticks[0] > loaded:
                clock.set(loaded)
                replay.load_sla(sla, actor="sue")
                loaded = None
            clock.set(ticks.pop(0))
            replay.tick()
        if loaded is not None and at >= loaded:
            clock.set(loaded)
            replay.load_sla(sla, actor="sue")
            loaded = None
        clock.set(at)
        kind, actor = e.kind, e.actor
        if kind == "opened":
            view, _ = replay.open_case(case.title, case.customer, description=case.description,
                                       contact=case.contact, product_area=case.product_area,
                                       severity=case.severity, ref=case.ref)
            assert view.id == case.id
            opened.add(case.id)
        elif kind == "status_changed" and not actor.startswith(("customer:", "timer")):
            to, sub = e.data["to"], e.data["sub_status"]
            if to == "closed":
                replay.close(case.id, reason=e.body, actor=actor)
            else:
                asking = (to, sub) == ("pending", "customer_input")  # the question is the move's own text
                note = e.body if to == "awaiting_confirmation" or asking else next(
                    (n.body for n in case.events if n.kind == "note" and n.at == e.at), None)
                replay.move(case.id, to, sub_status=sub, note=note, actor=actor)
        elif kind == "customer_replied":
            replay.customer_reply(case.id, e.body)
        elif kind == "customer_confirmed":
            replay.customer_confirm(case.id)
        elif kind == "survey_answered":
            replay.answer_survey(case.id, e.data["score"], e.body)
        else:  # what the service writes itself (service levels: from the steps above and the ticks)
            assert kind in ("assigned", "status_changed", "note", "timer_fired", "article_drafted") or (
                sla is not None and kind.startswith("sla_")), kind
    for when in ticks:
        clock.set(when)
        replay.tick()

    def plain(view: Any) -> Any:
        shown = view.to_json()
        for e in shown["events"]:
            e.pop("id")
            e["data"].pop("article", None)
            # when the rows were really written: the build's, the replay's (both record the same
            # operating-system login beside the actors, as the service does)
            e.pop("recorded_at")
        for t in shown["timers"]:
            t.pop("id")
        shown["articles"] = [a["title"] for a in shown["articles"]]
        return shown

    def rows(service: Service, sql: str) -> list[tuple]:
        with service.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]

    for case in cases:
        assert plain(replay.get_case(case.id)) == plain(case), f"case {case.id}"
    logins = {(e.actor == login, e.os_login) for case in cases for e in case.events}
    assert logins == {(True, None), (False, login)}
    for table, columns in (
        ("outbox", "case_id, kind, \"to\", subject, body, created_at, state"),
        ("timer", "case_id, kind, state, started_at, due_at, fired_at, cancelled_at"),
        ("survey", "case_id, sent_at, \"to\", answered_at, score, comment, flagged"),
        ("article", "title, body, fingerprint, state, source_case_id, created_at"),
        ("sla_metric", "case_id, target, kind, at, seconds, calendar, warning, used"),
    ):
        query = f"SELECT {columns} FROM {table} ORDER BY {columns}"
        assert rows(replay, query) == rows(bulk, query), table
    # the event rows are the same too, in the same order per case (its timeline's)
    query = ("SELECT case_id, at, actor, kind, body, data, os_login FROM event WHERE kind != 'article_drafted' "
             "ORDER BY case_id, at, id")
    assert rows(replay, query) == rows(bulk, query)
    kinds = dict(rows(bulk, "SELECT kind, count(*) FROM event GROUP BY kind"))
    if sla is None:
        assert not any(kind.startswith("sla_") for kind in kinds)
        assert rows(bulk, "SELECT count(*) FROM sla_metric") == [(0,)]
    elif since is not None:  # the cases opened before the load have no first response nor resolution target
        started = rows(bulk, "SELECT count(DISTINCT case_id) FROM sla_metric WHERE kind = 'start' "
                             "AND target = 'resolution'")[0][0]
        assert 0 < started < len(cases)
    else:  # a desk whose service levels are at work: started, paused, met, warned of, breached, pending
        assert {"sla_started", "sla_paused", "sla_resumed", "sla_fulfilled", "sla_breached",
                "sla_reopened"} <= set(kinds)
        states = dict(rows(bulk, "SELECT kind || '/' || state, count(*) FROM timer WHERE kind LIKE 'sla%' GROUP BY 1"))
        assert {"sla_warning/fired", "sla_breach/fired", "sla_breach/pending", "sla_warning/cancelled"} <= set(states)
        assert rows(bulk, "SELECT count(*) FROM outbox WHERE kind = 'sla_breach'")[0][0] == kinds["sla_breached"] > 0
        assert summary.sla_metrics == rows(bulk, "SELECT count(*) FROM sla_metric")[0][0]


def test_a_bulk_desk_on_postgres(pg_url: str, tmp_path: Path) -> None:
    service = desk(pg_url)
    summary = build_bulk(service.engine, 300, end=END, seed=2, due=3)
    assert len(service.list_cases()) == 300 == summary.cases
    same = desk(f"sqlite:///{tmp_path}/same.db")
    build_bulk(same.engine, 300, end=END, seed=2, due=3)
    def shown(svc: Service, case_id: int) -> dict:
        case = svc.get_case(case_id).to_json()
        for event in case["events"]:
            event.pop("recorded_at")  # when each build really wrote it
        return case

    for row in service.list_cases():
        assert shown(service, row.id) == shown(same, row.id), "as on SQLite"
    case = service.get_case(next(r.id for r in service.list_cases(status="closed")))
    assert case.survey is not None and case.survey.sent_at == case.closed_at
    assert to_utc(case.created_at) < END
    assert len(service.tick()) == 3
    view, _ = service.open_case("After the bulk", "Initech", product_area="login")
    assert view.id == 301 and view.events[0].kind == "opened"
    fresh = service.get_case(301)
    assert [e.id for e in fresh.events] == sorted(e.id for e in fresh.events)


def test_the_queue_filter_finds_bulk_cases_and_new_ones(bulk_desk: tuple[Service, Any]) -> None:
    """The search index is refilled after a bulk build and kept in step again afterwards."""
    service, _ = bulk_desk
    rows = service.list_cases()
    word = rows[1_234].customer.split()[0]
    expected = [r.id for r in rows if any(w.lower().startswith(word.lower()) for w in
                                          (r.title + " " + r.customer).replace(":", " ").split())]
    found = service.list_cases(text=word)
    assert rows[1_234].id in [r.id for r in found]
    assert [r.id for r in found] == expected
    opened = service.open_case("Zanzibar gateway refuses logins", "Quokka Freight", at=END)[0]
    assert [r.id for r in service.list_cases(text="zanzib quokka")] == [opened.id]


# --- how a new SQLite desk is written: beside the file, with a second process ------------------------------


def table_rows(service: Service) -> dict[str, list[tuple]]:
    """Every row of the tables a bulk build writes, and the search index's answers."""
    with service.engine.connect() as conn:
        rows = {table: [tuple(r) for r in conn.execute(text(f'SELECT * FROM "{table}" ORDER BY id'))]
                for table in ("case", "timer", "outbox", "survey", "article")}
        # events without recorded_at: when the rows were really written differs from build to build
        rows["event"] = [tuple(r) for r in conn.execute(text(
            "SELECT id, case_id, at, actor, kind, body, data, os_login FROM event ORDER BY id"))]
        rows["search"] = [tuple(r) for r in conn.execute(text(
            "SELECT rowid FROM case_fts WHERE case_fts MATCH 'login* OR globex* OR acme*' ORDER BY rowid"))]
    return rows


def test_a_new_desk_is_the_same_however_it_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Beside the file with a second process (the default), in one process (no fork), and in the
    file itself in one transaction (another connection has it open): the same rows, the same
    search index."""
    import sqlite3

    from deskconsole import bulkload

    def build(name: str) -> Service:
        service = desk(f"sqlite:///{tmp_path}/{name}.db")
        build_bulk(service.engine, 900, end=END, seed=3, due=4, chunk=250)
        return service

    beside = table_rows(build("beside"))
    assert len(beside["case"]) == 900 and beside["search"]
    with monkeypatch.context() as m:
        m.setattr(bulkload.Beside, "available", staticmethod(lambda: False))
        assert table_rows(build("alone")) == beside
    service = desk(f"sqlite:///{tmp_path}/open.db")
    other = sqlite3.connect(f"{tmp_path}/open.db")
    other.execute("SELECT count(*) FROM agent").fetchone()  # holds the file open: its WAL stays
    build_bulk(service.engine, 900, end=END, seed=3, due=4, chunk=250)
    other.close()
    assert table_rows(service) == beside


def test_the_copied_search_index_is_whole(bulk_desk: tuple[Service, Any]) -> None:
    """The index built by the second process and copied in: FTS5 finds it consistent with the cases,
    and the desk keeps FTS5's default settings."""
    service, _ = bulk_desk
    with service.engine.connect() as conn:
        conn.execute(text("INSERT INTO case_fts(case_fts, rank) VALUES ('integrity-check', 1)"))
        assert conn.execute(text("SELECT k FROM case_fts_config")).scalars().all() == ["version"]
        indexed = conn.execute(text("SELECT count(*) FROM case_fts_docsize")).scalar()
    assert indexed == len(service.list_cases()) >= 2_000
    hits = service.list_cases(text="invoice")
    assert hits and all("invoice" in r.title.lower() for r in hits)


class Interrupted(Exception):
    pass


@pytest.mark.parametrize("where", ["writer", "planner"])
def test_a_failed_build_leaves_the_desk_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  where: str) -> None:
    """Ctrl-C at half way, or a failure in the second process: no half desk, no files left beside it,
    and the same build then succeeds."""
    import sqlite3

    from deskconsole import bulk
    from deskconsole.bulkload import BesideFailed

    path = tmp_path / "desk.db"
    service = desk(f"sqlite:///{path}")
    before = table_rows(service)

    def halfway(done: int, total: int) -> None:
        if done >= total // 2:
            raise Interrupted

    with monkeypatch.context() as m:
        if where == "writer":
            with pytest.raises(Interrupted):
                build_bulk(service.engine, 1_000, end=END, seed=8, chunk=100, progress=halfway)
        else:
            seeds = bulk._Planner._seeds

            def failing(self: Any, first: int, size: int, sla: Any) -> list[tuple]:
                if first >= 500:
                    raise RuntimeError("planner broke")
                return seeds(self, first, size, sla)

            m.setattr(bulk._Planner, "_seeds", failing)
            with pytest.raises(BesideFailed, match="planner broke"):
                build_bulk(service.engine, 1_000, end=END, seed=8, chunk=100)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["desk.db"]
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert con.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert table_rows(service) == before
    build_bulk(service.engine, 1_000, end=END, seed=8, chunk=100)
    assert len(service.list_cases()) == 1_000


def test_a_bulk_desk_added_to_a_desk_with_cases(tmp_path: Path) -> None:
    """A second build goes into the existing desk in one transaction: ids carry on in every table,
    and the search index covers both builds."""
    service = desk(f"sqlite:///{tmp_path}/twice.db")
    build_bulk(service.engine, 300, end=END - 400 * D, seed=4)
    service.open_case("Between the builds", "Initech", product_area="login", at=END - 300 * D)
    build_bulk(service.engine, 300, end=END, seed=5, opened_before=END - 20 * D)
    rows = service.list_cases()
    assert [r.id for r in rows] == list(range(1, 602))
    with service.engine.connect() as conn:
        for table in ("event", "timer", "outbox", "survey"):
            ids = conn.execute(text(f'SELECT id FROM "{table}" ORDER BY id')).scalars().all()
            assert ids == list(range(1, len(ids) + 1)), table
            cases = conn.execute(text(f'SELECT DISTINCT case_id FROM "{table}"')).scalars().all()
            assert any(c > 301 for c in cases) and any(c <= 300 for c in cases), table
        conn.execute(text("INSERT INTO case_fts(case_fts, rank) VALUES ('integrity-check', 1)"))
    assert [r.id for r in service.list_cases(text="between builds")] == [301]
    assert {r.id for r in service.list_cases(text=rows[450].customer.split()[0])} >= {rows[450].id}
    fired = service.tick()  # what the first desk left running fell due in the 400 days since
    assert fired and {f.case for f in fired} <= set(range(1, 301))


def test_new_cases_after_a_bulk_build_leave_its_search_index_alone(tmp_path: Path) -> None:
    """The bulk build's index sits where a rebuild would leave it: the cases opened next are written
    beside it (small segments merged among themselves), not merged into it, which on a million
    cases rewrote the whole index in one commit."""
    service = desk(f"sqlite:///{tmp_path}/after.db")
    build_bulk(service.engine, 2_000, end=END, seed=6)

    def pages() -> set[int]:
        with service.engine.connect() as conn:  # the averages (1) and the structure (10) change with every case
            return set(conn.execute(text("SELECT id FROM case_fts_data WHERE id NOT IN (1, 10)")).scalars())

    built = pages()
    assert len(built) > 20
    for n in range(100):
        service.open_case(f"Kiosk {n} shows a blank screen", "Zeta Rail", product_area="hardware", at=END)
    assert built <= pages(), "the bulk build's index was rewritten"
    assert len(service.list_cases(text="kiosk zeta")) == 100
    assert len(service.list_cases(text=service.list_cases()[10].customer)) > 1
    with service.engine.connect() as conn:
        conn.execute(text("INSERT INTO case_fts(case_fts, rank) VALUES ('integrity-check', 1)"))


def _pg_schema(service: Service) -> tuple[list[str], list[str]]:
    """Every index and foreign key of the desk's tables, as PostgreSQL would write them again."""
    with service.engine.connect() as conn:
        indexes = conn.execute(text(
            "SELECT pg_get_indexdef(indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
            "WHERE c.relnamespace = current_schema()::regnamespace ORDER BY 1")).scalars().all()
        keys = conn.execute(text(
            "SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) || "
            "' valid=' || convalidated FROM pg_constraint WHERE contype = 'f' "
            "AND connamespace = current_schema()::regnamespace ORDER BY 1")).scalars().all()
    return list(indexes), list(keys)


def test_a_bulk_build_on_postgres_keeps_every_index_and_key_and_leaves_statistics(pg_url: str) -> None:
    """The fresh-desk build drops the plain indexes and foreign keys while it loads and makes them again
    (checked: a key whose rows did not match would fail the build); ANALYZE ran at the end; a build
    that fails half way leaves the indexes and keys as they were."""
    service = desk(pg_url)
    before = _pg_schema(service)
    assert len(before[0]) > 20 and len(before[1]) > 10

    def halfway(done: int, total: int) -> None:
        if done >= total // 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        build_bulk(service.engine, 400, end=END, seed=3, chunk=100, progress=halfway)
    assert _pg_schema(service) == before
    assert service.list_cases() == []
    build_bulk(service.engine, 400, end=END, seed=3, chunk=100)
    assert _pg_schema(service) == before
    with service.engine.connect() as conn:
        analyzed = dict(conn.execute(text(
            "SELECT relname, n_live_tup > 0 AND last_analyze IS NOT NULL FROM pg_stat_user_tables "
            "WHERE relname IN ('case', 'event', 'timer')")).all())
        estimate = conn.execute(text("SELECT reltuples FROM pg_class WHERE oid = '\"case\"'::regclass")).scalar()
    assert analyzed == {"case": True, "event": True, "timer": True}
    assert estimate == 400, "the planner knows how many cases there are"
    with service.engine.connect() as conn:  # the queue's text filter may use its index at once
        plan = "\n".join(conn.execute(text(
            "EXPLAIN SELECT id FROM \"case\" WHERE to_tsvector('simple', title || ' ' || customer) "
            "@@ to_tsquery('simple', 'zzzq:*')")).scalars())
    assert "ix_case_search" in plan
