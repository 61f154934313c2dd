"""A recorded terminal shown at its recorded size, in a pane that scrolls when it is smaller.

A replay must look as the terminal did live: the terminal keeps the columns and rows it
was recorded at (a resize in the recording resizes it), so its lines wrap where they
wrapped. The pane cannot always be that large; rather than cut the right side off
silently, it scrolls (scroll bars, the mouse, :meth:`TerminalPane.pan`) and its title
says the recorded size and that it is cropped, with how to see the rest.
"""

from __future__ import annotations

from textual import events
from textual.containers import ScrollableContainer
from textual.geometry import Size
from textual.reactive import var

from caged_tui.widgets.terminal import TerminalView


class TerminalPane(ScrollableContainer, can_focus=False):
    """Scrolls a :class:`TerminalView` kept at its terminal's size (``follows_size`` off)."""

    DEFAULT_CSS = """
    TerminalPane {
        border-top: solid $panel-lighten-2;
        border-title-color: $text-muted;
        scrollbar-size: 1 1;
    }
    """

    #: How to see what is cropped, for the title (the replay's zoom key, or scrolling).
    crop_hint: var[str] = var("scroll to see the rest", init=False)

    def __init__(self, view: TerminalView, *, crop_hint: str, id: str | None = None) -> None:
        view.follows_size = False
        super().__init__(view, id=id)
        self.view = view
        self.set_reactive(TerminalPane.crop_hint, crop_hint)
        self._shown_size = Size(0, 0)

    def fit(self) -> None:
        """Give the view its terminal's size (after a recorded resize or a keyframe shown)."""
        terminal = self.view.terminal
        size = Size(terminal.columns, terminal.lines)
        if size == self._shown_size:
            return
        self._shown_size = size
        self.view.styles.width, self.view.styles.height = size.width, size.height
        self._retitle()

    @property
    def cropped(self) -> bool:
        """Whether part of the terminal is out of the pane (as last laid out)."""
        return self.max_scroll_x > 0 or self.max_scroll_y > 0

    def follow_cursor(self) -> None:
        """Scroll a pane shorter than the terminal so that the cursor's row shows."""
        if not self.max_scroll_y:
            return
        row, height = self.view.terminal.cursor.y, self.scrollable_content_region.height
        top = round(self.scroll_y)
        if not top <= row < top + height:
            self.scroll_to(y=max(0, row + 1 - height), animate=False, immediate=True)

    def pan(self, columns: int, rows: int) -> None:
        """Scroll by ``columns`` and ``rows`` (negative: left / up)."""
        self.scroll_relative(columns, rows, animate=False, immediate=True)

    def on_resize(self, event: events.Resize) -> None:
        """The pane or the terminal changed size: it may be cropped now, or not any more."""
        self._retitle()

    def watch_crop_hint(self) -> None:
        self._retitle()

    def _retitle(self) -> None:
        columns, lines = self._shown_size
        if not columns:
            return
        title = f"terminal {columns}x{lines}"
        self.border_title = f"{title} (cropped: {self.crop_hint})" if self.cropped else title
