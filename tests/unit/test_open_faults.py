"""Issue 4: a database that cannot be opened is one line `error: ...`, exit 1, no traceback.

Each case drives the real command line in a subprocess, as a user would meet it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from deskconsole.store.engine import init_schema, make_engine


def deskconsole(*args: str, db: str | None = None, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKCONSOLE_")}
    env["DESKCONSOLE_CONFIG"] = str(tmp_path / "no-config.toml")
    if db is not None:
        env["DESKCONSOLE_DB"] = db
    return subprocess.run([sys.executable, "-m", "deskconsole", *args], capture_output=True, text=True,
                          env=env, timeout=120, stdin=subprocess.DEVNULL)


def one_error_line(run: subprocess.CompletedProcess[str]) -> str:
    assert run.returncode == 1, (run.returncode, run.stdout, run.stderr)
    assert "Traceback" not in run.stderr, run.stderr
    assert run.stderr.startswith("error: ") and run.stderr.count("\n") == 1, run.stderr
    assert run.stdout == ""
    return run.stderr.strip()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nobody listens once it is closed


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_an_unreachable_postgres_server(tmp_path) -> None:
    port = closed_port()
    url = f"postgresql+psycopg://desk:s3cret@127.0.0.1:{port}/x"
    for args in (("case", "list"), ("agent", "list"), ("--as", "alice")):
        line = one_error_line(deskconsole(*args, db=url, tmp_path=tmp_path))
        assert line.startswith(
            f"error: cannot reach the database at postgresql+psycopg://desk:***@127.0.0.1:{port}/x: ")
        assert "refused" in line.lower()
        assert "s3cret" not in line


def test_the_console_with_a_bad_url_given_as_a_flag(tmp_path) -> None:
    port = closed_port()
    line = one_error_line(deskconsole("--db", f"postgresql://desk:pw@127.0.0.1:{port}/desk", "--as", "alice",
                                      tmp_path=tmp_path))
    assert line.startswith(f"error: cannot reach the database at postgresql+psycopg://desk:***@127.0.0.1:{port}/desk: ")


@pytest.mark.parametrize("content", [os.urandom(8192), b"SQLite format 3\x00" + b"\x00" * 20],
                         ids=["random-bytes", "truncated-header"])
def test_a_file_that_is_not_a_database_is_left_as_it_is(tmp_path, content) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(content)
    before = digest(path)
    line = one_error_line(deskconsole("case", "list", db=f"sqlite:///{path}", tmp_path=tmp_path))
    assert line == f"error: sqlite:///{path} is not a deskconsole database (file is not a database)"
    assert digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.db"]  # no journal, no backup beside it


def test_a_data_folder_that_cannot_be_made(tmp_path) -> None:
    """The database's folder would sit under a plain file: no one, root included, can make it."""
    blocker = tmp_path / "data"
    blocker.write_text("a file where the data folder should be\n")
    url = f"sqlite:///{blocker}/desk/desk.db"
    line = one_error_line(deskconsole("case", "list", db=url, tmp_path=tmp_path))
    assert line == f"error: cannot create the database at {url}: {blocker} is a file, not a folder"
    assert blocker.read_text() == "a file where the data folder should be\n"


def _make_read_only(path: Path) -> None:
    path.chmod(0o444)
    if os.geteuid() != 0:
        return
    chattr = shutil.which("chattr")
    result = subprocess.run([chattr, "+i", str(path)], capture_output=True) if chattr else None
    if result is None or result.returncode != 0:
        pytest.skip("running as root and this file system cannot make a file immutable (chattr +i)")


def _undo_read_only(path: Path) -> None:
    if os.geteuid() == 0 and shutil.which("chattr"):
        subprocess.run([shutil.which("chattr"), "-i", str(path)], capture_output=True)
    path.chmod(0o644)


def test_a_read_only_database_file(tmp_path) -> None:
    path = tmp_path / "desk.db"
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    init_schema(engine)
    engine.dispose()
    for leftover in tmp_path.glob("desk.db-*"):
        leftover.unlink()
    before = digest(path)
    _make_read_only(path)
    try:
        for args in (("case", "list"), ("--as", "alice")):
            line = one_error_line(deskconsole(*args, db=url, tmp_path=tmp_path))
            assert line == (f"error: cannot use the database at {url}: the file is read-only "
                            "(deskconsole writes to it; give it write permission or use a copy)")
        assert digest(path) == before
    finally:
        _undo_read_only(path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into any folder")
def test_a_read_only_data_folder(tmp_path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    url = f"sqlite:///{folder}/desk.db"
    folder.chmod(0o555)
    try:
        line = one_error_line(deskconsole("case", "list", db=url, tmp_path=tmp_path))
        assert line.startswith(f"error: cannot open the database at {url}: unable to open database file")
    finally:
        folder.chmod(0o755)
