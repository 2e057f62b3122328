"""The Outbox pane: messages newest first, filtered by state and text, failures shown literally, delivery on or off.

Failures come from a real SMTP server on 127.0.0.1 (aiosmtpd) that answers the
first message with a permanent 550; the desk's messages to agents without an
e-mail address fail without reaching the server.
"""

from __future__ import annotations

from datetime import UTC

from smtpbox import REFUSAL, deliverer
from tuidesk import screen_text, settle

from deskconsole.tui.app import make_app
from deskconsole.tui.screens.case import CaseScreen
from deskconsole.tui.screens.outbox import OutboxScreen
from deskconsole.tui.screens.outbox_message import MessageScreen

SIZE = (120, 40)


async def open_outbox(pilot) -> OutboxScreen:
    await settle(pilot)
    await pilot.press("6")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, OutboxScreen)
    return screen


def notes(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_lists_the_desks_messages_newest_first_with_delivery_off(app_as, service):
    app = app_as("sam")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_outbox(pilot)
        expected = [o.id for o in service.list_outbox(newest_first=True, limit=100)]
        assert len(expected) > 20
        assert screen.table.keys() == [str(i) for i in expected]
        text = screen_text(app)
        assert "delivery off: set DESKCONSOLE_SMTP_URL; messages wait here" in text
        assert "6 Outbox" in text
        newest = service.list_outbox(newest_first=True, limit=1)[0]
        cells = screen.table.cells(str(newest.id))
        assert cells["state"].plain == "queued" and "dim" in str(cells["state"].style)
        assert cells["case"].plain == str(newest.case)
        # customer text in the recipient stays literal
        assert any("help@evil[i]corp[/i]" in (screen.table.cells(k)["to"].plain) for k in screen.table.keys())


async def test_state_filter_text_filter_and_failures_shown_literally(app_as, service, smtp):
    results = deliverer(service, smtp.url).run_once(limit=14)
    refused = next(r for r in results if r.error == REFUSAL)
    assert refused.state == "failed"
    states = {o.id: o.state for o in service.list_outbox()}
    assert {"queued", "sent", "failed"} <= set(states.values())

    app = app_as("sam")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_outbox(pilot)
        assert len(screen.shown) == len(states)

        row = screen.table.cells(str(refused.outbox))
        assert row["state"].plain == "failed" and "red" in str(row["state"].style)
        assert row["error"].plain.startswith("550 5.7.1 [bold]Refused[/b")  # literal, cut to the column
        assert row["attempts"].plain == "1"
        sent = next(i for i, s in states.items() if s == "sent")
        assert str(screen.table.cells(str(sent))["state"].style) == "green"

        for key, wanted in (("queued", "queued"), ("failed", "failed"), ("sent", "sent")):
            await pilot.press("f")
            await settle(pilot)
            assert screen.state == key
            assert {int(k) for k in screen.shown} == {i for i, s in states.items() if s == wanted}
        await pilot.press("f")  # back to all
        await settle(pilot)
        assert screen.state is None and len(screen.shown) == len(states)

        await pilot.press("f", "f")  # failed only: the server's answer in full in the detail line
        await settle(pilot)
        screen.table.move_cursor(row=screen.table.get_row_index(str(refused.outbox)))
        await pilot.pause()
        assert REFUSAL in screen_text(app)

        await pilot.press("f", "f")  # all again
        await settle(pilot)
        await pilot.press("slash", *"customer1", "enter")
        await settle(pilot)
        assert {screen.shown[k].case for k in screen.shown} == {refused.case}
        await pilot.press("escape")  # clears the filter
        await settle(pilot)
        assert len(screen.shown) == len(states)


async def test_enter_shows_the_message_as_sent_and_o_opens_its_case(app_as, service):
    app = app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_outbox(pilot)
        target = service.list_outbox(newest_first=True, limit=3)[2]
        await pilot.press("j", "j")
        await settle(pilot)
        assert screen.table.selected_key == str(target.id)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, MessageScreen)
        text = screen_text(app)
        assert f"Message #{target.id}" in text
        assert f"To      {target.to}" in text and target.subject in text
        assert target.body.splitlines()[0][:60] in text  # the body, as it will be or was sent
        await pilot.press("escape")  # back to the list
        await settle(pilot)
        assert isinstance(app.screen, OutboxScreen)
        await pilot.press("enter", "o")  # the message, then its case
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)
        assert app.case_id == target.case
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, OutboxScreen)


async def test_pages_through_the_outbox_by_id(app_as, service, monkeypatch):
    import deskconsole.tui.screens.outbox as outbox

    monkeypatch.setattr(outbox, "PAGE", 10)
    newest = [o.id for o in service.list_outbox(newest_first=True, limit=30)]
    app = app_as("sam")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_outbox(pilot)
        assert screen.table.keys() == [str(i) for i in newest[:10]]
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert screen.table.keys() == [str(i) for i in newest[10:20]]
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert screen.table.keys() == [str(i) for i in newest[:10]]


async def test_background_delivery_sends_and_reports_a_permanent_failure(service, clock, smtp):
    app = make_app(service, "sam", clock=clock, ticker=False, tz=UTC, delivery=True,
                   environ={"DESKCONSOLE_SMTP_URL": smtp.url})
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await open_outbox(pilot)
        assert f"delivery on: {smtp.url}" in screen_text(app)
        app.deliver_now()  # the background worker, once (the timer would start it a moment later)
        await settle(pilot)
        failed = [n for n in notes(app) if REFUSAL in n]
        assert failed, notes(app)
        rows = {o.id: o for o in service.list_outbox()}
        first = min(rows)
        assert rows[first].state == "failed" and rows[first].last_error == REFUSAL
        assert screen.table.cells(str(first))["state"].plain == "failed"
        assert sum(o.state == "sent" for o in rows.values()) >= 10
        assert smtp.accepted
        assert "last pass 09:00:00:" in screen_text(app)
        # the next pass is armed, not running: two passes never overlap
        assert app._delivery_timer is not None and not app._delivering()


async def test_a_malformed_smtp_url_turns_delivery_off_with_a_notice(service, clock):
    app = make_app(service, "sam", clock=clock, ticker=False, tz=UTC, delivery=True,
                   environ={"DESKCONSOLE_SMTP_URL": "http://mail.example"})
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_outbox(pilot)
        assert app.deliverer is None
        assert any("Delivery is off" in n for n in notes(app))
        assert "delivery off: DESKCONSOLE_SMTP_URL is not usable" in screen_text(app)


async def test_the_outbox_is_in_help_and_the_palette(app_as):
    app = app_as("sam")
    async with app.run_test(size=SIZE) as pilot:
        await open_outbox(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        text = screen_text(app)
        assert "Keys — Outbox" in text and "Next state: all, queued, failed, sent" in text
        await pilot.press("escape")
        await settle(pilot)
        from deskconsole.tui.commands import DeskCommands

        provider = DeskCommands(app.screen)
        titles = [entry.label for entry in provider._offered()]
        assert "State" in titles and "Outbox" in titles and "Outbox: failed" in titles


async def test_an_unreachable_mail_server_keeps_messages_queued_and_hides_the_password(service, clock):
    from smtpbox import free_port

    url = f"smtp://desk:s3cret@127.0.0.1:{free_port()}"  # nobody listens there
    app = make_app(service, "sam", clock=clock, ticker=False, tz=UTC, delivery=True,
                   environ={"DESKCONSOLE_SMTP_URL": url})
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_outbox(pilot)
        app.deliver_now()
        await settle(pilot)
        text = screen_text(app)
        assert "delivery on: smtp://desk:***@127.0.0.1:" in text and "mail server unreachable" in text
        assert "s3cret" not in text and not any("s3cret" in n for n in notes(app))
        assert sum("cannot be reached" in n for n in notes(app)) == 1
        assert {o.state for o in service.list_outbox()} == {"queued"}
        app.deliver_now()  # still down: no second warning
        await settle(pilot)
        assert sum("cannot be reached" in n for n in notes(app)) == 1
