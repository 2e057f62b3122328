"""The console start probe, in a process of its own (spawned by run.py's console row).

It starts the console as `deskconsole` does (deskconsole.cli imported, the console loaded through
cli.console_imports, open_console on the settings) and runs it headless, then presses keys; see
run.py for what each figure means. It lives apart from run.py so that what runs before its clock
starts is Python's start and this small module, read from bytecode (run.py compiles it with
deskconsole's sources): run.py as a script is compiled from source at every start, and its own
imports (argparse, statistics, tempfile, subprocess, ...) are the harness's, not the console's.

    python -c "import sys; sys.path.insert(0, 'benchmarks'); import consoleprobe; consoleprobe.main()" JSON
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from screenwatch import ScreenWatch


def probe(url: str, result_path: str, presses: int, spawned: float, user: str) -> None:
    """Runs in its own process: start the console headless on the desk, then press keys."""
    t_start = time.time()
    import deskconsole.cli  # (what `deskconsole` imports before it opens the console)
    from deskconsole.settings import load_settings

    with deskconsole.cli.console_imports():  # the console loaded as `deskconsole` loads it
        from textual.widgets import Input

        from deskconsole.tui.app import open_console
        from deskconsole.tui.screens.queue import PAGE, QueueScreen

    t_imported = time.time()
    app = open_console(load_settings(db=url, user=user), ticker=False)  # DESKCONSOLE_NOW fixes the clock

    watch = ScreenWatch(app, time.perf_counter)
    hits = watch.hits

    async def press(key: str, expect: dict) -> dict[str, float]:
        for name, predicate in expect.items():
            watch.expect(name, predicate)
        t0 = time.perf_counter()
        task = asyncio.create_task(app._press_keys([key]))  # as Pilot.press sends a key
        await watch.wait(list(expect))
        await task
        return {name: hits[name] - t0 for name in expect}

    figures: dict = {}

    async def run() -> None:
        watch.expect("painted", lambda: isinstance(app.screen, QueueScreen) and app.screen.table.row_count > 0)
        async with app.run_test(size=(120, 40)) as pilot:
            await watch.wait(["painted"])
            figures["start_cpu_s"] = time.process_time()  # user+sys of this process, Python's start included
            figures["start_s"] = time.time() - (time.perf_counter() - hits["painted"]) - spawned
            figures["python_start_s"] = t_start - spawned
            figures["imports_s"] = t_imported - t_start
            figures["fast_start"] = app.quick is not None
            while not app.service_ready:
                await asyncio.sleep(0.005)
            figures["service_loaded_s"] = time.time() - spawned
            service = app.service
            queue = app.screen
            table = queue.table
            # the keys are measured on the whole desk (view All, as before managers and supervisors
            # opened on Open): the next page's first case is read from it below
            queue.action_set_view("all")
            while queue.shown is None or queue.shown.get("view") != "all":
                await asyncio.sleep(0.005)
            await asyncio.sleep(0.2)

            moves = []
            for _ in range(presses):
                target = table.cursor_row + 1
                if target >= table.row_count:
                    break
                moves.append((await press("j", {"j": lambda t=target: table.cursor_row == t}))["j"])
                await asyncio.sleep(0.02)
            figures["cursor_ms"] = [m * 1000 for m in moves]

            pages = []
            for _ in range(presses):
                if len(queue.rows) < PAGE:
                    break
                last = next(reversed(queue.rows.values())).id
                after = min((r.id for r in service.list_cases(view="all", sort="oldest", after=last, limit=1)),
                            default=None)
                if after is None:
                    break
                pages.append((await press("]", {"page": lambda a=after: next(iter(queue.rows), None) == str(a)}))
                             ["page"])
                await asyncio.sleep(0.02)
            figures["page_ms"] = [p * 1000 for p in pages]

            await pilot.press("slash")
            box = queue.query_one("#queue-filter", Input)
            typed = ""
            echo, result = [], []
            keys = list("login 7") + ["backspace"] * 7 + list("billing 42") + ["backspace"] * 10
            for key in keys:
                typed = typed[:-1] if key == "backspace" else typed + key
                expect_text = typed.strip() or None
                got = await press("space" if key == " " else key, {
                    "echo": lambda t=typed: box.value == t,
                    "result": lambda e=expect_text: queue.shown is not None and queue.shown["text"] == e,
                })
                echo.append(got["echo"] * 1000)
                result.append(got["result"] * 1000)
                await asyncio.sleep(0.02)
            figures["filter_echo_ms"] = echo
            figures["filter_result_ms"] = result
            figures["filter_keys"] = len(keys)

    asyncio.run(run())
    with open("/proc/self/status") as f:
        status = f.read()
    for field in ("VmHWM", "VmRSS"):
        line = next(line for line in status.splitlines() if line.startswith(field + ":"))
        figures[field] = int(line.split()[1]) / 1024  # MB
    with open(result_path, "w") as out:
        json.dump(figures, out)


def main() -> None:
    """The probe's arguments: one JSON object (url, result, presses, spawned, user)."""
    args = json.loads(sys.argv[-1])
    probe(args["url"], args["result"], args["presses"], args["spawned"], args["user"])
