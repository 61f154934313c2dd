"""A URL the browser was asked to open, shown to copy (a terminal over ssh has no browser)."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static


class LinkDialog(ModalScreen[None]):
    """Shows ``url``: ``c`` copies it (OSC 52), ``o`` opens it again, ``esc`` closes."""

    DEFAULT_CSS = """
    LinkDialog { align: center middle; background: $background 60%; }
    LinkDialog > Vertical {
        width: 96; max-width: 95%; height: auto; border: thick $accent;
        background: $surface; padding: 1 2;
    }
    LinkDialog .dialog-title { text-style: bold; margin-bottom: 1; }
    LinkDialog #link-url { background: $boost; padding: 0 1; margin: 1 0; }
    LinkDialog Horizontal { height: auto; align-horizontal: right; }
    LinkDialog Button { margin-left: 2; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "copy", "Copy", id="link.copy"),
        Binding("o", "open", "Open again", id="link.open"),
        Binding("escape,enter", "close", "Close", id="link.close"),
    ]

    def __init__(self, title: str, url: str) -> None:
        super().__init__()
        self._title = title
        self.url = url

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self._title, classes="dialog-title")
            yield Static("Opened in your browser. If nothing opened, copy the link:")
            yield Static(self.url, id="link-url", markup=False)
            with Horizontal():
                yield Button("Copy (c)", id="copy", variant="primary")
                yield Button("Close", id="close")

    def action_copy(self) -> None:
        """Copy the URL to the clipboard (OSC 52)."""
        self.app.copy_to_clipboard(self.url)
        self.notify("Copied the link")

    def action_open(self) -> None:
        """Ask the browser again."""
        self.app.open_url(self.url)

    def action_close(self) -> None:
        """Close."""
        self.dismiss(None)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "copy":
            self.action_copy()
        else:
            self.dismiss(None)
