"""Desks that take seconds to build, built once and kept on disk for every worker and every run.

    path, value = built_once("plans-100000", build)

`build(path)` writes a SQLite desk at `path` (every connection closed when it returns, so the file
alone is the desk) and returns a JSON value (case ids, an agent's id) handed back with it. The
desk is kept in tests/.cache/ under a name that carries a fingerprint of deskconsole's sources
(every .py file under src/deskconsole), of the module `build` is written in and of the files
named in `uses` (another builder it calls): a change to any of them (the bulk builder, a
migration, the service, the test's own recipe) builds the desk again; a desk of an older
fingerprint is deleted then. While one
pytest-xdist worker builds a desk the others wait for it (a lock file) and then use the same one.

The cached file is never handed to a test: callers copy it (`copy_desk`) and work on the copy.
On a clean clone (CI) the cache is empty: each desk is then built once per run instead of once
per worker.
"""

from __future__ import annotations

import fcntl
import hashlib
import inspect
import json
import shutil
from collections.abc import Callable
from functools import cache
from pathlib import Path

import deskconsole

CACHE = Path(__file__).resolve().parent / ".cache"


@cache
def source_tag() -> str:
    """A short fingerprint of every Python source of deskconsole (paths and contents)."""
    root = Path(deskconsole.__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def _tag(build: Callable[[Path], object], uses: tuple[Path, ...]) -> str:
    digest = hashlib.sha256(source_tag().encode())
    for path in (Path(inspect.getfile(build)), *uses):
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def built_once(name: str, build: Callable[[Path], object], uses: tuple[Path, ...] = ()) -> tuple[Path, object]:
    """The desk `name` at the current sources' fingerprint: built by `build` unless on disk already."""
    CACHE.mkdir(exist_ok=True)
    tag = _tag(build, uses)
    desk = CACHE / f"{name}-{tag}.db"
    meta = desk.with_suffix(".json")
    with (CACHE / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes (or the process ends)
        if not (desk.exists() and meta.exists()):
            for stale in CACHE.glob(f"{name}-*"):
                stale.unlink()
            partial = CACHE / f"{name}-{tag}.partial"
            value = build(partial)
            for suffix in ("-wal", "-shm"):
                assert not Path(f"{partial}{suffix}").exists(), f"{name}: the builder left {suffix} behind"
            partial.rename(desk)
            meta.write_text(json.dumps(value))
        return desk, json.loads(meta.read_text())


def copy_desk(name: str, build: Callable[[Path], object], dest: Path, uses: tuple[Path, ...] = ()) -> object:
    """A copy of the desk `name` at `dest` (built first if need be); its value."""
    source, value = built_once(name, build, uses)
    shutil.copyfile(source, dest)
    return value
