"""deskconsole's command line: argument parsing → service calls → text or JSON.

No rule lives here: every change goes through deskconsole.service.Service, which
refuses with a DeskError and changes nothing. Exit status: 0 done, 1 refused
(one line on stderr beginning "error: "), 2 bad usage (argparse).

Run without a command, deskconsole opens the console (imported lazily: the other
commands never load the console's toolkit).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any, NoReturn

from deskconsole.delivery.cli import add_deliver_command, run_deliver
from deskconsole.mail.cli import event_detail as mail_event_detail, register as register_mail
from deskconsole.domain.clock import format_countdown, format_time
from deskconsole.domain.errors import DeskError, NotFound
from deskconsole.domain.lifecycle import EscalationState, Role, Severity, Status, SubStatus
from deskconsole.domain.timers import TimerKind
from deskconsole.settings import Settings, load_settings

if TYPE_CHECKING:
    from deskconsole.service import Service

PROG = "deskconsole"
PROGRESS_ABOVE = 2000  # demo --cases above this shows a progress bar on stderr

# --------------------------------------------------------------------------- text


# C0 controls, DEL, C1 controls, bidi overrides/isolates, line/paragraph separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_CONTROL_BLOCK = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe(value: object) -> str:
    """One line of untrusted text made inert: every control character shown as an escape (\\x1b)."""
    text = "" if value is None else str(value)
    return _CONTROL.sub(_visible, text)


def safe_block(value: object) -> str:
    """Multi-line untrusted text: newlines and tabs kept, every other control character escaped."""
    text = "" if value is None else str(value)
    return _CONTROL_BLOCK.sub(_visible, text.replace("\r\n", "\n"))


# Characters JSON may carry raw but a terminal must not get raw (json.dumps escapes only C0 itself).
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def when(value: datetime | None) -> str:
    return format_time(value) or "-"


class Output:
    """stdout/stderr for one run; JSON is printed with non-ASCII kept when the stream can take it."""

    def __init__(self, out: IO[str] | None = None, err: IO[str] | None = None) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        encoding = (getattr(self.out, "encoding", None) or "").lower().replace("-", "")
        self.ascii_json = encoding not in ("utf8", "utf16", "utf32")

    def line(self, text: str = "") -> None:
        self.out.write(text + "\n")

    def json(self, value: Any, *, flush: bool = False) -> None:
        text = json.dumps(value, ensure_ascii=self.ascii_json)
        if not self.ascii_json:  # DEL, C1 and bidi controls stay escaped (\u009b) even in UTF-8 output
            text = _JSON_UNSAFE.sub(_json_escape, text)
        self.out.write(text + "\n")
        if flush:
            self.out.flush()

    def table(
        self, headers: Sequence[str], rows: Sequence[Sequence[object]], *, widths: dict[int, int] | None = None
    ) -> None:
        """Left-aligned columns; every cell is untrusted text made safe; the last column is not padded."""
        widths = widths or {}
        cells = [
            [clip(safe("-" if c is None else c), widths.get(i, 10_000)) for i, c in enumerate(r)] for r in rows
        ]
        size = [len(h) for h in headers]
        for r in cells:
            for i, c in enumerate(r):
                size[i] = max(size[i], len(c))
        last = len(headers) - 1
        for r in [list(headers), *cells]:
            self.line("  ".join(c if i == last else c.ljust(size[i]) for i, c in enumerate(r)).rstrip())

    def error(self, message: str) -> None:
        self.err.write("error: " + safe(message) + "\n")
        self.err.flush()


# ------------------------------------------------------------------------ parser


MAX_ID = 2**31 - 1  # ids and limits beyond this are out of every column's range


def non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text}")
    return min(value, MAX_ID)  # a limit larger than any table is no limit


def positive(text: str) -> int:
    value = non_negative(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more: {text}")
    return value


def case_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a case id is a whole number, not {text!r}") from None
    return value


def calendar_date(text: str) -> str:
    """A day that exists on the calendar, written YYYY-MM-DD (kept as written)."""
    from datetime import date

    try:
        date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a calendar date (YYYY-MM-DD): {text!r}") from None
    return text


class Parser(argparse.ArgumentParser):
    """Bad usage is one line on stderr, `error: ...` naming where to look, and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {safe(message)} (see '{self.prog} --help')\n")


def skill_list(text: str) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()]


STATUSES = [s.value for s in Status]
SUB_STATUSES = [s.value for s in SubStatus]
ROLES = [r.value for r in Role]
SEVERITIES = [s.value for s in Severity]


def _global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument("--db", metavar="URL", default=default,
                        help="SQLAlchemy database URL (env DESKCONSOLE_DB; default: SQLite in the user data dir)")
    parser.add_argument("--as", dest="user", metavar="NAME", default=default,
                        help="act as this agent (env DESKCONSOLE_USER; default: the login name)")


class _Commands:
    """Adds leaf commands that accept the global options after the command too."""

    def __init__(self, parser: argparse.ArgumentParser, title: str, dest: str) -> None:
        self.common = argparse.ArgumentParser(add_help=False)
        _global_options(self.common, suppress=True)
        self.sub = parser.add_subparsers(title=title, dest=dest, metavar="COMMAND")

    def group(self, name: str, help: str) -> _Commands:
        parser = self.sub.add_parser(name, help=help, description=help)
        parser.set_defaults(func=None, group_parser=parser)
        group = _Commands.__new__(_Commands)
        group.common = self.common
        group.sub = parser.add_subparsers(title="commands", dest=f"{name}_command", metavar="COMMAND")
        return group

    def leaf(self, name: str, func: Callable[..., int], help: str, **kw: Any) -> argparse.ArgumentParser:
        parser = self.sub.add_parser(name, help=help, description=help, parents=[self.common], **kw)
        parser.set_defaults(func=func)
        return parser


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog=PROG,
        description="A keyboard-first console for the whole life of a support case. "
        "Without a command it opens the console.",
        epilog="Environment: DESKCONSOLE_DB, DESKCONSOLE_USER, DESKCONSOLE_NOW (fixed 'now', ISO 8601 with a zone), "
        "DESKCONSOLE_CONFIG (config file), timer durations such as DESKCONSOLE_CUSTOMER_INPUT_REMINDER=3d. "
        "Exit status: 0 done, 1 refused (one 'error:' line on stderr), 2 bad usage.",
    )
    _global_options(parser, suppress=False)
    parser.set_defaults(func=cmd_console)
    top = _Commands(parser, "commands", "command")

    top.leaf("console", cmd_console, "open the console (the same as no command)")

    p = top.leaf("demo", cmd_demo, "fill an empty database with a realistic desk")
    p.add_argument("--cases", type=positive, default=60, metavar="N", help="how many cases (default 60)")
    p.add_argument("--seed", type=int, default=7, help="random seed (same seed and end time, same desk)")

    agent = top.group("agent", "people on the desk")
    p = agent.leaf("add", cmd_agent_add,
                   "add a person (anyone may while there are no agents; then managers and supervisors)")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--skills", type=skill_list, default=[], metavar="a,b", help="product areas, comma separated")
    p.add_argument("--manager", metavar="NAME")
    p.add_argument("--email", metavar="ADDRESS")
    p.add_argument("--json", action="store_true")
    p = agent.leaf("list", cmd_agent_list, "everyone on the desk")
    p.add_argument("--json", action="store_true")
    p = agent.leaf("availability", cmd_agent_availability, "mark someone available or away")
    p.add_argument("name")
    p.add_argument("availability", choices=["available", "away"])

    p = top.leaf("ingest", cmd_ingest, "apply outside events (JSON Lines) from FILE or standard input",
                 epilog="One output line per input line; blank lines are skipped without output "
                 "(they still count for line numbers). Exit status 1 when any line failed. Reading a FILE, "
                 "ingest keeps its place in the database: run again on the same FILE, it goes on after "
                 "the last line an earlier run applied.")
    p.add_argument("file", nargs="?", metavar="FILE", help="JSON Lines file ('-' or omitted: standard input)")
    p.add_argument("--restart", action="store_true",
                   help="apply FILE from its first line, whatever an earlier run of it applied")

    top.leaf("tick", cmd_tick, "fire every timer due now, once; one JSON line per fired timer")
    add_deliver_command(top.sub, [top.common]).set_defaults(func=cmd_deliver)
    register_mail(top.sub, [top.common])

    case = top.group("case", "work on cases")
    p = case.leaf("list", cmd_case_list, "matching cases, oldest first")
    p.add_argument("--status", choices=STATUSES)
    p.add_argument("--limit", type=non_negative, metavar="N")
    p.add_argument("--view", choices=["all", "open", "mine", "unassigned", "escalated"], default="all")
    p.add_argument("--search", metavar="TEXT", help="words in the title or customer")
    p.add_argument("--json", action="store_true")
    p = case.leaf("show", cmd_case_show, "one case with its timeline")
    p.add_argument("id", type=case_id)
    p.add_argument("--json", action="store_true")
    p = case.leaf("open", cmd_case_open, "open a case for a customer (e.g. from a phone call)")
    p.add_argument("title")
    p.add_argument("--customer", required=True)
    p.add_argument("--description", default="")
    p.add_argument("--contact", metavar="EMAIL")
    p.add_argument("--area", dest="product_area", metavar="AREA")
    p.add_argument("--severity", choices=SEVERITIES)
    p.add_argument("--ref")
    p.add_argument("--language", metavar="TAG", help="the customer's language for messages, e.g. de or fr-CH")
    p.add_argument("--json", action="store_true")
    p = case.leaf("move", cmd_case_move, "move a case to another status (an analyst action)")
    p.add_argument("id", type=case_id)
    p.add_argument("status", choices=STATUSES)
    p.add_argument("--sub-status", choices=SUB_STATUSES)
    p.add_argument("--note", metavar="TEXT", help="a note; the resolution when moving to awaiting_confirmation")
    _version_and_json(p)
    p = case.leaf("close", cmd_case_close, "close a case with a stated reason")
    p.add_argument("id", type=case_id)
    p.add_argument("--reason", required=True)
    _version_and_json(p)
    p = case.leaf("clone", cmd_case_clone, "open a new case from a closed one; prints the new id")
    p.add_argument("id", type=case_id)
    p = case.leaf("assign", cmd_case_assign,
                  "assign a case to an analyst (managers, supervisors; analysts take for themselves)")
    p.add_argument("id", type=case_id)
    p.add_argument("name")
    _version_and_json(p)
    p = case.leaf("unassign", cmd_case_unassign, "put a case back in the team queue")
    p.add_argument("id", type=case_id)
    _version_and_json(p)
    p = case.leaf("take", cmd_case_take, "take the most urgent unassigned case that fits your skills")
    p.add_argument("--json", action="store_true")
    p = case.leaf("note", cmd_case_note, "an internal note, or with --public a comment sent to the customer")
    p.add_argument("id", type=case_id)
    p.add_argument("text")
    p.add_argument("--public", action="store_true")
    _version_and_json(p)
    p = case.leaf("reply", cmd_case_reply, "log the customer's reply (e.g. taken by phone)")
    p.add_argument("id", type=case_id)
    p.add_argument("text")
    p.add_argument("--phone", action="store_true", help="the customer answered by phone")
    _version_and_json(p)
    p = case.leaf("confirm", cmd_case_confirm, "log the customer's confirmation of the resolution")
    p.add_argument("id", type=case_id)
    p.add_argument("--json", action="store_true")
    p = case.leaf("defect", cmd_case_defect, "log a defect (or enhancement) with engineering")
    p.add_argument("id", type=case_id)
    p.add_argument("reference")
    p.add_argument("--summary", required=True)
    p.add_argument("--enhancement", action="store_true")
    _version_and_json(p)

    esc = top.group("escalation", "escalation requests and decisions")
    p = esc.leaf("request", cmd_escalation_request, "file an escalation on the customer's behalf")
    p.add_argument("id", type=case_id)
    p.add_argument("--reason", required=True)
    p.add_argument("--by-customer", action="store_true",
                   help="record it as filed by the customer themself, not on their behalf "
                   "(also what happens when no --as/DESKCONSOLE_USER is given and the login name is no agent)")
    p.add_argument("--json", action="store_true")
    p = esc.leaf("review", cmd_escalation_review, "record a manager's review of a pending request")
    p.add_argument("id", type=case_id)
    p.add_argument("--severity-impact", metavar="TEXT")
    p.add_argument("--business-risk", metavar="TEXT")
    p.add_argument("--sla", dest="sla_commitments", metavar="TEXT")
    p.add_argument("--actions-taken", metavar="TEXT")
    p.add_argument("--problem-statement-ok", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--impact-described", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--workaround-impractical", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--milestone", dest="milestone_date", metavar="DATE", type=calendar_date)
    p.add_argument("--json", action="store_true")
    p = esc.leaf("decide", cmd_escalation_decide, "approve or deny a request (managers only)")
    p.add_argument("id", type=case_id)
    p.add_argument("decision", choices=["approve", "deny"])
    p.add_argument("--reason", required=True)
    p.add_argument("--engineer", metavar="NAME", help="the escalation engineer (default: the deciding manager)")
    p.add_argument("--mode", dest="comm_mode", choices=["email", "phone", "conference_call"], default="email")
    p.add_argument("--frequency", dest="comm_frequency", default="daily")
    p.add_argument("--attendees", dest="comm_attendees")
    _version_and_json(p)
    p = esc.leaf("update", cmd_escalation_update, "send the daily status update of an approved escalation")
    p.add_argument("id", type=case_id)
    p.add_argument("text")
    p.add_argument("--json", action="store_true")
    p = esc.leaf("deescalate", cmd_escalation_deescalate,
                 "de-escalate (manager or escalation engineer); needs all three confirmations",
                 aliases=["de-escalate"])
    p.add_argument("id", type=case_id)
    p.add_argument("--plan-accepted", action="store_true")
    p.add_argument("--rca-on-track", action="store_true")
    p.add_argument("--customer-agreed", action="store_true")
    p.add_argument("--note")
    p.add_argument("--json", action="store_true")
    p = esc.leaf("list", cmd_escalation_list, "escalations, oldest request first")
    p.add_argument("--state", choices=[s.value for s in EscalationState])
    p.add_argument("--open-cases", action="store_true", help="only escalations of open cases")
    p.add_argument("--json", action="store_true")

    outbox = top.group("outbox", "what was queued for customers and managers")
    p = outbox.leaf("list", cmd_outbox_list, "the outbox, oldest first")
    p.add_argument("--case", type=case_id, metavar="ID")
    p.add_argument("--limit", type=non_negative, metavar="N")
    p.add_argument("--json", action="store_true")

    timers = top.group("timers", "timers still to fire (the countdowns)")
    p = timers.leaf("list", cmd_timers_list, "running timers, soonest first")
    p.add_argument("--kind", choices=[k.value for k in TimerKind])
    p.add_argument("--limit", type=non_negative, default=500, metavar="N")
    p.add_argument("--json", action="store_true")

    survey = top.group("survey", "satisfaction surveys")
    p = survey.leaf("answer", cmd_survey_answer, "record the customer's survey answer")
    p.add_argument("id", type=case_id)
    p.add_argument("score", type=int, choices=range(1, 6), metavar="SCORE")
    p.add_argument("--comment")
    p.add_argument("--json", action="store_true")
    p = survey.leaf("summary", cmd_survey_summary, "CSAT, score distribution, flagged answers")
    p.add_argument("--weeks", type=positive, default=12, help="weeks of trend (at most 520)")
    p.add_argument("--json", action="store_true")

    kb = top.group("kb", "knowledge base")
    p = kb.leaf("search", cmd_kb_search, "search articles")
    p.add_argument("query", nargs="?", default="")
    p.add_argument("--limit", type=positive, default=20)
    p.add_argument("--json", action="store_true")
    p = kb.leaf("add", cmd_kb_add, "add an article")
    p.add_argument("title")
    p.add_argument("--body", required=True)
    p.add_argument("--draft", action="store_true")
    p.add_argument("--json", action="store_true")
    p = kb.leaf("link", cmd_kb_link, "link an article to a case")
    p.add_argument("id", type=case_id)
    p.add_argument("article", type=int)
    p.add_argument("--json", action="store_true")

    db = top.group("db", "the database's schema version")
    db.leaf("version", cmd_db_version, "the database's schema version and this deskconsole's (changes nothing)")
    db.leaf("upgrade", cmd_db_upgrade, "create or upgrade the database to this deskconsole's schema "
            "(any command does this too; a SQLite file is copied first)")
    return parser


def _version_and_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--expect-version", type=int, metavar="N",
                   help="refuse if the case changed since you read this version")
    p.add_argument("--json", action="store_true", help="print the case as JSON afterwards")


# ----------------------------------------------------------------------- context


class Context:
    def __init__(self, args: argparse.Namespace, settings: Settings, out: Output) -> None:
        self.args = args
        self.settings = settings
        self.out = out
        self._service: Service | None = None

    @property
    def service(self) -> Service:
        if self._service is None:
            self._service = self.settings.make_service()
        return self._service

    @property
    def user(self) -> str | None:
        return self.settings.user

    def close(self) -> None:
        if self._service is not None:
            self._service.engine.dispose()


# ----------------------------------------------------------------------- helpers


def print_case_line(ctx: Context, case: Any, verb: str = "is now") -> None:
    status = case.status + (f"/{case.sub_status}" if case.sub_status else "")
    extra = []
    if case.assignee:
        extra.append(f"assignee {case.assignee}")
    for label, due in (("auto-close", case.auto_close_at), ("reminder", case.reminder_at)):
        if due is not None:
            extra.append(f"{label} {when(due)}")
    tail = f" ({', '.join(extra)})" if extra else ""
    ctx.out.line(f"case {case.id} {verb} {status}, {case.priority}, version {case.version}{tail}")


def done(ctx: Context, case: Any, verb: str = "is now") -> int:
    if getattr(ctx.args, "json", False):
        ctx.out.json(case.to_json())
    else:
        print_case_line(ctx, case, verb)
    return 0


def countdown(ctx: Context, due: datetime | None) -> str:
    if due is None:
        return "-"
    return f"{when(due)} ({format_countdown(due - ctx.service.now())})"


# ---------------------------------------------------------------------- commands


@contextmanager
def console_imports() -> Iterator[None]:
    """Load the console's modules (Textual with them) without the garbage collector running, then
    freeze them (deskconsole.tui.loading). Only the first time: once loaded there is nothing to do."""
    if "deskconsole.tui.app" in sys.modules:
        yield
        return
    from deskconsole.tui.loading import loading

    with loading():
        yield


def cmd_console(ctx: Context) -> int:
    prepainted = None
    try:
        with console_imports():
            from deskconsole.tui.prepaint import prepaint

            prepainted = prepaint(ctx.settings)  # the queue on screen before the console loads (a terminal only)
            from deskconsole.tui.app import run_console
    except BaseException as exc:
        if prepainted is not None:
            prepainted.abandon()
        # Only a missing console module (or its entry point) means "not there yet"; anything else is a bug.
        if isinstance(exc, ImportError) and getattr(exc, "name", None) in (
                "deskconsole.tui", "deskconsole.tui.app", "deskconsole.tui.prepaint"):
            ctx.out.error("the console is not available yet")
            return 1
        raise
    result = run_console(ctx.settings, prepainted) if prepainted is not None else run_console(ctx.settings)
    return result if isinstance(result, int) else 0


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


def cmd_agent_add(ctx: Context) -> int:
    a = ctx.args
    agent = ctx.service.add_agent(a.name, a.role, actor=ctx.user, skills=a.skills, manager=a.manager, email=a.email)
    if a.json:
        ctx.out.json(agent.to_json())
    else:
        skills = f" ({', '.join(agent.skills)})" if agent.skills else ""
        boss = f", reports to {agent.manager}" if agent.manager else ""
        ctx.out.line(f"added {safe(agent.name)}: {agent.role}{safe(skills)}{safe(boss)}")
    return 0


def cmd_agent_list(ctx: Context) -> int:
    agents = ctx.service.list_agents()
    if ctx.args.json:
        ctx.out.json([a.to_json() for a in agents])
        return 0
    ctx.out.table(
        ["NAME", "ROLE", "AVAILABILITY", "MANAGER", "OPEN", "SKILLS"],
        [[a.name, a.role, a.availability, a.manager, a.open_cases, ",".join(a.skills)] for a in agents],
    )
    return 0


def cmd_agent_availability(ctx: Context) -> int:
    agent = ctx.service.set_availability(ctx.args.name, ctx.args.availability, actor=ctx.user)
    ctx.out.line(f"{safe(agent.name)} is {agent.availability}")
    return 0


def cmd_deliver(ctx) -> int:  # noqa: ANN001
    return run_deliver(ctx.args, ctx.service)


def cmd_tick(ctx: Context) -> int:
    for fired in ctx.service.tick():
        ctx.out.json(fired.to_json())
    return 0


def cmd_case_list(ctx: Context) -> int:
    a = ctx.args
    rows = ctx.service.list_cases(status=a.status, limit=a.limit, view=a.view, actor=ctx.user, text=a.search)
    if a.json:
        ctx.out.json([r.to_json() for r in rows])
        return 0
    now = ctx.service.now()

    def next_timer(r: Any) -> str | None:
        if r.next_timer is None or r.next_timer_due is None:
            return None
        return f"{r.next_timer} {format_countdown(r.next_timer_due - now)}"

    ctx.out.table(
        ["ID", "PRI", "STATUS", "ASSIGNEE", "ESC", "NEXT TIMER", "CUSTOMER", "TITLE"],
        [
            [r.id, r.priority, r.status + (f"/{r.sub_status}" if r.sub_status else ""), r.assignee,
             r.escalation, next_timer(r), r.customer, r.title]
            for r in rows
        ],
        widths={4: 12, 5: 24, 6: 24, 7: 70},
    )
    return 0


def cmd_case_show(ctx: Context) -> int:
    case = ctx.service.get_case(ctx.args.id)
    if ctx.args.json:
        ctx.out.json(case.to_json())
        return 0
    line = ctx.out.line
    status = case.status + (f" / {case.sub_status}" if case.sub_status else "")
    line(f"case {case.id}: {safe(case.title)}")
    fields: list[tuple[str, object]] = [
        ("status", status),
        ("priority", f"{case.priority} (severity {case.severity})"),
        ("customer", case.customer + (f" <{case.contact}>" if case.contact else "")),
        ("assignee", case.assignee or "team queue"),
        ("product area", case.product_area),
        ("ref", case.ref),
        ("opened", when(case.created_at)),
        ("updated", f"{when(case.updated_at)} by {case.last_actor or '-'}: {case.last_change or '-'}"),
        ("version", case.version),
    ]
    if case.attention:
        fields.append(("attention", case.attention))
    for t in case.timers:
        fields.append((t.kind.replace("_", "-"), countdown(ctx, t.due)))
    if case.engineering_ref:
        fields.append(("engineering", case.engineering_ref))
    if case.cloned_from:
        fields.append(("cloned from", f"case {case.cloned_from}"))
    if case.closed_at:
        fields.append(("closed", f"{when(case.closed_at)}: {case.close_reason or '-'}"))
    esc = case.escalation
    if esc is not None:
        text = f"{esc.state}, requested {when(esc.requested_at)} by {esc.requested_by}"
        if esc.decided_by:
            text += f"; decided by {esc.decided_by}"
        if esc.engineer and esc.state == EscalationState.APPROVED:
            text += f"; engineer {esc.engineer} ({esc.comm_mode}, {esc.comm_frequency})"
        fields.append(("escalation", text))
    if case.survey is not None:
        sv = case.survey
        answer = f"score {sv.score}" + (" (flagged)" if sv.flagged else "") if sv.score else "not answered"
        fields.append(("survey", f"sent {when(sv.sent_at)}, {answer}"))
    for art in case.articles:
        fields.append(("article", f"#{art.id} {art.title}"))
    for label, value in fields:
        line(f"  {label + ':':<15} {safe('-' if value is None else value)}")
    for label, body in (("description", case.description), ("resolution", case.resolution)):
        if body:
            line(f"  {label}:")
            for text in safe_block(body).split("\n"):
                line(f"    {text}")
    line("  timeline:")
    for e in case.events:
        detail = _event_detail(e)
        line(f"    {when(e.at)}  {safe(e.actor)}  {e.kind}{(': ' + safe(detail)) if detail else ''}")
        if e.body:
            for text in safe_block(e.body).split("\n"):
                line(f"        {text}")
    return 0


def _event_detail(e: Any) -> str:
    d = e.data or {}
    if d.get("channel") == "email":
        return mail_event_detail(e.kind, d)
    if e.kind in ("status_changed",) and d.get("to"):
        return f"{d.get('from')} → {d['to']}" + (f"/{d['sub_status']}" if d.get("sub_status") else "")
    if e.kind == "assigned":
        return d.get("assignee") or "team queue"
    if e.kind == "timer_fired":
        return f"{d.get('timer')} (due {d.get('due', '')[:19]})"
    if e.kind == "priority_changed":
        return f"{d.get('from')} → {d.get('to')}"
    if e.kind == "survey_answered":
        return f"score {d.get('score')}"
    if e.kind.endswith("_logged") and d.get("reference"):
        return str(d["reference"])
    return ""


def cmd_case_open(ctx: Context) -> int:
    a = ctx.args
    case, created = ctx.service.open_case(
        a.title, a.customer, description=a.description, contact=a.contact, product_area=a.product_area,
        severity=a.severity, ref=a.ref, actor=ctx.user, language=a.language,
    )
    return done(ctx, case, "opened:" if created else "already exists:")


def cmd_case_move(ctx: Context) -> int:
    a = ctx.args
    case = ctx.service.move(a.id, a.status, actor=ctx.user, sub_status=a.sub_status, note=a.note,
                            expected_version=a.expect_version)
    return done(ctx, case)


def cmd_case_close(ctx: Context) -> int:
    a = ctx.args
    case = ctx.service.close(a.id, reason=a.reason, actor=ctx.user, expected_version=a.expect_version)
    return done(ctx, case)


def cmd_case_clone(ctx: Context) -> int:
    case = ctx.service.clone(ctx.args.id, actor=ctx.user)
    ctx.out.line(str(case.id))
    return 0


def cmd_case_assign(ctx: Context) -> int:
    a = ctx.args
    return done(ctx, ctx.service.assign(a.id, a.name, actor=ctx.user, expected_version=a.expect_version))


def cmd_case_unassign(ctx: Context) -> int:
    a = ctx.args
    return done(ctx, ctx.service.assign(a.id, None, actor=ctx.user, expected_version=a.expect_version))


def cmd_case_take(ctx: Context) -> int:
    case = ctx.service.take_next(actor=ctx.user)
    if case is None:
        if ctx.args.json:
            ctx.out.json(None)
        else:
            ctx.out.line("nothing to take: no unassigned open case fits your skills")
        return 0
    return done(ctx, case, "taken:")


def cmd_case_note(ctx: Context) -> int:
    a = ctx.args
    case = ctx.service.add_note(a.id, a.text, actor=ctx.user, internal=not a.public, expected_version=a.expect_version)
    return done(ctx, case)


def cmd_case_reply(ctx: Context) -> int:
    a = ctx.args
    case, notice = ctx.service.customer_reply(a.id, a.text, actor=ctx.user, channel="phone" if a.phone else "portal",
                                              expected_version=a.expect_version)
    if notice and not a.json:
        ctx.out.line(f"note: {safe(notice)}")
    return done(ctx, case)


def cmd_case_confirm(ctx: Context) -> int:
    return done(ctx, ctx.service.customer_confirm(ctx.args.id, actor=ctx.user))


def cmd_case_defect(ctx: Context) -> int:
    a = ctx.args
    case = ctx.service.log_engineering(a.id, a.reference, a.summary, actor=ctx.user,
                                       kind="enhancement" if a.enhancement else "defect",
                                       expected_version=a.expect_version)
    return done(ctx, case)


def cmd_escalation_request(ctx: Context) -> int:
    a = ctx.args
    actor = None if a.by_customer else ctx.user
    if actor is not None and ctx.settings.user_source == "login":
        # Nobody said who is filing (only the login name is known): unless that login is an
        # agent, the request is recorded as the customer's own.
        try:
            ctx.service.get_agent(actor)
        except NotFound:
            actor = None
    case = ctx.service.request_escalation(a.id, a.reason, actor=actor)
    if a.json:
        ctx.out.json(case.to_json())
    else:
        esc = case.escalation
        ctx.out.line(f"case {case.id}: escalation requested; {safe(esc.manager if esc else 'managers')} notified")
    return 0


def cmd_escalation_review(ctx: Context) -> int:
    a = ctx.args
    esc = ctx.service.review_escalation(
        a.id, actor=ctx.user, severity_impact=a.severity_impact, business_risk=a.business_risk,
        sla_commitments=a.sla_commitments, actions_taken=a.actions_taken,
        problem_statement_ok=a.problem_statement_ok, impact_described=a.impact_described,
        workaround_impractical=a.workaround_impractical, milestone_date=a.milestone_date,
    )
    if a.json:
        ctx.out.json(esc.to_json())
    else:
        ctx.out.line(f"case {esc.case}: review recorded ({esc.state})")
    return 0


def cmd_escalation_decide(ctx: Context) -> int:
    a = ctx.args
    case = ctx.service.decide_escalation(
        a.id, a.decision, actor=ctx.user, reason=a.reason, engineer=a.engineer, comm_mode=a.comm_mode,
        comm_frequency=a.comm_frequency, comm_attendees=a.comm_attendees, expected_version=a.expect_version,
    )
    if a.json:
        ctx.out.json(case.to_json())
        return 0
    esc = case.escalation
    if esc is not None and esc.state == EscalationState.APPROVED:
        ctx.out.line(f"case {case.id}: escalation approved; now {case.priority}; engineer {safe(esc.engineer)}")
    else:
        ctx.out.line(f"case {case.id}: escalation denied; {safe(case.assignee or 'the manager')} "
                     "will explain the decision to the customer")
    return 0


def cmd_escalation_update(ctx: Context) -> int:
    return done(ctx, ctx.service.log_status_update(ctx.args.id, ctx.args.text, actor=ctx.user))


def cmd_escalation_deescalate(ctx: Context) -> int:
    a = ctx.args
    case = ctx.service.de_escalate(a.id, actor=ctx.user, plan_accepted=a.plan_accepted,
                                   rca_on_track=a.rca_on_track, customer_agreed=a.customer_agreed, note=a.note)
    if a.json:
        ctx.out.json(case.to_json())
    else:
        ctx.out.line(f"case {case.id}: de-escalated; back to {case.priority}")
    return 0


def cmd_escalation_list(ctx: Context) -> int:
    a = ctx.args
    rows = ctx.service.list_escalations(a.state, open_cases_only=a.open_cases)
    if a.json:
        ctx.out.json([e.to_json() for e in rows])
        return 0
    ctx.out.table(
        ["CASE", "STATE", "PRI", "REQUESTED", "BY", "MANAGER", "CUSTOMER", "TITLE"],
        [[e.case, e.state, e.case_priority, when(e.requested_at), e.requested_by, e.manager, e.customer, e.case_title]
         for e in rows],
        widths={4: 24, 6: 24, 7: 60},
    )
    return 0


def cmd_outbox_list(ctx: Context) -> int:
    a = ctx.args
    if a.case is not None and not 0 < a.case <= MAX_ID:
        rows = []
    else:
        rows = ctx.service.list_outbox(case_id=a.case, limit=a.limit)
    if a.json:
        ctx.out.json([o.to_json() for o in rows])
        return 0
    ctx.out.table(
        ["ID", "CASE", "KIND", "TO", "CREATED", "STATE", "TRIES", "SUBJECT / LAST ERROR"],
        [[o.id, o.case, o.kind, o.to, when(o.created_at), o.state, o.attempts,
          o.last_error if o.state == "failed" and o.last_error else o.subject] for o in rows],
        widths={3: 32, 7: 80},
    )
    return 0


def cmd_timers_list(ctx: Context) -> int:
    a = ctx.args
    rows = ctx.service.running_timers(kind=a.kind, limit=a.limit)
    if a.json:
        ctx.out.json([t.to_json() for t in rows])
        return 0
    now = ctx.service.now()
    ctx.out.table(
        ["CASE", "TIMER", "DUE", "LEFT", "STATUS", "ASSIGNEE", "TITLE"],
        [[t.case, t.kind, when(t.due), format_countdown(t.due - now),
          t.case_status + (f"/{t.case_sub_status}" if t.case_sub_status else ""), t.assignee, t.case_title]
         for t in rows],
        widths={6: 60},
    )
    return 0


def cmd_survey_answer(ctx: Context) -> int:
    a = ctx.args
    sv = ctx.service.answer_survey(a.id, a.score, a.comment)
    if a.json:
        ctx.out.json(sv.to_json())
    else:
        ctx.out.line(f"case {sv.case}: survey answered, score {sv.score}" + (" (flagged)" if sv.flagged else ""))
    return 0


def cmd_survey_summary(ctx: Context) -> int:
    summary = ctx.service.survey_summary(weeks=min(ctx.args.weeks, 520))
    if ctx.args.json:
        ctx.out.json(summary.to_json())
        return 0
    line = ctx.out.line
    csat = "-" if summary.csat is None else f"{summary.csat:.1f}%"
    line(f"surveys sent {summary.sent}, answered {summary.answered}, CSAT {csat}")
    line("scores: " + "  ".join(f"{k}: {v}" for k, v in sorted(summary.distribution.items())))
    if summary.flagged:
        line("flagged for follow-up:")
        ctx.out.table(
            ["CASE", "SCORE", "ANSWERED", "ASSIGNEE", "CUSTOMER", "COMMENT"],
            [[s.case, s.score, when(s.answered_at), s.assignee, s.customer, s.comment] for s in summary.flagged],
            widths={4: 24, 5: 70},
        )
    return 0


def cmd_kb_search(ctx: Context) -> int:
    rows = ctx.service.search_articles(ctx.args.query, limit=ctx.args.limit)
    if ctx.args.json:
        ctx.out.json([r.to_json() for r in rows])
        return 0
    ctx.out.table(["ID", "STATE", "FROM CASE", "TITLE"], [[r.id, r.state, r.source_case, r.title] for r in rows],
                  widths={3: 80})
    return 0


def cmd_kb_add(ctx: Context) -> int:
    a = ctx.args
    article = ctx.service.add_article(a.title, a.body, state="draft" if a.draft else "published")
    if a.json:
        ctx.out.json(article.to_json())
    else:
        ctx.out.line(f"article {article.id} added ({article.state})")
    return 0


def cmd_kb_link(ctx: Context) -> int:
    if not 0 < ctx.args.article <= MAX_ID:
        raise NotFound(f"unknown article {ctx.args.article}")
    return done(ctx, ctx.service.link_article(ctx.args.id, ctx.args.article, actor=ctx.user))


# ------------------------------------------------------------------------ ingest


def cmd_ingest(ctx: Context) -> int:
    from deskconsole.ingest import ingest_file

    return ingest_file(ctx.service, ctx.args.file, ctx.out, restart=ctx.args.restart)


# -------------------------------------------------------------------------- main


def _schema_line(current: str | None) -> str:
    from deskconsole.store.engine import HEAD_REVISION, REVISIONS

    if current == HEAD_REVISION:
        return f"schema version {current} (up to date)"
    if current is not None and current not in REVISIONS:
        return f"schema version {current}; this deskconsole: {HEAD_REVISION} (the database is newer: upgrade deskconsole)"
    return (f"schema version {current or 'none (no deskconsole schema yet)'}; this deskconsole: {HEAD_REVISION} "
            "(any command upgrades it, or `deskconsole db upgrade`)")


def cmd_db_version(ctx: Context) -> int:
    from deskconsole.store.engine import schema_version

    engine = ctx.settings.make_engine()
    try:
        ctx.out.line(_schema_line(schema_version(engine)))
    finally:
        engine.dispose()
    return 0


def cmd_db_upgrade(ctx: Context) -> int:
    from deskconsole.store.engine import schema_version

    ctx.out.line(_schema_line(schema_version(ctx.service.engine)))
    return 0


def _safe_url(url: str) -> str:
    from deskconsole.store.engine import safe_url

    return safe_url(url)


def _db_problem(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = " ".join(str(orig).split())
    return clip(text, 300)


def main(argv: Sequence[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
        except (AttributeError, ValueError):
            pass
    out = Output()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.func is None:  # a group without its command, e.g. `deskconsole case`
        args.group_parser.print_help(sys.stderr)
        return 2
    ctx: Context | None = None
    try:
        settings = load_settings(db=getattr(args, "db", None), user=getattr(args, "user", None))
        ctx = Context(args, settings, out)
        return args.func(ctx)
    except DeskError as exc:
        out.error(str(exc))
        return 1
    except KeyboardInterrupt:
        out.error("interrupted")
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): nothing left to say.
        try:
            sys.stdout = open("/dev/null", "w")  # noqa: SIM115
        except OSError:
            pass
        return 1
    except Exception as exc:
        from sqlalchemy.exc import OperationalError, SQLAlchemyError

        url = _safe_url(ctx.settings.db_url) if ctx is not None else "?"
        if isinstance(exc, OperationalError):
            out.error(f"cannot use the database at {url}: {_db_problem(exc)}")
            return 1
        if isinstance(exc, SQLAlchemyError):
            out.error(f"database error at {url}: {_db_problem(exc)}")
            return 1
        if isinstance(exc, UnicodeError):
            out.error(f"not valid text (use UTF-8): {exc}")
            return 1
        if isinstance(exc, OSError):
            out.error(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc))
            return 1
        raise
    finally:
        if ctx is not None:
            try:
                ctx.out.out.flush()
            except (BrokenPipeError, OSError):
                pass
            ctx.close()


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
