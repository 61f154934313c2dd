"""Screen rows → Textual ``Strip``s.

Rendering is the other hot path after parsing, so it follows the measured recipe in
``terminal-notes.md``: one segment per run of cells with equal attributes, and one rich ``Style``
per distinct attribute tuple kept in a dict (building a ``Style`` per cell is 10 times slower).

Every cell contributes exactly one column: a wide character covers its own cell and its
placeholder; a wide character without a placeholder (cut by the right edge or half overwritten)
and an orphaned placeholder render as a space. A cell's text is drawn whole, as one glyph of the
width the model gave it (:func:`.cells.grapheme_width`, wcwidth's; Rich agrees on emoji with
modifiers, U+FE0F, ZWJ sequences and flags); text Rich measures otherwise is narrowed so a row
can never overflow the widget.
"""

from __future__ import annotations

from itertools import groupby, repeat
from operator import itemgetter

from rich.cells import cell_len
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from wcwidth import wcwidth

from .cells import Cell, Line, grapheme_width
from .screen import ANSI_NAMES

_ANSI_INDEX = {name: index for index, name in enumerate(ANSI_NAMES)}
_REVERSE_ON = Style(reverse=True)
_REVERSE_OFF = Style(reverse=False)
_BLANK = Cell(" ")

#: Attribute tuple of a cell: everything but ``data``.
StyleKey = tuple[str, str, bool, bool, bool, bool, bool, bool, bool, bool, bool, bool, str]


def _hex_triplet(value: str) -> tuple[int, int, int]:
    if len(value) != 6:
        raise ValueError(value)
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


Palette = tuple[Color, ...]


def _palette(*hexes: str) -> Palette:
    return tuple(Color.from_rgb(*_hex_triplet(h)) for h in hexes)


#: The 16 ANSI colours as a terminal draws them: 16 distinct values, one set for dark
#: backgrounds and one for light ones.  (Left as ANSI, Textual maps them onto the theme's
#: few colours, and red, bright red, magenta and bright magenta come out as one.)
DARK_PALETTE = _palette(
    "000000",
    "cd3131",
    "0dbc79",
    "e5e510",
    "2472c8",
    "bc3fbc",
    "11a8cd",
    "e5e5e5",
    "666666",
    "f14c4c",
    "23d18b",
    "f5f543",
    "3b8eea",
    "d670d6",
    "29b8db",
    "ffffff",
)
LIGHT_PALETTE = _palette(
    "000000",
    "cd3131",
    "00a000",
    "949800",
    "0451a5",
    "bc05bc",
    "0598bc",
    "555555",
    "767676",
    "f14c4c",
    "14ce14",
    "b5ba00",
    "3b8eea",
    "d670d6",
    "29b8db",
    "a5a5a5",
)


def palette_for(background: Color | None) -> Palette:
    """The ANSI palette that reads on ``background`` (dark when unknown)."""
    if background is None:
        return DARK_PALETTE
    red, green, blue = background.get_truecolor()
    luminance = (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255
    return LIGHT_PALETTE if luminance > 0.5 else DARK_PALETTE


def parse_colour(value: str, palette: Palette = DARK_PALETTE) -> Color | None:
    """A pyte colour (``"default"``, an ANSI name, ``rrggbb``) as a rich ``Color``; the 16
    ANSI colours come from ``palette``, 256-colour and truecolor values are exact."""
    if value == "default":
        return None
    index = _ANSI_INDEX.get(value)
    if index is not None:
        return palette[index]
    try:
        return Color.from_rgb(*_hex_triplet(value))
    except ValueError:
        return None


class RowRenderer:
    """Turns screen rows into ``Strip``s, caching styles by attribute tuple.

    Args:
        base_style: The widget's own style (its background and foreground); cell styles are
            layered on it so default-coloured cells take the widget's colours.
    """

    def __init__(self, base_style: Style | None = None) -> None:
        self._base = base_style or Style()
        self._palette = palette_for(self._base.bgcolor)
        self._styles: dict[StyleKey, Style] = {}
        self._glyphs: dict[str, tuple[str, int]] = {}

    @property
    def base_style(self) -> Style:
        """The style cell styles are layered on."""
        return self._base

    def set_base_style(self, style: Style) -> bool:
        """Change the base style; returns True (and drops cached styles) if it changed."""
        if style == self._base:
            return False
        self._base = style
        self._palette = palette_for(style.bgcolor)
        self._styles.clear()
        return True

    def style(self, key: StyleKey) -> Style:
        """The rich style for an attribute tuple (cached)."""
        style = self._styles.get(key)
        if style is None:
            style = self._styles[key] = self._build_style(key)
        return style

    def _build_style(self, key: StyleKey) -> Style:
        (fg, bg, bold, italics, underscore, strikethrough, reverse, blink, dim, hidden) = key[:10]
        underline2, overline, link = key[10:]
        color = parse_colour(fg, self._palette)
        bgcolor = parse_colour(bg, self._palette)
        if hidden:
            # Concealed text is drawn in the background colour (it stays selectable).
            color = bgcolor or self._base.bgcolor
        return self._base + Style(
            color=color,
            bgcolor=bgcolor,
            bold=bold or None,
            dim=dim or None,
            italic=italics or None,
            underline=underscore or None,
            strike=strikethrough or None,
            reverse=reverse or None,
            blink=blink or None,
            underline2=underline2 or None,
            overline=overline or None,
            link=link or None,
        )

    def _glyph(self, data: str, width: int) -> str:
        """``data`` as one glyph of ``width`` cells: as it is when Rich measures it so (the
        model and Rich agree on emoji sequences, see :func:`.cells.grapheme_width`), else a
        substitute that keeps the row's columns (its base character, padded or replaced)."""
        cached = self._glyphs.get(data)
        if cached is not None and cached[1] == width:
            return cached[0]
        text = data
        if cell_len(text) != width:
            text = data[0]
            length = cell_len(text)
            if length < width:
                text += " " * (width - length)
            elif length > width:
                text = "?" + " " * (width - 1)
        if len(self._glyphs) > 65536:
            self._glyphs.clear()
        self._glyphs[data] = (text, width)
        return text

    def render_row(self, line: Line | None, columns: int, width: int, cursor_x: int = -1) -> Strip:
        """Render one row.

        Args:
            line: The row (``None`` for a blank row).
            columns: Cells of the row to render (the screen width).
            width: Width of the strip to return (the widget width); padded or cropped.
            cursor_x: Column of a visible cursor on this row, or -1; drawn by flipping reverse.
        """
        base = self._base
        if line is None and cursor_x < 0:
            return Strip([Segment(" " * width, base)], width)
        default = line.default if line is not None else _BLANK
        if line is None:
            cells = [default] * columns
        else:
            cells = list(map(line.get, range(columns), repeat(default, columns)))
        text = "".join(map(_data, cells))
        if len(text) == columns and text.isascii():
            # Fast path (most rows, the cursor's too): one character per cell, so runs can be
            # cut from ``text`` and grouped at C speed.
            segments = []
            start = 0
            for key, group in groupby(cells, _style_key):
                end = start + len(list(group))
                if start <= cursor_x < end:
                    # The cursor's run: the cell under the cursor flips reverse.
                    style = self.style(key)
                    flip = _REVERSE_OFF if cells[cursor_x].reverse else _REVERSE_ON
                    if start < cursor_x:
                        segments.append(Segment(text[start:cursor_x], style))
                    segments.append(Segment(text[cursor_x], style + flip))
                    if cursor_x + 1 < end:
                        segments.append(Segment(text[cursor_x + 1 : end], style))
                else:
                    segments.append(Segment(text[start:end], self.style(key)))
                start = end
        else:
            segments = self._render_cells(cells, columns, cursor_x)
        if columns < width:
            segments.append(Segment(" " * (width - columns), base))
            return Strip(segments, width)
        strip = Strip(segments, columns)
        return strip.crop(0, width) if columns > width else strip

    def _render_cells(self, cells: list[Cell], columns: int, cursor_x: int) -> list[Segment]:
        """The general case: wide characters, placeholders, graphemes, the cursor."""
        style_for = self.style
        segments: list[Segment] = []
        append = segments.append
        run: list[str] = []
        run_key: StyleKey | None = None
        x = 0
        while x < columns:
            cell = cells[x]
            data = cell.data
            span = 1
            if data == "":
                data = " "  # A placeholder whose wide character was overwritten.
            elif len(data) > 1 or data > "\x7e":
                if x + 1 < columns and cells[x + 1].data == "" and grapheme_width(data) == 2:
                    span = 2
                    data = self._glyph(data, 2)
                elif wcwidth(data[0]) == 2:
                    data = " "  # A wide character without its second column.
                else:
                    data = self._glyph(data, 1)
            key: StyleKey = cell[1:]
            if x <= cursor_x < x + span:
                if run:
                    append(Segment("".join(run), style_for(run_key)))  # type: ignore[arg-type]
                    run = []
                cursor_style = style_for(key) + (_REVERSE_OFF if cell.reverse else _REVERSE_ON)
                append(Segment(data, cursor_style))
                run_key = None
            elif key == run_key:
                run.append(data)
            else:
                if run:
                    append(Segment("".join(run), style_for(run_key)))  # type: ignore[arg-type]
                run = [data]
                run_key = key
            x += span
        if run:
            append(Segment("".join(run), style_for(run_key)))  # type: ignore[arg-type]
        return segments


_data = itemgetter(0)
_style_key = itemgetter(slice(1, None))
