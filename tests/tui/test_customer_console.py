"""The customer's context in the console (tui/widgets/customer.py): `C` from a case or a queue row
shows the customer's other cases (open first), their CSAT and open escalations; enter opens one."""

from __future__ import annotations

from tuidesk import help_text, screen_text, settle, until

SIZE = (120, 40)


def _acme(service, ids) -> tuple[int, int]:
    """Two more cases of Acme's beside the VPN case: one open, one closed with a survey answered 5."""
    more, _ = service.open_case("Firewall rules lost after reboot", "Acme", product_area="network")
    done, _ = service.open_case("Certificate expired", "Acme", product_area="network")
    service.close(done.id, reason="renewed by the customer", actor="alice")
    service.answer_survey(done.id, 5, "fast")
    return more.id, done.id


async def test_from_a_case_the_customers_other_cases_open_first_and_enter_opens_one(app_as, service, ids):
    more, _done = _acme(service, ids)
    app = app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        app.open_case(ids["vpn"])
        assert await until(pilot, lambda: "VPN drops every 10 minutes" in screen_text(app))
        await settle(pilot)
        await pilot.press("C")
        assert await until(pilot, lambda: "Customer Acme" in screen_text(app))
        text = screen_text(app)
        assert "Customer Acme — 3 cases, 2 open" in text
        assert "CSAT 100% (1 answer, average 5)" in text
        assert "Open escalations case" in text and str(ids["vpn"]) in text  # the VPN case's request waits
        lines = [line for line in text.splitlines() if "Firewall rules lost" in line or "Certificate expired" in line]
        assert len(lines) == 2 and "Firewall" in lines[0]  # open first
        await pilot.press("enter")
        assert await until(pilot, lambda: app.case_id == more and "Firewall rules lost after reboot" in
                           screen_text(app).splitlines()[2])
        await pilot.press("question_mark")
        await settle(pilot)
        assert "The customer's other cases (open first)" in help_text(app)


async def test_from_the_queue_and_escape_closes_it(app_as, service, ids):
    _acme(service, ids)
    app = app_as("sam")
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: str(ids["vpn"]) in app.screen.rows)
        app.screen.table.move_cursor(row=list(app.screen.rows).index(str(ids["vpn"])))
        await pilot.press("C")
        assert await until(pilot, lambda: "Customer Acme — 3 cases, 2 open" in screen_text(app))
        await pilot.press("escape")
        await settle(pilot)
        assert "Customer Acme" not in screen_text(app) and app.current_mode == "queue"
