"""The demo desk: built through the service, covering every part of the life cycle, deterministic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from deskconsole.demo import MANDATORY, build_demo
from deskconsole.domain.clock import FixedClock
from deskconsole.domain.errors import InvalidInput
from deskconsole.domain.lifecycle import Status, SubStatus
from deskconsole.domain.timers import Durations
from deskconsole.service import Service
from deskconsole.store.engine import init_schema, make_engine

END = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def fresh_service(url: str) -> Service:
    engine = make_engine(url)
    init_schema(engine)
    return Service(engine, FixedClock(END), Durations())


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Service, object]:
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    service = fresh_service(f"sqlite:///{path}")
    steps: list[tuple[int, int]] = []
    summary = build_demo(service, cases=len(MANDATORY) + 10, progress=lambda d, t: steps.append((d, t)))
    assert steps and steps[-1][0] == steps[-1][1], "progress ends at 100%"
    return service, summary


def test_demo_covers_the_whole_life_cycle(demo: tuple[Service, object]) -> None:
    service, summary = demo
    assert summary.skipped_steps == 0
    rows = service.list_cases()
    assert len(rows) == len(MANDATORY) + 10 + 1  # and one clone
    assert {r.status for r in rows} == {s.value for s in Status}
    assert {r.sub_status for r in rows if r.status == "pending"} == {s.value for s in SubStatus}
    assert any(r.assignee is None for r in rows if r.status != "closed"), "someone waits in the team queue"

    roles = {a.role for a in service.list_agents()}
    assert roles == {"analyst", "manager", "supervisor"}
    analysts = [a for a in service.list_agents() if a.role == "analyst"]
    assert len(analysts) >= 6 and all(a.skills and a.manager for a in analysts)
    assert [a.name for a in analysts if a.availability == "away"] == ["farah"]

    assert {e.state for e in service.list_escalations()} >= {"requested", "approved", "denied", "de_escalated"}

    surveys = service.survey_summary()
    assert all(surveys.distribution[score] >= 1 for score in range(1, 6))
    assert surveys.flagged and all(s.score <= 2 for s in surveys.flagged)

    # Timers fired during the history, and some cases are hours from auto-closing.
    timers = service.running_timers(kind="auto_close")
    assert timers and timers[0].due - END < timedelta(hours=6)
    kinds = {o.kind for o in service.list_outbox()}
    assert {"reminder", "survey", "followup", "awaiting_confirmation", "escalation_requested"} <= kinds
    assert any(r.attention and r.attention.startswith("chase") for r in rows)

    views = [service.get_case(r.id) for r in rows]
    assert any(v.engineering_ref for v in views)
    assert any(v.cloned_from for v in views)
    assert any(v.articles for v in views)
    assert any(any(e.kind == "timer_fired" and e.data.get("timer") == "auto_close" for e in v.events) for v in views)
    hostile = [v for v in views if "\x1b" in v.title]
    assert len(hostile) == 1 and "[bold]" in hostile[0].title
    assert service.search_articles("")
    assert all(e.at <= END for v in views for e in v.events), "history ends at now"


def test_demo_is_deterministic_and_needs_an_empty_database(tmp_path: Path) -> None:
    def snapshot(service: Service) -> list[dict]:
        cases = [service.get_case(r.id).to_json() for r in service.list_cases()]
        for case in cases:
            for event in case["events"]:
                event.pop("recorded_at")  # when it was really written: the real clock's, run by run
        return cases

    first = fresh_service(f"sqlite:///{tmp_path}/a.db")
    second = fresh_service(f"sqlite:///{tmp_path}/b.db")
    build_demo(first, cases=24, seed=3)
    build_demo(second, cases=24, seed=3)
    assert snapshot(first) == snapshot(second)
    with pytest.raises(InvalidInput, match="already has a desk"):
        build_demo(first, cases=5)


def test_demo_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from deskconsole.cli import main

    monkeypatch.setenv("DESKCONSOLE_NOW", "2026-11-25T09:00:00Z")
    monkeypatch.setenv("DESKCONSOLE_CONFIG", str(tmp_path / "none.toml"))
    url = f"sqlite:///{tmp_path}/d.db"
    assert main(["--db", url, "demo", "--cases", "21"]) == 0
    out = capsys.readouterr().out
    assert "cases: 22" in out and "closed" in out
    assert main(["--db", url, "demo"]) == 1
    assert capsys.readouterr().err.startswith("error: the database already has a desk")


def test_progress_bar_writes_a_line_per_tenth_when_not_a_terminal() -> None:
    import io

    from deskconsole.cli import ProgressBar

    stream = io.StringIO()
    bar = ProgressBar(stream, "demo", width=10)
    for done in range(1001):
        bar(done, 1000)
    bar.finish()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 11
    assert lines[0].startswith("demo [----------]   0% 0/1,000")
    assert lines[-1].startswith("demo [##########] 100% 1,000/1,000")


def test_a_large_demo_writes_its_history_in_bulk_and_keeps_the_lively_cases(tmp_path: Path) -> None:
    from deskconsole.demo import LIVELY

    service = fresh_service(f"sqlite:///{tmp_path}/big.db")
    steps: list[tuple[int, int]] = []
    summary = build_demo(service, cases=400, seed=4, bulk_above=100, progress=lambda d, t: steps.append((d, t)))
    assert summary.skipped_steps == 0
    assert steps[-1] == (400, 400) and [d for d, _ in steps] == sorted(d for d, _ in steps)
    rows = service.list_cases()
    assert len(rows) == 400 + 1 == summary.cases  # and the clone
    assert sum(summary.by_status.values()) == summary.cases
    assert {r.status for r in rows} == {s.value for s in Status}
    assert [r.created_at for r in rows] == sorted(r.created_at for r in rows), "ids follow the order of opening"
    history, lively = rows[: 400 - LIVELY], rows[400 - LIVELY:]
    assert all(r.created_at < END - timedelta(days=35) for r in history)
    assert {e.state for e in service.list_escalations()} >= {"requested", "approved", "denied", "de_escalated"}
    assert any("\x1b" in r.title for r in lively)
    assert service.tick() == [], "everything due by now has fired"
    surveys = service.survey_summary()
    assert surveys.answered == summary.surveys_answered
    assert service.running_timers(kind="auto_close") and service.running_timers(kind="reminder")
