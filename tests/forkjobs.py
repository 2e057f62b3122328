"""benchmarks/team.py's `run_together` in forked children of the test process.

    run = run_forked_together(url, [["cli", "tick"]] * 8, workdir)

The same jobs (team.WORKER: `cli ARGS...` or `takeall NAME`), the same release (each child
connects, says it is ready, and waits for the go file; all are released at once), the same
result (a team.Run: each child's stdout, stderr and exit status, in job order). Each child is an
OS process of its own with its own database connections, so the race is as real; what it does
not pay is a Python start and deskconsole's imports (about a second of CPU per process), since
this process has imported deskconsole already.

A child never returns into pytest: it ends with os._exit. It freezes what it inherited from the
test process first, so no object of the parent's (a pooled connection, say) is collected, and
closed, in the child.
"""

from __future__ import annotations

import gc
import io
import os
import signal
import sys
import tempfile
import time
import traceback
import uuid
from datetime import datetime
from pathlib import Path

import deskconsole.cli
import deskconsole.settings  # noqa: F401
from deskconsole.domain.clock import format_time

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import team


def _child(job: list[str], url: str, go: Path, env: dict[str, str], out_fd: int, err_fd: int) -> None:
    """The forked child: team.WORKER with this job's argv, stdout into the pipe, stderr into a file."""
    gc.freeze()
    code = 70
    try:
        os.dup2(out_fd, 1)
        os.dup2(err_fd, 2)
        os.environ.clear()
        os.environ.update(env)
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8", line_buffering=True)
        sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8")
        sys.argv = ["-c", str(go), job[0], url, *job[1:]]
        try:
            exec(compile(team.WORKER, "<team.WORKER>", "exec"), {"__name__": "__main__"})
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # noqa: BLE001 - anything the job raised is the child's crash, on its stderr
        traceback.print_exc(file=sys.stderr)
        sys.stderr.flush()
        code = 70
    finally:
        os._exit(code)


def run_forked_together(url: str, jobs: list[list[str]], workdir: Path, *, now: datetime = team.TICK_AT) -> team.Run:
    """One forked process per job; once all are connected and waiting, release them at once."""
    go = workdir / f"go-{uuid.uuid4().hex}"
    env = dict(os.environ, DESKCONSOLE_NOW=format_time(now))
    env.pop("DESKCONSOLE_USER", None)
    sys.stdout.flush()
    sys.stderr.flush()
    children: list[tuple[int, io.TextIOWrapper, tempfile._TemporaryFileWrapper]] = []
    reaped: set[int] = set()
    try:
        for job in jobs:
            read_fd, write_fd = os.pipe()
            err = tempfile.TemporaryFile(dir=workdir)  # noqa: SIM115 - closed in the finally below
            pid = os.fork()
            if pid == 0:
                os.close(read_fd)
                _child(job, url, go, env, write_fd, err.fileno())
            os.close(write_fd)
            children.append((pid, os.fdopen(read_fd, encoding="utf-8"), err))
        for _, out, err in children:
            line = out.readline().strip()
            if line != "ready":
                err.seek(0)
                raise RuntimeError(f"worker did not start: {line} {err.read().decode()}")
        start = time.perf_counter()
        go.touch()
        outputs, errors, codes = [], [], []
        for pid, out, err in children:
            outputs.append(out.read())  # (to the child's end: its stdout closes when it exits)
            codes.append(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
            reaped.add(pid)
            err.seek(0)
            errors.append(err.read().decode())
        return team.Run(outputs, errors, codes, time.perf_counter() - start)
    finally:
        for pid, out, err in children:
            if pid not in reaped:  # (a child still running when something above failed)
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            out.close()
            err.close()
