"""`deskconsole ingest` fed hostile input: every line gets the right output line, good
lines around bad ones are applied, a refused line leaves nothing behind."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from deskconsole.domain.clock import FixedClock
from deskconsole.service import MAX_TEXT, Service
from deskconsole.store.engine import init_schema, make_engine

NOW = "2026-11-25T09:00:00Z"
MARKUP = "[bold red]Boom[/] \x1b[31mred\x1b[0m \x07bell \x1b]0;pwned\x07 \u202eevil\u202c [link=http://x]y[/link]"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKCONSOLE_")}
    env.update(DESKCONSOLE_NOW=NOW, PYTHONUTF8="1", DESKCONSOLE_CONFIG="/nonexistent/deskconsole.toml")
    return env


_RUN = (
    "import sys\n"
    "from deskconsole.cli import main\n"
    "try:\n"
    "    code = main(sys.argv[1:])\n"
    "finally:\n"
    "    hwm = [ln for ln in open('/proc/self/status') if ln.startswith('VmHWM:')][0].split()[1]\n"
    "    sys.stderr.write(f'peak-kib {hwm}\\n')\n"
    "sys.exit(code)\n"
)


def _ingest(url: str, path: Path) -> tuple[int, list[dict], str, int]:
    """Exit status, output lines (each must be JSON), stderr, and the process's peak memory in KiB
    (VmHWM: ru_maxrss would count the forking test process too)."""
    run = subprocess.run([sys.executable, "-c", _RUN, "--db", url, "ingest", str(path)],
                         capture_output=True, env=_env(), timeout=600)
    err, _, peak = run.stderr.decode().rpartition("peak-kib ")
    return run.returncode, [json.loads(line) for line in run.stdout.decode().splitlines()], err, int(peak)


def _service(url: str) -> Service:
    engine = make_engine(url)
    init_schema(engine)
    return Service(engine, FixedClock(NOW))


def _counts(svc: Service) -> tuple[int, int, int]:
    from sqlalchemy import func
    from sqlmodel import select

    from deskconsole.store.models import Case, Event, Outbox

    with svc._read() as s:
        return tuple(s.exec(select(func.count()).select_from(t)).one() for t in (Case, Event, Outbox))  # type: ignore[return-value]


def _j(value: dict) -> bytes:
    return json.dumps(value).encode()


def _reply(body: object, **extra: object) -> bytes:
    return _j({"type": "customer.replied", "case": 1, "body": body, **extra})


def test_hostile_lines_are_refused_one_by_one_and_the_rest_applied(db_url: str, tmp_path: Path) -> None:
    svc = _service(db_url)
    svc.add_agent("mona", "manager", actor=None)
    svc.add_agent("al", "analyst", actor="mona", skills=["billing"], manager="mona")
    closed, _ = svc.open_case("Closed one", "ACME", product_area="billing")  # case 1 is opened by the feed
    svc.engine.dispose()
    assert closed.id == 1
    svc = _service(db_url)

    big = "x" * MAX_TEXT
    lines: list[tuple[bytes, object]] = [  # (line, expected: "ok" or a piece of the error)
        (_j({"type": "case.opened", "title": MARKUP, "customer": "ACME\x1b[2J", "description": MARKUP}), "ok"),
        (b'{"type": "customer.replied", "case": 1, "body": "raw \x1b[2J tab\t bell\x07 end"}', "ok"),
        (b'{"type": "customer.replied", "case": 1, "body": "\xff\xfe broken"}', "UTF-8"),
        (_reply("hi", mood="angry", extra={"nested": [1, 2]}), "ok"),  # unknown fields are ignored
        (_j({"type": "customer.replied", "case": "1", "body": "hi"}), "'1'"),
        (_j({"type": "survey.answered", "case": 1, "score": "5"}), "score"),
        (_j({"type": "survey.answered", "case": 1, "score": 5.5}), "score"),
        (_j({"type": "survey.answered", "case": 1, "score": True}), "score"),
        (_j({"type": "case.opened", "title": ["a", "list"], "customer": "ACME"}), "title must be text"),
        (_j({"type": "case.opened", "title": {"an": "object"}, "customer": "ACME"}), "title must be text"),
        (_j({"type": "case.opened", "title": "T", "customer": "ACME", "severity": 5}), "severity"),
        (_reply("hi", at=1764061200), "'at'"),
        (_reply("hi", at="2026-02-30T10:00:00Z"), "not an ISO 8601 time"),
        (_reply("hi", at="2026-13-01T10:00:00Z"), "not an ISO 8601 time"),
        (_reply("hi", at="2026-11-25T10:00:00"), "zone"),
        (_reply("a\u0000b"), "NUL"),
        (b'{"type": "customer.replied", "case": 1, "body": "raw \x00 NUL"}', "NUL"),
        (b"", None),  # blank lines get no output line (they keep their line number)
        (b"   \t ", None),
        (_reply("windows line end") + b"\r", "ok"),
        (_reply(big), "ok"),  # at the service's text limit
        (_reply(big + "x"), "too long"),
        (_reply("\ud800"), "surrogate"),
        (_j({"type": "customer.replied", "case": 10**30, "body": "hi"}), "unknown case"),
        (_j({"type": 5}), "unknown type"),
        (b"[" * 100_000 + b"]" * 100_000, "JSON"),
        (b'{"type": "customer.replied", "case": 1, "body": "hi"} trailing', "JSON"),
        (_j({"type": "customer.replied", "case": 2, "body": "after the storm"}), "ok"),
    ]
    feed = tmp_path / "hostile.jsonl"
    feed.write_bytes(b"\n".join(line for line, _ in lines) + b"\n")
    before = _counts(svc)

    code, out, err, _ = _ingest(db_url, feed)
    assert code == 1 and err == ""
    want = {n: e for n, (_, e) in enumerate(lines, 1) if e is not None}
    assert [r["line"] for r in out] == list(want)
    for r in out:
        expected = want[r["line"]]
        if expected == "ok":
            assert r["ok"] is True and "error" not in r, r
        else:
            assert r["ok"] is False and set(r) == {"line", "ok", "error"}, r
            assert expected in r["error"], r
    assert out[0] == {"line": 1, "ok": True, "case": 2, "status": "new"}

    # Stored literally, and only what the good lines say was stored.
    case = svc.get_case(2)
    assert case.title == MARKUP and case.description == MARKUP and case.customer == "ACME\x1b[2J"
    replies = [e.body for e in case.events if e.kind == "customer_replied"]
    assert replies == ["after the storm"]
    replies = [e.body for e in svc.get_case(1).events if e.kind == "customer_replied"]
    assert replies == ["raw \x1b[2J tab\t bell\x07 end", "hi", "windows line end", big]
    cases, events, outbox = _counts(svc)
    assert cases == before[0] + 1
    assert events == before[1] + 2 + 4 + 1  # opened + assigned; four replies to case 1; one to case 2
    assert outbox == before[2]


def test_a_10_mb_line_is_refused_without_being_held(sqlite_url: str, tmp_path: Path) -> None:
    svc = _service(sqlite_url)
    svc.open_case("First", "ACME")
    small = tmp_path / "small.jsonl"
    small.write_bytes(_reply("warm up") + b"\n")
    base_code, _, _, base_peak = _ingest(sqlite_url, small)
    assert base_code == 0

    feed = tmp_path / "long.jsonl"
    feed.write_bytes(_reply("before") + b"\n" + _reply("y" * 10_000_000) + b"\n" + _reply("after") + b"\n")
    code, out, err, peak = _ingest(sqlite_url, feed)
    assert code == 1 and err == ""
    assert [(r["line"], r["ok"]) for r in out] == [(1, True), (2, False), (3, True)]
    assert "too long" in out[1]["error"]
    assert peak - base_peak < 12 * 1024, f"peak memory grew by {(peak - base_peak) // 1024} MiB"
    replies = [e.body for e in svc.get_case(1).events if e.kind == "customer_replied"]
    assert replies == ["warm up", "before", "after"]


def test_10_mb_of_random_bytes_is_refused_line_by_line(sqlite_url: str, tmp_path: Path) -> None:
    svc = _service(sqlite_url)
    svc.open_case("First", "ACME")
    before = _counts(svc)
    data = random.Random(4711).randbytes(10 * 1024 * 1024)
    feed = tmp_path / "noise.bin"
    feed.write_bytes(data)
    physical = data.split(b"\n")
    if physical[-1] == b"":
        physical.pop()
    nonblank = [n for n, line in enumerate(physical, 1) if line.rstrip(b"\r").decode("utf-8", "replace").strip()]

    code, out, err, _ = _ingest(sqlite_url, feed)
    assert code == 1 and err == ""
    assert [r["line"] for r in out] == nonblank
    assert all(r["ok"] is False and r["error"] for r in out)
    assert _counts(svc) == before


@pytest.mark.parametrize("value", ["12", 12.0, None])
def test_case_must_be_a_whole_number(value: object, sqlite_url: str, tmp_path: Path) -> None:
    svc = _service(sqlite_url)
    svc.open_case("First", "ACME")
    feed = tmp_path / "case.jsonl"
    feed.write_bytes(_j({"type": "customer.replied", "case": value, "body": "hi"}) + b"\n")
    code, out, _, _ = _ingest(sqlite_url, feed)
    assert code == 1 and out[0]["ok"] is False and "case" in out[0]["error"]
    assert _counts(svc)[1] == 2  # opened and assigned, nothing more
