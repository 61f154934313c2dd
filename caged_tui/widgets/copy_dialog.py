"""A value the user must take away — a new key's secret, a checkout URL — shown to copy.

``c`` copies it with OSC 52 (which also works over ssh and inside tmux), ``esc`` or
``enter`` closes. A ``warning`` dialog says so with its border and note (a secret shown
once); subclasses add their own keys (open the URL again).
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static


class CopyDialog(ModalScreen[None]):
    """Shows ``value`` under ``title`` and ``note``; ``copied`` is what copying says."""

    DEFAULT_CSS = """
    CopyDialog { align: center middle; background: $background 60%; }
    CopyDialog > Vertical {
        width: 96; max-width: 95%; height: auto; border: thick $accent;
        background: $surface; padding: 1 2;
    }
    CopyDialog.-warning > Vertical { border: thick $warning; }
    CopyDialog .dialog-title { text-style: bold; margin-bottom: 1; }
    CopyDialog.-warning #copy-note { color: $warning; }
    CopyDialog #copy-value { background: $boost; padding: 0 1; margin: 1 0; text-style: bold; }
    CopyDialog Horizontal { height: auto; align-horizontal: right; }
    CopyDialog Button { margin-left: 2; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "copy", "Copy", id="copy_dialog.copy"),
        Binding("escape,enter", "close", "Close", id="copy_dialog.close"),
    ]

    def __init__(
        self, title: str, note: str, value: str, *, copied: str, warning: bool = False
    ) -> None:
        super().__init__(classes="-warning" if warning else None)
        self._title = title
        self._note = note
        self.value = value
        self._copied = copied

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self._title, classes="dialog-title", markup=False)
            yield Static(self._note, id="copy-note", markup=False)
            yield Static(self.value, id="copy-value", markup=False)
            with Horizontal():
                yield Button("Copy (c)", id="copy", variant="primary")
                yield Button("Done", id="done")

    def action_copy(self) -> None:
        """Copy the value to the clipboard (OSC 52)."""
        self.app.copy_to_clipboard(self.value)
        self.notify(self._copied)

    def action_close(self) -> None:
        """Close."""
        self.dismiss(None)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "copy":
            self.action_copy()
        else:
            self.dismiss(None)
