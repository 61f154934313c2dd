"""What the list screens share: a filter box (``/``), a sort column (``S``), the order (``O``).

The sandboxes and sessions screens are :class:`ListScreen` subclasses: each names its
filter box (:attr:`ListScreen.FILTER_ID`), its sortable columns' labels and its table,
and applies the view in :meth:`ListScreen.apply_view`; the reactives, the box's handlers,
the actions and the info line's wording are here, once. Bindings stay on each screen, so
every key keeps its own id.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.reactive import reactive
from textual.widgets import Input

from caged_tui.screens.base import CagedScreen
from caged_tui.widgets.virtual_table import VirtualTable


class ListScreen(CagedScreen[None]):
    """A screen around one filterable, sortable :class:`VirtualTable`."""

    #: The id of the filter :class:`Input` (shown with the ``-open`` class).
    FILTER_ID: ClassVar[str] = ""
    #: The sortable columns' labels, in the order ``S`` cycles through them.
    SORT_LABELS: ClassVar[tuple[str, ...]] = ()

    filter_text: reactive[str] = reactive("", init=False)
    sort_index: reactive[int] = reactive(-1, init=False)
    sort_reverse: reactive[bool] = reactive(False, init=False)

    @property
    def table(self) -> VirtualTable:
        """The list widget."""
        raise NotImplementedError

    def apply_view(self) -> None:
        """Apply :attr:`filter_text`, :attr:`sort_index` and :attr:`sort_reverse` to the
        table's source and repaint."""
        raise NotImplementedError

    def watch_filter_text(self) -> None:
        self.apply_view()

    def watch_sort_index(self) -> None:
        self.apply_view()

    def watch_sort_reverse(self) -> None:
        self.apply_view()

    def view_parts(self, shown: int) -> list[str]:
        """The info line's words about the filter and the order."""
        parts = []
        if self.filter_text:
            parts.append(f"filter: {self.filter_text!r} ({shown} shown)")
        if self.sort_index >= 0:
            arrow = "↑" if self.sort_reverse else "↓"
            parts.append(f"sorted by {self.SORT_LABELS[self.sort_index].lower()} {arrow}")
        return parts

    @property
    def _filter_box(self) -> Input:
        return self.query_one(f"#{self.FILTER_ID}", Input)

    def action_filter(self) -> None:
        """Show the filter box and focus it."""
        box = self._filter_box
        box.add_class("-open")
        # Focus once it is displayed: a hidden widget cannot take the focus.
        self.call_after_refresh(box.focus)

    @on(Input.Changed)
    def _filter_changed(self, event: Input.Changed) -> None:
        if event.input.id == self.FILTER_ID:
            self.filter_text = event.value

    @on(Input.Submitted)
    def _filter_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == self.FILTER_ID:
            self.table.focus()

    def clear_filter(self) -> None:
        """Empty and hide the filter box; the list has the focus again."""
        box = self._filter_box
        box.value = ""
        box.remove_class("-open")
        self.table.focus()

    def action_sort(self) -> None:
        """Cycle the sort column, then none."""
        self.sort_index = (self.sort_index + 2) % (len(self.SORT_LABELS) + 1) - 1

    def action_reverse(self) -> None:
        """Reverse the order."""
        self.sort_reverse = not self.sort_reverse
