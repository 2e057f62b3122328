"""The command line's shared pieces: the parser (build_parser), the context a command runs
with, and the output helpers (untrusted text made inert, tables, JSON, `error: ...` lines).
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from deskconsole.delivery.cli import add_deliver_command
from deskconsole.domain.asking import ASKED_OUTSIDE, CONFIRMED_HOW
from deskconsole.domain.clock import format_countdown
from deskconsole.domain.errors import InvalidInput
from deskconsole.domain.lifecycle import EscalationState, Role, Severity, Status, SubStatus
from deskconsole.domain.timers import TimerKind
from deskconsole.settings import Settings

if TYPE_CHECKING:
    from deskconsole.service import Service


PROG = "deskconsole"

from deskconsole.cli.args import (  # noqa: E402,F401 - re-exported: the command modules import them from here
    MAX_ID,
    Formatter,
    Parser,
    calendar_date,
    case_id,
    non_negative,
    positive,
    seconds,
    skill_list,
)
from deskconsole.cli.output import Output, clip, safe, safe_block, when  # noqa: E402,F401 - re-exported

# ------------------------------------------------------------------------ parser


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
        self.common = argparse.ArgumentParser(add_help=False, formatter_class=Formatter)
        _global_options(self.common, suppress=True)
        self.sub = parser.add_subparsers(title=title, dest=dest, metavar="COMMAND")

    def group(self, name: str, help: str) -> _Commands:
        parser = self.sub.add_parser(name, help=help, description=help)
        parser.set_defaults(func=None, group_parser=parser)
        group = _Commands.__new__(_Commands)
        group.common = self.common
        group.sub = parser.add_subparsers(title="commands", dest=f"{name}_command", metavar="COMMAND")
        return group

    def leaf(self, name: str, func: Command, help: str, **kw: Any) -> argparse.ArgumentParser:
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
    parser.set_defaults(func=_cmd("cmd_console"))
    top = _Commands(parser, "commands", "command")

    top.leaf("console", _cmd("cmd_console"), "open the console (the same as no command)")

    p = top.leaf("demo", _cmd("cmd_demo"), "fill an empty database with a realistic desk")
    p.add_argument("--cases", type=positive, default=60, metavar="N", help="how many cases (default 60)")
    p.add_argument("--seed", type=int, default=7, help="random seed (same seed and end time, same desk)")

    agent = top.group("agent", "people on the desk")
    p = agent.leaf("add", _cmd("cmd_agent_add"),
                   "add a person (anyone may while there are no agents; then managers and supervisors)")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--skills", type=skill_list, default=[], metavar="a,b", help="product areas, comma separated")
    p.add_argument("--manager", metavar="NAME")
    p.add_argument("--email", metavar="ADDRESS")
    p.add_argument("--login", metavar="LOGIN",
                   help="PostgreSQL only: the existing database login that is this agent (the database owner "
                   "links it; it is granted what the role needs). Given for an agent added earlier without a "
                   "login, with that agent's role, it links them)")
    p.add_argument("--json", action="store_true")
    p = agent.leaf("list", _cmd("cmd_agent_list"), "everyone on the desk")
    p.add_argument("--json", action="store_true")
    p = agent.leaf("availability", _cmd("cmd_agent_availability"), "mark someone available or away")
    p.add_argument("name")
    p.add_argument("availability", choices=["available", "away"])

    p = top.leaf("ingest", _cmd("cmd_ingest"), "apply outside events (JSON Lines) from FILE or standard input",
                 epilog="One output line per input line; blank lines are skipped without output "
                 "(they still count for line numbers). Exit status 1 when any line failed. Reading a FILE, "
                 "ingest keeps its place in the database: run again on the same FILE, it goes on after "
                 "the last line an earlier run applied.")
    p.add_argument("file", nargs="?", metavar="FILE", help="JSON Lines file ('-' or omitted: standard input)")
    p.add_argument("--restart", action="store_true",
                   help="apply FILE from its first line, whatever an earlier run of it applied")

    top.leaf("tick", _cmd("cmd_tick"), "fire every timer due now, once; one JSON line per fired timer")
    add_deliver_command(top.sub, [top.common]).set_defaults(func=_cmd("cmd_deliver"))

    mail = top.group("mail", "inbound e-mail: fetch, receive, parked, release")
    p = mail.leaf("fetch", _cmd("cmd_mail_fetch"),
                  "apply each new message of the IMAP mailbox DESKCONSOLE_IMAP_URL once")
    p.add_argument("--watch", action="store_true", help="keep going: IDLE where the server has it, else polling")
    p.add_argument("--interval", type=seconds, default=30.0, metavar="SECONDS",
                   help="with --watch: seconds between polls, and before reconnecting (default 30)")
    mail.leaf("receive", _cmd("cmd_mail_receive"), "apply one RFC 5322 message from standard input")
    p = mail.leaf("parked", _cmd("cmd_mail_parked"), "machine mail held with its reason")
    p.add_argument("--json", action="store_true")
    p = mail.leaf("release", _cmd("cmd_mail_release"), "apply a parked message as an ordinary one")
    p.add_argument("id", type=positive)
    p = mail.leaf("raw", _cmd("cmd_mail_raw"), "print a stored message as it arrived")
    p.add_argument("id", type=positive)

    sla = top.group("sla", "service levels: the desk's calendars and policies")
    p = sla.leaf("load", _cmd("cmd_sla_load"),
                 "replace the desk's calendars and policies with a TOML file (supervisors, administrator)",
                 epilog="[calendars.NAME] timezone, hours, holidays, dates; [policies.P1..P4] calendar, "
                 "first_response, next_response, resolution, warning. A bad file is refused whole with its "
                 "line and reason.")
    p.add_argument("file", metavar="FILE", help="the policy file ('-': standard input)")
    p = sla.leaf("show", _cmd("cmd_sla_show"), "the desk's calendars and policies")
    p.add_argument("--json", action="store_true")

    report = top.group("report", "figures a supervisor reads")
    p = report.leaf("sla", _cmd("cmd_report_sla"), "service-level compliance per target: met and breached",
                    epilog="A target counts on the day its outcome happened: met when fulfilled in time, "
                    "breached when its breach was recorded. Days are UTC.")
    _report_options(p)
    p = report.leaf("backlog", _cmd("cmd_report_backlog"), "the open cases by age, now",
                    epilog="Ages: <1d, 1-3d, 3-7d, 7-30d, >30d since the case was opened. --since/--until keep "
                    "the cases opened on those days (UTC).")
    _report_options(p)
    p = report.leaf("csat", _cmd("cmd_report_csat"),
                    "satisfaction per week: surveys answered, average score, CSAT (share scoring 4-5)",
                    epilog="Weeks start on Monday (UTC); a survey counts in the week it was answered.")
    _report_options(p)

    case = top.group("case", "work on cases")
    p = case.leaf("list", _cmd("cmd_case_list"), "matching cases, oldest first")
    p.add_argument("--status", choices=STATUSES)
    p.add_argument("--limit", type=non_negative, metavar="N")
    p.add_argument("--view", metavar="NAME", default="all",
                   help="a view: all, open, mine, unassigned, escalated, breached, or a view of the config file "
                   "or saved ('deskconsole view list'); its filter and sort apply")
    p.add_argument("--search", metavar="TEXT", help="words in the title or customer")
    p.add_argument("--filter", metavar="EXPR",
                   help="the filter language: status: sub: prio:P1,P2 area: customer: assignee:me|none|NAME "
                   "esc:open age:>3d, and free words or \"phrases\"")
    p.add_argument("--json", action="store_true")
    p = case.leaf("show", _cmd("cmd_case_show"), "one case with its timeline")
    p.add_argument("id", type=case_id)
    p.add_argument("--json", action="store_true")
    p = case.leaf("open", _cmd("cmd_case_open"), "open a case for a customer (e.g. from a phone call)")
    p.add_argument("title")
    p.add_argument("--customer", required=True)
    p.add_argument("--description", default="")
    p.add_argument("--contact", metavar="EMAIL")
    p.add_argument("--area", dest="product_area", metavar="AREA")
    p.add_argument("--severity", choices=SEVERITIES)
    p.add_argument("--priority", choices=["P1", "P2", "P3", "P4"], help="instead of the one the severity gives")
    p.add_argument("--ref")
    p.add_argument("--language", metavar="TAG", help="the customer's language for messages, e.g. de or fr-CH")
    p.add_argument("--json", action="store_true")
    p = case.leaf("move", _cmd("cmd_case_move"), "move cases to another status (an analyst action)")
    p.add_argument("id", type=case_id, nargs="+", metavar="ID", help="one or more cases, each moved on its own")
    p.add_argument("status", choices=STATUSES)
    p.add_argument("--sub-status", choices=SUB_STATUSES)
    p.add_argument("--note", metavar="TEXT",
                   help="a note; the resolution sent to the customer when moving to awaiting_confirmation; "
                   "the question sent to the customer when moving to pending --sub-status customer_input "
                   "(required there unless --asked-outside)")
    p.add_argument("--asked-outside", metavar="HOW",
                   help="pending/customer_input only: the customer was already asked outside the desk, and how "
                   f"({', '.join(ASKED_OUTSIDE)}, or a few words of your own); recorded on the case, nothing is "
                   "sent; --note then records what was asked")
    _version_and_json(p)
    p = case.leaf("close", _cmd("cmd_case_close"), "close cases with a stated reason")
    p.add_argument("id", type=case_id, nargs="+", metavar="ID", help="one or more cases, each closed on its own")
    p.add_argument("--reason", required=True)
    _version_and_json(p)
    p = case.leaf("merge", _cmd("cmd_case_merge"),
                  "merge a duplicate into another case: its conversation and references go to TARGET, "
                  "and it closes 'merged into TARGET'")
    p.add_argument("source", type=case_id, metavar="SOURCE")
    p.add_argument("--into", dest="target", type=case_id, required=True, metavar="TARGET")
    p.add_argument("--force", action="store_true", help="merge even when the cases are for different customers")
    p.add_argument("--json", action="store_true", help="print TARGET as JSON afterwards")
    _edit_commands(case)  # edit, tag, split (cli/editing.py)
    p = case.leaf("clone", _cmd("cmd_case_clone"), "open a new case from a closed one; prints the new id")
    p.add_argument("id", type=case_id)
    p.add_argument("--with-reply", action="store_true",
                   help="the follow-up of the customer's reply after close: the reply is the new case's description")
    p = case.leaf("assign", _cmd("cmd_case_assign"),
                  "assign cases to an analyst (managers, supervisors; analysts take for themselves)")
    p.add_argument("id", type=case_id, nargs="+", metavar="ID", help="one or more cases, each assigned on its own")
    p.add_argument("name")
    _version_and_json(p)
    p = case.leaf("unassign", _cmd("cmd_case_unassign"), "put a case back in the team queue")
    p.add_argument("id", type=case_id)
    _version_and_json(p)
    p = case.leaf("take", _cmd("cmd_case_take"), "take the most urgent unassigned case that fits your skills")
    p.add_argument("--json", action="store_true")
    p = case.leaf("note", _cmd("cmd_case_note"), "an internal note, or with --public a comment sent to the customer")
    p.add_argument("id", type=case_id)
    p.add_argument("text")
    p.add_argument("--public", action="store_true")
    _version_and_json(p)
    p = case.leaf("reply", _cmd("cmd_case_reply"), "log the customer's reply (e.g. taken by phone)")
    p.add_argument("id", type=case_id)
    p.add_argument("text")
    p.add_argument("--phone", action="store_true", help="the customer answered by phone")
    _version_and_json(p)
    p = case.leaf("confirm", _cmd("cmd_case_confirm"),
                  "log the customer's confirmation of the resolution: closes a case awaiting confirmation")
    p.add_argument("id", type=case_id)
    p.add_argument("--how", choices=CONFIRMED_HOW, help="how the customer confirmed it to you (recorded on the case)")
    p.add_argument("--json", action="store_true")
    p = case.leaf("defect", _cmd("cmd_case_defect"), "log a defect (or enhancement) with engineering")
    p.add_argument("id", type=case_id)
    p.add_argument("reference")
    p.add_argument("--summary", required=True)
    p.add_argument("--enhancement", action="store_true")
    _version_and_json(p)

    esc = top.group("escalation", "escalation requests and decisions")
    p = esc.leaf("request", _cmd("cmd_escalation_request"), "file an escalation on the customer's behalf")
    p.add_argument("id", type=case_id)
    p.add_argument("--reason", required=True)
    p.add_argument("--by-customer", action="store_true",
                   help="record it as filed by the customer themself, not on their behalf "
                   "(also what happens when no --as/DESKCONSOLE_USER is given and the login name is no agent)")
    p.add_argument("--json", action="store_true")
    p = esc.leaf("review", _cmd("cmd_escalation_review"), "record a manager's review of a pending request")
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
    p = esc.leaf("decide", _cmd("cmd_escalation_decide"), "approve or deny a request (managers only)")
    p.add_argument("id", type=case_id)
    p.add_argument("decision", choices=["approve", "deny"])
    p.add_argument("--reason", required=True)
    p.add_argument("--engineer", metavar="NAME", help="the escalation engineer (default: the deciding manager)")
    p.add_argument("--mode", dest="comm_mode", choices=["email", "phone", "conference_call"], default="email")
    p.add_argument("--frequency", dest="comm_frequency", default="daily")
    p.add_argument("--attendees", dest="comm_attendees")
    _version_and_json(p)
    p = esc.leaf("update", _cmd("cmd_escalation_update"), "send the daily status update of an approved escalation")
    p.add_argument("id", type=case_id)
    p.add_argument("text")
    p.add_argument("--json", action="store_true")
    p = esc.leaf("deescalate", _cmd("cmd_escalation_deescalate"),
                 "de-escalate (manager or escalation engineer); needs all three confirmations",
                 aliases=["de-escalate"])
    p.add_argument("id", type=case_id)
    p.add_argument("--plan-accepted", action="store_true")
    p.add_argument("--rca-on-track", action="store_true")
    p.add_argument("--customer-agreed", action="store_true")
    p.add_argument("--note")
    p.add_argument("--json", action="store_true")
    p = esc.leaf("list", _cmd("cmd_escalation_list"), "escalations, oldest request first")
    p.add_argument("--state", choices=[s.value for s in EscalationState])
    p.add_argument("--open-cases", action="store_true", help="only escalations of open cases")
    p.add_argument("--json", action="store_true")

    outbox = top.group("outbox", "what was queued for customers and managers")
    p = outbox.leaf("list", _cmd("cmd_outbox_list"), "the outbox, oldest first")
    p.add_argument("--case", type=case_id, metavar="ID")
    p.add_argument("--limit", type=non_negative, metavar="N")
    p.add_argument("--json", action="store_true")

    timers = top.group("timers", "timers still to fire (the countdowns)")
    p = timers.leaf("list", _cmd("cmd_timers_list"), "running timers, soonest first")
    p.add_argument("--kind", choices=[k.value for k in TimerKind])
    p.add_argument("--limit", type=non_negative, default=500, metavar="N")
    p.add_argument("--json", action="store_true")

    survey = top.group("survey", "satisfaction surveys")
    p = survey.leaf("answer", _cmd("cmd_survey_answer"), "record the customer's survey answer")
    p.add_argument("id", type=case_id)
    p.add_argument("score", type=int, choices=range(1, 6), metavar="SCORE")
    p.add_argument("--comment")
    p.add_argument("--json", action="store_true")
    p = survey.leaf("summary", _cmd("cmd_survey_summary"), "CSAT, score distribution, flagged answers")
    p.add_argument("--weeks", type=positive, default=12, help="weeks of trend (at most 520)")
    p.add_argument("--json", action="store_true")

    kb = top.group("kb", "knowledge base")
    p = kb.leaf("search", _cmd("cmd_kb_search"), "search articles")
    p.add_argument("query", nargs="?", default="")
    p.add_argument("--limit", type=positive, default=20)
    p.add_argument("--json", action="store_true")
    p = kb.leaf("add", _cmd("cmd_kb_add"), "add an article")
    p.add_argument("title")
    p.add_argument("--body", required=True)
    p.add_argument("--draft", action="store_true")
    p.add_argument("--json", action="store_true")
    p = kb.leaf("link", _cmd("cmd_kb_link"), "link an article to a case")
    p.add_argument("id", type=case_id)
    p.add_argument("article", type=int)
    p.add_argument("--json", action="store_true")

    p = case.leaf("macro", _cmd("cmd_case_macro"), "apply one of the team's macros to a case (one action)")
    p.add_argument("id", type=case_id)
    p.add_argument("name", help="the macro's name ('deskconsole macro list')")
    _version_and_json(p)
    p = case.leaf("undo", _cmd("cmd_case_undo"),
                  "undo an agent's close within the undo window (DESKCONSOLE_UNDO_WINDOW, default 10s)")
    p.add_argument("id", type=case_id)
    _version_and_json(p)
    macro = top.group("macro", "the team's macros: named replies and actions")
    p = macro.leaf("load", _cmd("cmd_macro_load"),
                   "replace the team's macros with those of a TOML file (managers, supervisors)")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--json", action="store_true")
    p = macro.leaf("list", _cmd("cmd_macro_list"), "the team's macros")
    p.add_argument("--json", action="store_true")

    view = top.group("view", "views of the queue: built-in, the config file's and your saved ones")
    p = view.leaf("list", _cmd("cmd_view_list"), "every view you have, with its filter and sort")
    p.add_argument("--json", action="store_true")
    p = view.leaf("save", _cmd("cmd_view_save"), "save a view of your own (a tab of the console's queue)")
    p.add_argument("name", help="the view's name")
    p.add_argument("--filter", metavar="EXPR", required=True, help="the filter language, as in case list --filter")
    p.add_argument("--sort", choices=["oldest", "newest", "priority", "updated", "sla"])
    p.add_argument("--columns", metavar="A,B", help="the queue's columns it shows, comma separated")
    p = view.leaf("delete", _cmd("cmd_view_delete"), "delete one of your saved views")
    p.add_argument("name")

    db = top.group("db", "the database's schema version")
    db.leaf("version", _cmd("cmd_db_version"), "the database's schema version and this deskconsole's (changes nothing)")
    db.leaf("upgrade", _cmd("cmd_db_upgrade"), "create or upgrade the database to this deskconsole's schema "
            "(any command does this too; a SQLite file is copied first)")
    return parser


def _report_options(p: argparse.ArgumentParser) -> None:
    """`report sla|backlog|csat`'s options."""
    p.add_argument("--since", type=calendar_date, metavar="D", help="from this day (YYYY-MM-DD)")
    p.add_argument("--until", type=calendar_date, metavar="D", help="through this day (YYYY-MM-DD)")
    p.add_argument("--by", choices=["agent", "priority", "customer"])
    form = p.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true")
    form.add_argument("--csv", action="store_true")


def _edit_commands(case: _Commands) -> None:
    """`case edit|tag|split` (their functions: cli/editing.py)."""
    p = case.leaf("edit", _cmd("cmd_case_edit"),
                  "change a case's title, contact, product area, severity, priority or tags (one action)")
    p.add_argument("id", type=case_id)
    p.add_argument("--title")
    p.add_argument("--contact", metavar="EMAIL", help="the customer's e-mail address ('' clears it)")
    p.add_argument("--area", dest="product_area", metavar="AREA", help="the product area ('' clears it)")
    p.add_argument("--severity", choices=SEVERITIES)
    p.add_argument("--priority", choices=["P1", "P2", "P3", "P4"])
    p.add_argument("--tag", action="append", default=[], metavar="TAG", help="add a tag (repeatable; a,b adds both)")
    p.add_argument("--untag", action="append", default=[], metavar="TAG", help="remove a tag (repeatable)")
    _version_and_json(p)
    p = case.leaf("tag", _cmd("cmd_case_tag"), "add or remove a case's tags (tag:x in --filter finds them)")
    p.add_argument("id", type=case_id)
    p.add_argument("--add", action="append", default=[], metavar="TAG", help="add a tag (repeatable; a,b adds both)")
    p.add_argument("--remove", action="append", default=[], metavar="TAG", help="remove a tag (repeatable)")
    _version_and_json(p)
    p = case.leaf("split", _cmd("cmd_case_split"),
                  "split a customer's message out of a case into a new case of the same customer "
                  "(its mail thread follows); prints the new case")
    p.add_argument("id", type=case_id)
    p.add_argument("--event", type=int, required=True, metavar="EVENT_ID",
                   help="the message's event id (case show --json lists them)")
    p.add_argument("--title", help="the new case's title (default: the mail's subject or the message's first words)")
    _version_and_json(p)


def _version_and_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--expect-version", type=int, metavar="N",
                   help="refuse if the case changed since you read this version")
    p.add_argument("--json", action="store_true", help="print the case as JSON afterwards")


class Command:
    """A command's function, `deskconsole.cli.MODULE.NAME`, imported when the command runs: a
    command line loads the module of its own command only (the console's start, none)."""

    __slots__ = ("module", "name")

    def __init__(self, module: str, name: str) -> None:
        self.module = module
        self.name = name

    def function(self) -> Callable[[Context], int]:
        return getattr(importlib.import_module(f"deskconsole.cli.{self.module}"), self.name)

    def __call__(self, ctx: Context) -> int:
        return self.function()(ctx)


# Where each command's function lives (deskconsole.cli.<module>).
COMMANDS = {
    "console": ("cmd_console",),
    "demo": ("cmd_demo",),
    "agent": ("cmd_agent_add", "cmd_agent_list", "cmd_agent_availability"),
    "case": ("cmd_case_list", "cmd_case_show", "cmd_case_open", "cmd_case_move", "cmd_case_close", "cmd_case_clone",
             "cmd_case_assign", "cmd_case_unassign", "cmd_case_take", "cmd_case_note", "cmd_case_reply",
             "cmd_case_confirm", "cmd_case_defect", "cmd_case_merge"),
    "escalation": ("cmd_escalation_request", "cmd_escalation_review", "cmd_escalation_decide",
                   "cmd_escalation_update", "cmd_escalation_deescalate", "cmd_escalation_list"),
    "ingest": ("cmd_ingest",),
    "timers": ("cmd_tick", "cmd_timers_list"),
    "outbox": ("cmd_outbox_list", "cmd_deliver"),
    "survey": ("cmd_survey_answer", "cmd_survey_summary"),
    "kb": ("cmd_kb_search", "cmd_kb_add", "cmd_kb_link"),
    "macro": ("cmd_macro_load", "cmd_macro_list", "cmd_case_macro", "cmd_case_undo"),
    "db": ("cmd_db_version", "cmd_db_upgrade"),
    "sla": ("cmd_sla_load", "cmd_sla_show", "cmd_report_sla"),
    "mail": ("cmd_mail_fetch", "cmd_mail_receive", "cmd_mail_parked", "cmd_mail_release", "cmd_mail_raw"),
    "report": ("cmd_report_backlog", "cmd_report_csat"),
    "editing": ("cmd_case_edit", "cmd_case_tag", "cmd_case_split"),
    "views": ("cmd_view_list", "cmd_view_save", "cmd_view_delete"),
}
MODULE_OF = {name: module for module, names in COMMANDS.items() for name in names}


def _cmd(name: str) -> Command:
    return Command(MODULE_OF[name], name)


# The commands that make a new SQLite desk where none is (the others refuse a missing file);
# the console (first run) makes one too, by its own start.
CREATES_DESK = frozenset({"cmd_demo", "cmd_agent_add", "cmd_db_upgrade"})


class Context:
    def __init__(
        self, args: argparse.Namespace, settings: Settings, out: Output,
        tick_hook: Callable[[int], None] | None = None,
    ) -> None:
        self.args = args
        self.settings = settings
        self.out = out
        self.tick_hook = tick_hook
        self._service: Service | None = None

    @property
    def service(self) -> Service:
        if self._service is None:
            from deskconsole.store.engine import missing_sqlite_file

            missing = missing_sqlite_file(self.settings.db_url)
            if missing is not None and getattr(self.args.func, "name", None) not in CREATES_DESK:
                # (a desk deleted or moved must not come back silently as a new, empty one)
                raise InvalidInput(
                    f"no desk at {missing}: the file does not exist; check --db / DESKCONSOLE_DB, or make a "
                    "desk there with 'deskconsole agent add NAME --role ROLE' or 'deskconsole demo'")
            self._service = self.settings.make_service()
            self._service.tick_hook = self.tick_hook
            if missing is not None and missing.exists():
                self.out.err.write(f"created a new desk at {missing}\n")
                self.out.err.flush()
            self._service.login_identity()  # PostgreSQL: a login that is no agent, or its own "now", is refused
        return self._service

    @property
    def user(self) -> str | None:
        """Who acts: on PostgreSQL under an agent's login, that agent (store/identity.py)."""
        return self.service.acting_name(self.settings.user, explicit=self.settings.user_source != "login")

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


def _safe_url(url: str) -> str:
    from deskconsole.store.engine import safe_url

    return safe_url(url)


def _db_problem(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = " ".join(str(orig).split())
    return clip(text, 300)
