"""A modal that shows a long text to read (a diff, a report), scrollable, closed with esc."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, TextArea


class TextView(ModalScreen[None]):
    """``text`` in a read-only text area (diff-coloured when it is a unified diff)."""

    DEFAULT_CSS = """
    TextView { align: center middle; background: $background 60%; }
    TextView > Vertical {
        width: 90%; height: 80%; border: thick $accent; background: $surface; padding: 0 1;
    }
    TextView Label { text-style: bold; width: 1fr; }
    TextView TextArea { height: 1fr; }
    """

    BINDINGS = [Binding("escape,q", "dismiss", "Close", id="text_view.close")]

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self._title = title
        self._text = text

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"{self._title}  (esc closes)", markup=False)
            yield TextArea(self._text, read_only=True, show_line_numbers=True, soft_wrap=False)

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()
