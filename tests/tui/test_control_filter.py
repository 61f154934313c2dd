"""The app's last guard: a control character that a widget forgot to escape never
reaches the host terminal (an OSC 52 in a name would set the host's clipboard)."""

from __future__ import annotations

from fake_platform import fake_app
from rich.segment import ControlType, Segment
from rich.style import Style
from rich.text import Text
from textual.color import Color
from textual.geometry import Region
from textual.widgets import Static

from caged_tui.control_filter import ControlFilter

HOSTILE = "name\x1b]52;c;aGk=\x07 \x1bc\x9b2J end"
BLACK = Color(0, 0, 0)


def test_control_characters_are_dropped_and_widths_kept() -> None:
    bold = Style(bold=True)
    out = ControlFilter().apply([Segment(HOSTILE, bold)], BLACK)
    assert [(s.text, s.style) for s in out] == [("name]52;c;aGk= c2J end", bold)]
    assert sum(s.cell_length for s in out) == Segment(HOSTILE).cell_length


def test_clean_lines_joiners_and_textuals_own_controls_are_untouched() -> None:
    family = "👨\u200d👩\u200d👧 é 中"
    clean = [Segment(family), Segment("plain")]
    assert ControlFilter().apply(clean, BLACK) is clean
    # A control segment: Textual's own sequence.
    cursor = Segment("\x1b[2J", None, [(ControlType.CLEAR,)])
    mixed = [cursor, Segment("a\x1bb")]
    assert [s.text for s in ControlFilter().apply(mixed, BLACK)] == ["\x1b[2J", "ab"]


async def test_a_widget_that_paints_raw_text_reaches_the_terminal_without_controls() -> None:
    app = fake_app()
    async with app.run_test(size=(80, 10)) as pilot:
        raw = Static(Text(HOSTILE))  # as a widget that forgot to escape would
        await app.screen.mount(raw)
        await pilot.pause()
        strips = raw.render_lines(Region(0, 0, raw.size.width, raw.size.height))
        painted = "".join(segment.text for strip in strips for segment in strip)
        assert "name" in painted and "end" in painted
        assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in painted)
