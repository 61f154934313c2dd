"""The flood fast path (``TerminalScreen.draw_lines``) must be invisible.

Every case is fed twice — once as it is, once with the fast path switched off — and the
two screens must agree cell for cell, history row for history row, cursor and all.
"""

from __future__ import annotations

import random

import pytest

from caged_tui.widgets.terminal.screen import TerminalScreen
from caged_tui.widgets.terminal.stream import TerminalStream


def _state(screen: TerminalScreen) -> tuple[object, ...]:
    def row_cells(row: object) -> list[object]:
        # A row that was never written reads as all default cells, however it is stored.
        if row is None:
            return [None] * screen.columns
        return [row.get(x) for x in range(screen.columns)]  # type: ignore[attr-defined]

    rows = [row_cells(screen.line(y)) for y in range(screen.lines)]
    history = [row_cells(row) for row in screen.history]
    return (
        rows,
        history,
        screen.history_pushed,
        screen.cursor.x,
        screen.cursor.y,
        screen.display,
        sorted(screen.dirty),
    )


def _feed(data: bytes, *, fast: bool, columns: int = 20, lines: int = 5) -> TerminalScreen:
    screen = TerminalScreen(columns, lines, scrollback=50)
    if not fast:
        screen.draw_lines = lambda texts: 0  # type: ignore[method-assign]
    stream = TerminalStream(screen)
    for start in range(0, len(data), 37):  # odd slices: runs split across feeds
        stream.feed(data[start : start + 37])
    return screen


CASES = {
    "yes": b"y\r\n" * 200,
    "prompt then flood": b"$ yes\r\n" + b"y\r\n" * 30 + b"^C\r\n$ ",
    "coloured lines": b"\x1b[31m" + b"red line\r\n" * 12 + b"\x1b[0mplain\r\n" * 9,
    "long lines wrap": (b"short\r\n" * 6 + b"x" * 45 + b"\r\n") * 4,
    "exactly a row wide": b"ok\r\n" * 7 + b"y" * 20 + b"\r\n" + b"ok\r\n" * 7,
    "bare LF": b"a\nb\nc\n" * 10 + b"d\r\n" * 10,
    "margins": b"\x1b[2;4r" + b"m\r\n" * 20 + b"\x1b[r" + b"n\r\n" * 20,
    "insert mode": b"\x1b[4h" + b"i\r\n" * 20 + b"\x1b[4l",
    "dec graphics": b"\x1b(0" + b"qqq\r\n" * 12 + b"\x1b(B" + b"qqq\r\n" * 12,
    "alternate screen": b"p\r\n" * 9 + b"\x1b[?1049h" + b"alt\r\n" * 20 + b"\x1b[?1049l",
    "cursor not at bottom": b"\x1b[H" + b"top\r\n" * 3 + b"\x1b[2J\x1b[H" + b"z\r\n" * 9,
    "mid-line start": b"abc" + b"\r\n" + b"q\r\n" * 10,
    "utf-8 line": "é\r\n".encode() * 10 + b"a\r\n" * 10,
    "ls colours": b"".join(b"-rw-r--r-- 1 \x1b[01;34mdir%02d\x1b[0m x\r\n" % n for n in range(30)),
    "colour left on": b"\x1b[31mred\r\n" * 5 + b"\x1b[1;4mmore\x1b[m\r\n" * 5,
    "coloured line too long": b"\x1b[32m" + b"g" * 19 + b"\x1b[0m\r\n" + b"ok\x1b[7m!\r\n" * 8,
    "coloured in alternate screen": b"\x1b[?1049h" + b"\x1b[33my\x1b[0m\r\n" * 12,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_fast_path_matches_the_general_path(name: str) -> None:
    data = CASES[name]
    assert _state(_feed(data, fast=True)) == _state(_feed(data, fast=False))


def test_fast_path_matches_on_random_floods() -> None:
    rng = random.Random(7)
    pieces = [b"y\r\n", b"\r\n", b"word " * 5 + b"\r\n", b"\x1b[32m", b"\x1b[0m", b"\n", b"\t|\r\n"]
    pieces += [b"\x1b[01;34m", b"\x1b[38;5;208m", b"\x1b[7mrev\x1b[27m", b"\x1b[m", b"x" * 19]
    for _ in range(40):
        data = b"".join(rng.choice(pieces) for _ in range(rng.randint(1, 120)))
        assert _state(_feed(data, fast=True)) == _state(_feed(data, fast=False)), data


def test_fast_path_is_taken_for_a_flood() -> None:
    screen = TerminalScreen(20, 5, scrollback=50)
    calls: list[int] = []
    original = screen.draw_lines

    def counting(texts: list[str]) -> int:
        drawn = original(texts)
        calls.append(drawn)
        return drawn

    screen.draw_lines = counting  # type: ignore[method-assign]
    stream = TerminalStream(screen)
    stream.feed(b"y\r\n" * 10 + b"y\r\n" * 200)
    assert sum(calls) > 150


def test_a_coloured_flood_equals_plain_pyte_cell_for_cell() -> None:
    """The fast path's result on ``ls --color``-like output is pyte's (no pyte defect is
    involved in such output, so pyte is the reference here)."""
    import pyte

    rng = random.Random(11)
    colours = [b"", b"\x1b[01;34m", b"\x1b[01;32m", b"\x1b[01;36m", b"\x1b[31m"]
    lines = []
    for n in range(300):
        colour = rng.choice(colours)
        name = b"file_%04d.%s" % (n, rng.choice([b"py", b"txt"]))
        end = b"\x1b[0m" if colour else b""
        lines.append(b"-rw-r--r-- %d agent %8d %s%s%s\r\n" % (n % 9, n * 7919, colour, name, end))
    data = b"".join(lines)
    ours = _feed(data, fast=True, columns=60, lines=10)
    screen = pyte.Screen(60, 10)
    pyte.ByteStream(screen).feed(data)
    fields = ("data", "fg", "bg", "bold", "italics", "underscore", "strikethrough", "reverse")
    for y in range(10):
        for x in range(60):
            mine, theirs = ours.buffer[y][x], screen.buffer[y][x]
            assert [getattr(mine, f) for f in fields] == [getattr(theirs, f) for f in fields]
    assert (ours.cursor.x, ours.cursor.y) == (screen.cursor.x, screen.cursor.y)
