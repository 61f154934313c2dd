"""The terminal model: a ``pyte.Screen`` with pyte 0.8.2's defects fixed.

What :class:`TerminalScreen` adds or fixes over ``pyte.Screen`` (each has a unit test in
``tests/unit/terminal``):

* **Alternate screen** — ``?1049h/l`` (with cursor save/restore), ``?1047`` and ``?47`` switch
  between two buffers, so vim/htop/less no longer paint over the shell's output.
* **Private parameters** — ``select_graphic_rendition``, ``report_device_status`` and
  ``set_margins`` accept ``private=`` (``ESC[?4m`` from vim 9, ``ESC[?996n`` from tmux).
* **draw() never stops early** — zero-width characters (U+FE0F, U+200D, U+200B) join the previous
  cell, ZWJ emoji sequences share one cell, and unprintable characters are skipped instead of
  ending the loop.
* **Replies go upstream** — answers to ``ESC[6n``, ``ESC[5n``, ``ESC[c`` are handed to the
  ``on_reply`` callback (the widget sends them to the PTY).
* **Bounded scrollback** — ``index()`` at the bottom of a full-height scroll region pushes the top
  row to ``history`` (a ``deque`` with ``maxlen``); never in the alternate screen.
* **Resize** like tmux: auto-wrapped rows are marked, and a width change rewraps their lines
  in the screen and the scrollback (:mod:`.reflow`); a height change moves rows between the
  screen and the scrollback instead of always dropping rows from the top; tab stops cover new
  columns.
* **SGR** — dim (2), hidden (8), 256 colours 0-15 kept as ANSI names so they follow the theme,
  pyte's ``"bfightmagenta"`` typo gone.
* **DEC line drawing** (``ESC ( 0``) honoured in UTF-8 mode, as xterm does.

Modes the widget reads are exposed as properties (:attr:`TerminalScreen.app_cursor_keys`,
:attr:`bracketed_paste`, :attr:`mouse_tracking`, :attr:`sgr_mouse`, :attr:`focus_events`,
:attr:`cursor_visible`). Dirty rows are pyte's ``dirty`` set, kept accurate by these overrides.
"""

from __future__ import annotations

import re
import unicodedata
from collections import deque
from collections.abc import Callable, ItemsView, Iterator, Sequence, ValuesView
from typing import Any

import pyte
from pyte import charsets as cs
from pyte import modes as mo
from pyte.screens import Margins, Savepoint
from wcwidth import wcwidth

from .cells import BLANK as _BLANK
from .cells import Cell, Line, Row, grapheme_width
from .links import web_link
from .reflow import reflow
from .stream import parse_sgr_params

#: Default number of scrollback lines.
DEFAULT_SCROLLBACK = 10_000

# Private modes as pyte stores them (shifted left by 5 to tell them from ANSI modes).
DECCKM = 1 << 5
MOUSE_X10 = 9 << 5
MOUSE_NORMAL = 1000 << 5
MOUSE_BUTTON_EVENT = 1002 << 5
MOUSE_ANY_EVENT = 1003 << 5
FOCUS_EVENTS = 1004 << 5
MOUSE_SGR = 1006 << 5
BRACKETED_PASTE = 2004 << 5
ALT_SCREEN_47 = 47 << 5
ALT_SCREEN_1047 = 1047 << 5
ALT_SCREEN_1049 = 1049 << 5
_ALT_SCREEN_MODES = {47: ALT_SCREEN_47, 1047: ALT_SCREEN_1047, 1049: ALT_SCREEN_1049}

_ZWJ = "\u200d"

#: Splits a flood line at its SGR sequences, keeping their parameters.
_SGR_SPLIT = re.compile(r"\x1b\[([0-9;]*)m")

#: DEC special graphics (``ESC ( 0``) as xterm draws them: pyte's table, with ``h`` as ␤ (NL).
DEC_GRAPHICS = cs.VT100_MAP[: ord("h")] + "\u2424" + cs.VT100_MAP[ord("h") + 1 :]
#: Emoji skin-tone modifiers and regional indicators (two make a flag), as (first, last).
_MODIFIERS = ("\U0001f3fb", "\U0001f3ff")
_REGIONAL = ("\U0001f1e6", "\U0001f1ff")

#: The 16 ANSI colours by index, named like pyte names them (so pyte-aware code still reads them).
ANSI_NAMES = (
    "black", "red", "green", "brown", "blue", "magenta", "cyan", "white",
    "brightblack", "brightred", "brightgreen", "brightbrown",
    "brightblue", "brightmagenta", "brightcyan", "brightwhite",
)  # fmt: skip


def _palette_256() -> list[str]:
    """xterm's 256-colour palette: ANSI names for 0-15, ``rrggbb`` hex for the rest."""
    levels = (0x00, 0x5F, 0x87, 0xAF, 0xD7, 0xFF)
    cube = [
        f"{levels[i // 36]:02x}{levels[(i // 6) % 6]:02x}{levels[i % 6]:02x}" for i in range(216)
    ]
    grey = [f"{8 + 10 * i:02x}" * 3 for i in range(24)]
    return [*ANSI_NAMES, *cube, *grey]


PALETTE_256 = _palette_256()


_BLANK_REVERSE = Cell(" ", reverse=True)

# SGR codes that switch one boolean attribute: code -> (field, value).
_SGR_FLAGS: dict[int, tuple[str, bool]] = {
    1: ("bold", True),
    2: ("dim", True),
    3: ("italics", True),
    4: ("underscore", True),
    5: ("blink", True),
    6: ("blink", True),
    7: ("reverse", True),
    8: ("hidden", True),
    9: ("strikethrough", True),
    53: ("overline", True),
    55: ("overline", False),
    23: ("italics", False),
    24: ("underscore", False),
    25: ("blink", False),
    27: ("reverse", False),
    28: ("hidden", False),
    29: ("strikethrough", False),
}


class RowBuffer:
    """The rows of one screen buffer by row number, created on first access.

    It replaces pyte's ``defaultdict`` (and offers the part of its interface pyte uses) so that
    scrolling the whole screen, which happens for every line of a flood, is O(1): rows are stored
    under ``row number + base`` and :meth:`renumber` just moves the base.
    """

    __slots__ = ("_base", "_factory", "_rows")

    def __init__(self, factory: Callable[[], Line]) -> None:
        self._rows: dict[int, Line] = {}
        self._base = 0
        self._factory = factory

    def __getitem__(self, y: int) -> Line:
        key = y + self._base
        row = self._rows.get(key)
        if row is None:
            row = self._rows[key] = self._factory()
        return row

    def __setitem__(self, y: int, row: Line) -> None:
        self._rows[y + self._base] = row

    def __delitem__(self, y: int) -> None:
        del self._rows[y + self._base]

    def __contains__(self, y: object) -> bool:
        return isinstance(y, int) and y + self._base in self._rows

    def __iter__(self) -> Iterator[int]:
        base = self._base
        return iter([key - base for key in self._rows])

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, y: int, default: Line | None = None) -> Line | None:
        """Row ``y`` if it exists (without creating it)."""
        return self._rows.get(y + self._base, default)

    def pop(self, y: int, default: Line | None = None) -> Line | None:
        """Remove and return row ``y``."""
        return self._rows.pop(y + self._base, default)

    def values(self) -> ValuesView[Line]:
        """The existing rows."""
        return self._rows.values()

    def items(self) -> ItemsView[int, Line]:
        """``(row number, row)`` pairs of the existing rows."""
        base = self._base
        return {key - base: row for key, row in self._rows.items()}.items()

    def clear(self) -> None:
        """Remove every row."""
        self._rows.clear()
        self._base = 0

    def renumber(self) -> None:
        """Row 1 becomes row 0, row 2 row 1, and so on (row 0 must have been popped).

        Callers guarantee no row exists past the bottom of the screen, so the last row is
        left blank, exactly like shifting every row up.
        """
        self._base += 1


class CellTable(dict[str, Cell]):
    """Flyweight cells of one set of attributes, made on first use: ``table["a"]``."""

    __slots__ = ("attrs",)

    def __init__(self, attrs: Cell) -> None:
        super().__init__()
        self.attrs = attrs

    def __missing__(self, char: str) -> Cell:
        cell = self[char] = self.attrs._replace(data=char)
        return cell


class TerminalScreen(pyte.Screen):
    """A pyte screen with two buffers, bounded scrollback and the 0.8.2 defects fixed.

    Args:
        columns: Width in cells.
        lines: Height in rows.
        scrollback: Rows kept in :attr:`history` (oldest dropped first); 0 disables it.
        on_reply: Called with answers to terminal queries (cursor position, device
            attributes); the owner writes them to the PTY.
    """

    def __init__(
        self,
        columns: int,
        lines: int,
        *,
        scrollback: int = DEFAULT_SCROLLBACK,
        on_reply: Callable[[str], None] | None = None,
    ) -> None:
        self.history: deque[Line] = deque(maxlen=max(0, scrollback))
        #: Total rows ever pushed to the history (lets a viewer keep its place while it grows).
        self.history_pushed = 0
        self.in_alternate = False
        self.on_reply = on_reply
        #: Called with the text of an OSC 52 clipboard write (nothing happens without it).
        self.on_clipboard: Callable[[str], None] | None = None
        # Flyweight cells: one ``Cell`` object per (attributes, character) pair, so a full
        # screen and the scrollback share a few hundred tuples instead of owning one per cell.
        self._cells: dict[Cell, CellTable] = {}
        self._last_attrs: Cell | None = None
        self._last_cells = CellTable(_BLANK)
        #: apply_sgr's memory: (id of the attributes, raw parameters, DECSCNM) -> (attributes,
        #: outcome); the attributes are kept so their id is not reused while cached.
        self._sgr_outcomes: dict[tuple[int, str, bool], tuple[Cell, Cell]] = {}
        self._saved_primary: tuple[RowBuffer, Margins | None] | None = None
        self._saved_1049_cursor: Savepoint | None = None
        super().__init__(columns, lines)
        self.buffer = self._new_buffer()  # type: ignore[assignment]
        self._alternate_buffer = self._new_buffer()

    # -- state the widget reads ------------------------------------------------------------

    @property
    def default_char(self) -> Cell:  # type: ignore[override]  # Cell extends pyte's Char
        """A blank cell with default colours (reverse when DECSCNM is set)."""
        # Shared constants: every new row asks for one, and a flood creates a row per line.
        return _BLANK_REVERSE if mo.DECSCNM in self.mode else _BLANK

    @property
    def app_cursor_keys(self) -> bool:
        """DECCKM: cursor keys send ``ESC O x`` instead of ``ESC [ x``."""
        return DECCKM in self.mode

    @property
    def bracketed_paste(self) -> bool:
        """Mode 2004: pasted text is wrapped in ``ESC[200~`` … ``ESC[201~``."""
        return BRACKETED_PASTE in self.mode

    @property
    def mouse_tracking(self) -> int:
        """The mouse tracking mode in force: 0 (off), 9, 1000, 1002 or 1003."""
        mode = self.mode
        for flag, value in (
            (MOUSE_ANY_EVENT, 1003),
            (MOUSE_BUTTON_EVENT, 1002),
            (MOUSE_NORMAL, 1000),
            (MOUSE_X10, 9),
        ):
            if flag in mode:
                return value
        return 0

    @property
    def sgr_mouse(self) -> bool:
        """Mode 1006: mouse reports use the SGR encoding."""
        return MOUSE_SGR in self.mode

    @property
    def focus_events(self) -> bool:
        """Mode 1004: the program wants ``ESC[I``/``ESC[O`` on focus changes."""
        return FOCUS_EVENTS in self.mode

    @property
    def cursor_visible(self) -> bool:
        """DECTCEM (mode 25)."""
        return not self.cursor.hidden

    @property
    def display(self) -> list[str]:
        """The active buffer as text, one string per row (wide characters once, no padding cell).

        pyte's version asserts on ZWJ emoji sequences; this one never fails.
        """
        return [row_text(self._rows.get(y), self.columns) for y in range(self.lines)]

    @property
    def _rows(self) -> RowBuffer:
        """The active buffer, typed with ``Cell`` (pyte annotates its own ``Char``)."""
        return self.buffer  # type: ignore[return-value]

    def _attrs(self) -> Cell:
        """The attributes new text is drawn with."""
        attrs: Cell = self.cursor.attrs  # type: ignore[assignment]
        return attrs

    def _set_attrs(self, attrs: Cell) -> None:
        self.cursor.attrs = attrs  # type: ignore[assignment]

    def line(self, y: int) -> Line | None:
        """Row ``y`` of the active buffer without creating it (``None`` when blank)."""
        line: Line | None = self._rows.get(y)
        return line

    # -- lifecycle -------------------------------------------------------------------------

    def _new_buffer(self) -> RowBuffer:
        return RowBuffer(lambda: Row(self.default_char))

    def reset(self) -> None:
        """RIS: also leaves the alternate screen and forgets the saved 1049 cursor."""
        if getattr(self, "in_alternate", False):
            self.buffer, _margins = self._saved_primary or (self._rows, None)  # type: ignore[assignment]
            self.in_alternate = False
        self._saved_primary = None
        self._saved_1049_cursor = None
        super().reset()
        self._set_attrs(self.default_char)

    def resize(self, lines: int | None = None, columns: int | None = None) -> None:
        """Resize both buffers, like tmux.

        Height first: shrinking drops blank rows below the cursor, then moves rows from the top
        to the scrollback (nothing is lost); growing pulls rows back from the scrollback. Then
        width: the primary buffer and its scrollback are reflowed (auto-wrapped lines rewrapped
        at the new width, see :mod:`.reflow`); the alternate buffer, which full-screen programs
        redraw, is cut or padded.
        """
        lines = lines or self.lines
        columns = columns or self.columns
        if lines == self.lines and columns == self.columns:
            return
        old_lines, old_columns = self.lines, self.columns

        if lines < old_lines:
            self._shrink(lines, old_lines)
        elif lines > old_lines and not self.in_alternate and self.history:
            pull = min(len(self.history), lines - old_lines)
            buffer = self._rows
            for y in range(old_lines - 1, -1, -1):
                row = buffer.pop(y, None)
                if row is not None:
                    buffer[y + pull] = row
            for y in range(pull - 1, -1, -1):
                buffer[y] = self.history.pop()
            self.cursor.y += pull
        self.lines = lines

        if columns != old_columns:
            self._reflow_primary(old_columns, columns)
            if self.in_alternate:
                for row in self._rows.values():
                    for x in [x for x in row if x >= columns]:
                        del row[x]
        if columns > old_columns:
            self.tabstops.update(range(max(8, old_columns + (-old_columns % 8)), columns, 8))

        self.columns = columns
        self.margins = None
        if self._saved_primary is not None:
            self._saved_primary = (self._saved_primary[0], None)
        self.cursor.x = min(self.cursor.x, columns - 1)
        self.cursor.y = min(self.cursor.y, lines - 1)
        self.dirty.update(range(lines))

    def _shrink(self, lines: int, old_lines: int) -> None:
        """Fewer rows: blank rows below the cursor go first, then the rows above it (to the
        scrollback on the primary screen)."""
        buffer = self._rows
        excess = old_lines - lines
        for y in range(old_lines - 1, self.cursor.y, -1):
            if not excess or not _is_blank(buffer.get(y)):
                break
            buffer.pop(y, None)
            excess -= 1
        # Rows above the cursor go to the scrollback; below it, what still does not fit is cut
        # (the cursor stays on the screen).
        up = min(excess, self.cursor.y)
        if up:
            self._shift_up(buffer, up, old_lines, keep=not self.in_alternate)
            self.cursor.y -= up
        self._truncate(buffer, lines)
        inactive = self._saved_primary[0] if self._saved_primary else self._alternate_buffer
        self._truncate(inactive, lines)

    def _reflow_primary(self, old_columns: int, columns: int) -> None:
        """Rewrap the primary buffer (shown or saved under the alternate screen) and its
        scrollback; its cursor (or the one 1049 saved) stays on the same character."""
        lines = self.lines
        if self.in_alternate:
            if self._saved_primary is None:
                return
            buffer = self._saved_primary[0]
            saved = self._saved_1049_cursor
            cursor = saved.cursor if saved is not None else None
        else:
            buffer, cursor = self._rows, self.cursor
        history = list(self.history)
        rows = [*history, *(buffer.get(y) for y in range(lines))]
        at = None if cursor is None else (len(history) + cursor.y, cursor.x)
        new_rows, new_at = reflow(rows, old_columns, columns, self.default_char, at)
        # The screen shows the last rows; the ones above are the scrollback (tmux does the same).
        start = max(0, len(new_rows) - lines)
        if new_at is not None and new_at[0] < start:
            start = new_at[0]  # Keep the cursor on the screen.
        self.history.clear()
        self.history.extend(new_rows[:start])
        buffer.clear()
        for y, row in enumerate(new_rows[start : start + lines]):
            buffer[y] = row
        if cursor is not None and new_at is not None:
            cursor.y, cursor.x = new_at[0] - start, new_at[1]

    def _buffers(self) -> list[RowBuffer]:
        other = self._saved_primary[0] if self._saved_primary else self._alternate_buffer
        return [self._rows, other]

    @staticmethod
    def _truncate(buffer: RowBuffer, lines: int) -> None:
        for y in [y for y in buffer if y >= lines]:
            del buffer[y]

    def _shift_up(self, buffer: RowBuffer, count: int, lines: int, *, keep: bool) -> None:
        """Move rows up by ``count``; the rows pushed out go to the history when ``keep``."""
        for y in range(count):
            row = buffer.pop(y, None)
            if keep:
                self._push_history(row)
        for y in range(count, lines):
            row = buffer.pop(y, None)
            if row is not None:
                buffer[y - count] = row

    def erase_in_line(self, how: int = 0, private: bool = False) -> None:
        """EL; erasing to the end of the row ends its line there (no longer wrapped)."""
        super().erase_in_line(how, private)
        if how in (0, 2):
            row = self._rows.get(self.cursor.y)
            if isinstance(row, Row):
                row.wrapped = False

    def _push_history(self, row: Line | None) -> None:
        if self.history.maxlen:
            self.history.append(row if row is not None else Row(self.default_char))
        self.history_pushed += 1

    # -- modes and the alternate screen ----------------------------------------------------

    def set_mode(self, *modes: int, **kwargs: Any) -> None:
        """Set modes; the alternate-screen modes switch buffers."""
        if kwargs.get("private"):
            for mode in modes:
                if mode in _ALT_SCREEN_MODES:
                    self._enter_alternate(mode)
            modes = tuple(m for m in modes if m not in _ALT_SCREEN_MODES)
        super().set_mode(*modes, **kwargs)

    def reset_mode(self, *modes: int, **kwargs: Any) -> None:
        """Reset modes; the alternate-screen modes switch back to the primary buffer."""
        if kwargs.get("private"):
            for mode in modes:
                if mode in _ALT_SCREEN_MODES:
                    self._leave_alternate(mode)
            modes = tuple(m for m in modes if m not in _ALT_SCREEN_MODES)
        super().reset_mode(*modes, **kwargs)

    def _enter_alternate(self, mode: int) -> None:
        if mode == 1049:
            # Save the cursor outside the DECSC stack: programs use DECSC/DECRC themselves.
            self.save_cursor()
            self._saved_1049_cursor = self.savepoints.pop()
        if self.in_alternate:
            if mode == 1049:
                self._rows.clear()
            return
        if mode == 1049:
            self._alternate_buffer = self._new_buffer()
        self._saved_primary = (self._rows, self.margins)
        self.buffer = self._alternate_buffer  # type: ignore[assignment]
        self.in_alternate = True
        self.dirty.update(range(self.lines))

    def _leave_alternate(self, mode: int) -> None:
        if self.in_alternate and self._saved_primary is not None:
            if mode in (1047, 1049):
                self._rows.clear()
            self.buffer, self.margins = self._saved_primary  # type: ignore[assignment]
            self._saved_primary = None
            self.in_alternate = False
            self.dirty.update(range(self.lines))
        if mode == 1049 and self._saved_1049_cursor is not None:
            self.savepoints.append(self._saved_1049_cursor)
            self._saved_1049_cursor = None
            self.restore_cursor()

    # -- handlers pyte calls with ``private=`` ---------------------------------------------

    def set_margins(
        self, top: int | None = None, bottom: int | None = None, *args: int, private: bool = False
    ) -> None:
        """DECSTBM, which homes the cursor also when it resets the margins (pyte forgets to,
        and ``CSI r`` + insert/delete line then edit the wrong rows; found by the fidelity
        suite). ``CSI ? r`` (xterm's restore private modes) is ignored, not a crash."""
        if private:
            return
        super().set_margins(top, bottom)
        if self.margins is None:
            self.cursor_position()

    def report_device_status(self, mode: int = 0, *args: int, private: bool = False) -> None:
        """DSR: ``ESC[5n``/``ESC[6n``, and ``ESC[?6n`` (DECXCPR); other private queries ignored."""
        if not private:
            super().report_device_status(mode)
        elif mode == 6:
            y, x = self.cursor.y + 1, min(self.cursor.x, self.columns - 1) + 1
            self.write_process_input(f"\x1b[?{y};{x}R")

    def report_device_attributes(self, mode: int = 0, *args: int, **kwargs: Any) -> None:
        """Primary DA: answer as a VT220 with ANSI colour (``ESC[?62;22c``)."""
        if mode == 0 and not kwargs.get("private"):
            self.write_process_input("\x1b[?62;22c")

    def report_secondary_device_attributes(self) -> None:
        """Secondary DA (``ESC[>c``): a plain VT220 identity, so vim stops waiting."""
        self.write_process_input("\x1b[>1;10;0c")

    def set_link(self, uri: str) -> None:
        """OSC 8: text drawn from now on links to ``uri`` (``""`` ends the link); only a web
        link is kept (:func:`.links.web_link`)."""
        self._set_attrs(self._attrs()._replace(link=web_link(uri)))

    def set_clipboard(self, text: str) -> None:
        """OSC 52: the program asks to put ``text`` on the clipboard; :attr:`on_clipboard`
        decides (a sandbox writing the host's clipboard is a risk)."""
        if self.on_clipboard is not None:
            self.on_clipboard(text)

    def write_process_input(self, data: str) -> None:
        """Route answers to :attr:`on_reply` (pyte drops them)."""
        if self.on_reply is not None:
            self.on_reply(data)

    def erase_in_display(self, how: int = 0, *args: Any, **kwargs: Any) -> None:
        """ED; ``ESC[3J`` clears the scrollback only (xterm), not the screen."""
        if how == 3:
            self.history.clear()
            return
        super().erase_in_display(how, *args, **kwargs)
        # Erased rows end their lines (the cursor's row: see erase_in_line).
        erased = {0: range(self.cursor.y + 1, self.lines), 1: range(self.cursor.y)}
        for y in erased.get(how, range(self.lines)):
            row = self._rows.get(y)
            if isinstance(row, Row):
                row.wrapped = False

    def define_charset(self, code: str, mode: str) -> None:
        """Designate G0/G1. Only DEC line drawing and ASCII/Latin-1 make sense in UTF-8."""
        table = DEC_GRAPHICS if code == "0" else cs.LAT1_MAP if code in "BUK" else None
        if table is None:
            return
        if mode == "(":
            self.g0_charset = table
        elif mode == ")":
            self.g1_charset = table

    def select_graphic_rendition(self, *attrs: int, private: bool = False) -> None:
        """SGR with dim/hidden, 256 colours and truecolor; private SGR (``ESC[?4m``) ignored."""
        if private:
            return
        link = self._attrs().link  # A hyperlink (OSC 8) is not an SGR attribute.
        if not attrs or attrs == (0,):
            self._set_attrs(self.default_char._replace(link=link) if link else self.default_char)
            return
        replace: dict[str, Any] = {}
        queue = list(attrs)
        i = 0
        while i < len(queue):
            code = queue[i]
            i += 1
            if code == 0:
                replace = dict(self.default_char._asdict())
                del replace["data"]
                replace["link"] = link
            elif code == 4:
                replace["underscore"], replace["underline2"] = True, False
            elif code == 21:  # Double underline (also 4:2).
                replace["underscore"], replace["underline2"] = False, True
            elif code == 24:
                replace["underscore"] = replace["underline2"] = False
            elif code in _SGR_FLAGS:
                field, value = _SGR_FLAGS[code]
                replace[field] = value
            elif code == 22:
                replace["bold"] = replace["dim"] = False
            elif 30 <= code <= 37:
                replace["fg"] = ANSI_NAMES[code - 30]
            elif 40 <= code <= 47:
                replace["bg"] = ANSI_NAMES[code - 40]
            elif 90 <= code <= 97:
                replace["fg"] = ANSI_NAMES[code - 90 + 8]
            elif 100 <= code <= 107:
                replace["bg"] = ANSI_NAMES[code - 100 + 8]
            elif code == 39:
                replace["fg"] = "default"
            elif code == 49:
                replace["bg"] = "default"
            elif code in (38, 48, 58):
                colour, i = _extended_colour(queue, i)
                if colour is not None and code != 58:  # 58: underline colour, not shown.
                    replace["fg" if code == 38 else "bg"] = colour
        self._set_attrs(self._attrs()._replace(**replace))

    # -- scrolling -------------------------------------------------------------------------

    def index(self) -> None:
        """IND/LF at the bottom margin scrolls; a full-height scroll on the primary screen keeps
        the row that leaves the top in :attr:`history`. Only the scroll region is marked dirty."""
        top, bottom = self.margins or Margins(0, self.lines - 1)
        if self.cursor.y != bottom:
            self.cursor_down()
            return
        buffer = self._rows
        row = buffer.pop(top, None)
        if top == 0 and not self.in_alternate:
            self._push_history(row)
        if top == 0 and bottom == self.lines - 1:
            # Full-screen scroll (every line of a flood): O(1), see RowBuffer.
            buffer.renumber()
        else:
            for y in range(top + 1, bottom + 1):
                row = buffer.pop(y, None)
                if row is not None:
                    buffer[y - 1] = row
        self.dirty.update(range(top, bottom + 1))

    def draw_lines(self, texts: Sequence[str]) -> int:
        """Draw each of ``texts`` followed by CR LF, as a flood does, in one tight loop.

        It does exactly what ``draw`` + ``carriage_return`` + ``linefeed`` (and
        ``select_graphic_rendition`` for the SGR sequences a text may hold) would, but only in
        the plain state a flood runs in (cursor at column 0 of the bottom row, full-screen
        scrolling, no insert mode, the default character set) and only for texts of printable
        ASCII and ``ESC [ … m`` that fit in a row. Returns how many leading texts it drew (0:
        the caller takes the general path). Per line it saves a dozen Python calls: ``yes`` and
        coloured ``ls`` output parse several times faster, which is also what lets ctrl+c show
        its prompt quickly during a flood.
        """
        cursor = self.cursor
        bottom = self.lines - 1
        if (
            cursor.x != 0
            or cursor.y != bottom
            or (self.margins is not None and self.margins != Margins(0, bottom))
            or mo.IRM in self.mode
            or self.charset
            or self.g0_charset is not cs.LAT1_MAP
        ):
            return 0
        # The buffer's storage is used directly (see RowBuffer): a call saved per line counts.
        buffer = self._rows
        store = buffer._rows
        base = buffer._base
        default = self.default_char
        keep_history = not self.in_alternate
        history = self.history if keep_history and self.history.maxlen else None
        cell_for = self._flyweights().__getitem__
        # SGR outcomes are looked up inline (see apply_sgr): one dict probe per sequence.
        attrs = self._attrs()
        outcomes = self._sgr_outcomes
        reverse_screen = mo.DECSCNM in self.mode
        columns = self.columns
        drawn = 0
        for text in texts:
            if "\x1b" in text:
                parts = _SGR_SPLIT.split(text)  # text, SGR parameters, text, …
                if sum(map(len, parts[::2])) >= columns:
                    break
                target = store.get(base + bottom) or Row(default)
                x = 0
                sgr = False
                for part in parts:
                    if sgr:
                        outcome = outcomes.get((id(attrs), part, reverse_screen))
                        if outcome is None or outcome[0] is not attrs:
                            self.apply_sgr(part)
                            outcome = outcomes[(id(attrs), part, reverse_screen)]
                        attrs = outcome[1]
                        self._set_attrs(attrs)
                        cell_for = self._flyweights().__getitem__
                    elif part:
                        cells = map(cell_for, part)
                        target.update(zip(range(x, x + len(part)), cells, strict=True))
                        x += len(part)
                    sgr = not sgr
            elif len(text) >= columns:
                break  # A line that reaches the last column wraps: the general path knows how.
            else:
                target = store.get(base + bottom) or Row(default)
                target.update(zip(range(len(text)), map(cell_for, text), strict=True))
            store[base + bottom] = target
            # Scroll: the top row leaves (to the history), every row moves up (see renumber).
            top = store.pop(base, None)
            if history is not None:
                history.append(top if top is not None else Row(default))
            base += 1
            drawn += 1
        buffer._base = base
        if keep_history:
            self.history_pushed += drawn
        if drawn:
            self.dirty.update(range(self.lines))
        return drawn

    def apply_sgr(self, raw: str) -> None:
        """SGR from its raw parameters (``"01;34"``), remembering the outcome per current
        attributes: coloured output repeats the same few transitions on every line."""
        attrs = self._attrs()
        key = (id(attrs), raw, mo.DECSCNM in self.mode)
        cached = self._sgr_outcomes.get(key)
        if cached is not None and cached[0] is attrs:
            self._set_attrs(cached[1])
            return
        self.select_graphic_rendition(*parse_sgr_params(raw))
        if len(self._sgr_outcomes) > 4096:
            self._sgr_outcomes.clear()
        self._sgr_outcomes[key] = (attrs, self._attrs())

    def reverse_index(self) -> None:
        """RI at the top margin scrolls the region down; only the region is marked dirty."""
        top, bottom = self.margins or Margins(0, self.lines - 1)
        if self.cursor.y != top:
            self.cursor_up()
            return
        buffer = self._rows
        buffer.pop(bottom, None)
        for y in range(bottom - 1, top - 1, -1):
            row = buffer.pop(y, None)
            if row is not None:
                buffer[y + 1] = row
        self.dirty.update(range(top, bottom + 1))

    # -- drawing ---------------------------------------------------------------------------

    def draw(self, data: str) -> None:
        """Write text at the cursor.

        ASCII goes through a fast path. Otherwise zero-width characters join the previous cell
        (so an emoji keeps its U+FE0F / ZWJ sequence) and unprintable ones are skipped — pyte
        stops at them and loses the rest of the text.
        """
        if self.charset:
            data = data.translate(self.g1_charset)
        elif self.g0_charset is not cs.LAT1_MAP:
            data = data.translate(self.g0_charset)
        if mo.IRM not in self.mode and data.isascii() and data.isprintable():
            self._draw_ascii(data)
        else:
            self._draw_unicode(data)

    def _flyweights(self) -> CellTable:
        attrs = self._attrs()
        if attrs is self._last_attrs:
            return self._last_cells  # Hashing an 11-field tuple per draw() adds up.
        cells = self._cells.get(attrs)
        if cells is None:
            if len(self._cells) > 4096:
                # Programs cycling through truecolour would grow this forever.
                self._cells.clear()
            cells = self._cells[attrs] = CellTable(attrs)
        self._last_attrs, self._last_cells = attrs, cells
        return cells

    def _wrap_if_pending(self) -> None:
        """After the last column, wrap (DECAWM) or overwrite the last cell."""
        cursor = self.cursor
        if cursor.x < self.columns:
            return
        if mo.DECAWM in self.mode:
            self.dirty.add(cursor.y)
            row = self._rows[cursor.y]
            if isinstance(row, Row):
                row.wrapped = True  # The text goes on in the next row: a resize rewraps it.
            cursor.x = 0
            self.linefeed()
        else:
            cursor.x = self.columns - 1

    def _draw_ascii(self, data: str) -> None:
        cursor = self.cursor
        columns = self.columns
        cell_for = self._flyweights().__getitem__
        i, n = 0, len(data)
        while i < n:
            self._wrap_if_pending()
            x = cursor.x
            take = min(n - i, columns - x)
            # One C-level update per row segment instead of a Python loop per character.
            self._rows[cursor.y].update(
                zip(range(x, x + take), map(cell_for, data[i : i + take]), strict=True)
            )
            i += take
            cursor.x = x + take
            self.dirty.add(cursor.y)

    def _draw_unicode(self, data: str) -> None:
        cursor = self.cursor
        cells = self._flyweights()
        insert = mo.IRM in self.mode
        for char in data:
            width = wcwidth(char)
            if width < 0:
                continue  # Unprintable: skip it, keep drawing.
            previous = self._previous_cell()
            if previous is not None and _extends(previous[2].data, char, width):
                self._extend(*previous, char)
                continue
            if width == 0:
                continue  # Nothing to attach it to.
            if width == 2 and cursor.x == self.columns - 1 and mo.DECAWM in self.mode:
                # A wide character does not fit in the last column: wrap first (xterm).
                cursor.x = self.columns
            self._wrap_if_pending()
            if insert:
                self.insert_characters(width)
            line = self._rows[cursor.y]
            line[cursor.x] = cells[char]
            if width == 2 and cursor.x + 1 < self.columns:
                line[cursor.x + 1] = cells[""]
            cursor.x = min(cursor.x + width, self.columns)
            self.dirty.add(cursor.y)

    def _extend(self, line: Line, x: int, cell: Cell, char: str) -> None:
        """Add ``char`` to the grapheme in ``line[x]``; a grapheme that becomes wide (U+FE0F
        after a narrow symbol) takes the next column, if the row has one, and the cursor moves
        past it."""
        text = cell.data + char
        if unicodedata.combining(char):
            text = unicodedata.normalize("NFC", text)
        line[x] = cell._replace(data=text)
        cursor = self.cursor
        if grapheme_width(text) == 2 and x + 1 < self.columns:
            following = line.get(x + 1)
            if following is None or following.data:  # Narrow until now.
                line[x + 1] = cell._replace(data="")
                if cursor.x == x + 1:
                    cursor.x += 1
        self.dirty.add(cursor.y)

    def _previous_cell(self) -> tuple[Line, int, Cell] | None:
        """The cell the last character was written to, skipping a wide character's placeholder."""
        cursor = self.cursor
        if cursor.x > 0:
            line = self._rows[cursor.y]
            x = cursor.x - 1
        elif cursor.y > 0:
            # Only after an auto-wrap is the previous character on the line above.
            line = self._rows[cursor.y - 1]
            x = self.columns - 1
        else:
            return None
        cell = line.get(x)
        if cell is not None and cell.data == "" and x > 0:
            x -= 1
            cell = line.get(x)
        if cell is None or cell.data in ("", " "):
            return None
        return line, x, cell


def _extends(grapheme: str, char: str, width: int) -> bool:
    """Whether ``char`` belongs to the grapheme before it rather than starting a new one:
    zero-width characters (combining marks, variation selectors, ZWJ), whatever follows a ZWJ,
    a skin-tone modifier after an emoji, the second regional indicator of a flag."""
    if width == 0 or grapheme.endswith(_ZWJ):
        return True
    if _MODIFIERS[0] <= char <= _MODIFIERS[1]:
        return grapheme_width(grapheme) == 2 and not _MODIFIERS[0] <= grapheme[-1] <= _MODIFIERS[1]
    if _REGIONAL[0] <= char <= _REGIONAL[1]:
        return len(grapheme) == 1 and _REGIONAL[0] <= grapheme <= _REGIONAL[1]
    return False


def _is_blank(row: Line | None) -> bool:
    return row is None or all(cell == _BLANK for cell in row.values())


def row_text(line: Line | None, columns: int) -> str:
    """The text of one row: blank cells as spaces, wide-character placeholders skipped."""
    if line is None:
        return " " * columns
    return "".join(
        cell.data for cell in (line.get(x) or line.default for x in range(columns)) if cell.data
    )


def _extended_colour(params: list[int], i: int) -> tuple[str | None, int]:
    """Parse the colour after SGR 38/48 at ``params[i:]``; returns (colour, next index)."""
    if i >= len(params):
        return None, i
    kind = params[i]
    if kind == 5 and i + 1 < len(params):
        index = params[i + 1]
        return (PALETTE_256[index] if 0 <= index < 256 else None), i + 2
    if kind == 2 and i + 3 < len(params):
        r, g, b = (min(255, v) for v in params[i + 1 : i + 4])
        return f"{r:02x}{g:02x}{b:02x}", i + 4
    return None, len(params)
