"""Cells and rows of the terminal model (shared by the screen, the reflow and the renderer)."""

from __future__ import annotations

from typing import NamedTuple

from pyte.screens import StaticDefaultDict


class Cell(NamedTuple):
    """One screen cell: pyte's ``Char`` plus ``dim`` and ``hidden``.

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
