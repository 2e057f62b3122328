"""Hostile input through every text field of the command line (everything but `ingest`).

Markup, terminal escapes and control characters are stored exactly as given and shown inert:
human output shows them as visible escapes (\\x1b), `--json` output keeps them exactly (escaped
inside the JSON strings) with one object per line. NUL bytes, oversized text and wrong-typed
values are refused with one `error:` line, and nothing is written. Both databases.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, select
from test_cli import Desk, add_people  # the forked-CLI runner of tests/unit/test_cli.py

from deskconsole.store.engine import make_engine

# Rich markup (balanced, a link, a stray close tag), ANSI colour, an OSC title, clear screen and
# cursor moves, carriage return, backspace, DEL, an 8-bit CSI, a zero-width space, a bidi override.
H = ("[bold red]x[/] [link=http://evil.example]y[/link] [/] \x1b[31mred\x1b[0m \x1b]0;title\x07 "
     "\x1b[2J\x1b[1;1H\x1b[A \r\b\x7f\x9b \u200b\u202eevil\u202c end")
SHORT = "[b]x[/] \x1b[31m\x07\r\b\x7f\u202e!"  # for fields of 40 characters or fewer
BLOCK = H + "\nsecond line\ttabbed\r\nthird \x1b[5mblink"
RAW = ("\x1b", "\x07", "\r", "\b", "\x7f", "\x9b", "\u202e", "\u202c")
SHOWN = r"[bold red]x[/] [link=http://evil.example]y[/link] [/] \x1b[31mred\x1b[0m \x1b]0;title\x07"


def inert(text: str) -> bool:
    return not any(ch in text for ch in RAW)


def people(url: str) -> None:
    """boss (supervisor), mia and max (managers), al (analyst, billing; mia's), bo: through the CLI."""
    add_people(Desk(url, Path("/nonexistent")))


@pytest.fixture
def cli(seeded_db, tmp_path) -> Desk:
    url, _ = seeded_db("people", people)  # seeded through the CLI once per worker, copied per test
    return Desk(url, tmp_path)


def dump(url: str) -> dict[str, list[tuple]]:
    """Every row of every table: what a refused command must leave exactly as it was."""
    engine = make_engine(url)
    meta = MetaData()
    meta.reflect(engine)
    try:
        with engine.connect() as conn:
            return {name: [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
                    for name, t in meta.tables.items()}
    finally:
        engine.dispose()


def strings(value: Any) -> list[str]:
    """Every string anywhere inside a JSON value."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def one_json(run: Any) -> Any:
    assert run.code == 0, run.err
    assert run.out.endswith("\n") and run.out.count("\n") == 1, "one object, one line"
    assert inert(run.out), "a control character left the JSON string unescaped"
    return json.loads(run.out)


def refused_one_line(run: Any, code: int = 1) -> str:
    assert run.code == code, (run.code, run.out, run.err)
    assert run.out == ""
    assert run.err.startswith("error: ") and run.err.count("\n") == 1, run.err
    assert "Traceback" not in run.err and inert(run.err), run.err
    return run.err


def _hostile_case(cli: Desk) -> int:
    """A case that went through everything, with hostile text in every field it accepts."""
    al, mia = {"user": "al"}, {"user": "mia"}
    case = one_json(cli("case", "open", H, "--customer", H, "--description", BLOCK, "--contact", H,
                        "--area", "billing", "--ref", H, "--json", **al))
    cid = str(case["id"])
    assert case["title"] == H and case["customer"] == H
    for args in (
        ("case", "note", cid, BLOCK), ("case", "note", cid, H, "--public"),
        ("case", "move", cid, "in_progress", "--note", BLOCK),
        ("case", "defect", cid, SHORT, "--summary", BLOCK),
        ("case", "reply", cid, BLOCK),
        ("case", "move", cid, "in_progress", "--note", H),
        ("escalation", "request", cid, "--reason", BLOCK),
    ):
        cli.ok(*args, **al)
    cli.ok("escalation", "review", cid, "--severity-impact", H, "--business-risk", BLOCK, "--sla", H,
           "--actions-taken", H, **mia)
    cli.ok("escalation", "decide", cid, "approve", "--reason", BLOCK, "--frequency", SHORT, "--attendees", H, **mia)
    cli.ok("escalation", "update", cid, BLOCK, **mia)
    cli.ok("escalation", "deescalate", cid, "--plan-accepted", "--rca-on-track", "--customer-agreed", "--note", H,
           **mia)
    cli.ok("case", "move", cid, "awaiting_confirmation", "--note", BLOCK, **al)
    cli.ok("case", "close", cid, "--reason", BLOCK, **al)
    cli.ok("survey", "answer", cid, "1", "--comment", BLOCK)
    cli.ok("kb", "add", H, "--body", BLOCK, user="boss")
    cli.ok("agent", "add", "zed", "--role", "analyst", "--email", H, "--skills", "billing," + SHORT, user="boss")
    return int(cid)


def test_hostile_text_in_every_field_is_kept_exactly_and_shown_inert(cli: Desk) -> None:
    cid = _hostile_case(cli)

    # human output: nothing reaches the terminal raw, the text is there as visible escapes
    for args in (("case", "show", str(cid)), ("case", "list"), ("case", "list", "--search", H),
                 ("outbox", "list"), ("escalation", "list"), ("survey", "summary"), ("kb", "search"),
                 ("kb", "search", H), ("agent", "list"), ("timers", "list")):
        run = cli.ok(*args, user="boss")
        assert inert(run.out), (args, [c for c in RAW if c in run.out])
    shown = cli.ok("case", "show", str(cid)).out
    assert f"case {cid}: {SHOWN}" in shown
    assert shown.count(SHOWN) >= 6  # title, customer, contact, ref, notes, reasons, …
    assert "    second line\ttabbed\n    third \\x1b[5mblink" in shown  # blocks keep their lines and tabs
    assert SHOWN[:60] in cli.ok("survey", "summary").out  # the flagged answer's comment (clipped to its column)
    assert SHOWN[:60] in cli.ok("kb", "search").out

    # --json: one line per object, valid, the text exactly as given
    case = one_json(cli("case", "show", str(cid), "--json"))
    assert (case["title"], case["customer"], case["contact"], case["ref"]) == (H, H, H, H)
    assert case["description"] == BLOCK.replace("\r\n", "\n") or case["description"] == BLOCK
    bodies = [e.get("body") for e in case["events"]]
    assert bodies.count(H) >= 2 and BLOCK in bodies
    for args in (("case", "list", "--json"), ("outbox", "list", "--json"), ("escalation", "list", "--json"),
                 ("survey", "summary", "--json"), ("kb", "search", "--json"), ("agent", "list", "--json")):
        value = one_json(cli(*args))
        assert {H, BLOCK, SHORT} & set(strings(value)), args
    outbox = one_json(cli("outbox", "list", "--json"))
    assert {o["to"] for o in outbox if o["case"] == cid} >= {H}
    assert [a for a in one_json(cli("kb", "search", "--json")) if a["title"] == H]


def test_markup_like_names_are_refused_where_names_must_be_plain(cli: Desk) -> None:
    before = dump(cli.url)
    for args in (("agent", "add", H, "--role", "analyst"), ("agent", "add", SHORT, "--role", "analyst")):
        refused_one_line(cli(*args, user="boss"))
    refused_one_line(cli("case", "take", user=H))
    assert dump(cli.url) == before


NUL = "be\x00fore"


def test_a_nul_byte_in_any_field_is_refused_and_nothing_is_written(cli: Desk) -> None:
    al, mia = {"user": "al"}, {"user": "mia"}
    cid = str(one_json(cli("case", "open", "Printer on fire", "--customer", "acme", "--area", "billing",
                           "--json", **al))["id"])
    cli.ok("case", "move", cid, "in_progress", **al)
    cli.ok("escalation", "request", cid, "--reason", "urgent", **al)
    attempts = [
        (("case", "open", NUL, "--customer", "acme"), al), (("case", "open", "t", "--customer", NUL), al),
        (("case", "open", "t", "--customer", "c", "--description", NUL), al),
        (("case", "open", "t", "--customer", "c", "--contact", NUL), al),
        (("case", "open", "t", "--customer", "c", "--area", NUL), al),
        (("case", "open", "t", "--customer", "c", "--ref", NUL), al),
        (("case", "note", cid, NUL), al), (("case", "note", cid, NUL, "--public"), al),
        (("case", "reply", cid, NUL), al), (("case", "move", cid, "pending", "--sub-status", "development",
                                            "--note", NUL), al),
        (("case", "close", cid, "--reason", NUL), al), (("case", "defect", cid, NUL, "--summary", "s"), al),
        (("case", "defect", cid, "BUG-1", "--summary", NUL), al),
        (("escalation", "review", cid, "--severity-impact", NUL), mia),
        (("escalation", "decide", cid, "approve", "--reason", NUL), mia),
        (("escalation", "decide", cid, "approve", "--reason", "ok", "--attendees", NUL), mia),
        (("escalation", "decide", cid, "approve", "--reason", "ok", "--engineer", NUL), mia),
        (("case", "assign", cid, NUL), mia), (("case", "take",), {"user": NUL}),
        (("case", "list", "--search", NUL), al), (("kb", "search", NUL), al),
        (("kb", "add", NUL, "--body", "b"), {"user": "boss"}), (("kb", "add", "t", "--body", NUL), {"user": "boss"}),
        (("agent", "add", NUL, "--role", "analyst"), {"user": "boss"}),
        (("agent", "add", "zed", "--role", "analyst", "--email", NUL), {"user": "boss"}),
        (("agent", "add", "zed", "--role", "analyst", "--skills", NUL), {"user": "boss"}),
    ]
    before = dump(cli.url)
    for args, who in attempts:
        err = refused_one_line(cli(*args, **who))
        assert "\\x00" in err or "NUL" in err, (args, err)  # named, never raw
    assert dump(cli.url) == before
    # survey and the escalation's later steps, on a case that has them
    cli.ok("escalation", "decide", cid, "approve", "--reason", "ok", **mia)
    cli.ok("case", "close", cid, "--reason", "fixed", **al)
    before = dump(cli.url)
    for args, who in ((("survey", "answer", cid, "4", "--comment", NUL), {}),
                      (("escalation", "update", cid, NUL), mia),
                      (("escalation", "deescalate", cid, "--plan-accepted", "--rca-on-track", "--customer-agreed",
                        "--note", NUL), mia)):
        refused_one_line(cli(*args, **who))
    assert dump(cli.url) == before


LIMIT = 1_000_000  # characters: service.MAX_TEXT, the limit of every long text field


def test_long_text_is_taken_up_to_the_limit_and_refused_above_it(cli: Desk) -> None:
    al = {"user": "al"}
    cid = str(one_json(cli("case", "open", "Big logs", "--customer", "acme", "--area", "billing", "--json",
                           **al))["id"])
    cli.ok("case", "move", cid, "in_progress", **al)
    mib = "x" * (1024 * 1024)
    before = dump(cli.url)
    for args in (("case", "note", cid, mib), ("case", "reply", cid, mib), ("case", "close", cid, "--reason", mib),
                 ("case", "open", "t", "--customer", "c", "--description", mib),
                 ("case", "note", cid, "y" * (LIMIT + 1))):
        err = refused_one_line(cli(*args, **al))
        assert "too long" in err and "at most 1,000,000" in err, err
    assert dump(cli.url) == before

    big = "line of a long log \x1b[31m\n" * (LIMIT // 25)
    big += "z" * (LIMIT - len(big))
    assert len(big) == LIMIT
    cli.ok("case", "reply", cid, big, **al)
    case = one_json(cli("case", "show", cid, "--json"))
    assert case["events"][-1]["body"] == big
    shown = cli.ok("case", "show", cid).out
    assert inert(shown) and shown.count("line of a long log \\x1b[31m") == LIMIT // 25


@pytest.mark.parametrize("args", [
    ("case", "show", "abc"), ("case", "show", "1.5"), ("case", "show", ""), ("case", "move", "one", "in_progress"),
    ("survey", "answer", "1", "0"), ("survey", "answer", "1", "6"), ("survey", "answer", "1", "five"),
    ("case", "list", "--limit", "-1"), ("outbox", "list", "--limit", "ten"), ("timers", "list", "--limit", "-5"),
    ("case", "list", "--status", "\x1b[31mopen"), ("case", "close", "1", "--reason"),
    ("case", "note", "1", "x", "--expect-version", "latest"), ("kb", "link", "1", "first"),
    ("escalation", "review", "1", "--milestone", "2026-02-30"), ("escalation", "review", "1", "--milestone", "soon"),
    ("survey", "summary", "--weeks", "0"),
], ids=lambda a: " ".join(a).encode("unicode_escape").decode())
def test_wrong_typed_values_are_one_usage_line_and_change_nothing(cli: Desk, args: tuple[str, ...]) -> None:
    cid = str(one_json(cli("case", "open", "t", "--customer", "c", "--json", user="al"))["id"])
    assert cid == "1"
    before = dump(cli.url)
    err = refused_one_line(cli(*args, user="mia"), code=2)
    assert "--help" in err  # where to look next
    assert dump(cli.url) == before


@pytest.mark.parametrize("now", ["2026-02-30T09:00:00Z", "2026-13-01T25:61:00Z", "2026-11-25T09:00:00",
                                 "yesterday", "2026-11-25T09:00:00Z\x1b[2J"])
def test_an_impossible_now_is_refused_before_anything_happens(cli: Desk, now: str) -> None:
    before = dump(cli.url)
    for args in (("tick",), ("case", "open", "t", "--customer", "c"), ("case", "list")):
        err = refused_one_line(cli(*args, user="al", now=now))
        assert err.startswith("error: DESKCONSOLE_NOW: "), err
    assert dump(cli.url) == before


def test_unknown_ids_are_refused_as_unknown(cli: Desk) -> None:
    before = dump(cli.url)
    for args in (("case", "show", "999"), ("case", "show", "-3"), ("case", "show", "99999999999999999999"),
                 ("case", "note", "0", "x"), ("kb", "link", "1", "-1"), ("survey", "answer", "42", "5")):
        err = refused_one_line(cli(*args, user="al"))
        assert "unknown" in err, (args, err)
    assert dump(cli.url) == before

