"""Modal dialogs: confirm (defaulting to Cancel), a choice among several answers, a small
form of text fields, and an error to read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static
from textual.widgets.button import ButtonVariant

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


@dataclass(frozen=True, slots=True)
class Choice:
    """One answer of a :class:`ChoiceDialog`: its id, button label, key and look."""

    id: str
    label: str
    key: str
    variant: ButtonVariant = "default"


class ChoiceDialog(ModalScreen[str | None]):
    """Ask which of several things to do (save / discard / cancel …).

    Dismissed with the chosen :attr:`Choice.id`, or None for ``esc``. The first
    choice has the focus; each answers to its own key too.
    """

    DEFAULT_CSS = _DIALOG_CSS.format(name="ChoiceDialog", border="$warning")

    BINDINGS = [
        Binding("escape", "choose(None)", "Cancel", id="choice.cancel"),
        Binding("left,right", "app.focus_next", "Switch button", show=False, id="choice.switch"),
    ]

    def __init__(self, title: str, message: str, choices: Sequence[Choice]) -> None:
        super().__init__()
        self._title = title
        self._message = message
        self._choices = tuple(choices)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self._title, classes="dialog-title")
            yield Static(self._message, classes="dialog-body", markup=False)
            with Horizontal():
                for choice in self._choices:
                    yield Button(
                        f"{choice.label} ({choice.key})",
                        id=f"choice-{choice.id}",
                        variant=choice.variant,
                    )

    def on_mount(self) -> None:
        self.query(Button).first().focus()

    def on_key(self, event: events.Key) -> None:
        for choice in self._choices:
            if event.key == choice.key:
                event.stop()
                self.dismiss(choice.id)
                return

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss((event.button.id or "").removeprefix("choice-"))

    def action_choose(self, choice: str | None) -> None:
        """Close the dialog with ``choice``."""
        self.dismiss(choice)


@dataclass(frozen=True, slots=True)
class Field:
    """One text field of a :class:`FormDialog`."""

    id: str
    label: str
    value: str = ""
    placeholder: str = ""
    required: bool = True


class FormDialog(ModalScreen[dict[str, str] | None]):
    """A few text fields (a new file's name, a snapshot's name and description).

    ``enter`` in the last field (or OK) dismisses with ``{field id: text}``;
    ``esc`` with None. A required field left empty keeps the dialog open.
    """

    DEFAULT_CSS = (
        _DIALOG_CSS.format(name="FormDialog", border="$accent")
        + """
    FormDialog Input { margin-bottom: 1; }
    FormDialog .dialog-label { color: $text-muted; }
    """
    )

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="form.cancel")]

    def __init__(self, title: str, fields: Sequence[Field], ok_label: str = "OK") -> None:
        super().__init__()
        self._title = title
        self._fields = tuple(fields)
        self._ok_label = ok_label

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self._title, classes="dialog-title")
            for field in self._fields:
                yield Label(field.label, classes="dialog-label")
                yield Input(field.value, placeholder=field.placeholder, id=f"field-{field.id}")
            with Horizontal():
                yield Button("Cancel", id="cancel")
                yield Button(self._ok_label, id="ok", variant="primary")

    def values(self) -> dict[str, str]:
        """The fields' text, stripped."""
        return {
            field.id: self.query_one(f"#field-{field.id}", Input).value.strip()
            for field in self._fields
        }

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        inputs = list(self.query(Input))
        if event.input is inputs[-1]:
            self._finish()
        else:
            inputs[inputs.index(event.input) + 1].focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self._finish()
        else:
            self.dismiss(None)

    def _finish(self) -> None:
        values = self.values()
        missing = [f.label for f in self._fields if f.required and not values[f.id]]
        if missing:
            self.notify(f"{missing[0]} is required.", severity="warning")
            return
        self.dismiss(values)

    def action_cancel(self) -> None:
        """Close without an answer."""
        self.dismiss(None)


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
