"""Modal dialogs: confirm (defaulting to Cancel) and an error to read."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

_DIALOG_CSS = """
{name} {{
    align: center middle;
    background: $background 60%;
}}
{name} > Vertical {{
    width: 72;
    max-width: 90%;
    height: auto;
    max-height: 80%;
    border: thick {border};
    background: $surface;
    padding: 1 2;
}}
{name} .dialog-title {{ text-style: bold; width: 1fr; margin-bottom: 1; }}
{name} .dialog-body {{ width: 1fr; height: auto; max-height: 20; overflow-y: auto; }}
{name} Horizontal {{ height: auto; margin-top: 1; align-horizontal: right; }}
{name} Button {{ margin-left: 2; }}
"""


class ConfirmDialog(ModalScreen[bool]):
    """Ask before doing something irreversible. Cancel has the focus, so a
    stray ``enter`` never destroys anything; ``esc``/``n`` cancel, ``y`` confirms."""

    DEFAULT_CSS = _DIALOG_CSS.format(name="ConfirmDialog", border="$error")

    BINDINGS = [
        Binding("escape,n", "answer(False)", "Cancel", id="confirm.cancel"),
        Binding("y", "answer(True)", "Confirm", id="confirm.yes"),
        Binding(
            "left,right,tab", "app.focus_next", "Switch button", show=False, id="confirm.switch"
        ),
    ]

    def __init__(self, title: str, message: str, confirm_label: str = "Destroy") -> None:
        super().__init__()
        self._title = title
        self._message = message
        self._confirm_label = confirm_label

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self._title, classes="dialog-title")
            yield Static(self._message, classes="dialog-body", markup=False)
            with Horizontal():
                yield Button("Cancel", id="cancel", variant="default")
                yield Button(self._confirm_label, id="confirm", variant="error")

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm")

    def action_answer(self, answer: bool) -> None:
        """Close the dialog with ``answer``."""
        self.dismiss(answer)


class ErrorDialog(ModalScreen[None]):
    """An error the user must read before going on (what failed and why)."""

    DEFAULT_CSS = _DIALOG_CSS.format(name="ErrorDialog", border="$error")

    BINDINGS = [Binding("escape,enter,q", "dismiss", "Close", id="error.close")]

    def __init__(self, title: str, message: str) -> None:
        super().__init__()
        self._title = title
        self._message = message

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self._title, classes="dialog-title")
            yield Static(self._message, classes="dialog-body", markup=False)
            with Horizontal():
                yield Button("Close", id="close", variant="primary")

    @on(Button.Pressed)
    def _pressed(self) -> None:
        self.dismiss(None)
