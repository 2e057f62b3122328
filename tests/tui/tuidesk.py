"""A small, deterministic desk for the console's tests and demos (built only through the Service)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from deskconsole.domain.clock import FixedClock, parse_time
from deskconsole.service import Service
from deskconsole.store.engine import init_schema, make_engine
from deskconsole.tui.textual_adapter import screen_strips

NOW = parse_time("2026-11-25T09:00:00Z")
HOSTILE_TITLE = "[bold red]pwned[/] \x1b[31mRED\x1b[0m [link=http://evil.example]click[/link] \x07bell"
HOSTILE_TEXT = (
    "Line one [b]not bold[/b]\n\x1b]8;;http://evil.example\x1b\\link\x1b]8;;\x1b\\ and \x1b[2J clear\r\n"
    "tab\there, nul-free, DEL\x7f, C1\x9b, bidi \u202eevil\u202c, [red on white]x[/] $variable {braces}"
)


def make_service(path: Path, clock: FixedClock) -> Service:
    engine = make_engine(f"sqlite:///{path}")
    init_schema(engine)
    return Service(engine, clock)


def build_desk(svc: Service, clock: FixedClock) -> dict[str, int]:
    """Agents of every role, cases in most statuses, escalations, timers, surveys. Returns case ids by name."""
    at = clock.set
    at(NOW - timedelta(days=60))
    svc.add_agent("sam", "supervisor", actor=None)
    svc.add_agent("maria", "manager", actor="sam")
    svc.add_agent("mark", "manager", actor="sam")
    svc.add_agent("alice", "analyst", actor="sam", skills=["billing", "network"], manager="maria")
    svc.add_agent("bob", "analyst", actor="sam", skills=["storage"], manager="maria")
    svc.add_agent("carol", "analyst", actor="sam", skills=["network"], manager="mark")
    svc.add_article("Resetting a VPN tunnel", "Restart the tunnel from the gateway console, then renew the keys.")
    svc.add_article("VAT on invoices", "Invoices take the VAT rate of the billing address at the time of issue.")
    svc.add_article("Degraded storage arrays", "Replace the failed disk; the array rebuilds on its own.")
    ids: dict[str, int] = {}

    def open_(name: str, title: str, customer: str, area: str | None, severity: str = "normal",
              description: str = "") -> int:
        view, _ = svc.open_case(title, customer, product_area=area, severity=severity, description=description,
                                contact=f"help@{customer.lower().replace(' ', '')}.example")
        ids[name] = view.id
        return view.id

    # Closed cases with answered surveys, spread over the last weeks.
    scores = [(5, "Quick and clear"), (4, None), (2, "Took a week to get an answer"), (5, None),
              (3, "OK"), (1, "Nobody called back"), (4, "Thanks"), (5, "Great help")]
    for i, (score, comment) in enumerate(scores):
        at(NOW - timedelta(days=56 - i * 7))
        cid = open_(f"closed{i}", f"Password reset request {i + 1}", f"Customer {i + 1}", "billing")
        svc.move(cid, "in_progress", actor="alice")
        svc.close(cid, reason="confirmed by phone", actor="alice")
        svc.answer_survey(cid, score, comment, at=clock.now() + timedelta(hours=5))

    at(NOW - timedelta(days=20))
    vpn = open_("vpn", "VPN drops every 10 minutes", "Acme", "network", "high",
                "Since Monday the site-to-site VPN drops every ten minutes.")
    svc.move(vpn, "in_progress", actor=svc.get_case(vpn).assignee or "alice")

    at(NOW - timedelta(days=18))
    overdue = open_("overdue", "Printer driver crash after update", "Stark", "network")
    owner = svc.get_case(overdue).assignee
    svc.move(overdue, "in_progress", actor=owner)
    at(NOW - timedelta(days=14, hours=1))
    svc.move(overdue, "awaiting_confirmation", actor=owner, note="Roll back to driver 4.2 until the fix ships.")

    at(NOW - timedelta(days=14))
    storage = open_("storage", "Storage array degraded", "Initech", "storage", "high",
                    "Array B reports a failed disk; performance is down by half.")
    svc.move(storage, "in_progress", actor="bob")

    at(NOW - timedelta(days=13, hours=20))
    login = open_("login", "Login page slow", "Hooli", "network", "normal", "The login page takes 30 s.")
    owner = svc.get_case(login).assignee
    svc.move(login, "in_progress", actor=owner)
    svc.move(login, "awaiting_confirmation", actor=owner, note="Cache warmed; pages load in under a second.")

    at(NOW - timedelta(days=10))
    svc.request_escalation(storage, "Production is slowing down and the quarter closes on Friday.")
    at(NOW - timedelta(days=9) + timedelta(hours=3))
    svc.decide_escalation(storage, "approve", actor="maria", engineer="bob", comm_mode="phone",
                          comm_attendees="Initech IT lead, bob, maria")

    at(NOW - timedelta(days=6))
    vat = open_("vat", "Invoice shows wrong VAT", "Globex", "billing", "normal",
                "Invoice 2026-114 charges 21% instead of 19%.")
    svc.move(vat, "pending", actor="alice", sub_status="customer_input", note="Asked for the billing address.")

    at(NOW - timedelta(days=5))
    hostile = open_("hostile", HOSTILE_TITLE, "Evil [i]Corp[/i] \x1b[5m", "billing", "low", HOSTILE_TEXT)
    svc.add_note(hostile, "note: [bold]not bold[/] \x1b[31mnot red\x1b[0m", actor="alice")
    svc.customer_reply(hostile, HOSTILE_TEXT, channel="email")
    svc.move(hostile, "pending", actor="alice", sub_status="customer_input", asked_outside="phone")

    at(NOW - timedelta(days=3))
    open_("export", "Cannot export report to PDF", "Umbrella", "reports", "normal",
                   "The export button does nothing.")
    at(NOW - timedelta(days=2))
    svc.request_escalation(vpn, "The customer's CIO asks for daily calls.", actor="alice")
    svc.request_escalation(hostile, "[blink]ESCALATE[/] \x1b[41m now \x1b[0m")

    at(NOW - timedelta(days=1))
    replied = open_("replied", "Backup job fails on Sundays", "Wayne", "storage", "normal")
    svc.move(replied, "pending", actor="bob", sub_status="customer_input",
             note="Please send the backup job's log from last Sunday.")
    at(NOW - timedelta(hours=3))
    svc.customer_reply(replied, "Here are the logs you asked for.", channel="email")

    # A closed case with a hostile survey comment.
    at(NOW - timedelta(days=4))
    bad = open_("hostile_closed", "Refund [u]please[/u] \x1b[7m", "Evil [i]Corp[/i]", "billing")
    svc.move(bad, "in_progress", actor="alice")
    svc.close(bad, reason="withdrawn", actor="alice")
    svc.answer_survey(bad, 1, "[bold red]TERRIBLE[/] \x1b[31m\x1b[1mangry\x1b[0m \x00"[:-1], at=NOW - timedelta(days=3))

    at(NOW - timedelta(hours=2))
    svc.tick()  # the follow-ups of long-closed cases; the overdue auto-close above stays due
    at(NOW)
    return ids


async def settle(pilot, rounds: int = 4) -> None:
    """Let workers finish and their messages land (no sleeping)."""
    app = pilot.app
    for _ in range(rounds):
        await app.workers.wait_for_complete()
        await pilot.pause()


def screen_text(app) -> str:
    """What the terminal shows, as plain text."""
    return "\n".join("".join(seg.text for seg in strip) for strip in screen_strips(app.screen))


def help_text(app) -> str:
    """The whole key list of the help screen in front (the screen shows its first lines, and scrolls)."""
    import io

    from rich.console import Console

    console = Console(width=120, record=True, file=io.StringIO())
    console.print(app.screen.table())
    return console.export_text()


async def until(pilot, seen, rounds: int = 200) -> bool:
    """Pause (0.05 s at a time, at most `rounds` times) until `seen()` holds; whether it did."""
    for _ in range(rounds):
        if seen():
            return True
        await pilot.pause(0.05)
    return seen()


def add_notes(path: Path, case_id: int, count: int, *, actor: str = "alice") -> None:
    """`count` internal notes on one case, "Note 1" .. "Note {count}" a minute apart ending at NOW,
    written straight into the SQLite desk in one INSERT ... SELECT (a long timeline in a second)."""
    import sqlite3

    start = NOW - timedelta(minutes=count)
    db = sqlite3.connect(path)
    try:
        with db:
            db.execute(
                """
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
                INSERT INTO event (case_id, at, recorded_at, actor, kind, body, data)
                SELECT ?, strftime('%Y-%m-%d %H:%M:%f000', ?, '+' || i || ' minutes'),
                       strftime('%Y-%m-%d %H:%M:%f000', ?, '+' || i || ' minutes'), ?, 'note', 'Note ' || i, NULL
                FROM n
                """,
                (count, case_id, start.strftime("%Y-%m-%d %H:%M:%S"), start.strftime("%Y-%m-%d %H:%M:%S"), actor),
            )
    finally:
        db.close()


def recording(app) -> list[str]:
    """Every notice the console shows from now on (App.notify, wrapped)."""
    shown: list[str] = []
    notify = app.notify

    def record(message, *args, **kwargs):
        shown.append(str(message))
        return notify(message, *args, **kwargs)

    app.notify = record
    return shown


def go(*keys: str, case: str | None = None):
    """A snapshot's run_before: the desk settled, the case opened (a key of desk_ids), keys pressed."""
    async def run_before(pilot) -> None:
        await settle(pilot)
        if case is not None:
            pilot.app.open_case(pilot.app.desk_ids[case])
            await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    return run_before


def build(app_as, ids, user):
    """The console of `user`, carrying the desk's case ids for go()."""
    app = app_as(user)
    app.desk_ids = ids
    return app
