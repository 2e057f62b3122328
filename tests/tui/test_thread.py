"""The case's thread and composer: the conversation apart from the internal trail, one composer with a
visible mode, drafts that outlive refusals and restarts, $EDITOR, and the words of `?`."""

from __future__ import annotations

import io
import sys
from datetime import UTC

from rich.console import Console
from textual.widgets import TextArea
from tuidesk import screen_text, settle

from deskconsole.tui.app import make_app
from deskconsole.tui.drafts import Drafts
from deskconsole.tui.screens.case import CaseScreen
from deskconsole.tui.widgets.composer import ComposerScreen
from deskconsole.tui.widgets.help import HelpScreen

SIZE = (120, 40)
MAIL = {
    "channel": "email", "from": "pat@acme.example", "from_name": "Pat Lee",
    "subject": "Re: [case 1] Printer jams", "message_id": "<r1@acme.example>",
    "attachments": [{"name": "jam.jpg", "type": "image/jpeg", "size": 48_213, "sha256": "ab", "stored": True},
                    {"name": "huge.iso", "type": "application/octet-stream", "size": 30_000_000, "sha256": "cd",
                     "stored": False}],
}


def printer_case(service):
    case, _ = service.open_case("Printer jams", "Acme", description="Tray 2 jams every morning.",
                                contact="pat@acme.example")
    service.add_note(case.id, "Looks like the fuser, not the tray", actor="alice")
    service.add_note(case.id, "Could you send a photo of the jam?", actor="alice", internal=False)
    service.customer_reply(case.id, "Photo attached [b]bold?[/b]", channel="email", event_data=MAIL)
    service.move(case.id, "pending", actor="alice", sub_status="customer_input", note="Which tray jams?")
    service.customer_reply(case.id, "Tray 2, every time.")
    return case


async def open_case(app, pilot, case_id: int) -> CaseScreen:
    await settle(pilot)
    app.open_case(case_id)
    await settle(pilot)
    assert isinstance(app.screen, CaseScreen)
    return app.screen


async def test_the_thread_shows_the_conversation_and_v_shows_everything(app_as, service):
    case = printer_case(service)
    app = app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_case(app, pilot, case.id)
        text = screen.thread.plain()
        assert "Conversation (5 messages)  messages with the customer only · v shows everything" in text
        assert "alice  replied to the customer" in text and "Could you send a photo of the jam?" in text
        # a mail: who sent it, from which address, its subject and its attachments; the text literally
        assert "Acme (Pat Lee <pat@acme.example>)  wrote" in text
        assert "via e-mail · subject Re: [case 1] Printer jams" in text
        assert "2 attachments: jam.jpg (image/jpeg, 47 KB) · huge.iso (application/octet-stream, 28.6 MB, not stored)" \
            in text
        assert "Photo attached [b]bold?[/b]" in text
        assert "alice  asked the customer (pending/customer_input)" in text and "Which tray jams?" in text
        assert "Acme  wrote\n  via ingest\n  Tray 2, every time." in text
        assert "Looks like the fuser" not in text and "internal note" not in text  # the internal trail is apart

        await pilot.press("v")
        await settle(pilot)
        text = screen.thread.plain()
        assert "Everything (" in text and "v shows the conversation only" in text
        assert "alice  internal note" in text and "Looks like the fuser, not the tray" in text
        assert "status  pending/customer_input → update_received" in text  # a status change, in the trail
        assert "Tray 2, every time." in screen_text(app)  # still on its newest event

        await pilot.press("v")
        await settle(pilot)
        assert "Looks like the fuser" not in screen.thread.plain()


async def test_the_thread_follows_new_messages_and_keeps_your_place(app_as, service):
    case = printer_case(service)
    for i in range(30):
        service.add_note(case.id, f"Reply {i}", actor="alice", internal=False)  # a long conversation
    app = app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_case(app, pilot, case.id)
        assert "Reply 29" in screen_text(app)  # opened on its newest message
        service.customer_reply(case.id, "Anything new?")
        screen.reload()  # (what the change watcher does when another console writes)
        await settle(pilot)
        assert "Anything new?" in screen_text(app)  # read to its end: it follows

        await pilot.press("home")  # read from the top
        await settle(pilot)
        assert "Description" in screen_text(app)
        service.customer_reply(case.id, "Hello again?")
        screen.reload()
        await settle(pilot)
        text = screen_text(app)
        assert "Description" in text and "Hello again?" not in text  # your place is kept
        assert "Conversation (37 messages)" in text  # ...and the count says more came


async def test_one_composer_with_its_mode_in_words(app_as, service):
    case = printer_case(service)
    app = app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_case(app, pilot, case.id)
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, ComposerScreen)
        text = screen_text(app)
        assert "PUBLIC REPLY   sent to the customer — to pat@acme.example" in text
        assert "ctrl+s Send   ctrl+t Switch reply/note   ctrl+e Editor   esc Close, keep draft" in text
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert "INTERNAL NOTE   seen by the team only, never sent" in screen_text(app)
        await pilot.press("ctrl+t")  # back to a reply
        await pilot.press(*"Please try tray 1 meanwhile.")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)
        assert "Please try tray 1 meanwhile." in screen_text(app)  # in the thread, as the desk's reply
        events = service.get_case(case.id).events
        assert (events[-1].kind, events[-1].body) == ("comment", "Please try tray 1 meanwhile.")
        sent = [o for o in service.list_outbox(case_id=case.id) if o.kind == "comment"]
        assert sent[-1].to == "pat@acme.example" and "Please try tray 1 meanwhile." in sent[-1].body

        await pilot.press("n")  # a note: the same composer, in the other mode
        await settle(pilot)
        assert "INTERNAL NOTE" in screen_text(app)
        await pilot.press(*"Customer is patient")
        await pilot.press("ctrl+s")
        await settle(pilot)
        events = service.get_case(case.id).events
        assert (events[-1].kind, events[-1].body) == ("note", "Customer is patient")
        assert len([o for o in service.list_outbox(case_id=case.id) if o.kind == "comment"]) == len(sent)


async def test_a_draft_survives_a_refusal_and_a_restart(app_as, service, tmp_path):
    case = printer_case(service)
    other_case, _ = service.open_case("Scanner offline", "Acme", contact="pat@acme.example")
    app = app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_case(app, pilot, case.id)
        await pilot.press("c")
        await settle(pilot)
        await pilot.press(*"Half-written answer")
        await pilot.press("escape")  # closed, not sent
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)
        service.close(case.id, reason="duplicate of another case", actor="alice")  # meanwhile, elsewhere
        await pilot.press("c")
        await settle(pilot)
        assert app.screen.query_one("#composer-text", TextArea).text == "Half-written answer"
        assert "Your draft is back" in screen_text(app)
        await pilot.press(*" and more")
        await pilot.press("ctrl+s")  # refused: the case changed (and is closed)
        await settle(pilot)
        assert isinstance(app.screen, ComposerScreen)
        assert app.screen.query_one("#composer-text", TextArea).text == "Half-written answer and more"
        await pilot.press("escape")
        await settle(pilot)

        app.open_case(other_case.id)
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        await pilot.press(*"Scanner: check the USB cable")
    assert [e for e in service.get_case(case.id).events if e.body == "Half-written answer and more"] == []

    again = app_as("alice")  # the console started again (it was left with the composer open)
    async with again.run_test(size=SIZE) as pilot:
        await open_case(again, pilot, other_case.id)
        await pilot.press("c")
        await settle(pilot)
        assert again.screen.query_one("#composer-text", TextArea).text == "Scanner: check the USB cable"
        assert "INTERNAL NOTE" in screen_text(again)  # the draft's mode, as it was left
    drafts = Drafts(tmp_path / "drafts", "test")
    assert drafts.load("alice", case.id).text == "Half-written answer and more"  # kept for the closed case too
    assert drafts.load("bob", other_case.id) is None  # drafts are per person


async def test_ctrl_e_edits_the_draft_in_the_users_editor(service, clock, tmp_path):
    case = printer_case(service)
    editor = tmp_path / "editor.py"  # an "editor" that appends a line to the file it is given, and saves
    editor.write_text("import sys\nwith open(sys.argv[1], 'a') as f:\n    f.write('\\nwritten in the editor\\n')\n")
    app = make_app(service, "alice", clock=clock, ticker=False, tz=UTC, drafts=Drafts(tmp_path / "d", "t"),
                   environ={"EDITOR": f"{sys.executable} {editor}"})
    async with app.run_test(size=SIZE) as pilot:
        await open_case(app, pilot, case.id)
        await pilot.press("c")
        await settle(pilot)
        await pilot.press(*"Dear Pat,")
        await pilot.press("ctrl+e")
        await settle(pilot)
        area = app.screen.query_one("#composer-text", TextArea)
        assert area.text == "Dear Pat,\nwritten in the editor"
        assert Drafts(tmp_path / "d", "t").load("alice", case.id).text == "Dear Pat,\nwritten in the editor"

    bare = make_app(service, "alice", clock=clock, ticker=False, tz=UTC, drafts=Drafts(tmp_path / "d", "t"),
                    environ={})
    async with bare.run_test(size=SIZE) as pilot:
        await open_case(bare, pilot, case.id)
        await pilot.press("c")
        await settle(pilot)
        await pilot.press("ctrl+e")
        await settle(pilot)
        assert "No editor: set $VISUAL or $EDITOR" in screen_text(bare)
        assert bare.screen.query_one("#composer-text", TextArea).text == "Dear Pat,\nwritten in the editor"


async def test_help_explains_the_queue_symbols_and_status_words(app_as, service):
    app = app_as("alice")
    async with app.run_test(size=(120, 80)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        console = Console(width=120, record=True, file=io.StringIO())
        console.print(app.screen.table())  # (the whole list: the screen shows its first lines, and scrolls)
        text = console.export_text()
        for shown in ("⚑", "▲ asked", "▲▲ ESC", "awaiting confirm", "pending/customer", "update received"):
            assert shown in text, shown
        assert "escalated: approved by a manager" in text
        assert "pending, waiting on customer input (pending/customer_input)" in text
