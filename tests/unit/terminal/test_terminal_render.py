"""RowRenderer: colours, attributes, wide characters, the cursor, run-length segments."""

from __future__ import annotations

from rich.color import Color
from rich.style import Style
from textual.strip import Strip

from caged_tui.widgets.terminal.cells import Cell
from caged_tui.widgets.terminal.render import (
    DARK_PALETTE,
    LIGHT_PALETTE,
    RowRenderer,
    parse_colour,
)
from caged_tui.widgets.terminal.screen import ANSI_NAMES, TerminalScreen
from caged_tui.widgets.terminal.stream import TerminalStream


def render(data: str, *, columns: int = 12, width: int | None = None, cursor_x: int = -1) -> Strip:
    screen = TerminalScreen(columns, 2)
    TerminalStream(screen).feed(data.encode())
    renderer = RowRenderer(Style(color="white", bgcolor="black"))
    return renderer.render_row(screen.line(0), columns, width or columns, cursor_x)


def styles_of(strip: Strip) -> list[tuple[str, Style | None]]:
    return [(segment.text, segment.style) for segment in strip]


def test_plain_row_is_one_segment_with_the_base_style() -> None:
    strip = render("hello")
    assert strip.text == "hello       "
    assert len(list(strip)) == 1
    assert strip.cell_length == 12


def test_runs_split_only_where_attributes_change() -> None:
    strip = render("ab\x1b[31mcd\x1b[0mef")
    texts = [text for text, _ in styles_of(strip)]
    assert texts == ["ab", "cd", "ef      "]


def test_ansi_colours_come_from_the_terminal_palette() -> None:
    strip = render("\x1b[31mr\x1b[94mb")
    (_, red), (_, blue) = styles_of(strip)[:2]
    assert red is not None and red.color == DARK_PALETTE[1]
    assert blue is not None and blue.color == DARK_PALETTE[12]


def test_256_and_truecolor() -> None:
    strip = render("\x1b[38;5;196ma\x1b[48;2;1;2;3mb")
    (_, a), (_, b) = styles_of(strip)[:2]
    assert a is not None and a.color is not None and a.color.triplet == (255, 0, 0)
    assert b is not None and b.bgcolor is not None and b.bgcolor.triplet == (1, 2, 3)


def test_default_colours_take_the_base_style() -> None:
    (_, style), *_ = styles_of(render("x"))
    assert style is not None
    assert style.color == Color.parse("white") and style.bgcolor == Color.parse("black")


def test_text_attributes() -> None:
    strip = render("\x1b[1;2;3;4;7;9;5mx")
    (_, style), *_ = styles_of(strip)
    assert style is not None
    assert (style.bold, style.dim, style.italic, style.underline, style.reverse) == (True,) * 5
    assert style.strike and style.blink


def test_hidden_text_uses_the_background_colour() -> None:
    (_, style), *_ = styles_of(render("\x1b[8;41mx"))
    assert style is not None and style.color == style.bgcolor == DARK_PALETTE[1]


def test_styles_are_cached_per_attribute_tuple() -> None:
    renderer = RowRenderer()
    key = Cell(" ", fg="red", bold=True)[1:]
    assert renderer.style(key) is renderer.style(key)


def test_wide_characters_take_two_columns_once() -> None:
    strip = render("\u4e00\u4e01x", columns=6)
    assert strip.text == "\u4e00\u4e01x "
    assert strip.cell_length == 6


def test_wide_character_cut_at_the_edge_becomes_a_space() -> None:
    screen = TerminalScreen(4, 1)
    stream = TerminalStream(screen)
    stream.feed(b"\x1b[?7l")  # No autowrap: the wide char lands in the last column.
    stream.feed("abc\u4e00".encode())
    strip = RowRenderer().render_row(screen.line(0), 4, 4)
    assert strip.cell_length == 4
    assert strip.text == "abc "


def test_overwritten_half_of_a_wide_character() -> None:
    strip = render("\u4e00\x1b[1Gx", columns=4)
    assert strip.text == "x   "
    assert strip.cell_length == 4


def test_emoji_sequences_never_overflow_the_row() -> None:
    strip = render("\u2764\ufe0f|\U0001f468\u200d\U0001f469|", columns=8)
    assert strip.cell_length == 8


def test_cursor_is_drawn_reversed() -> None:
    segments = styles_of(render("abc", cursor_x=1))
    assert [text for text, _ in segments] == ["a", "b", "c         "]
    cursor_style = segments[1][1]
    assert cursor_style is not None and cursor_style.reverse is True


def test_cursor_on_reversed_text_unreverses_it() -> None:
    segments = styles_of(render("\x1b[7mabc", cursor_x=0))
    assert segments[0][1] is not None and segments[0][1].reverse is False


def test_cursor_on_a_blank_row() -> None:
    strip = RowRenderer().render_row(None, 5, 5, cursor_x=2)
    assert strip.text == "     "
    assert any(segment.style and segment.style.reverse for segment in strip)


def test_strip_is_padded_or_cropped_to_the_widget_width() -> None:
    assert render("abc", columns=4, width=6).cell_length == 6
    assert render("abcdef", columns=6, width=3).text == "abc"


def test_parse_colour() -> None:
    assert parse_colour("default") is None
    assert parse_colour("brightblack") == DARK_PALETTE[8]
    assert parse_colour("00ff00") == Color.from_rgb(0, 255, 0)
    assert parse_colour("zz") is None


def test_base_style_change_drops_cached_styles() -> None:
    renderer = RowRenderer(Style(bgcolor="black"))
    key = Cell(" ")[1:]
    before = renderer.style(key)
    assert renderer.set_base_style(Style(bgcolor="blue"))
    assert renderer.style(key) != before
    assert not renderer.set_base_style(Style(bgcolor="blue"))


def test_the_16_ansi_colours_stay_16_distinct_colours_on_dark_and_light() -> None:
    """``printf '\\e[31mN1 \\e[91mB1'`` and friends: red and bright red must not merge."""
    for background, palette in (("#1e1e1e", DARK_PALETTE), ("#fafafa", LIGHT_PALETTE)):
        renderer = RowRenderer(Style(bgcolor=background))
        colours = set()
        for name in ANSI_NAMES:
            key = Cell(" ", fg=name)[1:]
            colour = renderer.style(key).color
            assert colour is not None and colour.triplet is not None
            colours.add(colour.triplet)
        assert len(colours) == 16
        assert renderer.style(Cell(" ", fg="red")[1:]).color == palette[1]
    # 256-colour and truecolor values are drawn exactly.
    assert parse_colour("5f87d7") == Color.from_rgb(0x5F, 0x87, 0xD7)
