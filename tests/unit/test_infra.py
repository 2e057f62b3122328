"""The test infrastructure itself: per-test databases (empty, or migrated copies of a per-worker
template) and the CI policy."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

PG_URL_ENV = "DESKCONSOLE_TEST_PG_URL"


def libpq_url(sqlalchemy_url: str) -> str:
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(
        hide_password=False
    )


# Database names handed out by empty_pg_url, in the order the tests below received them.
_issued: list[str] = []


# Round 2 checks what round 1 left behind: under pytest-xdist both run in one worker only when
# tests are handed out by module (`--dist loadscope`, as `make test` does); otherwise the check
# of the earlier round is empty.
@pytest.mark.parametrize("round_", [1, 2])
def test_empty_pg_url_gives_each_test_a_fresh_database(empty_pg_url: str, round_: int) -> None:
    pg_url = empty_pg_url
    url = make_url(pg_url)
    assert url.drivername == "postgresql+psycopg"
    name = url.database
    assert name and name.startswith("t_")
    assert name not in _issued, "pg_url handed out the same database twice"

    with psycopg.connect(libpq_url(pg_url), autocommit=True) as conn:
        assert conn.execute("select 1").fetchone() == (1,)
        assert conn.execute("select current_database()").fetchone() == (name,)
        tables = conn.execute(
            "select table_name from information_schema.tables where table_schema = 'public'"
        ).fetchall()
        assert tables == [], f"database is not fresh: {tables}"

        # Databases of earlier tests were dropped on teardown, not just abandoned.
        existing = {row[0] for row in conn.execute("select datname from pg_database")}
        assert not existing & set(_issued)

        # Leave something behind: the next round must not see it.
        conn.execute("create table leftover (id int primary key)")
        conn.execute("insert into leftover values (1)")

    _issued.append(name)


def test_pg_url_database_is_not_the_shared_one(pg_url: str) -> None:
    shared = make_url(os.environ[PG_URL_ENV]).database
    assert make_url(pg_url).database != shared
    # And it is created on the same server the env var points at.
    assert make_url(pg_url).set(database=shared) == make_url(os.environ[PG_URL_ENV])


def test_sqlite_url_lives_in_tmp_path(sqlite_url: str, tmp_path: Path) -> None:
    url = make_url(sqlite_url)
    assert url.drivername == "sqlite"
    assert Path(url.database) == tmp_path / "desk.db"


def test_empty_sqlite_url_is_a_file_not_made_yet_in_tmp_path(empty_sqlite_url: str, tmp_path: Path) -> None:
    path = Path(make_url(empty_sqlite_url).database)
    assert path == tmp_path / "desk.db"
    assert not path.exists()


# A case opened by round 1 must not be in round 2's copy (nor in the template it came from).
@pytest.mark.parametrize("round_", [1, 2])
def test_db_url_is_a_migrated_copy_of_its_own(db_url: str, round_: int) -> None:
    from deskconsole.domain.clock import FixedClock
    from deskconsole.service import Service
    from deskconsole.store.engine import HEAD_REVISION, init_schema, make_engine, schema_version

    engine = make_engine(db_url)
    try:
        assert schema_version(engine) == HEAD_REVISION
        svc = Service(engine, FixedClock("2026-11-25T09:00:00Z"))
        assert svc.list_cases() == [], "the copy is not empty: a test's rows leaked into the template"
        svc.add_agent("mona", "manager", actor=None)
        svc.open_case(f"Round {round_}", "acme")
        assert [c.title for c in svc.list_cases()] == [f"Round {round_}"]
        init_schema(engine)  # up to date: nothing to do
        assert schema_version(engine) == HEAD_REVISION
    finally:
        engine.dispose()


_CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"

_INNER_TESTS = """
import pytest

def test_uses_pg(pg_url):
    pass

def test_skips_itself_for_pg():
    pytest.skip("needs a PostgreSQL server")

def test_skips_for_other_reason():
    pytest.skip("not on this platform")

@pytest.mark.parametrize("x", [1])
def test_backends(db_url, x):
    pass
"""


def _run_inner(pytester: pytest.Pytester, monkeypatch, ci: str | None) -> pytest.RunResult:
    monkeypatch.delenv(PG_URL_ENV, raising=False)
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    pytester.makeini(
        "[pytest]\n"
        "asyncio_default_fixture_loop_scope = function\n"
        "markers =\n    postgres: needs PostgreSQL\n"
    )
    pytester.makeconftest(_CONFTEST.read_text())
    pytester.makepyfile(test_inner=_INNER_TESTS)
    # In-process run; textual-snapshot keeps session-global state (a temp dir) that
    # an inner session would tear down under the outer one, so keep it out.
    return pytester.runpytest("-rA", "-p", "no:cacheprovider", "-p", "no:textual-snapshot")


def test_without_pg_locally_pg_tests_skip(pytester: pytest.Pytester, monkeypatch) -> None:
    result = _run_inner(pytester, monkeypatch, ci=None)
    # test_uses_pg, both skipping tests and db_url[postgres] skip; db_url[sqlite] passes.
    result.assert_outcomes(passed=1, skipped=4)
    assert result.ret == 0


def test_without_pg_under_ci_pg_tests_fail(pytester: pytest.Pytester, monkeypatch) -> None:
    result = _run_inner(pytester, monkeypatch, ci="true")
    # pg_url fails in setup (errors), the self-skip naming PostgreSQL fails,
    # the unrelated skip stays a skip, db_url[sqlite] passes.
    result.assert_outcomes(passed=1, skipped=1, failed=1, errors=2)
    result.stdout.fnmatch_lines(["*PostgreSQL required under CI*"])
    result.stdout.fnmatch_lines(["*must not be skipped under CI*needs a PostgreSQL server*"])
    assert result.ret == 1
