"""Asking the customer: the question a move to pending/customer_input sends, and the reminder
that quotes it seven days later (LIFECYCLE.md, Timers).

The texts of both are their templates' (domain/templates.py): in the case's language when it is
sent, in English as the outbox row keeps it (`row_text`). How a question was asked outside the
desk is worded here in English (HOW_WORDS): the console and the English messages use the same words.
"""

from __future__ import annotations

# How a question asked outside the desk is recorded (the command line's --asked-outside choices;
# any other short text is kept as written).
ASKED_OUTSIDE = ("phone", "email", "chat", "in_person")
# How a customer's confirmation of the resolution reached the agent who logs it.
CONFIRMED_HOW = ("phone", "email", "chat")
# a closed case a customer wrote to: someone should see it (its follow-up case, a clone, answers it)
CLOSED_REPLY_ATTENTION = "the customer replied after close"
# How something reached the desk outside it, in words (a question asked, a confirmation logged).
HOW_WORDS = {"phone": "by phone", "email": "by e-mail", "chat": "in a chat", "in_person": "in person"}
CONFIRMED_WORDS = {how: HOW_WORDS[how] for how in CONFIRMED_HOW}


def awaits_follow_up(status: str, attention: str | None) -> bool:
    """A closed case its customer wrote to since it closed: a follow-up case answers it."""
    return status == "closed" and attention == CLOSED_REPLY_ATTENTION


def asked_words(how: str) -> str:
    """How a question was asked outside the desk, as words: phone -> "by phone"; other text in brackets."""
    return HOW_WORDS.get(how, f"({how})")
