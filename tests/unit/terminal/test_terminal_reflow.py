"""Reflow on resize, like tmux (issue 17, item 3): auto-wrapped lines are rewrapped at the new
width in the screen and the scrollback; nothing is lost."""

from __future__ import annotations

import random

from caged_tui.widgets.terminal.screen import TerminalScreen, row_text
from caged_tui.widgets.terminal.stream import TerminalStream


class Term:
    def __init__(self, columns: int, lines: int, scrollback: int = 1000) -> None:
        self.screen = TerminalScreen(columns, lines, scrollback=scrollback)
        self.stream = TerminalStream(self.screen)

    def feed(self, text: str) -> None:
        self.stream.feed(text.replace("\n", "\r\n").encode())

    def rows(self) -> list[str]:
        """Scrollback then screen, as text, trailing blank rows left out."""
        screen = self.screen
        rows = [row_text(row, screen.columns).rstrip() for row in screen.history]
        rows += [line.rstrip() for line in screen.display]
        while rows and not rows[-1]:
            rows.pop()
        return rows

    def under_cursor(self) -> str:
        cursor = self.screen.cursor
        line = self.screen.line(cursor.y)
        return " " if line is None else line[cursor.x].data


def test_a_long_line_survives_narrowing_and_widening() -> None:
    """The issue's repro: 150 A's, narrow to 80, widen to 120 — tmux shows all 150."""
    term = Term(120, 10)
    term.feed("$ " + "A" * 150 + "\n$ ")
    term.screen.resize(10, 80)
    assert term.rows() == ["$ " + "A" * 78, "A" * 72, "$"]
    term.screen.resize(10, 120)
    assert term.rows() == ["$ " + "A" * 118, "A" * 32, "$"]
    assert (term.screen.cursor.y, term.screen.cursor.x) == (2, 2)


def test_pyte_alone_loses_the_cut_text() -> None:
    """The defect: without reflow the columns cut by narrowing are gone."""
    import pyte

    screen = pyte.Screen(120, 10)
    pyte.Stream(screen).feed("A" * 150)
    screen.resize(10, 80)
    screen.resize(10, 120)
    assert "".join(screen.display).count("A") < 150


def test_the_scrollback_is_rewrapped_too() -> None:
    term = Term(40, 4)
    lines = [f"{n:03d} " + "x" * (n % 70) for n in range(60)]
    term.feed("\n".join(lines) + "\n")
    term.screen.resize(4, 25)
    term.screen.resize(4, 100)
    assert term.rows() == [line.rstrip() for line in lines]


def test_the_cursor_stays_on_its_character() -> None:
    term = Term(30, 6)
    term.feed("0123456789" * 5)
    term.feed("\x1b[1;15H")  # row 1 (0-based 0), column 15: the '4' of the first run
    assert term.under_cursor() == "4"
    term.screen.resize(6, 12)
    # tmux loses the cursor here (it shows it at 0,0); this keeps it on its character.
    assert term.under_cursor() == "4"
    assert term.screen.cursor.x == 2
    term.screen.resize(6, 70)
    assert term.under_cursor() == "4"
    assert term.rows() == ["0123456789" * 5]


def test_a_wide_character_is_never_cut_in_half() -> None:
    term = Term(21, 5)
    term.feed("中" * 15)
    term.screen.resize(5, 9)
    assert term.rows() == ["中" * 4] * 3 + ["中" * 3]
    term.screen.resize(5, 30)
    assert term.rows() == ["中" * 15]


def test_lines_that_were_not_wrapped_stay_apart() -> None:
    term = Term(20, 6)
    term.feed("a" * 20 + "\n" + "b" * 5 + "\n")
    term.screen.resize(6, 40)
    assert term.rows() == ["a" * 20, "b" * 5]


def test_shrinking_the_height_keeps_rows_below_the_cursor() -> None:
    """Blank rows below the cursor go first, then rows above it go to the scrollback."""
    term = Term(20, 8)
    term.feed("one\ntwo\nthree\nfour\x1b[2;1H")  # the cursor on "two"
    term.screen.resize(3, 20)
    assert term.rows() == ["one", "two", "three", "four"]
    assert [line.rstrip() for line in term.screen.display] == ["two", "three", "four"]
    assert term.under_cursor() == "t"


def test_the_primary_screen_is_reflowed_under_the_alternate_one() -> None:
    term = Term(30, 5)
    term.feed("$ " + "B" * 40 + "\n$ ")
    term.feed("\x1b[?1049h" + "vim")
    term.screen.resize(5, 60)
    term.feed("\x1b[?1049l")
    assert term.rows() == ["$ " + "B" * 40, "$"]
    assert (term.screen.cursor.y, term.screen.cursor.x) == (1, 2)


def test_reflowing_equals_printing_at_the_new_width() -> None:
    """Random text printed at one width and resized is what printing at the other gives."""
    rng = random.Random(17)
    alphabet = "abc de中文é"
    text = "\n".join(
        "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 90))) for _ in range(80)
    )
    for first, second in ((50, 23), (23, 61), (61, 50)):
        resized = Term(first, 8)
        resized.feed(text)
        resized.screen.resize(8, second)
        direct = Term(second, 8)
        direct.feed(text)
        assert resized.rows() == direct.rows(), (first, second)
