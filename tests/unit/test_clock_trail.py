"""The clock and the trail: every event keeps when it was really written (whatever
DESKCONSOLE_NOW says) and the operating-system login of whoever acted as someone else;
ingest refuses times from the future and from before the case existed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from deskconsole.cli import main
from deskconsole.domain.clock import FixedClock, SystemClock
from deskconsole.service import Service
from deskconsole.store.engine import init_schema, make_engine

REAL = "2026-12-04T10:00:00Z"  # the injected "real" clock of the service-level tests
PAST = "2001-03-01T12:00:00Z"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def cli_desk(tmp_path: Path, monkeypatch, capsys) -> str:
    monkeypatch.setenv("DESKCONSOLE_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("LOGNAME", "kim")  # the operating-system login, as getpass reads it
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    assert run(capsys, "--db", url, "--as", "mona", "agent", "add", "mona", "--role", "manager")[0] == 0
    assert run(capsys, "--db", url, "--as", "mona", "agent", "add", "kim", "--role", "analyst",
               "--manager", "mona")[0] == 0
    return url


def test_a_note_under_a_fake_now_keeps_the_real_time_it_was_written_and_who_typed_it(cli_desk, capsys, monkeypatch):
    url = cli_desk
    code, out, _ = run(capsys, "--db", url, "--as", "mona", "case", "open", "VPN drops", "--customer", "Acme")
    assert code == 0
    case_id = "1"
    monkeypatch.setenv("DESKCONSOLE_NOW", PAST)
    before = datetime.now(UTC).replace(microsecond=0)
    assert run(capsys, "--db", url, "--as", "mona", "case", "note", case_id, "Called them")[0] == 0
    monkeypatch.delenv("DESKCONSOLE_NOW")
    code, out, _ = run(capsys, "--db", url, "--as", "kim", "case", "show", case_id, "--json")
    assert code == 0
    events = json.loads(out)["events"]
    note = [e for e in events if e["body"] == "Called them"][0]
    assert note["at"] == PAST
    recorded = datetime.fromisoformat(note["recorded_at"].replace("Z", "+00:00"))
    assert recorded >= before  # the real clock, not 2001
    assert note["os_login"] == "kim" and note["actor"] == "mona"  # --as leaves a trace
    assert all("recorded_at" in e for e in events)
    # kim acting as kim leaves no second name
    assert run(capsys, "--db", url, "--as", "kim", "case", "note", case_id, "Followed up")[0] == 0
    events = json.loads(run(capsys, "--db", url, "--as", "kim", "case", "show", case_id, "--json")[1])["events"]
    mine = [e for e in events if e["body"] == "Followed up"][0]
    assert mine["actor"] == "kim" and "os_login" not in mine

    # the human view shows both times where they differ, and the login
    code, out, _ = run(capsys, "--db", url, "--as", "kim", "case", "show", case_id)
    line = [x for x in out.splitlines() if x.strip().startswith(PAST)][0]
    assert f"(recorded {note['recorded_at']})" in line and "mona (os login kim)" in line
    kims = [x for x in out.splitlines() if "  kim  " in x]  # written now, by kim as kim: one time, one name
    assert kims and not [x for x in kims if "(recorded" in x or "os login" in x]


def test_recorded_at_comes_from_the_real_clock_not_the_desks_now(sqlite_url):
    engine = make_engine(sqlite_url)
    init_schema(engine)
    svc = Service(engine, FixedClock(PAST), real_clock=FixedClock(REAL), os_login="root")
    svc.add_agent("mona", "manager", actor=None)
    case, _ = svc.open_case("Printer jams", "Acme", contact="it@acme.example")
    svc.move(case.id, "in_progress", actor="mona")
    view = svc.get_case(case.id)
    assert {e.at.isoformat() for e in view.events} == {"2001-03-01T12:00:00+00:00"}
    assert {e.recorded_at.isoformat() for e in view.events} == {"2026-12-04T10:00:00+00:00"}
    assert {e.os_login for e in view.events if e.actor == "mona"} == {"root"}
    # a timer fired by tick: as of its due time, recorded when really processed
    svc.move(case.id, "awaiting_confirmation", actor="mona", note="Replaced the roller.")
    svc.clock.advance(days=15)
    assert [f.timer for f in svc.tick()] == ["auto_close", "followup"]  # (the follow-up fell due too)
    fired = [e for e in svc.get_case(case.id).events if e.kind == "timer_fired"][0]  # the auto-close
    assert fired.at.isoformat() == "2001-03-15T12:00:00+00:00"
    assert fired.recorded_at.isoformat() == "2026-12-04T10:00:00+00:00"
    engine.dispose()


def test_on_postgresql_recorded_at_is_the_servers_time(pg_url):
    engine = make_engine(pg_url)
    init_schema(engine)
    svc = Service(engine, FixedClock(PAST), real_clock=SystemClock())  # as the command line and console make it
    svc.add_agent("mona", "manager", actor=None)
    case, _ = svc.open_case("Printer jams", "Acme")
    with engine.connect() as conn:
        server = conn.execute(text("SELECT now()")).scalar_one()
    for event in svc.get_case(case.id).events:
        assert event.at.year == 2001
        assert abs((server - event.recorded_at).total_seconds()) < 60  # (the server's now, not 2001)
    engine.dispose()


def _ingest(capsys, url: str, tmp_path: Path, *events: dict) -> list[dict]:
    path = tmp_path / f"in-{len(list(tmp_path.glob('in-*')))}.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    _, out, _ = run(capsys, "--db", url, "ingest", str(path))
    return [json.loads(line) for line in out.splitlines()]


def test_ingest_refuses_times_from_the_future_and_from_before_the_case(cli_desk, capsys, tmp_path, monkeypatch):
    url = cli_desk
    now = datetime.now(UTC).replace(microsecond=0)
    opened_at = (now - timedelta(days=3)).isoformat().replace("+00:00", "Z")
    ahead = (now + timedelta(days=2)).isoformat().replace("+00:00", "Z")
    soon = (now + timedelta(hours=2)).isoformat().replace("+00:00", "Z")
    out = _ingest(capsys, url, tmp_path,
                  {"type": "case.opened", "title": "Login loops", "customer": "Acme", "at": opened_at},
                  {"type": "case.opened", "title": "From tomorrow", "customer": "Acme", "at": ahead})
    assert out[0]["ok"] and out[0]["case"] == 1
    assert not out[1]["ok"] and "more than a day ahead of the real clock" in out[1]["error"]
    # the desk's own now (DESKCONSOLE_NOW) does not move the limit: it is the real clock's
    monkeypatch.setenv("DESKCONSOLE_NOW", "2099-01-01T00:00:00Z")
    out = _ingest(capsys, url, tmp_path, {"type": "customer.replied", "case": 1, "body": "Hi", "at": ahead})
    assert not out[0]["ok"] and "more than a day ahead" in out[0]["error"]
    monkeypatch.delenv("DESKCONSOLE_NOW")

    # a customer's move on the case, dated before the case existed: refused, nothing changes
    run(capsys, "--db", url, "--as", "mona", "case", "move", "1", "in_progress")
    assert run(capsys, "--db", url, "--as", "mona", "case", "move", "1", "awaiting_confirmation",
               "--note", "Cleared the cookie.")[0] == 0
    out = _ingest(capsys, url, tmp_path,
                  {"type": "customer.confirmed", "case": 1, "at": "0001-01-01T00:00:00Z"},
                  {"type": "customer.replied", "case": 1, "body": "Still?", "at": "2020-01-01T00:00:00Z"})
    assert not out[0]["ok"] and "before case 1 was opened" in out[0]["error"]
    assert not out[1]["ok"] and "before case 1 was opened" in out[1]["error"]
    shown = json.loads(run(capsys, "--db", url, "--as", "kim", "case", "show", "1", "--json")[1])
    assert shown["status"] == "awaiting_confirmation"
    # within the day ahead and after the case opened: applied
    out = _ingest(capsys, url, tmp_path, {"type": "customer.replied", "case": 1, "body": "Works", "at": soon})
    assert out[0]["ok"] and out[0]["status"] == "reopened"
