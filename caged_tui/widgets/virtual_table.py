"""One virtual table for every list: a Line-API ``ScrollView`` over a windowed source.

Only the rows on screen are ever formatted or measured: :meth:`VirtualTable.render_lines`
asks the source for the visible window (``rows(start, stop)``) once per frame and
:meth:`VirtualTable.render_line` turns each row into a cached :class:`Strip`. So
10,000 sandboxes, 100,000 replay events or a big file tree cost the same to
paint and to scroll: a screenful. (The model is Textual's ``Log`` and ``Tree``;
``DataTable`` instead measures every cell through Rich up front, which is what
made the old list take seconds.)

A source is anything with :class:`TableSource`'s three members, so a remote,
paged source works: it answers ``rows(i, j)`` from what it has (placeholders
for pages still loading) and calls :meth:`VirtualTable.refresh_keys` or
:meth:`VirtualTable.source_changed` when pages arrive. :class:`ListSource` is
the in-memory one, with filter, sort, keyed updates and a clock.

Column widths start at each column's declared width and only grow, to fit the
widest text painted so far: measuring every row is what a windowed table must
not do, and never shrinking keeps the header still while scrolling.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from caged_tui.safe_text import controls_escaped

#: A cell as shown: its text and the component class it is drawn with ("" = the row's style).
Cell = tuple[str, str]

#: Cells between two columns (one space either side of each cell, as DataTable).
PADDING = 1


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its key, header label and minimum width in cells."""

    key: str
    label: str
    width: int = 0


@dataclass(frozen=True, slots=True)
class TableRow:
    """One row as the table paints it: a stable key (cursor and marks follow it) and cells."""

    key: str
    cells: tuple[Cell, ...]


def _shown(row: TableRow) -> TableRow:
    """``row`` as painted: Textual writes a cell's text to the terminal as it is, and names
    (a sandbox's files) may hold control characters the user's terminal would obey."""
    if all(text.isprintable() for text, _ in row.cells):
        return row
    return TableRow(row.key, tuple((controls_escaped(text), style) for text, style in row.cells))


class TableSource(Protocol):
    """What the table reads: a row count and a window of rows, in display order."""

    @property
    def row_count(self) -> int:
        """How many rows there are."""
        ...

    def rows(self, start: int, stop: int) -> Sequence[TableRow]:
        """Rows ``start`` up to (not including) ``stop``."""
        ...

    def index_of(self, key: str) -> int | None:
        """Where the row ``key`` is in display order, None when it is not shown."""
        ...


ItemT = TypeVar("ItemT")


@dataclass(frozen=True, slots=True)
class Change:
    """What a :meth:`ListSource.update` changed: rows whose content differs, and
    whether rows appeared, vanished or moved (then the whole table repaints)."""

    keys: frozenset[str]
    structure: bool


class ListSource(Generic[ItemT]):
    """An in-memory source: items, an optional filter and sort, formatted lazily.

    Rows are formatted when first painted and cached by key until the item
    changes or the clock moves (:meth:`retime`), so a refresh of 10,000 items
    formats only what is on screen.

    Args:
        key: the stable key of an item (a sandbox id).
        render: an item's cells at a given time.
        now: the time rows are formatted at.
    """

    def __init__(
        self,
        key: Callable[[ItemT], str],
        render: Callable[[ItemT, datetime], tuple[Cell, ...]],
        now: datetime,
    ) -> None:
        self._key = key
        self._render = render
        self._now = now
        self._items: dict[str, ItemT] = {}
        self._order: list[str] = []
        self._index: dict[str, int] | None = None
        self._formatted: dict[str, TableRow] = {}
        self._filter: Callable[[ItemT], bool] | None = None
        self._sort: Callable[[ItemT], Any] | None = None
        self._reverse = False

    @property
    def row_count(self) -> int:
        """Rows passing the filter."""
        return len(self._order)

    @property
    def now(self) -> datetime:
        """The time rows are formatted at (the last :meth:`retime`)."""
        return self._now

    @property
    def items(self) -> list[ItemT]:
        """Every item, filtered or not, in the order they were given."""
        return list(self._items.values())

    def get(self, key: str) -> ItemT | None:
        """The item with ``key``, shown or not."""
        return self._items.get(key)

    def shown(self) -> list[ItemT]:
        """The items passing the filter, in display order."""
        return [self._items[key] for key in self._order]

    def rows(self, start: int, stop: int) -> list[TableRow]:
        """Rows ``start``..``stop`` in display order, formatted on first use."""
        window = []
        for key in self._order[max(start, 0) : stop]:
            row = self._formatted.get(key)
            if row is None:
                cells = self._render(self._items[key], self._now)
                row = self._formatted[key] = TableRow(key, cells)
            window.append(row)
        return window

    def index_of(self, key: str) -> int | None:
        """Where ``key`` is shown (an index built once per order)."""
        if self._index is None:
            self._index = {k: i for i, k in enumerate(self._order)}
        return self._index.get(key)

    def update(self, items: Iterable[ItemT]) -> Change:
        """Replace the items; a row counts as changed when its text does.

        An item that differs only where no column shows it (a cost below the
        shown cents) repaints nothing; rows never formatted are formatted when
        painted, so they are not compared at all.
        """
        old = self._items
        self._items = {self._key(item): item for item in items}
        changed = set()
        for key, item in self._items.items():
            row = self._formatted.get(key)
            if row is None or old.get(key) == item:
                continue
            fresh = self._formatted[key] = TableRow(key, self._render(item, self._now))
            if fresh.cells != row.cells:
                changed.add(key)
        structure = self._reorder()
        return Change(frozenset(changed), structure)

    def view(
        self,
        *,
        filter: Callable[[ItemT], bool] | None,
        sort: Callable[[ItemT], Any] | None,
        reverse: bool,
    ) -> bool:
        """Set the filter and the order; returns whether the shown rows changed."""
        self._filter, self._sort, self._reverse = filter, sort, reverse
        return self._reorder()

    def retime(self, now: datetime, visible: Collection[str]) -> frozenset[str]:
        """Move the clock: re-format the ``visible`` rows and return those whose text
        changed. Every other cached row is dropped, to be formatted when painted."""
        self._now = now
        before = {key: self._formatted.get(key) for key in visible}
        self._formatted.clear()
        changed = set()
        for key, row in before.items():
            item = self._items.get(key)
            if item is None:
                continue
            fresh = self._formatted[key] = TableRow(key, self._render(item, now))
            if row is None or row.cells != fresh.cells:
                changed.add(key)
        return frozenset(changed)

    def reformat(self) -> None:
        """Forget every formatted row (the styles or the render rules changed)."""
        self._formatted.clear()

    def _reorder(self) -> bool:
        keep = self._filter
        keys = [key for key, item in self._items.items() if keep is None or keep(item)]
        if self._sort is not None:
            sort_key = self._sort
            keys.sort(key=lambda key: sort_key(self._items[key]), reverse=self._reverse)
        elif self._reverse:
            keys.reverse()
        if keys == self._order:
            return False
        self._order = keys
        self._index = None
        return True


class VirtualTable(ScrollView, can_focus=True):
    """A table that paints only the visible rows of a :class:`TableSource`.

    Row key based: the cursor and the marks follow a row's key across updates,
    so a refresh that reorders rows keeps the user on the same row. Cell styles
    are component classes named by the cells (``"sandbox-table--running"``),
    resolved once per theme change.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "virtual-table--header",
        "virtual-table--even-row",
        "virtual-table--odd-row",
        "virtual-table--cursor",
        "virtual-table--marked",
    }

    DEFAULT_CSS = """
    VirtualTable {
        background: $surface;
        color: $foreground;
        height: 1fr;
        &:focus {
            background-tint: $foreground 5%;
            & > .virtual-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
        }
        & > .virtual-table--header { text-style: bold; background: $panel; color: $text-muted; }
        & > .virtual-table--even-row { background: $surface-lighten-1 50%; }
        &:dark > .virtual-table--even-row { background: $surface-darken-1 40%; }
        & > .virtual-table--odd-row { }
        & > .virtual-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        & > .virtual-table--marked { color: $accent; text-style: bold; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "Up", show=False, id="table.up"),
        Binding("down,j", "cursor_down", "Down", show=False, id="table.down"),
        Binding("pageup", "page_up", "Page up", show=False, id="table.page_up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="table.page_down"),
        Binding("home,g", "first", "First row", show=False, id="table.first"),
        Binding("end,G", "last", "Last row", show=False, id="table.last"),
    ]

    # No repaint of the whole table: watch_cursor_row repaints the two rows that changed
    # (a full repaint re-rendered every line each time the cursor moved a row).
    cursor_row: reactive[int] = reactive(0, init=False, always_update=True, repaint=False)

    @dataclass
    class CursorMoved(Message):
        """The cursor is on another row (``key`` None when the table is empty)."""

        table: VirtualTable
        key: str | None

        def can_replace(self, message: Message) -> bool:
            """Only the latest position matters while the cursor flies down a list."""
            return isinstance(message, VirtualTable.CursorMoved) and message.table is self.table

    def __init__(
        self,
        columns: Sequence[Column],
        source: TableSource,
        *,
        zebra_stripes: bool = True,
        show_marks: bool = False,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.columns = tuple(columns)
        self.source = source
        self.zebra_stripes = zebra_stripes
        self.show_marks = show_marks
        self.marked: frozenset[str] = frozenset()
        self._widths = [max(cell_len(col.label), col.width) for col in self.columns]
        self._cursor_key: str | None = None
        self._window: list[TableRow] = []
        self._window_start = 0
        self._view_width = 0
        self._styles: dict[str, Style] = {}
        self._strips: LRUCache[tuple[object, ...], Strip] = LRUCache(1024)
        #: The cells each row's width was last measured for (by key).
        self._measured: dict[str, tuple[Cell, ...]] = {}
        #: The window start whose neighbouring pages were last warmed (-1: none).
        self._warmed = -1
        self._update_virtual_size()

    # ------------------------------------------------------------------ reading

    @property
    def row_count(self) -> int:
        """Rows in the source."""
        return self.source.row_count

    @property
    def cursor_key(self) -> str | None:
        """The key of the row under the cursor."""
        return self._cursor_key

    @property
    def page_height(self) -> int:
        """Rows visible at once (the header takes a line)."""
        return max(1, self.scrollable_content_region.height - 1)

    def row(self, key: str) -> TableRow | None:
        """The row ``key`` as it is painted, None when it is not shown."""
        index = self.source.index_of(key)
        rows = self.source.rows(index, index + 1) if index is not None else []
        return rows[0] if rows else None

    def visible_keys(self) -> list[str]:
        """Keys of the rows on screen now."""
        start = int(self.scroll_y)
        return [row.key for row in self.source.rows(start, start + self.page_height)]

    # ------------------------------------------------------------------ updating

    def source_changed(self, change: Change | None = None) -> None:
        """The source changed: repaint what must be and keep the cursor on its row.

        Without ``change`` (or when rows moved) everything repaints; otherwise
        only the visible lines of the changed keys do.
        """
        if change is not None and not change.structure:
            self.refresh_keys(change.keys)
            return
        self._update_virtual_size()
        self._strips.clear()
        index = self.source.index_of(self._cursor_key) if self._cursor_key is not None else None
        self._move_cursor(self.cursor_row if index is None else index)
        self.refresh()

    def refresh_keys(self, keys: Iterable[str]) -> None:
        """Repaint the rows of ``keys`` that are on screen (and only them)."""
        top = int(self.scroll_y)
        bottom = top + self.page_height
        for key in keys:
            index = self.source.index_of(key)
            if index is not None and top <= index < bottom:
                self.refresh_line(index + 1)

    def set_marks(self, marked: frozenset[str]) -> None:
        """Show ``marked`` rows as marked, repainting only rows whose mark flipped."""
        flipped = self.marked ^ marked
        self.marked = marked
        self.refresh_keys(flipped)

    def move_to(self, key: str) -> None:
        """Put the cursor on the row ``key`` if it is shown."""
        index = self.source.index_of(key)
        if index is not None:
            self._move_cursor(index)

    # ------------------------------------------------------------------ cursor

    def _move_cursor(self, row: int) -> None:
        self.cursor_row = max(0, min(row, self.row_count - 1))

    def validate_cursor_row(self, row: int) -> int:
        return max(0, min(row, self.row_count - 1))

    def watch_cursor_row(self, old: int, new: int) -> None:
        rows = self.source.rows(new, new + 1)
        key = rows[0].key if rows else None
        moved = key != self._cursor_key
        self._cursor_key = key
        if old != new:
            self.refresh_line(old + 1)
        self.refresh_line(new + 1)
        self._scroll_cursor_into_view()
        if moved:
            self.post_message(self.CursorMoved(self, key))

    def _scroll_cursor_into_view(self) -> None:
        row = self.cursor_row
        top = int(self.scroll_y)
        if row < top:
            self.scroll_to(y=row, animate=False, immediate=True)
        elif row >= top + self.page_height:
            self.scroll_to(y=row - self.page_height + 1, animate=False, immediate=True)

    def action_cursor_up(self) -> None:
        """Move the cursor up a row."""
        self._move_cursor(self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        """Move the cursor down a row."""
        self._move_cursor(self.cursor_row + 1)

    def action_page_up(self) -> None:
        """Move the cursor and the view up a page."""
        self.scroll_to(y=max(0, self.scroll_y - self.page_height), animate=False, immediate=True)
        self._move_cursor(self.cursor_row - self.page_height)

    def action_page_down(self) -> None:
        """Move the cursor and the view down a page."""
        self.scroll_to(y=self.scroll_y + self.page_height, animate=False, immediate=True)
        self._move_cursor(self.cursor_row + self.page_height)

    def action_first(self) -> None:
        """Jump to the first row."""
        self._move_cursor(0)

    def action_last(self) -> None:
        """Jump to the last row."""
        self._move_cursor(self.row_count - 1)

    def on_click(self, event: events.Click) -> None:
        """A click puts the cursor on the clicked row."""
        if event.y >= 1:
            self._move_cursor(int(self.scroll_y) + event.y - 1)

    # ------------------------------------------------------------------ painting

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self._strips.clear()
        self.refresh()

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            partial = name not in ("virtual-table--even-row", "virtual-table--odd-row")
            style = self._styles[name] = self.get_component_rich_style(name, partial=partial)
        return style

    def _update_virtual_size(self) -> None:
        marks = 1 + 2 * PADDING if self.show_marks else 0
        width = marks + sum(self._widths) + 2 * PADDING * len(self._widths)
        self.virtual_size = Size(width, self.source.row_count + 1)

    def render_lines(self, crop: Region) -> list[Strip]:
        # One call to the source per frame: the window of rows on screen. Columns
        # widen here, before any line is painted, so every line of a frame agrees.
        start = int(self.scroll_y)
        self._window_start = start
        self._view_width = self.scrollable_content_region.width
        self._window = [_shown(row) for row in self.source.rows(start, start + self.page_height)]
        if self._widen(self._window):
            self._strips.clear()
            self._update_virtual_size()
        if start != self._warmed:
            self._warmed = start
            self.call_after_refresh(self._warm, start)
        return super().render_lines(crop)

    def _widen(self, rows: Sequence[TableRow]) -> bool:
        """Widen the columns to fit ``rows``; returns whether any grew. Rows are measured
        once per text (a frame's 40 rows x 10 cells were measured on every paint)."""
        grew = False
        measured = self._measured
        for row in rows:
            if measured.get(row.key) is row.cells:
                continue
            measured[row.key] = row.cells
            for index, (text, _) in enumerate(row.cells):
                width = cell_len(text)
                if width > self._widths[index]:
                    self._widths[index] = width
                    grew = True
        return grew

    def _warm(self, start: int) -> None:
        """After a scroll, format and paint the pages below and above while nothing else
        happens, so the next page key finds its lines built and its frame only composes
        them. Skipped when the view moved on, or when those rows would widen a column
        (the next real paint does that, for every line at once)."""
        if int(self.scroll_y) != start or not self._view_width:
            return
        page = self.page_height
        view = (int(self.scroll_x), self._view_width, tuple(self._widths))
        for first in (start + page, max(0, start - page)):
            rows = [_shown(row) for row in self.source.rows(first, first + page)]
            if any(
                cell_len(text) > self._widths[index]
                for row in rows
                for index, (text, _) in enumerate(row.cells)
            ):
                return
            for offset, row in enumerate(rows):
                self._row_strip(row, first + offset, view)

    def render_line(self, y: int) -> Strip:
        # Strips are cached as painted (cropped to the view): scrolling back to
        # a row, or repainting an unchanged one, builds nothing.
        view = (int(self.scroll_x), self._view_width, tuple(self._widths))
        if y == 0:
            cache_key: tuple[object, ...] = ("header", view)
            strip = self._strips.get(cache_key)
            if strip is None:
                labels = [(col.label, "") for col in self.columns]
                base = self._style("virtual-table--header")
                strip = self._strips[cache_key] = self._paint(labels, base, " ", view)
            return strip
        index = self._window_start + y - 1
        offset = index - self._window_start
        if not 0 <= offset < len(self._window):
            return Strip.blank(self._view_width, self.rich_style)
        return self._row_strip(self._window[offset], index, view)

    def _row_strip(self, row: TableRow, index: int, view: tuple[int, int, object]) -> Strip:
        """The line of ``row`` shown at ``index``, from the cache or painted into it."""
        is_cursor = index == self.cursor_row
        marked = row.key in self.marked
        odd = bool(index % 2) if self.zebra_stripes else True
        cache_key = (row.cells, is_cursor, marked, odd, view)
        strip = self._strips.get(cache_key)
        if strip is None:
            base = self._style("virtual-table--odd-row" if odd else "virtual-table--even-row")
            if is_cursor:
                base = base + self._style("virtual-table--cursor")
            mark = "●" if marked else " "
            strip = self._strips[cache_key] = self._paint(row.cells, base, mark, view)
        return strip

    def _paint(
        self, cells: Sequence[Cell], base: Style, mark: str, view: tuple[int, int, object]
    ) -> Strip:
        scroll_x, width, _ = view
        strip = self._build(cells, base, mark=mark)
        return strip.crop(scroll_x, scroll_x + width).extend_cell_length(width, base)

    def _build(self, cells: Sequence[Cell], base: Style, *, mark: str) -> Strip:
        # A cell's own style goes over the row's (cursor included), as in DataTable:
        # a status keeps its colour under the cursor.
        pad = " " * PADDING
        segments = []
        if self.show_marks:
            marked = base + self._style("virtual-table--marked")
            segments.append(Segment(f"{pad}{mark}{pad}", marked))
        for (text, style_name), width in zip(cells, self._widths, strict=False):
            style = base + self._style(style_name) if style_name else base
            if text.isascii():
                text = text[:width].ljust(width)
            elif cell_len(text) != width:
                text = set_cell_size(text, width)
            segments.append(Segment(f"{pad}{text}{pad}", style))
        return Strip(segments)
