"""Nothing reported that is not durable, on PostgreSQL: the desk's database in a tablespace on a
small, real filesystem (a tmpfs mounted by the test) that fills up while ingest runs.

The throwaway server (scripts/pg-throwaway.sh, and CI's) runs on this machine as the `postgres`
system user, so a tmpfs mounted here, owned by that user, can hold a tablespace; the database
is made in it from the worker's migrated template. When a table or index file cannot grow,
PostgreSQL refuses the statement (SQLSTATE 53100, disk full). Ingest must then answer no line
`ok` that is not stored, record no progress past what committed, say `error:` and exit 1; with
room again a rerun applies exactly the rest.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url
from test_pg_identity import libpq as libpq_url

import deskconsole.ingest as ingest_module
import tmpfs_disk
from deskconsole.cli import main


class SmallTablespace:
    """A tmpfs owned by the server's system user, a tablespace on it, and a desk database in it."""

    def __init__(self, base: str, template: str) -> None:
        self.admin = libpq_url(base)
        with psycopg.connect(self.admin, autocommit=True) as conn:
            data = conn.execute("SHOW data_directory").fetchone()[0]
        try:
            owner = os.stat(data)
        except OSError:
            pytest.skip(f"the PostgreSQL server at {base} is not on this machine: no tablespace on a tmpfs here")
        self.folder = Path(tempfile.mkdtemp(prefix="deskconsole-pgdisk-", dir="/tmp"))
        self.folder.chmod(0o755)  # the server's user goes through it
        self.disk = self.folder / "disk"
        self.disk.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size=24m,uid={owner.st_uid},gid={owner.st_gid},"
                               "mode=0700", "tmpfs", str(self.disk)], capture_output=True, text=True)
        if done.returncode != 0:
            self.folder.rmdir() if not any(self.folder.iterdir()) else None
            reason = f"cannot mount a tmpfs here (not root, or no mount permission): {done.stderr.strip()}"
            if os.environ.get("CI") == "true":
                pytest.fail(reason)
            pytest.skip(reason)
        self.space = f"small_{uuid.uuid4().hex[:12]}"
        self.name = f"t_full_{uuid.uuid4().hex}"
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(f"CREATE TABLESPACE {self.space} LOCATION '{self.disk}'")
            conn.execute(f'CREATE DATABASE "{self.name}" TEMPLATE "{template}" TABLESPACE {self.space}')
        self.url = make_url(base).set(database=self.name).render_as_string(hide_password=False)

    def fill(self, leave: int) -> None:
        """Leave about `leave` bytes free."""
        tmpfs_disk.fill(self.disk, leave=leave)

    def room(self) -> None:
        (self.disk / "filler").unlink(missing_ok=True)

    def close(self) -> None:
        with suppress(Exception), psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            conn.execute(f"DROP TABLESPACE IF EXISTS {self.space}")
        subprocess.run(["umount", str(self.disk)], capture_output=True)
        if os.path.ismount(self.disk):
            subprocess.run(["umount", "-l", str(self.disk)], capture_output=True)
        with suppress(OSError):
            self.disk.rmdir()
            self.folder.rmdir()


@pytest.fixture
def small_pg(pg_template: str) -> Iterator[SmallTablespace]:
    # (pg_template skips, or fails under CI, without DESKCONSOLE_TEST_PG_URL)
    space = SmallTablespace(os.environ["DESKCONSOLE_TEST_PG_URL"], pg_template)
    try:
        yield space
    finally:
        space.close()


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def answers(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def feed(path: Path, count: int, width: int) -> None:
    with path.open("w") as f:
        for i in range(1, count + 1):
            # hex noise: PostgreSQL's compression keeps about half of it
            f.write(json.dumps({"type": "case.opened", "title": f"Export {i} fails", "customer": "Acme",
                                "description": f"{i} " + secrets.token_hex(width // 2), "ref": f"r-{i}"}) + "\n")


# The test reads the desk over one connection opened before the disk fills: a new connection to a
# database whose disk is full may be refused (the server cannot write its cache file there).


def stored(conn: psycopg.Connection) -> dict[str, int]:
    return dict(conn.execute('SELECT ref, id FROM "case" WHERE ref IS NOT NULL').fetchall())


def progress_mark(conn: psycopg.Connection, lines: Path) -> dict | None:
    key = "ingest:" + hashlib.sha256(os.path.realpath(lines).encode()).hexdigest()[:32]
    row = conn.execute("SELECT value FROM meta WHERE key = %s", (key,)).fetchone()
    return json.loads(row[0]) if row else None


def test_ingest_into_postgresql_on_a_full_disk_answers_ok_only_for_stored_lines(small_pg, tmp_path, capsys,
                                                                                monkeypatch):
    monkeypatch.setenv("DESKCONSOLE_NOW", "2026-11-25T09:00:00Z")  # (the administrator's: the suite's superuser)
    monkeypatch.setenv("DESKCONSOLE_CONFIG", str(tmp_path / "none.toml"))
    # batches of 20 lines whatever the machine's speed: several commit before the disk is full
    # (a batch rolled back keeps the room its rows took: PostgreSQL does not give it back until a VACUUM)
    monkeypatch.setattr(ingest_module, "BATCH_LINES", 20)
    monkeypatch.setattr(ingest_module, "BATCH_SECONDS", 3600.0)
    url = small_pg.url
    assert run(capsys, "--db", url, "--as", "mona", "agent", "add", "mona", "--role", "manager")[0] == 0
    lines = tmp_path / "lines.jsonl"
    total = 400
    feed(lines, total, 20_000)  # 8 MB of lines, some 4 MB stored, for 2 MB of room
    reader = psycopg.connect(libpq_url(url), autocommit=True)
    small_pg.fill(leave=2 * 1024 * 1024)

    code, out, err = run(capsys, "--db", url, "ingest", str(lines))

    assert code == 1, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "space" in err or "full" in err, err
    ok = [a for a in answers(out) if a["ok"]]
    assert not [a for a in answers(out) if not a["ok"]]  # a full disk is no fault of a line
    assert 0 < len(ok) < total
    cases = stored(reader)
    last_ok = max(a["line"] for a in ok)
    assert [a["line"] for a in ok] == list(range(1, last_ok + 1))
    assert all(cases.get(f"r-{a['line']}") == a["case"] for a in ok)
    assert sorted(int(ref[2:]) for ref in cases) == list(range(1, last_ok + 1))  # nothing more is stored
    assert f"from {last_ok + 1:,} on" in err
    mark = progress_mark(reader, lines)
    assert mark is None or mark["line"] <= last_ok

    small_pg.room()
    code, out, err = run(capsys, "--db", url, "ingest", str(lines))
    assert code == 0, err
    again = answers(out)
    assert [a["line"] for a in again] == list(range(last_ok + 1, total + 1)) and all(a["ok"] for a in again)
    cases = stored(reader)
    assert sorted(int(ref[2:]) for ref in cases) == list(range(1, total + 1))
    assert len(set(cases.values())) == total
    assert progress_mark(reader, lines)["line"] == total
    reader.close()
