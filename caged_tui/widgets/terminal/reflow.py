"""Rewrapping rows to a new width (reflow), like tmux.

A row that the terminal auto-wrapped (DECAWM) is marked ``wrapped``: its text goes on in the next
row. :func:`reflow` joins such rows into logical lines and cuts them again at the new width, so a
line of 150 characters shown as two rows at 80 columns becomes 120 + 30 at 120 columns, and
nothing is lost when the window narrows and widens again. Rows that were not wrapped and still fit
are reused as they are: a resize with a full scrollback touches only its long lines.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyte.screens import StaticDefaultDict

from .cells import BLANK, Cell, Line, Row, is_wrapped

#: A cell position in a list of rows: (row index, column).
Position = tuple[int, int]


def _cells(row: Line, columns: int, *, last: bool) -> list[Cell | None]:
    """The cells of ``row`` up to ``columns`` (``None`` where nothing was written).

    Within a logical line, a wrapped row's last cell is left out when nothing was written there
    (a wide character that did not fit wrapped early); the line's last row loses its trailing
    unused cells, so a narrower width does not wrap empty space.
    """
    cells: list[Cell | None] = [row.get(x) for x in range(columns)]
    if not last:
        if cells and cells[-1] is None:
            cells.pop()
        return cells
    end = len(cells)
    while end and _unused(cells[end - 1]):
        end -= 1
    return cells[:end]


def _fits(row: Line, columns: int) -> bool:
    """Whether every cell of ``row`` that is not blank lies within ``columns``."""
    return not row or max(row) < columns or all(_unused(row[x]) for x in row if x >= columns)


def _unused(cell: Cell | None) -> bool:
    """Never written, or erased with default attributes (erasing stores the shared ``BLANK``;
    a typed space is an equal but distinct cell, and is kept like any character)."""
    return cell is None or cell is BLANK


def _split(
    cells: list[Cell | None], columns: int, default: Cell, mark: int | None
) -> tuple[list[Row], Position | None]:
    """Cut one logical line into rows of ``columns``, never between a wide character's halves.

    Also returns where cell ``mark`` lands (past the end: that far after the last cell).
    """
    rows: list[Row] = []
    row = Row(default)
    x = 0
    marked: Position | None = None
    for i, cell in enumerate(cells):
        following = cells[i + 1] if i + 1 < len(cells) else None
        wide = following is not None and not following.data
        if x == columns or (wide and x == columns - 1):
            row.wrapped = True
            rows.append(row)
            row = Row(default)
            x = 0
        if i == mark:
            marked = (len(rows), x)
        if cell is not None:
            row[x] = cell
        x += 1
    if mark is not None and marked is None:
        marked = (len(rows), min(columns, x + mark - len(cells)))
    rows.append(row)
    return rows, marked


def reflow(
    rows: Sequence[Line | None],
    columns: int,
    new_columns: int,
    default: Cell,
    cursor: Position | None = None,
) -> tuple[list[Line], Position | None]:
    """Rewrap ``rows`` (``columns`` wide; ``None`` for a blank row) to ``new_columns``.

    Returns the new rows and where ``cursor`` (a position in ``rows``) ends up: on the same
    character of the same logical line.
    """
    out: list[Line] = []
    new_cursor: Position | None = None
    i = 0
    while i < len(rows):
        first = i
        while i < len(rows) - 1 and is_wrapped(rows[i]):
            i += 1
        chain = rows[first : i + 1]
        i += 1
        cursor_offset: int | None = None
        if cursor is not None and first <= cursor[0] < i:
            cursor_offset = sum(_cell_count(row, columns) for row in chain[: cursor[0] - first])
            cursor_offset += cursor[1]
        only = chain[0]
        if len(chain) == 1 and (only is None or _fits(only, new_columns)):
            # Not wrapped and it fits: the same row, minus blank cells past the new width.
            row = only if only is not None else Row(default)
            for x in [x for x in row if x >= new_columns]:
                del row[x]
            if cursor_offset is not None:
                new_cursor = (len(out), min(cursor_offset, new_columns))
            out.append(row)
            continue
        cells: list[Cell | None] = []
        for n, part in enumerate(chain):
            last = n == len(chain) - 1
            cells += _cells(part or StaticDefaultDict(default), columns, last=last)
        pieces, marked = _split(cells, new_columns, default, cursor_offset)
        if marked is not None:
            new_cursor = (len(out) + marked[0], marked[1])
        out.extend(pieces)
    return out, new_cursor


def _cell_count(row: Line | None, columns: int) -> int:
    """How many cells a wrapped row adds to its logical line (see :func:`_cells`)."""
    if row is None:
        return columns
    return columns if row.get(columns - 1) is not None else columns - 1
