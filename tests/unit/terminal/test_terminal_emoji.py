"""Emoji and widths (issue 17, item 4): one width function for the model and the renderer;
skin-tone modifiers, U+FE0F, ZWJ sequences and flags are one glyph of the model's width."""

from __future__ import annotations

import pytest
from rich.cells import cell_len

from caged_tui.widgets.terminal.cells import grapheme_width
from caged_tui.widgets.terminal.render import RowRenderer
from caged_tui.widgets.terminal.screen import TerminalScreen
from caged_tui.widgets.terminal.stream import TerminalStream

GRAPHEMES = {
    "thumbs up, medium skin": "\U0001f44d\U0001f3fd",
    "heavy check mark + VS16": "\u2714\ufe0f",
    "red heart + VS16": "\u2764\ufe0f",
    "family (ZWJ)": "\U0001f468\u200d\U0001f469\u200d\U0001f467",
    "flag": "\U0001f1eb\U0001f1f7",
    "keycap": "#\ufe0f\u20e3",
    "CJK": "\u4e2d",
}


def screen_after(text: str, columns: int = 12) -> TerminalScreen:
    screen = TerminalScreen(columns, 2)
    TerminalStream(screen).feed(text.encode())
    return screen


@pytest.mark.parametrize("grapheme", GRAPHEMES.values(), ids=GRAPHEMES.keys())
def test_a_grapheme_is_one_cell_of_its_width_in_the_model(grapheme: str) -> None:
    screen = screen_after(grapheme + "|x")
    line = screen.line(0)
    assert line is not None
    assert line[0].data == grapheme
    assert line[1].data == ""  # the wide glyph's second column
    assert line[2].data == "|"
    assert (screen.cursor.x, grapheme_width(grapheme)) == (4, 2)


@pytest.mark.parametrize("grapheme", GRAPHEMES.values(), ids=GRAPHEMES.keys())
def test_the_renderer_draws_it_whole_at_the_models_width(grapheme: str) -> None:
    """The defect: 👍🏽 put '|' two columns late, ✔️ lost its VS16, families split."""
    screen = screen_after(grapheme + "|x")
    strip = RowRenderer().render_row(screen.line(0), screen.columns, screen.columns)
    assert strip.text.startswith(grapheme + "|x")
    assert strip.cell_length == screen.columns
    # Rich (and so Textual) puts '|' where the model has it.
    text = strip.text
    assert cell_len(text[: text.index("|")]) == 2


def test_a_modifier_after_text_is_its_own_glyph() -> None:
    screen = screen_after("x\U0001f3fd|")
    assert screen.display[0].startswith("x\U0001f3fd|")
    assert screen.cursor.x == 4


def test_vs16_at_the_last_column_stays_narrow() -> None:
    """No column left for the wide form: the model keeps one column, the renderer draws the
    base character in it."""
    screen = screen_after("0123456789a\u2714\ufe0f", columns=12)
    strip = RowRenderer().render_row(screen.line(0), 12, 12)
    assert strip.cell_length == 12
    assert strip.text == "0123456789a\u2714"


def test_a_combining_accent_joins_its_letter() -> None:
    screen = screen_after("e\u0301|")
    assert screen.display[0].startswith("\u00e9|")
    assert screen.cursor.x == 2
