"""The core (service, domain, store) stays importable without the console and without side effects:
no textual, no database engine, no file or directory created at import time."""

from __future__ import annotations

import json
import os
import subprocess
import sys

PROBE = r"""
import gc, importlib, json, pkgutil, sys

import deskconsole.domain, deskconsole.store
names = ["deskconsole.service"]
for package in (deskconsole.domain, deskconsole.store):
    names += [f"{package.__name__}.{m.name}" for m in pkgutil.iter_modules(package.__path__)]
for name in names:
    importlib.import_module(name)

from sqlalchemy.engine import Engine
print(json.dumps({
    "imported": names,
    "textual": sorted(m for m in sys.modules if m == "textual" or m.startswith("textual.")),
    "engines": sum(isinstance(o, Engine) for o in gc.get_objects()),
}))
"""


def test_core_imports_without_the_console_and_without_side_effects(tmp_path) -> None:
    home, data, work = tmp_path / "home", tmp_path / "data", tmp_path / "cwd"
    for d in (home, work):
        d.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKCONSOLE_")}
    env.update(HOME=str(home), XDG_DATA_HOME=str(data), XDG_CONFIG_HOME=str(tmp_path / "config"),
               XDG_CACHE_HOME=str(tmp_path / "cache"), DESKCONSOLE_DB=f"sqlite:///{tmp_path}/never.db",
               PYTHONDONTWRITEBYTECODE="1")
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=work, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)

    assert {"deskconsole.service", "deskconsole.domain.lifecycle", "deskconsole.domain.timers",
            "deskconsole.store.engine", "deskconsole.store.models"} <= set(report["imported"])
    assert report["textual"] == [], "importing the core pulled in the console (textual)"
    assert report["engines"] == 0, "an engine was created at import time"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cwd", "home"], "a file or directory was created"
    assert list(home.iterdir()) == [] and list(work.iterdir()) == []
