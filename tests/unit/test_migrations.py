"""Issue 4: the schema has versions; init_schema creates, adopts, upgrades, or refuses.

On SQLite and PostgreSQL (empty_db_url: these tests start from an empty database, not the
migrated copy db_url gives). A database is built at revision 0001 through alembic itself, or the
way deskconsole made it before migrations (create_all, no version table).
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import event, inspect, text
from sqlmodel import SQLModel

from deskconsole.domain.clock import FixedClock
from deskconsole.domain.errors import InvalidInput
from deskconsole.service import Service
from deskconsole.store import models
from deskconsole.store.engine import (
    HEAD_REVISION,
    REVISIONS,
    _alembic_config,
    init_schema,
    make_engine,
    schema_version,
)

NOW = "2026-11-25T09:00:00Z"
SEARCH_OBJECTS = ("case_fts", "ix_case_search")


@pytest.fixture
def blank(empty_db_url):
    engine = make_engine(empty_db_url)
    try:
        yield engine
    finally:
        engine.dispose()


def at_revision(engine, revision: str) -> None:
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), revision)


def filled_at(engine, revision: str) -> dict[str, int]:
    """fill() by today's service on a new database, then the schema taken back down to `revision`
    (as an older deskconsole would have left it, rows and all): the counts at `revision`."""
    init_schema(engine)
    fill(engine)
    with engine.begin() as conn:
        command.downgrade(_alembic_config(conn), revision)
    return counts(engine)


def fill(engine) -> dict[str, int]:
    """Cases, events, timers and an outbox row through the service, on whatever schema is there
    (without the operating-system login on events: a column of 0006)."""
    svc = Service(engine, FixedClock(NOW), os_login=None)
    svc.add_agent("mona", "manager", actor=None)
    svc.add_agent("alice", "analyst", actor="mona", skills=["login"], manager="mona")
    with svc.batch() as batch:  # (light: no case read back through the newest models)
        for name in ("alpha", "bravo", "charlie", "delta", "echo"):
            case, _ = batch.service.open_case(f"Login fails on tablet {name}", "initech", contact="it@initech.example")
            batch.service.move(case.id, "pending", sub_status="customer_input", actor="alice", note="Which tablet?")
    return counts(engine)


def kept(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    """The counts of the tables there before (the tables a later revision added are checked empty)."""
    assert all(n == 0 for t, n in after.items() if t not in before), after
    return {t: n for t, n in after.items() if t in before}


def counts(engine) -> dict[str, int]:
    """Rows per table of the models', of those the database has (an older revision lacks later tables)."""
    with engine.connect() as conn:
        present = set(inspect(conn).get_table_names())
        return {t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one()
                for t in sorted(SQLModel.metadata.tables) if t in present}


def sqlite_path(engine) -> Path | None:
    return Path(engine.url.database) if engine.dialect.name == "sqlite" else None


def test_a_fresh_database_is_created_at_head(blank) -> None:
    assert schema_version(blank) is None
    init_schema(blank)
    assert schema_version(blank) == HEAD_REVISION
    assert set(SQLModel.metadata.tables) <= set(inspect(blank).get_table_names())
    fill(blank)
    found = Service(blank, FixedClock(NOW)).list_cases(text="tablet delta")
    assert [r.title for r in found] == ["Login fails on tablet delta"]
    path = sqlite_path(blank)
    if path is not None:
        assert list(path.parent.glob("*.bak-*")) == []  # nothing to keep from an empty file


def test_an_up_to_date_database_costs_one_query(blank) -> None:
    init_schema(blank)
    blank.dispose()
    seen: list[str] = []
    event.listen(blank, "before_cursor_execute", lambda *a: seen.append(a[2]))
    init_schema(blank)
    ours = [s for s in seen if not s.upper().startswith(("PRAGMA", "BEGIN", "SELECT PG_", "SHOW", "SELECT CURRENT"))]
    assert ours == ["SELECT version_num FROM alembic_version"]


def test_an_up_to_date_database_does_not_load_alembic(empty_db_url) -> None:
    db_url = empty_db_url
    engine = make_engine(db_url)
    init_schema(engine)
    engine.dispose()
    probe = ("import sys; from deskconsole.store.engine import init_schema, make_engine; "
             "init_schema(make_engine(sys.argv[1])); print(sorted(m for m in sys.modules if m.startswith('alembic')))")
    out = subprocess.run([sys.executable, "-c", probe, db_url], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_a_database_at_0001_is_upgraded_keeping_every_row(blank, capfd) -> None:
    before = filled_at(blank, "0001")
    assert schema_version(blank) == "0001"
    assert before["case"] == 5 and before["timer"] == 10 and before["event"] >= 10

    init_schema(blank)

    assert schema_version(blank) == HEAD_REVISION
    assert kept(counts(blank), before) == before
    # the cases written before the upgrade are in the new index
    svc = Service(blank, FixedClock(NOW))
    assert len(svc.list_cases(text="login tablet")) == 5
    assert [r.title for r in svc.list_cases(text="tab bra")] == ["Login fails on tablet bravo"]
    err = capfd.readouterr().err
    assert f"from schema version 0001 to {HEAD_REVISION}" in err
    path = sqlite_path(blank)
    if path is not None:
        (backup,) = path.parent.glob(f"{path.name}.bak-0001-*")
        assert str(backup) in err
        old = sqlite3.connect(backup)
        try:
            assert old.execute("SELECT version_num FROM alembic_version").fetchall() == [("0001",)]
            assert old.execute('SELECT count(*) FROM "case"').fetchone() == (5,)
            assert old.execute("SELECT count(*) FROM timer").fetchone() == (10,)
            assert old.execute("SELECT count(*) FROM sqlite_master WHERE name = 'case_fts'").fetchone() == (0,)
        finally:
            old.close()


def test_the_backup_holds_rows_still_in_the_write_ahead_log(tmp_path) -> None:
    path = tmp_path / "desk.db"
    engine = make_engine(f"sqlite:///{path}")
    filled_at(engine, "0001")
    keeper = sqlite3.connect(path)  # an open reader keeps the log from being folded into the file
    keeper.execute("PRAGMA wal_autocheckpoint=0")
    keeper.execute("SELECT 1 FROM agent").fetchall()
    try:
        assert Path(f"{path}-wal").stat().st_size > 0
        init_schema(engine)
    finally:
        keeper.close()
        engine.dispose()
    (backup,) = tmp_path.glob("desk.db.bak-0001-*")
    assert sqlite3.connect(backup).execute('SELECT count(*) FROM "case"').fetchone() == (5,)


def test_a_database_made_before_migrations_is_adopted(blank) -> None:
    """The earlier code ran create_all and recorded no version: that schema is 0001."""
    SQLModel.metadata.create_all(blank)
    before = fill(blank)
    assert "alembic_version" not in inspect(blank).get_table_names()

    init_schema(blank)

    assert schema_version(blank) == HEAD_REVISION
    assert kept(counts(blank), before) == before
    assert len(Service(blank, FixedClock(NOW)).list_cases(text="login")) == 5
    path = sqlite_path(blank)
    if path is not None:
        assert len(list(path.parent.glob(f"{path.name}.bak-0001-*"))) == 1


def test_a_database_from_a_newer_deskconsole_is_refused_untouched(blank) -> None:
    init_schema(blank)
    fill(blank)
    with blank.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0107'"))
    before = counts(blank)
    tables = sorted(inspect(blank).get_table_names())
    blank.dispose()

    with pytest.raises(InvalidInput) as refused:
        init_schema(blank)

    url = blank.url.render_as_string(hide_password=True)
    assert str(refused.value) == (f"database {url} is at schema version 0107, newer than this deskconsole "
                                  f"({HEAD_REVISION}): upgrade deskconsole")
    assert "\n" not in str(refused.value)
    assert schema_version(blank) == "0107"
    assert kept(counts(blank), before) == before
    assert sorted(inspect(blank).get_table_names()) == tables
    path = sqlite_path(blank)
    if path is not None:
        assert list(path.parent.glob("*.bak-*")) == []


def test_a_database_of_something_else_is_refused(blank) -> None:
    with blank.begin() as conn:
        conn.execute(text("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total INTEGER)"))
    with pytest.raises(InvalidInput, match=r"is not a deskconsole database \(it has other tables: invoices\)"):
        init_schema(blank)
    assert inspect(blank).get_table_names() == ["invoices"]


def _differences(engine) -> list:
    def keep(name, type_, _parent) -> bool:
        return not (name or "").startswith(SEARCH_OBJECTS)

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": keep})
        return compare_metadata(context, SQLModel.metadata)


def test_the_migrations_build_exactly_the_models(blank) -> None:
    """The tables, columns, types and indexes of the models are what the migrations make."""
    assert models.Case.__table__ is SQLModel.metadata.tables["case"]
    at_revision(blank, "0001")
    # at 0001 only what later revisions add differs (0002's index is not a table the models know)
    def name(d) -> str:
        # add_column: schema, table, column
        return d[1].name if d[0] in ("add_index", "add_table") else f"{d[2]}.{d[3].name}"

    assert sorted((d[0], name(d)) for d in _differences(blank)) == [
        ("add_column", "agent.login"), ("add_column", "case.merged_into_id"), ("add_column", "case.split_from_id"),
        ("add_column", "event.login"),
        ("add_column", "event.os_login"), ("add_column", "outbox.hold_until"),
        ("add_column", "outbox.template_values"),
        ("add_index", "ix_agent_login"), ("add_index", "ix_case_area_status"), ("add_index", "ix_case_contact_id"),
        ("add_index", "ix_case_created_id"), ("add_index", "ix_case_customer_status"),
        ("add_index", "ix_case_merged_into"),
        ("add_index", "ix_case_open_assignee_id"), ("add_index", "ix_case_open_assignee_priority"),
        ("add_index", "ix_case_open_assignee_updated"), ("add_index", "ix_case_open_id"),
        ("add_index", "ix_case_open_priority"), ("add_index", "ix_case_open_updated"),
        ("add_index", "ix_case_split_from"), ("add_index", "ix_case_status_sub"),
        ("add_index", "ix_case_tag_tag"), ("add_index", "ix_case_updated_id"),
        ("add_index", "ix_inbound_from_received"), ("add_index", "ix_inbound_message_case_id"),
        ("add_index", "ix_inbound_message_content_hash"), ("add_index", "ix_inbound_outcome_id"),
        ("add_index", "ix_outbox_message_id"), ("add_index", "ix_sla_metric_case"),
        ("add_index", "ix_sla_metric_kind_at"), ("add_index", "ix_timer_sla_due"),
        ("add_table", "case_tag"), ("add_table", "inbound_message"), ("add_table", "macro"),
        ("add_table", "mail_attachment"), ("add_table", "presence"), ("add_table", "saved_view"),
        ("add_table", "sla_desk"), ("add_table", "sla_metric")]
    init_schema(blank)
    assert _differences(blank) == []
    assert REVISIONS[-1] == HEAD_REVISION == "0016"
    # and the newest revision file is the head the code checks against
    with blank.begin() as conn:
        from alembic.script import ScriptDirectory

        assert ScriptDirectory.from_config(_alembic_config(conn)).get_current_head() == HEAD_REVISION


def test_the_search_index_objects_are_what_search_py_rebuilds(empty_sqlite_url) -> None:
    from deskconsole.store.search import SQLITE_TRIGGERS

    engine = make_engine(empty_sqlite_url)
    init_schema(engine)
    with engine.connect() as conn:
        made = dict(conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")).all())
    assert made == SQLITE_TRIGGERS
    engine.dispose()


RACER = r"""
import sys, time, os
from deskconsole.store.engine import init_schema, make_engine
url, go = sys.argv[1:3]
engine = make_engine(url)
print("ready", flush=True)
while not os.path.exists(go):
    time.sleep(0.001)
init_schema(engine)
print("done", flush=True)
"""


def test_consoles_starting_together_on_a_fresh_database(empty_db_url, tmp_path) -> None:
    """Five consoles started at once on a file that does not exist yet: one creates the schema, the
    others wait for it (none may fail on the lock, e.g. while switching the new file to WAL)."""
    db_url = empty_db_url
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", RACER, db_url, str(go)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(5)]
    try:
        for proc in procs:
            assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        go.touch()
        outs = [proc.communicate(timeout=120) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert [p.returncode for p in procs] == [0] * 5, [e for _, e in outs]
    engine = make_engine(db_url)
    try:
        assert schema_version(engine) == HEAD_REVISION
        fill(engine)
    finally:
        engine.dispose()


def test_db_version_and_db_upgrade_commands(blank, capsys, monkeypatch, tmp_path) -> None:
    from deskconsole.cli import main

    monkeypatch.setenv("DESKCONSOLE_CONFIG", str(tmp_path / "no-config.toml"))
    url = blank.url.render_as_string(hide_password=False)
    at_revision(blank, "0001")
    blank.dispose()

    assert main(["--db", url, "db", "version"]) == 0
    assert capsys.readouterr().out == (f"schema version 0001; this deskconsole: {HEAD_REVISION} "
                                       "(any command upgrades it, or `deskconsole db upgrade`)\n")
    assert schema_version(blank) == "0001"  # asking changed nothing

    assert main(["--db", url, "db", "upgrade"]) == 0
    assert capsys.readouterr().out == f"schema version {HEAD_REVISION} (up to date)\n"
    assert schema_version(blank) == HEAD_REVISION

    with blank.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0107'"))
    blank.dispose()
    assert main(["--db", url, "db", "version"]) == 0
    newer = f"0107; this deskconsole: {HEAD_REVISION} (the database is newer: upgrade deskconsole)"
    assert newer in capsys.readouterr().out
    assert main(["--db", url, "db", "upgrade"]) == 1
    assert capsys.readouterr().err.startswith("error: database ")


def test_db_version_does_not_create_a_file(tmp_path, capsys, monkeypatch) -> None:
    from deskconsole.cli import main

    monkeypatch.setenv("DESKCONSOLE_CONFIG", str(tmp_path / "no-config.toml"))
    assert main(["--db", f"sqlite:///{tmp_path}/later.db", "db", "version"]) == 0
    assert "schema version none" in capsys.readouterr().out
    assert not (tmp_path / "later.db").exists()
