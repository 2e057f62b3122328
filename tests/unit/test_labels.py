"""One label for every value of the domain's vocabularies (domain/labels.py)."""

from __future__ import annotations

from deskconsole.domain import labels
from deskconsole.domain.lifecycle import EscalationState, Priority, Role, Status, SubStatus
from deskconsole.domain.timers import TimerKind


def test_every_value_of_every_vocabulary_has_a_label():
    for table, enum in [
        (labels.STATUS, Status), (labels.SUB_STATUS, SubStatus), (labels.SUB_STATUS_SHORT, SubStatus),
        (labels.PRIORITY, Priority), (labels.ROLE, Role), (labels.TIMER_KIND, TimerKind),
        (labels.TIMER_KIND_SHORT, TimerKind), (labels.TIMER_KIND_NEXT, TimerKind),
        (labels.ESCALATION_BADGE, EscalationState),
    ]:
        assert set(table) == set(enum), f"{enum.__name__}: labels for exactly its values"
        assert all(text and text == text.strip() and "_" not in text for text in table.values())


def test_labels_read_as_the_console_shows_them():
    assert labels.status_label("pending", "customer_input") == "pending/customer"
    assert labels.status_label(Status.AWAITING_CONFIRMATION) == "awaiting confirm"
    assert labels.status_label("in_progress") == "in progress"
    assert labels.label(labels.TIMER_KIND_NEXT, "auto_close") == "auto-close"
    assert labels.label(labels.TIMER_KIND_SHORT, TimerKind.FOLLOWUP) == "follow-up"
    assert labels.label(labels.SUB_STATUS, "scheduled_service") == "scheduled service"


def test_a_value_without_a_label_reads_as_itself():
    assert labels.label(labels.STATUS, "on_hold") == "on hold"
    assert labels.status_label("on_hold", "vendor_x") == "on hold/vendor x"
