"""Identity on PostgreSQL is the database login (store/identity.py, migration 0005).

Every test connects as real PostgreSQL logins made for it on the test server (the throwaway
cluster trusts local connections): the database's owner (the suite's superuser, the desk's
administrator) links agents to logins with `agent add --login`; connected as such a login you
are that agent, and PostgreSQL itself refuses what the agent's role may not do, whatever SQL is
typed. Logins belong to the whole server, so each test makes its own under unique names and
drops them afterwards (parallel workers never share one).

The commands run in this process through deskconsole.cli.main. Under an agent's login "now" is
the database server's clock (DESKCONSOLE_NOW is the administrator's), so timers that must be due
are started by the administrator with DESKCONSOLE_NOW in the past; nothing here waits for time.
"""

from __future__ import annotations

import io
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from psycopg import errors
from sqlalchemy.engine import make_url
from test_cli import Run

from deskconsole.cli import main

PAST = "2020-03-02T09:00:00Z"  # the administrator's "now" when a timer must be long overdue


def libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def as_login(url: str, login: str) -> str:
    """The same database, connected as another login."""
    return make_url(url).set(username=login, password=None).render_as_string(hide_password=False)


class Logins:
    """Logins made for one test, dropped after it."""

    def __init__(self, server: str) -> None:
        self.server = server
        self.tag = uuid.uuid4().hex[:10]
        self.made: list[str] = []

    def make(self, name: str, *, login: bool = True) -> str:
        role = f"dc_{self.tag}_{name}"
        kind = "LOGIN PASSWORD 'not-used-trust-auth'" if login else "NOLOGIN"
        with psycopg.connect(self.server, autocommit=True) as conn:
            conn.execute(f'CREATE ROLE "{role}" {kind}')
        self.made.append(role)
        return role

    def drop(self) -> None:
        with psycopg.connect(self.server, autocommit=True) as conn:
            for role in self.made:
                conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,))
                conn.execute(f'DROP ROLE IF EXISTS "{role}"')


@pytest.fixture
def logins(pg_url: str) -> Iterator[Logins]:
    made = Logins(libpq(pg_url))
    try:
        yield made
    finally:
        made.drop()


class Cli:
    """`deskconsole ...` in this process, against one database, as whichever login a call names."""

    def __init__(self, url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                 tmp_path: Path) -> None:
        self.url = url
        self.monkeypatch = monkeypatch
        self.capsys = capsys
        for key in [k for k in os.environ if k.startswith("DESKCONSOLE_")]:
            monkeypatch.delenv(key)
        monkeypatch.setenv("DESKCONSOLE_CONFIG", str(tmp_path / "no-config.toml"))
        monkeypatch.setenv("USER", "somebody")  # the system login name: no agent of the desk
        monkeypatch.setenv("LOGNAME", "somebody")

    def __call__(self, *args: str, login: str | None = None, user: str | None = None, now: str | None = None,
                 env: dict[str, str] | None = None, stdin: str | None = None) -> Run:
        url = as_login(self.url, login) if login else self.url
        argv = ["--db", url] + (["--as", user] if user else []) + list(args)
        with self.monkeypatch.context() as m:
            if now:
                m.setenv("DESKCONSOLE_NOW", now)
            for key, value in (env or {}).items():
                m.setenv(key, value)
            if stdin is not None:
                m.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(stdin.encode()), encoding="utf-8"))
            self.capsys.readouterr()
            code = main(argv)
            captured = self.capsys.readouterr()
        return Run(code, captured.out, captured.err)


@pytest.fixture
def cli(pg_url, monkeypatch, capsys, tmp_path) -> Cli:
    return Cli(pg_url, monkeypatch, capsys, tmp_path)


@dataclass
class Team:
    """A desk whose people have logins: manager helen (helen_login), analyst alice (alice_login),
    supervisor sofia (sofia_login); manager marcus has no login yet."""

    cli: Cli
    url: str
    helen: str
    alice: str
    sofia: str

    def sql(self, login: str | None = None) -> psycopg.Connection:
        """A plain psycopg connection (autocommit) as `login`, or as the administrator."""
        return psycopg.connect(libpq(as_login(self.url, login) if login else self.url), autocommit=True)


def ok(run: Run) -> Run:
    assert run.code == 0, run.err
    return run


def refused(run: Run, *words: str) -> Run:
    assert run.code == 1, (run.out, run.err)
    lines = run.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), run.err
    for word in words:
        assert word in run.err, run.err
    return run


@pytest.fixture
def team(cli, logins, pg_url) -> Team:
    helen, alice, sofia = logins.make("helen"), logins.make("alice"), logins.make("sofia")
    ok(cli("agent", "add", "helen", "--role", "manager", "--login", helen))
    ok(cli("agent", "add", "marcus", "--role", "manager", user="helen"))
    ok(cli("agent", "add", "alice", "--role", "analyst", "--skills", "billing", "--manager", "helen",
           "--login", alice, user="helen"))
    ok(cli("agent", "add", "sofia", "--role", "supervisor", "--login", sofia, user="helen"))
    return Team(cli, pg_url, helen, alice, sofia)


def opened(cli: Cli, login: str | None = None, title: str = "Invoices fail to export", now: str | None = None) -> int:
    line = json.dumps({"type": "case.opened", "title": title, "customer": "ACME", "contact": "ops@acme.example",
                       "product_area": "billing"})
    return ok(cli("ingest", login=login, stdin=line + "\n", now=now)).lines()[0]["case"]


def events(team: Team, case: int) -> list[tuple[str, str, str | None]]:
    with team.sql() as conn:
        return conn.execute("SELECT actor, kind, login FROM event WHERE case_id = %s ORDER BY id", (case,)).fetchall()


def escalation_row(team: Team, case: int) -> tuple:
    with team.sql() as conn:
        return conn.execute("SELECT state, decided_by, decision_reason, engineer FROM escalation WHERE case_id = %s",
                            (case,)).fetchone()


# --------------------------------------------------------------------------- linking


def test_agent_add_links_an_existing_login_and_grants_its_role(team, logins, cli) -> None:
    with team.sql() as conn:
        linked = dict(conn.execute("SELECT name, login FROM agent").fetchall())
        groups = {r[0] for r in conn.execute(
            "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
            "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = %s", (team.alice,))}
    assert linked == {"helen": team.helen, "marcus": None, "alice": team.alice, "sofia": team.sofia}
    assert groups == {"deskconsole_analyst"}

    missing = f"dc_{logins.tag}_nobody"
    refused(cli("agent", "add", "bob", "--role", "analyst", "--login", missing, user="helen"),
            f"there is no PostgreSQL login '{missing}'")
    nologin = logins.make("group", login=False)
    refused(cli("agent", "add", "bob", "--role", "analyst", "--login", nologin, user="helen"), "cannot log in")
    refused(cli("agent", "add", "bob", "--role", "analyst", "--login", team.alice, user="helen"),
            f"login '{team.alice}' is already alice's")
    admin = make_url(team.url).username
    refused(cli("agent", "add", "bob", "--role", "analyst", "--login", admin, user="helen"),
            "the desk's administrator")
    # only the administrator links logins: not even a manager connected as herself
    bob = logins.make("bob")
    refused(cli("agent", "add", "bob", "--role", "analyst", "--login", bob, login=team.helen),
            "only the desk's administrator")
    names = [a["name"] for a in ok(cli("agent", "list", "--json")).json()]
    assert names == ["alice", "helen", "marcus", "sofia"]  # nothing refused was added


def test_login_is_refused_on_sqlite(sqlite_url, monkeypatch, capsys, tmp_path) -> None:
    sqlite = Cli(sqlite_url, monkeypatch, capsys, tmp_path)
    refused(sqlite("agent", "add", "helen", "--role", "manager", "--login", "helen"),
            "--login links an agent to a PostgreSQL login", "on SQLite")
    assert ok(sqlite("agent", "list", "--json")).json() == []
    ok(sqlite("agent", "add", "helen", "--role", "manager"))  # without --login, as ever


# --------------------------------------------------------------------------- who you are


def test_connected_as_an_agents_login_you_are_that_agent(team, cli) -> None:
    case = opened(cli, team.alice)
    ok(cli("escalation", "request", str(case), "--reason", "Month-end close is blocked", login=team.alice))
    before = events(team, case)

    # the incident: anyone could decide as marcus by naming him
    refused(cli("escalation", "decide", str(case), "approve", "--reason", "go", user="marcus", login=team.alice),
            f"connected as the database login '{team.alice}' you are alice: you cannot act as marcus")
    refused(cli("escalation", "decide", str(case), "approve", "--reason", "go", login=team.alice,
                env={"DESKCONSOLE_USER": "marcus"}), "you cannot act as marcus")
    refused(cli("case", "note", str(case), "as marcus", user="marcus", login=team.alice), "cannot act as marcus")
    # as herself she is still only an analyst
    refused(cli("escalation", "decide", str(case), "approve", "--reason", "go", login=team.alice),
            "alice is an analyst: only a manager may decide escalations")
    assert escalation_row(team, case) == ("requested", None, None, None)
    assert events(team, case) == before

    # without --as the login decides (the system login name "somebody" is no agent); naming oneself is fine
    ok(cli("case", "note", str(case), "looking at it", login=team.alice))
    ok(cli("case", "note", str(case), "still looking", user="alice", login=team.alice))
    assert events(team, case)[-2:] == [("alice", "note", team.alice), ("alice", "note", team.alice)]
    shown = ok(cli("case", "show", str(case), "--json", login=team.helen)).json()
    assert [e["actor"] for e in shown["events"]][-2:] == ["alice", "alice"]

    ok(cli("escalation", "decide", str(case), "approve", "--reason", "go", login=team.helen))
    assert escalation_row(team, case)[:2] == ("approved", "helen")


def test_a_login_that_is_no_agent_gets_nothing(team, logins, cli) -> None:
    case = opened(cli, team.alice)
    stranger = logins.make("stranger")
    for args in (("case", "list"), ("case", "show", str(case)), ("agent", "list"), ("tick",)):
        refused(cli(*args, login=stranger), f"the database login '{stranger}' is no agent of this desk")
    with pytest.raises(errors.InsufficientPrivilege):
        with team.sql(stranger) as conn:
            conn.execute('SELECT * FROM "case"')
    # a member of the analysts' group (an analyst of another desk on this server) who is no agent
    # here: the row-level policies show and take nothing
    elsewhere = logins.make("elsewhere")
    with team.sql() as conn:
        conn.execute(f'GRANT deskconsole_analyst TO "{elsewhere}"')
    refused(cli("case", "list", login=elsewhere), "is no agent of this desk")
    with team.sql(elsewhere) as conn:
        assert conn.execute('SELECT count(*) FROM "case"').fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM event").fetchone() == (0,)
        assert conn.execute('UPDATE "case" SET title = %s', ("taken over",)).rowcount == 0
        with pytest.raises(errors.InsufficientPrivilege):  # (the row-level policy's refusal)
            conn.execute("INSERT INTO event (case_id, at, recorded_at, actor, kind) "
                         "VALUES (%s, now(), now(), 'x', 'note')", (case,))
    assert ok(cli("case", "show", str(case), "--json")).json()["title"] == "Invoices fail to export"


def test_the_administrator_acts_as_anyone_and_the_event_says_so(team, cli) -> None:
    admin = make_url(team.url).username
    case = opened(cli, team.alice)
    # marcus has no login yet: the administrator acts for him; and for alice, who has one
    ok(cli("case", "note", str(case), "for marcus", user="marcus"))
    ok(cli("case", "note", str(case), "for alice", user="alice"))
    ok(cli("case", "note", str(case), "alice herself", login=team.alice))
    assert events(team, case)[-3:] == [("marcus", "note", admin), ("alice", "note", admin),
                                       ("alice", "note", team.alice)]
    # the administrator may set the program's "now"
    ok(cli("case", "note", str(case), "replayed", user="helen", now=PAST))
    with team.sql() as conn:
        at, login = conn.execute("SELECT at, login FROM event WHERE body = 'replayed'").fetchone()
    assert (at.year, login) == (2020, admin)


def test_desk_time_is_the_servers_for_agent_logins(team, cli) -> None:
    case = opened(cli, team.alice)
    ok(cli("case", "move", str(case), "pending", "--sub-status", "customer_input", "--note", "Which invoice?",
           user="alice", now=PAST))  # (the administrator, for alice, in 2020: the timers are long due)
    far = "2099-01-01T00:00:00Z"
    refused(cli("tick", login=team.alice, now=far),
            "DESKCONSOLE_NOW is for the desk's administrator", f"connected as '{team.alice}'")
    refused(cli("case", "note", str(case), "dated", login=team.alice, now=far), "DESKCONSOLE_NOW")
    refused(cli("case", "list", login=team.alice, now=far), "DESKCONSOLE_NOW")
    shown = ok(cli("case", "show", str(case), "--json")).json()
    assert shown["status"] == "pending" and shown["reminder_at"] is not None  # nothing fired or written
    assert "timer_fired" not in [e["kind"] for e in shown["events"]]
    assert "dated" not in [e["body"] for e in shown["events"]]


# --------------------------------------------------------------------------- PostgreSQL holds the line


def test_raw_sql_under_an_analysts_login_cannot_decide_add_or_rewrite(team, cli) -> None:
    case = opened(cli, team.alice)
    ok(cli("escalation", "request", str(case), "--reason", "Blocked", login=team.alice))
    with team.sql(team.alice) as conn:
        # deciding: the decision columns are the managers' ...
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("UPDATE escalation SET state = 'approved', decided_by = 'alice', decision_reason = 'mine'")
        # ... and the state of a request is not hers to move (the row-level policy leaves it alone)
        assert conn.execute("UPDATE escalation SET state = 'approved'").rowcount == 0
        # nor filed already decided
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("INSERT INTO escalation (case_id, state, requested_by, requested_at, on_behalf, reason) "
                         "VALUES (%s, 'approved', 'alice', now(), true, 'self-approved')", (case,))
        # adding an agent, or promoting herself
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("INSERT INTO agent (name, role, skills, availability, created_at) "
                         "VALUES ('mallory', 'manager', '', 'available', now())")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("UPDATE agent SET role = 'manager' WHERE name = 'alice'")
        # the audit trail is append-only
        for statement in ("UPDATE event SET body = 'nothing happened'", "DELETE FROM event", "TRUNCATE event"):
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(statement)
        # an event she writes says it is hers, whatever login it claims
        (login,) = conn.execute(
            "INSERT INTO event (case_id, at, recorded_at, actor, kind, body, login) "
            "VALUES (%s, now(), now(), 'marcus', 'note', 'forged', 'postgres') RETURNING login", (case,)).fetchone()
        assert login == team.alice
        # a timer's due time is not hers to move (tick would fire it early)
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("UPDATE timer SET due_at = now()")
    assert escalation_row(team, case) == ("requested", None, None, None)
    assert [a["name"] for a in ok(cli("agent", "list", "--json")).json()] == ["alice", "helen", "marcus", "sofia"]
    assert ("alice", "escalation_requested", team.alice) in events(team, case)


def test_an_approved_escalation_is_followed_up_but_not_redecided_by_analysts(team, cli) -> None:
    case = opened(cli, team.alice)
    ok(cli("escalation", "request", str(case), "--reason", "Blocked", login=team.alice))
    ok(cli("escalation", "decide", str(case), "approve", "--reason", "Agreed", "--engineer", "alice",
           login=team.helen))
    with team.sql(team.alice) as conn:
        with pytest.raises(errors.InsufficientPrivilege):  # (the row-level policy's WITH CHECK)
            conn.execute("UPDATE escalation SET state = 'denied'")
    # the daily status update and the de-escalation by the escalation engineer are hers to do
    ok(cli("escalation", "update", str(case), "Patch is in test", login=team.alice))
    ok(cli("escalation", "deescalate", str(case), "--plan-accepted", "--rca-on-track", "--customer-agreed",
           login=team.alice))
    assert escalation_row(team, case) == ("de_escalated", "helen", "Agreed", "alice")


# --------------------------------------------------------------------------- the desk still works


def test_an_analysts_login_works_the_desk(team, cli) -> None:
    # ingest under her login: routed to her
    case = opened(cli, team.alice)
    other = opened(cli, team.alice, title="Second invoice")
    ok(cli("case", "unassign", str(other), login=team.helen))
    taken = ok(cli("case", "take", "--json", login=team.alice)).json()
    assert taken["id"] == other and taken["assignee"] == "alice"
    ok(cli("case", "note", str(case), "Asked for the export log", login=team.alice))
    ok(cli("case", "note", str(case), "We are on it", "--public", login=team.alice))
    ok(cli("case", "move", str(case), "in_progress", login=team.alice))
    ok(cli("case", "move", str(case), "awaiting_confirmation", "--note", "Cleared the cache", login=team.alice))
    ok(cli("case", "close", str(other), "--reason", "duplicate", login=team.alice))
    answer = json.dumps({"type": "survey.answered", "case": other, "score": 5})
    assert ok(cli("ingest", login=team.alice, stdin=answer + "\n")).lines()[0]["ok"]
    ok(cli("agent", "availability", "alice", "away", login=team.alice))
    shown = ok(cli("case", "show", str(case), "--json", login=team.alice)).json()
    assert shown["status"] == "awaiting_confirmation" and shown["auto_close_at"] is not None
    kinds = {o["kind"] for o in ok(cli("outbox", "list", "--json", login=team.alice)).json()}
    assert {"comment", "awaiting_confirmation", "survey"} <= kinds
    assert {login for _, _, login in events(team, case)} == {team.alice}


def test_tick_under_an_agents_login_fires_what_is_due(team, cli) -> None:
    case = opened(cli, now=PAST)  # (the administrator in 2020: its timers are long overdue today)
    ok(cli("case", "move", str(case), "pending", "--sub-status", "customer_input", "--note", "Which invoice?",
           user="alice", now=PAST))
    fired = ok(cli("tick", login=team.sofia)).lines()
    assert {(f["case"], f["timer"]) for f in fired} == {(case, "reminder"), (case, "auto_close"), (case, "followup")}
    shown = ok(cli("case", "show", str(case), "--json", login=team.alice)).json()
    assert shown["status"] == "closed"
    assert ("timer", "timer_fired", team.sofia) in events(team, case)
    assert ok(cli("tick", login=team.alice)).out == ""  # once


def test_leads_logins_add_agents_and_decide(team, cli) -> None:
    ok(cli("agent", "add", "bob", "--role", "analyst", "--skills", "billing", login=team.sofia))
    case = opened(cli, team.alice)
    ok(cli("escalation", "request", str(case), "--reason", "Blocked", login=team.alice))
    ok(cli("escalation", "decide", str(case), "deny", "--reason", "Not an outage", login=team.helen))
    assert escalation_row(team, case)[:3] == ("denied", "helen", "Not an outage")
    with team.sql() as conn:
        assert conn.execute("SELECT login FROM agent WHERE name = 'bob'").fetchone() == (None,)


def test_the_change_feed_works_under_an_analysts_login(team, cli) -> None:
    from deskconsole.service import Service
    from deskconsole.store.engine import make_engine

    case = opened(cli, team.alice)
    engine = make_engine(as_login(team.url, team.alice))
    try:
        service = Service(engine)
        watcher = service.watch()
        try:
            before = service.last_change_marker()
            ok(cli("case", "note", str(case), "ping", login=team.alice))
            change = watcher.wait(10.0)
            assert change is not None and change.touches(case)
            assert service.last_change_marker() > before
        finally:
            watcher.close()
    finally:
        engine.dispose()


class Recorder:
    """A mail server that takes every message."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, message, sender, recipients):
        self.sent.append(str(message["Subject"]))
        return {}

    def close(self) -> None:
        pass


def test_delivery_under_an_agents_login_marks_the_outbox(team, cli, tmp_path) -> None:
    from deskconsole.delivery import deliver_once
    from deskconsole.service import Service
    from deskconsole.store.engine import make_engine

    case = opened(cli, team.alice)
    ok(cli("case", "note", str(case), "We are on it", "--public", login=team.alice))
    # ingest from a file keeps its place in the desk (the progress mark) under her login too
    lines = tmp_path / "in.jsonl"
    lines.write_text(json.dumps({"type": "customer.replied", "case": case, "body": "Thanks"}) + "\n")
    ok(cli("ingest", str(lines), login=team.alice))
    assert ok(cli("ingest", str(lines), login=team.alice)).out == ""  # applied once
    engine = make_engine(as_login(team.url, team.alice))
    try:
        service = Service(engine)
        service.login_identity()
        server = Recorder()
        results = deliver_once(engine, service.clock, server)
    finally:
        engine.dispose()
    assert server.sent == [f"[case {case}] Invoices fail to export"]
    assert [r.state for r in results] == ["sent"]
    rows = ok(cli("outbox", "list", "--json", login=team.alice)).json()
    assert [(o["kind"], o["state"]) for o in rows] == [("comment", "sent")]


def test_mail_is_taken_in_under_an_agents_login(team, cli) -> None:
    raw = ("From: Ops <ops@acme.example>\r\nTo: desk@example.org\r\nSubject: Invoices fail to export\r\n"
           "Message-ID: <first@acme.example>\r\nDate: Tue, 01 Dec 2026 09:00:00 +0000\r\n\r\n"
           "The export stops at 40 %.\r\n")
    answer = ok(cli("mail", "receive", login=team.alice, stdin=raw)).lines()[0]
    assert answer["ok"] and answer["outcome"] == "opened"
    again = ok(cli("mail", "receive", login=team.alice, stdin=raw)).lines()[0]
    assert again["outcome"] == "duplicate" and again["case"] == answer["case"]
    shown = ok(cli("case", "show", str(answer["case"]), "--json", login=team.alice)).json()
    assert shown["title"] == "Invoices fail to export"


# --------------------------------------------------------------------------- the service holds the line too


def test_a_time_of_its_own_is_refused_to_an_agents_login_in_the_service_as_on_the_command_line(team, cli) -> None:
    """Called from Python, not only through the CLI: tick(now=...) and a clock given to the Service."""
    from deskconsole.domain.clock import FixedClock, SystemClock
    from deskconsole.domain.errors import PermissionDenied
    from deskconsole.service import Service
    from deskconsole.store.engine import make_engine

    case = opened(cli, now=PAST)  # (the administrator in 2020: its timers are long overdue)
    ok(cli("case", "move", str(case), "pending", "--sub-status", "customer_input", "--note", "Which invoice?",
           user="alice", now=PAST))
    far = datetime(2099, 1, 1, tzinfo=UTC)
    engine = make_engine(as_login(team.url, team.sofia))
    try:
        service = Service(engine)
        with pytest.raises(PermissionDenied, match=r"a time given to tick .* is for the desk's administrator"):
            service.tick(now=far)
        with pytest.raises(PermissionDenied, match="DESKCONSOLE_NOW is for the desk's administrator"):
            Service(engine, FixedClock(far)).tick()
        # a real clock of its own would date the events' recorded_at
        with pytest.raises(PermissionDenied, match="a real clock of its own is for the desk's administrator"):
            Service(engine, SystemClock(), real_clock=FixedClock(far)).list_cases()
        with team.sql() as conn:
            assert conn.execute("SELECT count(*) FROM timer WHERE state = 'fired'").fetchone() == (0,)
            assert conn.execute("SELECT count(*) FROM outbox WHERE created_at > now()").fetchone() == (0,)
        fired = service.tick()  # the server's now: what is due today fires
        assert {f.timer for f in fired} == {"reminder", "auto_close", "followup"}
        assert all(f.fired.year < 2099 for f in fired)
    finally:
        engine.dispose()
    # the administrator may still give tick a time of its own
    admin = make_engine(team.url)
    try:
        assert Service(admin).tick(now=far) == []  # (nothing left to fire)
    finally:
        admin.dispose()


# --------------------------------------------------------------------------- linking an agent added earlier


def test_agent_add_with_login_links_an_agent_added_earlier(team, logins, cli) -> None:
    marcus = logins.make("marcus")
    case = opened(cli, team.alice)
    ok(cli("escalation", "request", str(case), "--reason", "Month-end close is blocked", login=team.alice))
    # marcus was added without a login: the administrator links him (as a manager, his role)
    run = ok(cli("agent", "add", "marcus", "--role", "manager", "--login", marcus, user="helen"))
    assert run.out == f"linked marcus (manager) to the database login {marcus}\n"
    with team.sql() as conn:
        assert conn.execute("SELECT login FROM agent WHERE name = 'marcus'").fetchone() == (marcus,)
        groups = {r[0] for r in conn.execute(
            "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
            "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = %s", (marcus,))}
    assert groups == {"deskconsole_manager"}
    # connected as his login he is marcus, a manager: he decides, and cannot pass for anyone else
    refused(cli("case", "note", str(case), "as helen", user="helen", login=marcus), "you cannot act as helen")
    ok(cli("escalation", "decide", str(case), "approve", "--reason", "Blocked month-end", "--engineer", "helen",
           login=marcus))
    assert escalation_row(team, case)[:2] == ("approved", "marcus")
    ok(cli("agent", "add", "marcus", "--role", "manager", "--login", marcus, user="helen"))  # again: no change

    # refused, changing nothing: another login for an agent who has one, another role, other
    # details, someone not the administrator, an agent of that name on SQLite's terms (no login)
    other = logins.make("other")
    refused(cli("agent", "add", "alice", "--role", "analyst", "--login", other, user="helen"),
            f"agent 'alice' is linked to the login '{team.alice}' already")
    lena = logins.make("lena")
    ok(cli("agent", "add", "lena", "--role", "analyst", "--skills", "billing", user="helen"))
    refused(cli("agent", "add", "lena", "--role", "manager", "--login", lena, user="helen"),
            "agent 'lena' exists and is an analyst, not a manager")
    refused(cli("agent", "add", "lena", "--role", "analyst", "--skills", "login", "--login", lena, user="helen"),
            "linking a login changes nothing else")
    refused(cli("agent", "add", "lena", "--role", "analyst", "--login", lena, login=team.helen),
            "only the desk's administrator")
    refused(cli("agent", "add", "lena", "--role", "analyst", "--login", team.sofia, user="helen"),
            f"login '{team.sofia}' is already sofia's")
    refused(cli("agent", "add", "lena", "--role", "analyst", user="helen"), "agent 'lena' already exists")
    with team.sql() as conn:
        assert conn.execute("SELECT login FROM agent WHERE name = 'lena'").fetchone() == (None,)
        assert conn.execute("SELECT count(*) FROM pg_auth_members m JOIN pg_roles u ON u.oid = m.member "
                            "WHERE u.rolname = %s", (lena,)).fetchone() == (0,)
    refused(cli("case", "list", login=lena), "is no agent of this desk")
    ok(cli("agent", "add", "lena", "--role", "analyst", "--login", lena, user="helen"))
    assert ok(cli("case", "list", "--json", login=lena)).json()[0]["id"] == case
