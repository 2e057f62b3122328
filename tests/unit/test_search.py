"""Issue 6: the case list's filter goes through a full-text index (SQLite FTS5, PostgreSQL tsvector).

Every word must begin a word of the title or customer; a number also matches the case id; words
full of query syntax are plain text. Run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text as sql
from sqlmodel import Session

from deskconsole.domain.errors import InvalidInput
from deskconsole.store.models import Case
from deskconsole.store.search import filter_words, pause_case_index, rebuild_case_index


def ids(rows) -> list[int]:
    return [r.id for r in rows]


def found(desk, text: str, **kw) -> list[int]:
    return ids(desk.svc.list_cases(text=text, **kw))


@pytest.fixture
def cases(desk):
    opened = {
        "login": desk.open("Login fails after password reset", "Initech"),
        "export": desk.open("Export to CSV hangs", "Globex Corporation"),
        "logo": desk.open("Logo is blurry on invoices", "acme"),
        "quoted": desk.open('Error "NEAR(disk) AND full" -x a:b 50% done_ok', "Umbrella"),
        "accent": desk.open("Café menu crashes", "Müller GmbH"),
    }
    return opened


def test_a_word_matches_the_beginning_of_a_word_of_the_title_or_customer(desk, cases) -> None:
    login, export, logo = cases["login"].id, cases["export"].id, cases["logo"].id
    assert found(desk, "login") == [login]
    assert found(desk, "LOG") == [login, logo]  # either case, any beginning
    assert found(desk, "lo") == [login, logo]
    assert found(desk, "ogin") == []  # the middle of a word is not a beginning
    assert found(desk, "globex") == [export]  # the customer too
    assert found(desk, "corp") == [export]
    assert found(desk, "müller") == [cases["accent"].id]
    assert found(desk, "nothing-like-this") == []


def test_every_word_must_match(desk, cases) -> None:
    login = cases["login"].id
    assert found(desk, "login reset") == [login]
    assert found(desk, "reset login initech") == [login]  # any order, title and customer mixed
    assert found(desk, "login export") == []
    assert found(desk, "  login   pass  ") == [login]


def test_a_number_matches_the_case_id_as_well_as_words(desk, cases) -> None:
    export = cases["export"].id
    numbered = desk.open(f"Printer {export}0 jams", "Hooli")
    assert found(desk, str(export)) == [export, numbered.id]  # the id, and a word beginning with it
    assert found(desk, f"#{export}") == [export, numbered.id]
    assert found(desk, f"{export} csv") == [export]
    assert found(desk, f"{export} printer") == [numbered.id]
    assert found(desk, "50") == [cases["quoted"].id]  # "50%" in a title; no case 50
    assert found(desk, "9" * 30) == []  # too long for an id: only words, and none match


HOSTILE = ['"', "*", "NEAR(", "-x", "a:b", "%", "_", "AND", "OR", "NOT", "(", ")", '"near"', "^", "{title}:x",
           "title:", "'", "\\", "+", "NEAR(login, 2)", '"unterminated', "x*", "*x", "a -b", "c OR d"]


def test_words_with_query_syntax_are_plain_text(desk, cases) -> None:
    """Never a syntax error, never a wildcard: at worst the word matches nothing."""
    everything = set(ids(desk.svc.list_cases()))
    for word in HOSTILE:
        result = found(desk, word)
        assert set(result) <= everything, word
        assert len(result) < len(everything), (word, result)  # `*` or `%` must not act as "anything"
    for word in ['"', "*", "%", "_", "(", ")", "^", "'", "\\", "+", '" * -']:
        assert found(desk, word) == [], word  # no letters or digits: no case


def test_hostile_words_match_what_they_say(desk, cases) -> None:
    quoted = cases["quoted"].id
    assert found(desk, 'NEAR(disk') == [quoted]
    assert found(desk, '"near"') == [quoted]
    assert found(desk, "AND full") == [quoted]
    assert found(desk, "-x") == [quoted]
    assert found(desk, "a:b") == [quoted]
    assert found(desk, "50%") == [quoted]
    assert found(desk, "done_ok") == [quoted]
    assert found(desk, "%") == []  # no letters or digits: matches no case (and is not a wildcard)
    assert found(desk, '" * -') == []
    assert found(desk, "login -") == [cases["login"].id]  # a bare mark beside real words adds nothing


def test_a_changed_title_or_customer_shows_up_in_the_filter(desk, cases) -> None:
    case_id = cases["export"].id
    with Session(desk.svc.engine) as s:
        row = s.get(Case, case_id)
        row.title = "Import from XLSX hangs"
        row.customer = "Soylent"
        s.add(row)
        s.commit()
    assert found(desk, "export") == []
    assert found(desk, "globex") == []
    assert found(desk, "xlsx") == [case_id]
    assert found(desk, "soylent import") == [case_id]
    desk.svc.move(case_id, "in_progress", actor="alice")  # other changes keep the entry
    assert found(desk, "xlsx") == [case_id]
    with Session(desk.svc.engine) as s:
        s.exec(sql('DELETE FROM "event" WHERE case_id = :id').bindparams(id=case_id))
        s.exec(sql('DELETE FROM "case" WHERE id = :id').bindparams(id=case_id))
        s.commit()
    assert found(desk, "xlsx") == []


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request) -> str:
    """Every test here on SQLite and on PostgreSQL."""
    return request.getfixturevalue("pg_url" if request.param == "postgres" else "sqlite_url")


def test_views_and_status_still_apply_with_a_filter(desk) -> None:
    desk.case_in("in_progress", title="Login loops", actor="alice")
    desk.case_in("closed", title="Login expired")
    desk.open("Login page slow", "initech")
    desk.case_in("in_progress", title="Login for bob", actor="bob")
    desk.case_in("in_progress", title="Invoice for bob", actor="bob")
    desk.case_in("closed", title="Invoice twice")
    checked = 0
    for kw in ({}, {"view": "open"}, {"view": "mine", "actor": "alice"}, {"view": "mine", "actor": "bob"},
               {"view": "unassigned"}, {"status": "closed"}, {"sort": "newest"}, {"sort": "priority"},
               {"sort": "updated"}, {"view": "open", "sort": "priority", "limit": 2},
               {"view": "open", "sort": "newest", "limit": 2}):
        limit = kw.pop("limit", None)
        expected = [r.id for r in desk.svc.list_cases(**kw) if r.title.startswith("Login")][:limit]
        assert found(desk, "login", limit=limit, **kw) == expected, kw
        checked += len(expected)
    assert checked >= 10


@pytest.mark.parametrize("sort", ["oldest", "newest", "priority", "updated"])
def test_pages_of_a_filtered_list_hold_each_case_once(desk, sort) -> None:
    wanted = []
    severities = ["production_down", "high", "normal", "low"]
    for n in range(23):
        wanted.append(desk.open(f"Sync error {n}", "acme", severity=severities[n % 4]).id)
        desk.open(f"Billing question {n}", "acme")
        if n % 5 == 0:
            desk.later(minutes=1)  # several cases share an update time: the keyset must break ties
    whole = found(desk, "sync err", sort=sort)
    assert sorted(whole) == sorted(wanted)
    pages, after = [], None
    while True:
        page = found(desk, "sync err", sort=sort, limit=5, after=after)
        if not page:
            break
        pages.extend(page)
        after = page[-1]
    assert pages == whole  # the same order, each case once, none left out


def test_a_filter_is_still_checked_as_text(desk) -> None:
    with pytest.raises(InvalidInput):
        desk.svc.list_cases(text="x" * 5000)


def test_filter_words_split_like_the_index() -> None:
    assert filter_words('Login "NEAR(disk)" a:b 50% -x _') == [["login"], ["near", "disk"], ["a", "b"], ["50"],
                                                                ["x"], []]
    assert filter_words("one two three four five six seven") == [["one"], ["two"], ["three"], ["four"], ["five"],
                                                                  ["six"]]
    assert filter_words(None) == [] and filter_words("   ") == []


def test_a_bulk_load_with_the_index_paused_is_found_after_the_rebuild(desk, cases) -> None:
    """What a bulk loader does: pause, insert with plain SQL, rebuild; then every row is found."""
    engine = desk.svc.engine
    first = cases["login"]
    with engine.begin() as conn:
        pause_case_index(conn)
    with engine.begin() as conn:
        for n in range(3):
            conn.execute(sql(
                'INSERT INTO "case" (title, description, customer, severity, priority, status, created_at, '
                "updated_at, version) VALUES (:t, '', 'bulkco', 'normal', 'P3', 'new', :at, :at, 1)"
            ), {"t": f"Bulk loaded quota warning {n}", "at": first.created_at})
    with engine.begin() as conn:
        rebuild_case_index(conn)
    loaded = found(desk, "quota bulkco")
    assert len(loaded) == 3
    # and the index keeps in step again afterwards
    later = desk.open("Quota warning after the load", "bulkco")
    assert found(desk, "quota bulkco") == [*loaded, later.id]
    assert found(desk, "login") == [first.id]


def test_every_new_case_is_found_however_it_came_to_be(desk) -> None:
    """Opened, opened in a batch (as ingest opens cases), cloned, split out of a message: each is
    found by its words at once (on SQLite the service writes a new case's row of the index itself:
    no trigger does, migration 0016)."""
    svc = desk.svc
    opened = desk.open("Printer zebra jams", "Hooli")
    with svc.batch() as batch:
        batched, _ = batch.service.open_case("Printer yak jams", "Hooli", contact="it@hooli.example")
    svc.customer_reply(opened.id, "Quokka tray is stuck as well")
    message = [e for e in svc.get_case(opened.id).events if e.kind == "customer_replied"][-1]
    split = svc.split(opened.id, message.id, actor="alice")
    svc.close(opened.id, reason="the printer was replaced", actor="alice")
    cloned = svc.clone(opened.id, actor="alice")
    assert set(found(desk, "zebra")) == {opened.id, cloned.id}
    assert found(desk, "yak") == [batched.id]
    assert found(desk, "quokka") == [split.id]
    assert set(found(desk, "printer hooli")) == {opened.id, batched.id, cloned.id}
