"""Issue 13: the console's Parked list (pane 7, managers and supervisors): machine mail held with its
reason, newest first, customer text literal, released as ordinary mail after a confirmation."""

from __future__ import annotations

from datetime import timedelta

from tuidesk import HOSTILE_TITLE, help_text, recording, screen_text, settle

from deskconsole.mail.intake import Intake
from deskconsole.tui.screens.parked import ParkedScreen
from deskconsole.tui.screens.queue import QueueScreen
from deskconsole.tui.widgets.form import ConfirmScreen

SIZE = (120, 40)
DESK = "desk@support.example"


def mail(n: int, sender: str, subject: str, body: str, headers: str = "") -> bytes:
    return (f"From: {sender}\r\nTo: {DESK}\r\nSubject: {subject}\r\nMessage-ID: <p{n}@mail.example>\r\n"
            f"Date: Wed, 25 Nov 2026 08:00:00 +0000\r\n{headers}\r\n{body}\r\n").encode()


def park_three(service, clock) -> list[int]:
    """An out-of-office reply, a bounce, and an auto-reply whose subject and words are hostile;
    a minute apart. Their inbound ids, oldest first."""
    intake = Intake(service, own_addresses=frozenset({DESK}))
    raws = [
        mail(1, "Ann <ann@initech.example>", "Out of office", "I am away until Monday.",
             "Auto-Submitted: auto-replied\r\n"),
        mail(2, "MAILER-DAEMON@mx.example", "Undelivered Mail Returned to Sender", "The address was not found."),
        mail(3, "Eve <eve@evil.example>", HOSTILE_TITLE, "[bold]not bold[/bold] \x1b[31mred?\x1b[0m",
             "X-Autoreply: yes\r\n"),
    ]
    ids = []
    for raw in raws:
        clock.advance(timedelta(minutes=1))
        result = intake.receive(raw)
        assert result.outcome == "parked", result
        ids.append(result.inbound)
    return ids


async def test_a_manager_sees_parked_mail_newest_first_with_its_reason_literally(app_as, service, clock):
    parked = park_three(service, clock)
    app = app_as("maria")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("7")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ParkedScreen)
        assert list(screen.shown) == [str(i) for i in reversed(parked)]  # newest first
        text = screen_text(app)
        assert "Why it is parked" in text and "3 parked" in text
        assert "a bounce (mailer-daemon)" in text and "parked automatic reply (X-Autoreply: yes)" in text
        # the subject shown literally: markup as typed (the parser drops control characters from mail)
        assert "subject [bold red]pwned[/] [31mRED[0m [link=http://evil.example]click[/link] bell" in text
        # the newest (selected) message's words below the list, literally
        assert "[bold]not bold[/bold] [31mred?[0m" in text

        await pilot.press("j")
        await settle(pilot)
        assert "The address was not found." in screen_text(app)
        await pilot.press("slash", *"office")
        await settle(pilot)
        assert list(screen.shown) == [str(parked[0])]
        assert "1 parked of 3" in screen_text(app)


async def test_release_asks_first_then_applies_the_message_as_ordinary_mail(app_as, service, clock):
    parked = park_three(service, clock)
    before = len(service.list_cases())
    app = app_as("sam")
    shown = recording(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("7")
        await settle(pilot)
        screen = app.screen
        await pilot.press("j", "j")  # the oldest: Ann's out-of-office reply
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert "Release parked message #" in screen_text(app) and "ann@initech.example" in screen_text(app)
        await pilot.press("n")  # no: nothing happens
        await settle(pilot)
        assert app.screen is screen and len(service.parked_mail()) == 3

        await pilot.press("a")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert [p.id for p in service.parked_mail()] == parked[1:]
        assert list(screen.shown) == [str(i) for i in reversed(parked[1:])]
        assert len(service.list_cases()) == before + 1  # a new thread: it opened a case
        case = service.list_cases()[-1]
        assert case.title == "Out of office"
        assert any(f"Released message #{parked[0]}" in n or f"opened: case {case.id}" in n for n in shown)
        assert f"opened: case {case.id}" in " ".join(shown)


async def test_an_analyst_is_not_offered_the_parked_list(app_as, service, clock):
    park_three(service, clock)
    app = app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("7")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)  # the key does nothing for an analyst
        await pilot.press("question_mark")
        await settle(pilot)
        assert "Parked" not in help_text(app)


async def test_the_help_and_palette_name_the_parked_list_for_leads(app_as, service, clock):
    app = app_as("sam")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert "Show parked mail: machine mail held with its reason" in help_text(app)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("7")
        await settle(pilot)
        assert "No parked mail." in screen_text(app)
        await pilot.press("question_mark")
        await settle(pilot)
        assert "Release the selected message" in help_text(app)

    from deskconsole.tui.commands import DeskCommands

    app = app_as("maria")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        provider = DeskCommands(app.screen)
        titles = [entry.label for entry in provider._offered()]
        assert "Parked" in titles
    app = app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "Parked" not in [entry.label for entry in DeskCommands(app.screen)._offered()]
