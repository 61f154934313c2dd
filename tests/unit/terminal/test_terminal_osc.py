"""Issue 17, item 5 (and 8): OSC 52 and OSC 8 reach the widget, double/curly underline and
overline, DEC special graphics complete."""

from __future__ import annotations

import base64

from caged_tui.widgets.terminal.cells import Cell
from caged_tui.widgets.terminal.render import RowRenderer
from caged_tui.widgets.terminal.screen import TerminalScreen
from caged_tui.widgets.terminal.stream import TerminalStream


def fed(data: str, columns: int = 40) -> TerminalScreen:
    screen = TerminalScreen(columns, 3)
    TerminalStream(screen).feed(data.encode())
    return screen


def cell(screen: TerminalScreen, x: int, y: int = 0) -> Cell:
    line = screen.line(y)
    assert line is not None
    found = line[x]
    assert isinstance(found, Cell)
    return found


def test_dec_special_graphics_as_xterm_draws_them() -> None:
    """The defect: ``h`` was drawn as ░ instead of ␤."""
    screen = fed("\x1b(0" + "".join(map(chr, range(0x60, 0x7F))) + "\x1b(B", columns=40)
    assert screen.display[0].rstrip() == "◆▒␉␌␍␊°±␤␋┘┐┌└┼⎺⎻─⎼⎽├┤┴┬│≤≥π≠£·"


def test_underline_styles_and_overline() -> None:
    screen = fed("a\x1b[4:3mb\x1b[4:2mc\x1b[24;21md\x1b[4me\x1b[0;53mf\x1b[55mg\x1b[4:0mh")
    kinds = [
        (cell(screen, x).underscore, cell(screen, x).underline2, cell(screen, x).overline)
        for x in range(8)
    ]
    assert kinds == [
        (False, False, False),  # a
        (True, False, False),  # b: curly, drawn straight (Textual has no curly underline)
        (False, True, False),  # c: double
        (False, True, False),  # d
        (True, False, False),  # e
        (False, False, True),  # f: overline
        (False, False, False),  # g
        (False, False, False),  # h
    ]
    renderer = RowRenderer()
    assert renderer.style(cell(screen, 2)[1:]).underline2
    assert renderer.style(cell(screen, 5)[1:]).overline


def test_osc_8_links_the_text_until_it_ends() -> None:
    screen = fed("\x1b]8;id=1;https://example.com/x\x1b\\li\x1b[1mnk\x1b[0m\x1b]8;;\x1b\\ plain")
    assert [cell(screen, x).link for x in range(4)] == ["https://example.com/x"] * 4
    assert cell(screen, 5).link == ""
    style = RowRenderer().style(cell(screen, 0)[1:])
    assert style.link == "https://example.com/x"


def test_osc_52_hands_the_text_to_the_owner() -> None:
    screen = TerminalScreen(20, 3)
    copied: list[str] = []
    screen.on_clipboard = copied.append
    stream = TerminalStream(screen)
    big = "x" * 100_000
    for text in ("hello ✓", big):
        payload = base64.b64encode(text.encode()).decode()
        stream.feed(f"\x1b]52;c;{payload}\x07".encode())
    stream.feed(b"\x1b]52;c;?\x07")  # a read: never answered
    assert copied == ["hello ✓", big]
    assert screen.display[0].strip() == ""


def test_osc_52_without_an_owner_is_ignored() -> None:
    screen = fed("\x1b]52;c;aGk=\x07after")
    assert screen.display[0].startswith("after")
