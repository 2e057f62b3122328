"""The built wheel carries the console's styles and the schema migrations: installed into a fresh venv,
it creates a database at the newest schema version and the console starts styled."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import textwrap
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path

    import deskconsole.tui.app as console
    from deskconsole.domain.clock import FixedClock
    from deskconsole.service import Service
    from deskconsole.store.engine import init_schema, make_engine

    here = Path(console.__file__).resolve()
    assert "site-packages" in str(here), here
    styles = console.styles_dir()
    assert styles == here.parents[1] / "styles", styles
    assert (styles / "app.tcss").is_file()

    from deskconsole.store.engine import HEAD_REVISION, MIGRATIONS_DIR, schema_version

    assert MIGRATIONS_DIR.parent == here.parents[1] / "store", MIGRATIONS_DIR
    assert (MIGRATIONS_DIR / "env.py").is_file()
    shipped = sorted(p.name for p in (MIGRATIONS_DIR / "versions").glob("*.py"))
    assert shipped == ["0001_initial.py", "0002_case_search.py", "0003_case_updated_index.py",
                       "0004_inbound_mail.py", "0005_pg_roles.py", "0006_event_recorded_at.py",
                       "0007_service_levels.py", "0008_case_filter_and_merge.py", "0009_macros_undo.py",
                       "0010_presence.py", "0011_tags.py", "0012_views.py", "0013_queueidx.py",
                       "0014_slasort.py", "0015_outboxvalues.py", "0016_case_index_write.py"], shipped

    engine = make_engine("sqlite:///" + sys.argv[1])
    init_schema(engine)  # a new database: the shipped migrations build it
    assert schema_version(engine) == HEAD_REVISION, schema_version(engine)
    print("database created at schema version", HEAD_REVISION)
    service = Service(engine, FixedClock("2026-11-25T09:00:00Z"))
    service.add_agent("sam", "supervisor", actor=None)
    case, _ = service.open_case("Login fails after reset", "acme")
    assert [r.id for r in service.list_cases(text="log")] == [case.id]  # the search index is there

    async def main():
        app = console.make_app(service, "sam", ticker=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
            header = app.screen.query_one("#desk-header")
            assert header.styles.dock == "top", header.styles.dock
            assert header.region.height == 1, header.region
            sources = [str(path) for path, _ in app.stylesheet.source.keys()]
            assert any(s.endswith("queue.tcss") for s in sources), sources
        print("styled console started from", here)

    asyncio.run(main())
    """
)


@pytest.mark.slow
def test_wheel_starts_the_console_with_its_styles(tmp_path: Path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT)],
                   check=True, capture_output=True, text=True, timeout=300)
    (wheel,) = dist.glob("deskconsole-*.whl")

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    # Dependencies come from the test's own environment (not its editable deskconsole: the nested
    # .pth files of that folder are not processed from here).
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "zz_test_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--quiet",
                    str(wheel)], check=True, capture_output=True, text=True, timeout=300)

    script = tmp_path / "start.py"
    script.write_text(SCRIPT)
    result = subprocess.run([str(python), str(script), str(tmp_path / "desk.db")], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "styled console started" in result.stdout
    assert "database created at schema version" in result.stdout
