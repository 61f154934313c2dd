"""The windowed timeline: a session's events as a :class:`TableSource`, fetched by pages.

A session's sequences run 1, 2, 3 … (one per stored event), so row ``i`` is
sequence ``i + 1`` and the page holding it is asked for with ``after_seq =
page x PAGE``: any window — the first screen, the end, the playhead after a
jump to 70 % — costs one request, whatever the session's length. Rows of a
page not loaded yet are placeholders; asking for them calls ``request(page)``
once, and the owner hands the answer to :meth:`TimelineSource.add_page`.

Only a bounded number of pages is kept (the least recently used go), so a
100,000-event session costs what a few screens do.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from caged_core.models import ReplayEvent
from caged_tui.widgets.virtual_table import Cell, TableRow

#: Events per request (the contract allows up to 1000).
PAGE = 500
#: Pages kept in memory.
KEEP_PAGES = 64

RenderEvent = Callable[[ReplayEvent], tuple[Cell, ...]]


@dataclass(frozen=True, slots=True)
class Placeholder:
    """A row whose page is still loading."""

    cells: tuple[Cell, ...]


class TimelineSource:
    """Every event of a session, in sequence order, paged in on demand.

    Args:
        render: an event's cells.
        width: how many columns a placeholder row has.
        request: called with a page number the first time a row of it is wanted.
    """

    def __init__(self, render: RenderEvent, width: int, request: Callable[[int], None]) -> None:
        self._render = render
        self._request = request
        self._placeholder = tuple(("…" if i == 2 else "", "") for i in range(width))
        self.total = 0
        self._pages: OrderedDict[int, list[ReplayEvent]] = OrderedDict()
        # Rows formatted as first shown (None: not yet): formatting a whole page at
        # once, as playback entered it, was a 500-row stall in one frame.
        self._rows: dict[int, list[TableRow | None]] = {}
        self._asked: set[int] = set()

    # ------------------------------------------------------------------ TableSource

    @property
    def row_count(self) -> int:
        """Events in the session."""
        return self.total

    def rows(self, start: int, stop: int) -> list[TableRow]:
        """Rows ``start``..``stop``; placeholders (and a request) for pages not loaded."""
        window: list[TableRow] = []
        stop = min(stop, self.total)
        index = max(0, start)
        while index < stop:
            page, offset = divmod(index, PAGE)
            end = min(stop, (page + 1) * PAGE)
            rows = self._page_rows(page, offset, offset + end - index)
            window += rows
            # A page not loaded, or shorter than expected (events still arriving).
            window += [
                TableRow(str(i + 1), self._placeholder) for i in range(index + len(rows), end)
            ]
            index = end
        return window

    def index_of(self, key: str) -> int | None:
        """Row keys are sequences: row ``i`` is ``str(i + 1)``."""
        try:
            index = int(key) - 1
        except ValueError:
            return None
        return index if 0 <= index < self.total else None

    # ------------------------------------------------------------------ pages

    def after_seq(self, page: int) -> int:
        """The ``after_seq`` that fetches ``page``."""
        return page * PAGE

    def _page_rows(self, page: int, start: int, stop: int) -> list[TableRow]:
        """Rows ``start``..``stop`` of ``page`` it has (none when not loaded)."""
        events = self._pages.get(page)
        if events is None:
            self.want(page)
            return []
        self._pages.move_to_end(page)
        rows = self._rows.get(page)
        if rows is None:
            rows = self._rows[page] = [None] * len(events)
        stop = min(stop, len(events))
        for offset in range(start, stop):
            if rows[offset] is None:
                event = events[offset]
                rows[offset] = TableRow(str(event.sequence), self._render(event))
        return [row for row in rows[start:stop] if row is not None]

    def want(self, page: int) -> None:
        """Ask for ``page`` unless it is loaded, asked for already or past the end."""
        wanted = 0 <= page * PAGE < max(self.total, 1)
        if wanted and page not in self._pages and page not in self._asked:
            self._asked.add(page)
            self._request(page)

    def add_page(self, page: int, events: list[ReplayEvent]) -> None:
        """The events of ``page`` arrived (in sequence order)."""
        self._asked.discard(page)
        self._pages[page] = events
        self._rows.pop(page, None)
        self._pages.move_to_end(page)
        while len(self._pages) > KEEP_PAGES:
            old, _ = self._pages.popitem(last=False)
            self._rows.pop(old, None)
        if events:
            self.total = max(self.total, events[-1].sequence)

    def failed(self, page: int) -> None:
        """Fetching ``page`` failed: ask again when its rows are next wanted."""
        self._asked.discard(page)

    def append(self, events: Iterable[ReplayEvent]) -> list[int]:
        """New events at the tail (live follow); returns the pages they touched."""
        touched: dict[int, list[ReplayEvent]] = {}
        for event in events:
            touched.setdefault((event.sequence - 1) // PAGE, []).append(event)
            self.total = max(self.total, event.sequence)
        for page, new in touched.items():
            loaded = self._pages.get(page)
            if loaded is not None or page * PAGE == (new[0].sequence - 1):
                known = {e.sequence for e in loaded or []}
                merged = (loaded or []) + [e for e in new if e.sequence not in known]
                self._pages[page] = merged
                self._rows.pop(page, None)
        return sorted(touched)

    def event(self, sequence: int) -> ReplayEvent | None:
        """The event ``sequence`` if its page is loaded (asking for it otherwise)."""
        if not 1 <= sequence <= self.total:
            return None
        page, offset = divmod(sequence - 1, PAGE)
        events = self._pages.get(page)
        if events is None:
            self.want(page)
            return None
        found = events[offset] if offset < len(events) else None
        # Sequences are dense on every platform we know; a gap must not show another event.
        return found if found is not None and found.sequence == sequence else None

    def refresh_rows(self) -> None:
        """Forget formatted rows (what a row shows changed: deductions arrived)."""
        self._rows.clear()
