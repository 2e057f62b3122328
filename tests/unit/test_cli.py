"""The command line end to end, one process per command.

Every test runs against its own database with DESKCONSOLE_NOW fixed, so the
clock only moves when a test says so. A few commands run as a real
`python -m deskconsole ...` subprocess (the installed entry point); the rest run
in a forked child of this test process that already imported deskconsole: the
same argv, environment, standard streams (real file descriptors) and exit
status, without paying the import time (about a second on a busy machine) per
command.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import deskconsole.cli  # imported once here; forked commands reuse it
import deskconsole.service

NOW = "2026-11-25T09:00:00Z"
NOW_DT = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
SHOW_KEYS = {
    "id", "title", "status", "sub_status", "priority", "assignee", "customer", "product_area",
    "auto_close_at", "reminder_at", "escalation", "version", "events",
}


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.out.splitlines()]


class Desk:
    """Runs the CLI against one database."""

    def __init__(self, url: str, tmp_path: Path) -> None:
        self.url = url
        self.tmp_path = tmp_path

    def env(self, now: str | None, extra: dict[str, str] | None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DESKCONSOLE_")}
        env["DESKCONSOLE_NOW"] = now or NOW
        env["DESKCONSOLE_CONFIG"] = str(self.tmp_path / "no-config.toml")
        env["PYTHONUTF8"] = "1"
        env.update(extra or {})
        return env

    def __call__(self, *args: str, user: str | None = None, now: str | None = None, stdin: bytes | str | None = None,
                 env: dict[str, str] | None = None, db: bool = True, real: bool = False) -> Run:
        argv: list[str] = []
        if db:
            argv += ["--db", self.url]
        if user:
            argv += ["--as", user]
        argv += list(args)
        data = stdin.encode() if isinstance(stdin, str) else stdin
        if not real:
            return run_forked(argv, self.env(now, env), data)
        proc = subprocess.run([sys.executable, "-m", "deskconsole", *argv], input=data, capture_output=True,
                              env=self.env(now, env), timeout=120)
        return Run(proc.returncode, proc.stdout.decode(), proc.stderr.decode())

    def ok(self, *args: str, **kw: Any) -> Run:
        run = self(*args, **kw)
        assert run.code == 0, (args, run.err)
        return run

    def refused(self, *args: str, **kw: Any) -> Run:
        run = self(*args, **kw)
        assert run.code == 1, (args, run.out, run.err)
        assert run.err.startswith("error: "), run.err
        assert run.err.count("\n") == 1 and "Traceback" not in run.err, run.err
        return run

    def show(self, case: int) -> dict[str, Any]:
        return self.ok("case", "show", str(case), "--json").json()

    def ingest(self, *events: dict[str, Any] | str, **kw: Any) -> Run:
        text = "\n".join(e if isinstance(e, str) else json.dumps(e) for e in events) + "\n"
        return self("ingest", stdin=text, **kw)


def _stream(fd: int, mode: str) -> io.TextIOWrapper:
    raw = io.FileIO(fd, mode, closefd=False)
    buffered = io.BufferedReader(raw) if mode == "r" else io.BufferedWriter(raw)
    return io.TextIOWrapper(buffered, encoding="utf-8")


def run_forked(argv: list[str], env: dict[str, str], data: bytes | None) -> Run:
    """`deskconsole ARGV` in a forked child: its own process, environment, fds 0/1/2 and exit status."""
    with tempfile.TemporaryFile() as fin, tempfile.TemporaryFile() as fout, tempfile.TemporaryFile() as ferr:
        fin.write(data or b"")
        fin.flush()
        fin.seek(0)
        pid = os.fork()
        if pid == 0:  # the child: never returns into pytest
            code = 70
            try:
                os.dup2(fin.fileno(), 0)
                os.dup2(fout.fileno(), 1)
                os.dup2(ferr.fileno(), 2)
                os.environ.clear()
                os.environ.update(env)
                sys.stdin, sys.stdout, sys.stderr = _stream(0, "r"), _stream(1, "w"), _stream(2, "w")
                try:
                    code = deskconsole.cli.main(argv)
                except SystemExit as exc:  # argparse: 0 for --help, 2 for bad usage
                    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
                sys.stdout.flush()
                sys.stderr.flush()
            except BaseException:  # noqa: BLE001 - report anything to the parent as a crash
                traceback.print_exc(file=sys.stderr)
                sys.stderr.flush()
                code = 70
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        fout.seek(0)
        ferr.seek(0)
        return Run(os.waitstatus_to_exitcode(status), fout.read().decode(), ferr.read().decode())


def add_people(desk: Desk) -> None:
    desk.ok("agent", "add", "boss", "--role", "supervisor")  # first agent: open to anyone
    desk.ok("agent", "add", "mia", "--role", "manager", user="boss")
    desk.ok("agent", "add", "max", "--role", "manager", user="boss")
    desk.ok("agent", "add", "al", "--role", "analyst", "--skills", "billing,reporting", "--manager", "mia",
            user="boss")
    desk.ok("agent", "add", "bo", "--role", "analyst", "--skills", "login", "--manager", "max", user="boss")


@pytest.fixture(scope="session")
def desk_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database with a small desk, built once through the CLI and copied per test."""
    base = tmp_path_factory.mktemp("template")
    add_people(Desk(f"sqlite:///{base}/desk.db", base))
    return base / "desk.db"


@pytest.fixture
def desk(desk_template: Path, tmp_path: Path) -> Desk:
    for suffix in ("", "-wal", "-shm"):
        source = Path(str(desk_template) + suffix)
        if source.exists():
            shutil.copy(source, tmp_path / f"d.db{suffix}")
    return Desk(f"sqlite:///{tmp_path}/d.db", tmp_path)


def opened(title: str = "Invoice wrong", **fields: Any) -> dict[str, Any]:
    return {"type": "case.opened", "title": title, "description": "see attachment", "customer": "Acme",
            "contact": "ops@acme.example", "product_area": "billing", "severity": "normal", **fields}


# --------------------------------------------------------------------- usage


def test_usage_errors_exit_2_and_help_exits_0(tmp_path: Path) -> None:
    desk = Desk(f"sqlite:///{tmp_path}/u.db", tmp_path)
    assert desk("--help", db=False, real=True).code == 0
    assert desk("no-such-command", real=True).code == 2
    for args in (["no-such-command"], ["case"], ["case", "show", "abc"], ["case", "move", "1", "flying"],
                 ["case", "close", "1"], ["escalation", "decide", "1", "maybe", "--reason", "x"],
                 ["agent", "add", "zed", "--role", "wizard"], ["case", "list", "--limit", "-1"]):
        run = desk(*args)
        assert run.code == 2, (args, run.err)
        assert run.out == ""
    assert not (tmp_path / "u.db").exists(), "bad usage must not touch the database"


# -------------------------------------------------------------------- agents


def test_agents_bootstrap_then_only_leads_add(tmp_path: Path) -> None:
    desk = Desk(f"sqlite:///{tmp_path}/a.db", tmp_path)
    desk.ok("agent", "add", "boss", "--role", "supervisor", "--email", "boss@desk.example")
    # No longer the first run: someone unknown, or an analyst, may not add people.
    assert "unknown agent 'stranger'" in desk.refused("agent", "add", "x", "--role", "analyst", user="stranger").err
    desk.ok("agent", "add", "mia", "--role", "manager", user="boss")
    # Global options also work after the command.
    desk.ok("agent", "add", "al", "--role", "analyst", "--skills", "Billing, login", "--manager", "mia",
            "--as", "boss", db=True)
    err = desk.refused("agent", "add", "x", "--role", "analyst", user="al").err
    assert "al is an analyst" in err
    assert "not a manager" in desk.refused("agent", "add", "y", "--role", "analyst", "--manager", "al",
                                           user="boss").err
    agents = desk.ok("agent", "list", "--json").json()
    assert [a["name"] for a in agents] == ["al", "boss", "mia"]
    al = agents[0]
    assert al["role"] == "analyst" and al["manager"] == "mia" and al["skills"] == ["billing", "login"]
    assert al["availability"] == "available"
    text = desk.ok("agent", "list").out
    assert text.splitlines()[0].split()[:3] == ["NAME", "ROLE", "AVAILABILITY"]


# -------------------------------------------------------------------- ingest


def test_ingest_applies_good_lines_and_reports_bad_ones(desk: Desk, tmp_path: Path) -> None:
    long_line = b'{"type": "customer.replied", "case": 1, "body": "' + b"x" * (2 * 1024 * 1024 + 10) + b'"}'
    lines = [
        json.dumps(opened(ref="mail-1", at="2026-11-24T08:00:00+01:00")),  # 1
        json.dumps(opened("Invoice wrong again", ref="mail-1")),  # 2: same ref, same case
        "",  # 3: blank, skipped silently
        "{broken",  # 4
        "[1, 2]",  # 5
        json.dumps({"type": "case.exploded", "case": 1}),  # 6
        json.dumps({"type": "customer.replied", "case": 1}),  # 7 missing body
        json.dumps({"type": "customer.replied", "case": "abc", "body": "hi"}),  # 8
        json.dumps({"type": "customer.replied", "case": 999, "body": "hi"}),  # 9
        json.dumps({"type": "survey.answered", "case": 1, "score": "5"}),  # 10
        json.dumps({"type": "customer.replied", "case": 1, "body": "hi", "at": "2026-11-25T10:00:00"}),  # 11
        json.dumps({"type": "customer.confirmed", "case": 1}),  # 12: not awaiting confirmation
        json.dumps(opened(customer=42)),  # 13 wrong type
        json.dumps({"type": "customer.replied", "case": 1, "body": "one more detail"}),  # 14
        json.dumps({"type": "escalation.requested", "case": 1, "reason": "CFO is waiting"}),  # 15
        json.dumps({"type": "customer.replied", "case": 1, "body": "\ud800"}),  # 16 lone surrogate
    ]
    data = b"\n".join([
        "\n".join(lines).encode(), b"\xff\xfe broken bytes", long_line, json.dumps(opened("Last")).encode()
    ])
    path = tmp_path / "events.jsonl"
    path.write_bytes(data)
    run = desk("ingest", str(path))
    assert run.code == 1 and run.err == ""
    results = run.lines()
    assert [r["line"] for r in results] == [1, 2] + list(range(4, 20))
    assert results[0] == {"line": 1, "ok": True, "case": 1, "status": "new"}
    assert results[1] == {"line": 2, "ok": True, "case": 1, "status": "new"}
    by_line = {r["line"]: r for r in results}
    for n in (4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 16, 17, 18):
        assert by_line[n]["ok"] is False and isinstance(by_line[n]["error"], str) and by_line[n]["error"], n
        assert set(by_line[n]) == {"line", "ok", "error"}
    assert "JSON" in by_line[4]["error"]
    assert "object" in by_line[5]["error"]
    assert "case.exploded" in by_line[6]["error"]
    assert "body" in by_line[7]["error"]
    assert "'abc'" in by_line[8]["error"]
    assert "unknown case 999" in by_line[9]["error"]
    assert "zone" in by_line[11]["error"]
    assert "UTF-8" in by_line[17]["error"]
    assert "too long" in by_line[18]["error"]
    assert by_line[14] == {"line": 14, "ok": True, "case": 1, "status": "new"}
    assert by_line[15] == {"line": 15, "ok": True, "case": 1, "status": "new"}
    assert by_line[19] == {"line": 19, "ok": True, "case": 2, "status": "new"}

    case = desk.show(1)
    assert case["title"] == "Invoice wrong" and case["assignee"] == "al" and case["priority"] == "P3"
    assert case["events"][0]["kind"] == "opened" and case["events"][0]["at"] == "2026-11-24T07:00:00Z"
    kinds = [e["kind"] for e in case["events"]]
    assert kinds.count("customer_replied") == 1, "only the good reply is kept"
    assert case["escalation"]["state"] == "requested"
    assert len(desk.ok("case", "list", "--json").json()) == 2

    # Standard input works too, and a fully good run exits 0.
    good = desk.ingest({"type": "customer.replied", "case": 2, "body": "any news?"}, real=True)
    assert good.code == 0 and good.lines() == [{"line": 1, "ok": True, "case": 2, "status": "new"}]


def test_reply_on_closed_case_is_kept_with_a_notice(desk: Desk) -> None:
    assert desk.ingest(opened()).code == 0
    desk.ok("case", "close", "1", "--reason", "duplicate", user="al")
    run = desk.ingest({"type": "customer.replied", "case": 1, "body": "still broken"})
    assert run.code == 0
    [result] = run.lines()
    assert result["ok"] is True and result["status"] == "closed" and "clone" in result["notice"]
    case = desk.show(1)
    assert case["status"] == "closed"
    assert case["events"][-1]["kind"] == "customer_replied" and case["events"][-1]["actor"] == "customer:Acme"
    # A survey was sent on closing: answer it through ingest.
    answered = desk.ingest({"type": "survey.answered", "case": 1, "score": 2, "comment": "slow"},
                           {"type": "survey.answered", "case": 1, "score": 5})
    assert answered.code == 1
    first, second = answered.lines()
    assert first == {"line": 1, "ok": True, "case": 1, "status": "closed"}
    assert second["ok"] is False and "already answered" in second["error"]


# --------------------------------------------------------------- case actions


def test_case_lifecycle_and_refusals_change_nothing(desk: Desk) -> None:
    assert desk.ingest(opened(), opened("SSO login loop", product_area="login")).code == 0
    before = desk.show(1)
    assert SHOW_KEYS <= set(before)
    assert before["status"] == "new" and before["escalation"] is None and before["auto_close_at"] is None
    assert {"at", "actor", "kind"} <= set(before["events"][0])

    # Invalid transition: names the case, its status and the allowed next statuses.
    err = desk.refused("case", "move", "1", "awaiting_confirmation", "--note", "fixed", user="al").err
    assert err == (
        "error: case 1 is new: cannot move to awaiting_confirmation; allowed next: in_progress, pending, closed\n"
    )
    desk.refused("case", "move", "1", "pending", user="al")  # needs a sub-status
    desk.refused("case", "move", "1", "in_progress", user="mia-typo")  # unknown agent
    desk.refused("case", "move", "1", "in_progress", user="boss")  # a supervisor does not work cases
    desk.refused("case", "move", "1", "in_progress", "--expect-version", "7", user="al")  # stale version
    desk.refused("case", "show", "99")
    assert desk.show(1) == before

    moved = desk.ok("case", "move", "1", "in_progress", "--json", user="al").json()
    assert moved["status"] == "in_progress" and moved["version"] == before["version"] + 1
    text = desk.ok("case", "move", "1", "pending", "--sub-status", "customer_input", "--note", "send logs",
                   user="al").out
    assert text.startswith("case 1 is now pending/customer_input")
    case = desk.show(1)
    assert case["sub_status"] == "customer_input"
    assert case["reminder_at"] == "2026-12-02T09:00:00Z" and case["auto_close_at"] == "2026-12-23T09:00:00Z"
    desk.ok("case", "move", "1", "in_progress", user="al")
    desk.ok("case", "move", "1", "awaiting_confirmation", "--note", "Credit note issued.", user="al")
    case = desk.show(1)
    assert case["auto_close_at"] == "2026-12-09T09:00:00Z" and case["reminder_at"] is None

    # Closing needs a reason; a closed case never moves and only a closed case is cloned.
    assert "only a closed case" in desk.refused("case", "clone", "1", user="al").err
    desk.ok("case", "close", "1", "--reason", "confirmed by phone", user="al")
    closed = desk.show(1)
    assert closed["status"] == "closed" and closed["auto_close_at"] is None
    err = desk.refused("case", "move", "1", "in_progress", user="al").err
    assert "case 1 is closed" in err and "allowed next: none" in err
    desk.refused("case", "close", "1", "--reason", "again", user="al")
    desk.refused("case", "note", "1", "late note", user="al")
    desk.refused("escalation", "request", "1", "--reason", "too late", user="al")
    assert desk.show(1) == closed

    desk.refused("case", "close", "2", "--reason", "  ", user="bo")  # a reason is required
    # No --as and the login name is no agent: the request is recorded as the customer's own.
    filed = desk.ok("escalation", "request", "2", "--reason", "Nobody can sign in", "--json").json()
    assert filed["escalation"]["requested_by"] == "customer:Acme" and filed["escalation"]["on_behalf"] is False

    clone = desk.ok("case", "clone", "1", user="al").out
    assert clone.strip() == "3"
    copy = desk.show(3)
    assert copy["status"] == "new" and copy["title"] == "Invoice wrong" and copy["cloned_from"] == 1

    rows = desk.ok("case", "list", "--json").json()
    assert [r["id"] for r in rows] == [1, 2, 3]
    assert {"id", "status", "priority", "title", "assignee"} <= set(rows[0])
    assert [r["id"] for r in desk.ok("case", "list", "--status", "new", "--limit", "1", "--json").json()] == [2]
    table = desk.ok("case", "list").out.splitlines()
    assert table[0].split()[:3] == ["ID", "PRI", "STATUS"] and len(table) == 4


def test_escalation_decisions_are_for_managers(desk: Desk) -> None:
    assert desk.ingest(opened(severity="high")).code == 0
    assert desk.ingest({"type": "escalation.requested", "case": 1, "reason": "Payroll blocked"}).code == 0
    before = desk.show(1)
    assert before["escalation"]["state"] == "requested" and before["priority"] == "P2"

    err = desk.refused("escalation", "decide", "1", "approve", "--reason", "ok", user="al").err
    assert "al is an analyst" in err and "manager" in err
    desk.refused("escalation", "decide", "1", "deny", "--reason", " ", user="mia")  # a denial needs a reason
    desk.refused("escalation", "request", "1", "--reason", "again", user="al")  # one open escalation per case
    assert desk.show(1) == before

    listed = desk.ok("escalation", "list", "--json").json()
    assert len(listed) == 1 and listed[0]["case"] == 1 and listed[0]["state"] == "requested"
    assert listed[0]["manager"] == "mia"

    approved = desk.ok("escalation", "decide", "1", "approve", "--reason", "impact confirmed", "--engineer", "bo",
                       "--json", user="mia").json()
    assert approved["priority"] == "P1" and approved["escalation"]["state"] == "approved"
    assert approved["escalation"]["engineer"] == "bo"
    desk.refused("escalation", "deescalate", "1", "--plan-accepted", user="mia")  # needs all three
    down = desk.ok("escalation", "deescalate", "1", "--plan-accepted", "--rca-on-track", "--customer-agreed",
                   "--json", user="mia").json()
    assert down["priority"] == "P2" and down["escalation"]["state"] == "de_escalated"

    # A request filed by a manager on the customer's behalf is decided by another manager.
    desk.ok("escalation", "request", "1", "--reason", "Back again", user="max")
    assert "another manager" in desk.refused("escalation", "decide", "1", "deny", "--reason", "no",
                                             user="max").err
    desk.ok("escalation", "decide", "1", "deny", "--reason", "workaround in place", user="mia")
    case = desk.show(1)
    assert case["escalation"]["state"] == "denied" and case["priority"] == "P2"

    outbox = desk.ok("outbox", "list", "--json").json()
    assert {"case", "kind", "to", "created_at"} <= set(outbox[0])
    kinds = [o["kind"] for o in outbox]
    assert kinds.count("escalation_requested") == 2 and "escalation_denied" in kinds
    assert outbox[0]["to"] == "mia" and outbox[0]["created_at"] == NOW
    assert "escalation_requested" in desk.ok("outbox", "list").out


# --------------------------------------------------------------------- timers


def test_tick_fires_due_timers_once_as_time_moves(desk: Desk) -> None:
    assert desk.ingest(opened()).code == 0
    desk.ok("case", "move", "1", "pending", "--sub-status", "customer_input", "--note", "Which invoice number?",
            user="al")
    reminder = NOW_DT + timedelta(days=7)

    assert desk.ok("tick", now=iso(reminder - timedelta(seconds=1)), real=True).out == ""
    fired = desk.ok("tick", now=iso(reminder), real=True).lines()
    assert fired == [{"case": 1, "timer": "reminder", "due": iso(reminder), "fired": iso(reminder)}]
    assert desk.ok("tick", now=iso(reminder)).out == "", "a timer fires once"

    # Nobody ticked for a while: the auto-close takes effect as of its due time,
    # and the follow-up it starts (already due) fires in the same tick.
    late = NOW_DT + timedelta(days=30)
    lines = desk.ok("tick", now=iso(late)).lines()
    assert lines == [
        {"case": 1, "timer": "auto_close", "due": iso(NOW_DT + timedelta(days=28)), "fired": iso(late)},
        {"case": 1, "timer": "followup", "due": iso(NOW_DT + timedelta(days=29)), "fired": iso(late)},
    ]
    case = desk.show(1)
    assert case["status"] == "closed" and case["reminder_at"] is None and case["auto_close_at"] is None
    kinds = [o["kind"] for o in desk.ok("outbox", "list", "--json").json()]
    assert kinds == ["question", "reminder", "survey", "followup"]


def test_durations_come_from_the_environment(desk: Desk) -> None:
    assert desk.ingest(opened()).code == 0
    env = {"DESKCONSOLE_CUSTOMER_INPUT_REMINDER": "90m"}
    desk.ok("case", "move", "1", "pending", "--sub-status", "customer_input", "--asked-outside", "phone",
            user="al", env=env)
    assert desk.show(1)["reminder_at"] == "2026-11-25T10:30:00Z"
    assert desk.refused("tick", env={"DESKCONSOLE_CUSTOMER_INPUT_CLOSE": "soon"}).err.startswith(
        "error: not a duration")


# ------------------------------------------------------------ text and errors


def test_customer_text_is_shown_inert_and_json_keeps_it(desk: Desk) -> None:
    title = "Export [bold]x[/ \x1b[31mred\x1b[0m \x07\u202e"
    description = "line one\nline\ttwo \x1b]0;owned\x07"
    assert desk.ingest(opened(title, customer="Mallory [red]Ltd", description=description)).code == 0
    for args in (("case", "list"), ("case", "show", "1"), ("escalation", "list"), ("outbox", "list")):
        out = desk.ok(*args).out
        assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out, args
    shown = desk.ok("case", "show", "1").out
    assert "Export [bold]x[/ \\x1b[31mred\\x1b[0m \\x07\\u202e" in shown
    assert "line one\n" in shown and "\\x1b]0;owned\\x07" in shown
    assert desk.show(1)["title"] == title


def test_database_errors_are_one_line_without_secrets(tmp_path: Path) -> None:
    desk = Desk("postgresql+psycopg://desk:s3cret@127.0.0.1:1/nowhere", tmp_path)
    err = desk.refused("case", "list", real=True).err
    assert "s3cret" not in err and "***" in err and "127.0.0.1:1" in err
    assert Desk("nosuchdb://x", tmp_path).refused("case", "list").err.startswith("error: unsupported database")
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert Desk(f"sqlite:///{blocker}/sub/d.db", tmp_path).refused("tick").code == 1


def test_other_commands_never_load_the_console(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from deskconsole.cli import main\n"
        f"rc = main(['--db', 'sqlite:///{tmp_path}/t.db', 'db', 'upgrade'])\n"  # (tick makes no new desk)
        "assert rc == 0, rc\n"
        f"rc = main(['--db', 'sqlite:///{tmp_path}/t.db', 'tick'])\n"
        "assert rc == 0, rc\n"
        "loaded = [m for m in sys.modules if m.startswith(('textual', 'rich', 'deskconsole.tui'))]\n"
        "assert not loaded, loaded\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "DESKCONSOLE_NOW": NOW}, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_the_console_start_loads_no_other_command(tmp_path: Path) -> None:
    """`deskconsole` (no command) parses its arguments and reaches the console's launch loading
    the command line's shared modules (parser, argument types, output) and the console's launch
    only: no other command's module, and not shutil with the compression modules it brings
    (argparse's help width needs them only when help is shown). The console's start time is spent on the console."""
    code = (
        "import sys\n"
        "from deskconsole.cli import common\n"
        "args = common.build_parser().parse_args([])\n"
        "args.func.function()\n"
        "cli = sorted(m for m in sys.modules if m.startswith('deskconsole.cli'))\n"
        "shared = ['deskconsole.cli', 'deskconsole.cli.args', 'deskconsole.cli.common', 'deskconsole.cli.output']\n"
        "assert cli == sorted([*shared, 'deskconsole.cli.console']), cli\n"
        "assert 'shutil' not in sys.modules and 'lzma' not in sys.modules\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_help_wraps_at_the_width_argparse_would_use() -> None:
    """The help's width is found without shutil, as argparse finds it: $COLUMNS, else the terminal's, else 80."""
    code = (
        "import argparse, sys\n"
        "from deskconsole.cli import common\n"
        "ours, theirs = common.Formatter('deskconsole')._width, argparse.HelpFormatter('deskconsole')._width\n"
        "assert ours == theirs, (ours, theirs)\n"
        "print(ours)\n"
    )
    widths = []
    for columns in ("52", "97", "", "x"):
        env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
        if columns:
            env["COLUMNS"] = columns
        proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        widths.append(int(proc.stdout))
    assert widths[:2] == [50, 95]
    shown = subprocess.run([sys.executable, "-m", "deskconsole", "case", "move", "--help"],
                           env={**os.environ, "COLUMNS": "52"}, capture_output=True, text=True, timeout=60).stdout
    assert "  --expect-version N    refuse if the case changed\n" in shown  # wrapped at 50


def test_missing_console_is_reported(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                     tmp_path: Path) -> None:
    from deskconsole import cli

    monkeypatch.setitem(sys.modules, "deskconsole.tui.app", None)  # as if the module were absent
    monkeypatch.setenv("DESKCONSOLE_CONFIG", str(tmp_path / "none.toml"))
    assert cli.main(["--db", f"sqlite:///{tmp_path}/c.db"]) == 1
    assert capsys.readouterr().err == "error: the console is not available yet\n"


def test_the_console_loads_with_the_collector_paused_and_leaves_it_running() -> None:
    """While the console's modules load nothing is collected; after, even when a load fails, the
    collector runs again (a collector left off would let the console's memory grow without end)."""
    code = (
        "import gc\n"
        "from deskconsole.cli import console_imports\n"
        "try:\n"
        "    with console_imports():\n"
        "        assert not gc.isenabled()\n"
        "        import deskconsole.tui.app\n"
        "        raise ImportError('a module that cannot load')\n"
        "except ImportError:\n"
        "    pass\n"
        "assert gc.isenabled()\n"
        "assert gc.get_freeze_count() > 0  # what loaded is never walked again\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


# ------------------------------------------------------------------- settings


def test_settings_precedence(tmp_path: Path) -> None:
    from deskconsole.domain.errors import InvalidInput
    from deskconsole.settings import load_settings

    config = tmp_path / "config.toml"
    config.write_text('db = "sqlite:///from-file.db"\nuser = "filer"\n[timers]\ncustomer_input_reminder = "3d"\n')
    env = {"DESKCONSOLE_CONFIG": str(config)}
    s = load_settings(environ=env)
    assert (s.db_url, s.user, s.durations.customer_input_reminder) == ("sqlite:///from-file.db", "filer",
                                                                       timedelta(days=3))
    env |= {"DESKCONSOLE_DB": "sqlite:///from-env.db", "DESKCONSOLE_USER": "enver",
            "DESKCONSOLE_CUSTOMER_INPUT_REMINDER": "2d", "DESKCONSOLE_NOW": NOW}
    s = load_settings(environ=env)
    assert (s.db_url, s.user, s.durations.customer_input_reminder) == ("sqlite:///from-env.db", "enver",
                                                                       timedelta(days=2))
    assert s.clock.now() == NOW_DT and s.durations.customer_input_close == timedelta(days=28)
    assert s.user_source == "env"
    s = load_settings(db="sqlite:///flag.db", user="flagger", environ=env)
    assert (s.db_url, s.user, s.user_source) == ("sqlite:///flag.db", "flagger", "flag")
    s = load_settings(environ={"DESKCONSOLE_CONFIG": str(tmp_path / "none.toml")})
    assert s.user_source == "login" and s.db_url.startswith("sqlite:///")

    config.write_text("db = [broken\n")
    with pytest.raises(InvalidInput, match="not valid TOML"):
        load_settings(environ={"DESKCONSOLE_CONFIG": str(config)})
    config.write_text('[timers]\nreminder = "1d"\n')
    with pytest.raises(InvalidInput, match="unknown timer"):
        load_settings(environ={"DESKCONSOLE_CONFIG": str(config)})
    with pytest.raises(InvalidInput, match="DESKCONSOLE_NOW"):
        load_settings(environ={"DESKCONSOLE_CONFIG": str(tmp_path / "none"), "DESKCONSOLE_NOW": "yesterday"})


# ----------------------------------------------------------------- PostgreSQL


def test_core_flow_on_both_databases(db_url: str, tmp_path: Path) -> None:
    desk = Desk(db_url, tmp_path)
    add_people(desk)
    run = desk.ingest(opened(ref="pg-1"), opened(ref="pg-1"), {"type": "customer.confirmed", "case": 1})
    assert run.code == 1
    assert [r["ok"] for r in run.lines()] == [True, True, False]
    before = desk.show(1)
    desk.refused("case", "move", "1", "awaiting_confirmation", "--note", "x", user="al")
    assert desk.show(1) == before
    desk.ok("case", "move", "1", "in_progress", user="al")
    desk.ok("case", "move", "1", "awaiting_confirmation", "--note", "Credit note issued.", user="al")
    due = NOW_DT + timedelta(days=14)
    assert desk.ok("tick", now=iso(due - timedelta(seconds=1))).out == ""
    assert desk.ok("tick", now=iso(due)).lines() == [
        {"case": 1, "timer": "auto_close", "due": iso(due), "fired": iso(due)}]
    case = desk.show(1)
    assert case["status"] == "closed" and [r["id"] for r in desk.ok("case", "list", "--json").json()] == [1]


def test_concurrent_ingests_of_the_same_refs_never_duplicate(pg_url: str, tmp_path: Path) -> None:
    # PostgreSQL runs both writers at once (SQLite serialises them): the second to insert a ref
    # loses on the unique ref and is given back the winner's case.
    db_url = pg_url
    desk = Desk(db_url, tmp_path)
    # two files of the same lines (two senders): the same file twice would be one run's progress,
    # and a run starting after the other committed would rightly skip every line
    feeds = [tmp_path / f"feed-{n}.jsonl" for n in (1, 2)]
    for feed in feeds:
        feed.write_text("".join(json.dumps(opened(f"Case {i}", ref=f"gw-{i}")) + "\n" for i in range(60)))
    env = desk.env(None, None)
    procs = [
        subprocess.Popen([sys.executable, "-m", "deskconsole", "--db", db_url, "ingest", str(feed)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        for feed in feeds
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outputs]
    first, second = ([json.loads(line) for line in out.decode().splitlines()] for out, _ in outputs)
    assert all(r["ok"] for r in first + second)
    assert [r["case"] for r in first] == [r["case"] for r in second]
    assert len(desk.ok("case", "list", "--json").json()) == 60


# --------------------------------------------------------------------- delivery


def test_deliver_is_off_until_a_mail_server_is_configured(desk: Desk) -> None:
    assert desk.ingest(opened()).code == 0
    desk.ok("case", "move", "1", "in_progress", user="al")
    desk.ok("case", "move", "1", "awaiting_confirmation", "--note", "Reissued the invoice", user="al")
    refused = desk.refused("deliver")
    assert "DESKCONSOLE_SMTP_URL" in refused.err
    queued = desk.ok("outbox", "list", "--json").json()
    assert [(o["kind"], o["state"]) for o in queued] == [("awaiting_confirmation", "queued")]

    broken = desk.refused("deliver", env={"DESKCONSOLE_SMTP_URL": "ftp://mail.example"})
    assert "smtp" in broken.err.lower()
    assert desk.ok("outbox", "list", "--json").json() == queued, "a refused deliver changes nothing"


def test_the_customers_language_comes_in_with_the_case(desk: Desk) -> None:
    run = desk.ingest(opened(language="de"), opened("Export slow", language="not a tag"))
    assert run.code == 1
    first, second = run.lines()
    assert first["ok"] is True and second["ok"] is False and "language" in second["error"]
    assert desk.show(first["case"])["language"] == "de"
    assert len(desk.ok("case", "list", "--json").json()) == 1, "the refused line opened nothing"


def test_asking_the_customer_from_the_command_line(desk: Desk) -> None:
    assert desk.ingest(opened(), opened("SSO login loop", product_area="login")).code == 0
    before = desk.show(1)
    err = desk.refused("case", "move", "1", "pending", "--sub-status", "customer_input", user="al").err
    assert err.startswith("error: case 1: pending/customer_input needs the question")
    assert "--note QUESTION" in err and "--asked-outside HOW" in err and err.count("\n") == 1
    assert desk.show(1) == before and desk.ok("outbox", "list", "--json").json() == []
    assert "--asked-outside" in desk.ok("case", "move", "--help").out

    desk.ok("case", "move", "1", "pending", "--sub-status", "customer_input", "--note", "Which invoice number?",
            user="al")
    [question] = desk.ok("outbox", "list", "--json").json()
    assert {"case", "kind", "to", "created_at", "subject", "body"} <= set(question)
    assert (question["case"], question["kind"]) == (1, "question")
    assert question["subject"] == "[case 1] We need information from you"
    assert "    Which invoice number?" in question["body"]  # the message as it will be sent
    assert "We need information from you" in desk.ok("outbox", "list").out

    desk.ok("case", "move", "2", "pending", "--sub-status", "customer_input", "--asked-outside", "phone", user="al")
    assert [o["case"] for o in desk.ok("outbox", "list", "--json").json()] == [1]  # nothing sent for case 2
    shown = desk.ok("case", "show", "2").out
    assert "asked outside the desk: phone; nothing sent" in shown
    assert desk.show(2)["attention"] is None

    reminder = NOW_DT + timedelta(days=7)
    desk.ok("tick", now=iso(reminder))
    reminders = [o for o in desk.ok("outbox", "list", "--json").json() if o["kind"] == "reminder"]
    assert [r["case"] for r in reminders] == [1, 2]
    assert "We asked:\n\n    Which invoice number?" in reminders[0]["body"]
    assert "We asked you for it by phone." in reminders[1]["body"]
    assert desk.show(1)["attention"].startswith("chase")


def test_case_confirm_records_how_and_closes(desk: Desk) -> None:
    assert desk.ingest(opened()).code == 0
    desk.ok("case", "move", "1", "in_progress", user="al")
    err = desk.refused("case", "confirm", "1", "--how", "phone", user="al").err
    assert err.startswith("error: case 1 is in_progress: a confirmation only closes a case awaiting confirmation")
    assert desk.show(1)["status"] == "in_progress"
    assert desk("case", "confirm", "1", "--how", "fax", user="al").code == 2  # not a choice
    desk.ok("case", "move", "1", "awaiting_confirmation", "--note", "Credit note issued.", user="al")
    closed = desk.ok("case", "confirm", "1", "--how", "chat", "--json", user="al").json()
    assert closed["status"] == "closed"
    assert closed["events"][-3]["kind"] == "customer_confirmed"
    assert "in a chat, logged by al" in desk.ok("case", "show", "1").out
