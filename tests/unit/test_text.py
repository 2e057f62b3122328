"""domain/text.py: the one definition of untrusted control characters, shown or removed."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from deskconsole import cli
from deskconsole.domain import templates
from deskconsole.domain.text import CONTROLS, visible, without_controls
from deskconsole.tui.text import clean

HOSTILE = "a\x1b[31mb\x00c\x7f\x9b\u202ed\u2066e\u2028f\tg\r\nh\ri"
# Any text, with the characters that matter over-represented.
texts = st.text(alphabet=st.one_of(st.characters(), st.sampled_from("\x1b\x00\t\n\r\x7f\x9b\u202e\u2069\u2028")))


def test_every_control_character_is_shown_as_an_escape():
    assert visible(HOSTILE) == "a\\x1b[31mb\\x00c\\x7f\\x9b\\u202ed\\u2066e\\u2028f\tg\nh\\x0di"
    assert visible(HOSTILE, lines=False) == (
        "a\\x1b[31mb\\x00c\\x7f\\x9b\\u202ed\\u2066e\\u2028f\\x09g\\x0d\\x0ah\\x0di")
    assert visible(None) == ""


def test_mail_text_drops_them_and_keeps_its_lines():
    assert without_controls(HOSTILE) == "a[31mbcdef\tg\nh\ni"
    assert without_controls(None) is None
    assert templates.clean(HOSTILE) == without_controls(HOSTILE)  # delivery uses this one


@given(texts)
def test_nothing_shown_or_sent_carries_a_control_character(text):
    import re

    raw = re.compile(f"[{CONTROLS}]")
    assert not raw.search(visible(text)) and not raw.search(visible(text, lines=False))
    assert "\n" not in visible(text, lines=False) and "\t" not in visible(text, lines=False)
    assert not raw.search(without_controls(text))
    assert not raw.search(clean(text)) and "\n" not in clean(text, single_line=True)


@given(texts)
def test_the_command_line_cleaners_are_these(text):
    """cli.py keeps its own copies until it is split: they must say the same
    (cli.safe is visible(lines=False), cli.safe_block is visible())."""
    assert cli.safe(text) == visible(text, lines=False)
    assert cli.safe_block(text) == visible(text)
