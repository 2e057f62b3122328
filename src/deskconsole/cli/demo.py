"""`deskconsole demo`: a realistic desk in an empty database, with a progress bar.
"""

from __future__ import annotations

import time
from typing import IO

from deskconsole.cli.common import Context, _safe_url, safe

PROGRESS_ABOVE = 2000  # demo --cases above this shows a progress bar on stderr


def cmd_demo(ctx: Context) -> int:
    from deskconsole.demo import build_demo

    service = ctx.service
    total = ctx.args.cases
    progress = ProgressBar(ctx.out.err, "demo") if total > PROGRESS_ABOVE else None
    summary = build_demo(service, cases=total, progress=progress, seed=ctx.args.seed)
    if progress is not None:
        progress.finish()
    out = ctx.out
    out.line(f"demo desk ready in {safe(_safe_url(ctx.settings.db_url))}")
    out.line(f"  agents: {summary.agents}   cases: {summary.cases}   articles: {summary.articles}")
    out.line("  by status: " + ", ".join(f"{k} {v}" for k, v in summary.by_status.items()))
    out.line("  escalations: " + ", ".join(f"{k} {v}" for k, v in summary.escalations.items()))
    out.line(f"  surveys answered: {summary.surveys_answered}   timers fired: {summary.timers_fired}")
    if summary.skipped_steps:
        out.line(f"  steps the service refused (skipped): {summary.skipped_steps}")
        for problem in summary.problems:
            out.line(f"    {safe(problem)}")
    out.line(f"  try: deskconsole --as {summary.try_as} case list --limit 20")
    return 0


class ProgressBar:
    """A plain progress bar on a stream: redrawn in place on a terminal, a line per 10% otherwise."""

    def __init__(self, stream: IO[str], label: str, width: int = 30) -> None:
        self.stream = stream
        self.label = label
        self.width = width
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self._last = -1
        self._started = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        pct = 100 if total <= 0 else min(100, done * 100 // total)
        step = pct if self.tty else pct // 10 * 10
        if step == self._last:
            return
        self._last = step
        filled = self.width * pct // 100
        bar = "#" * filled + "-" * (self.width - filled)
        elapsed = time.monotonic() - self._started
        tail = f" {done:,}/{total:,}  {elapsed:,.0f}s"
        if 0 < done < total:
            tail += f", about {elapsed * (total - done) / done:,.0f}s left"
        if self.tty:
            self.stream.write(f"\r{self.label} [{bar}] {pct:3d}%{tail}\x1b[K")
        else:
            self.stream.write(f"{self.label} [{bar}] {pct:3d}%{tail}\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.tty and self._last >= 0:
            self.stream.write("\n")
            self.stream.flush()
