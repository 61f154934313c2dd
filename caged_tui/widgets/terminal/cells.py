"""Cells and rows of the terminal model (shared by the screen, the reflow and the renderer)."""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from pyte.screens import StaticDefaultDict
from wcwidth import wcswidth


class Cell(NamedTuple):
    """One screen cell: pyte's ``Char`` plus ``dim``, ``hidden``, ``underline2`` (double
    underline), ``overline`` and ``link`` (an OSC 8 hyperlink's URI).

    ``fg``/``bg`` are ``"default"``, one of :data:`ANSI_NAMES`, or a ``rrggbb`` hex string.
    A wide character occupies its cell and the next one holds ``data=""`` (a placeholder).
    """

    data: str
    fg: str = "default"
    bg: str = "default"
    bold: bool = False
    italics: bool = False
    underscore: bool = False
    strikethrough: bool = False
    reverse: bool = False
    blink: bool = False
    dim: bool = False
    hidden: bool = False
    underline2: bool = False
    overline: bool = False
    link: str = ""


Line = StaticDefaultDict[int, Cell]

#: A blank cell with default attributes.
BLANK = Cell(" ")


class Row(StaticDefaultDict[int, Cell]):
    """A screen row by column. ``wrapped``: the terminal auto-wrapped after it, so its text goes
    on in the next row (a resize rewraps them together, see :mod:`.reflow`)."""

    wrapped = False


def is_wrapped(row: Line | None) -> bool:
    """Whether ``row`` goes on in the next row (rows made elsewhere never do)."""
    return getattr(row, "wrapped", False) is True


@lru_cache(maxsize=4096)
def grapheme_width(text: str) -> int:
    """Columns a cell's text takes (1 or 2): wcwidth's measure of the whole grapheme, so an
    emoji with a skin-tone modifier, with U+FE0F, a ZWJ sequence or a flag is one glyph of 2.

    The one width function of the terminal: the model lays cells out with it and the renderer
    draws each cell's text at that width.
    """
    return 2 if wcswidth(text) >= 2 else 1
