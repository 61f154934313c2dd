"""A URL the browser was asked to open, shown to copy (a terminal over ssh has no browser)."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType

from caged_tui.widgets.copy_dialog import CopyDialog


class LinkDialog(CopyDialog):
    """Shows ``url``: ``c`` copies it (OSC 52), ``o`` opens it again, ``esc`` closes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("o", "open", "Open again", id="link.open"),
    ]

    def __init__(self, title: str, url: str) -> None:
        super().__init__(
            title,
            "Opened in your browser. If nothing opened, copy the link:",
            url,
            copied="Copied the link",
        )

    @property
    def url(self) -> str:
        """The URL."""
        return self.value

    def action_open(self) -> None:
        """Ask the browser again."""
        self.app.open_url(self.url)
