"""A small, real filesystem for the full-disk tests: a tmpfs mounted by the test.

The tests run as root here and in CI, where mounting works; elsewhere they skip (and under
CI=true a skip that names tmpfs is a failure: tests/conftest.py's policy).

    small_disk(tmp_path, size="2m")   a context manager: the mounted folder, unmounted afterwards
    resize(where, size)               give the disk another size (room again, or less of it)
    fill(where, leave=0)              fill the disk up, leaving `leave` bytes free (a file `filler`)
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def small_disk(tmp_path: Path, size: str = "2m") -> Iterator[Path]:
    """A tmpfs of `size` at tmp_path/disk, unmounted afterwards."""
    where = tmp_path / "disk"
    where.mkdir()
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                              capture_output=True, text=True)
    except FileNotFoundError:
        done = None
    if done is None or done.returncode != 0:
        reason = "cannot mount a tmpfs here (not root, or no mount permission): " + (
            done.stderr.strip() if done is not None else "no mount command")
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], capture_output=True)
        if os.path.ismount(where):
            subprocess.run(["umount", "-l", str(where)], capture_output=True)


def resize(where: Path, size: str) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(where)], check=True)


def fill(where: Path, leave: int = 0) -> None:
    """Fill the disk with a file `filler`, leaving about `leave` bytes free."""
    free = shutil.disk_usage(where).free
    if free > leave:
        with (where / "filler").open("ab") as f:
            try:
                f.write(b"\0" * (free - leave))
            except OSError:
                pass  # full: that was the point
