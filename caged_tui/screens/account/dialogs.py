"""The account screen's dialogs: a new key's name and scope, and its secret shown once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Static

from caged_core.models import KeyScope
from caged_tui.safe_text import printable
from caged_tui.widgets.copy_dialog import CopyDialog

_CSS = """
{name} {{ align: center middle; background: $background 60%; }}
{name} > Vertical {{
    width: 84; max-width: 95%; height: auto; border: thick {border};
    background: $surface; padding: 1 2;
}}
{name} .dialog-title {{ text-style: bold; margin-bottom: 1; }}
{name} .dialog-label {{ color: $text-muted; }}
{name} Horizontal {{ height: auto; margin-top: 1; align-horizontal: right; }}
{name} Button {{ margin-left: 2; }}
"""

#: What the scopes allow, for the radio buttons.
SCOPES: tuple[tuple[KeyScope, str], ...] = (
    (KeyScope.FULL, "full — everything this account can do"),
    (KeyScope.READ_ONLY, "read_only — look, never change (writes get 403)"),
)


@dataclass(frozen=True, slots=True)
class NewKey:
    """What the create dialog answers."""

    name: str
    scope: KeyScope


class NewKeyDialog(ModalScreen[NewKey | None]):
    """Ask for a new key's name and scope; ``esc`` cancels."""

    DEFAULT_CSS = _CSS.format(name="NewKeyDialog", border="$accent")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="new_key.cancel"),
        Binding("ctrl+s", "create", "Create", id="new_key.create"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("New API key", classes="dialog-title")
            yield Label("Name", classes="dialog-label")
            yield Input(placeholder="e.g. ci-runner", id="new-key-name", max_length=100)
            yield Label("Scope", classes="dialog-label")
            with RadioSet(id="new-key-scope"):
                for index, (_, label) in enumerate(SCOPES):
                    yield RadioButton(label, value=index == 0)
            yield Static(id="new-key-error")
            with Horizontal():
                yield Button("Cancel", id="cancel")
                yield Button("Create (ctrl+s)", id="create", variant="primary")

    def answer(self) -> NewKey:
        """The name and scope chosen (ValueError when the name is missing or unprintable)."""
        name = self.query_one("#new-key-name", Input).value.strip()
        if not name:
            raise ValueError("A key needs a name.")
        if not name.isprintable():
            raise ValueError("The name may not hold control characters.")
        index = self.query_one(RadioSet).pressed_index
        return NewKey(name, SCOPES[max(index, 0)][0])

    def action_create(self) -> None:
        """Answer with the key to create, unless the form is wrong."""
        try:
            self.dismiss(self.answer())
        except ValueError as problem:
            self.query_one("#new-key-error", Static).update(str(problem))

    def action_cancel(self) -> None:
        """Close without creating anything."""
        self.dismiss(None)

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_create()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "create":
            self.action_create()
        else:
            self.dismiss(None)


class SecretDialog(CopyDialog):
    """A new key's secret, shown this one time, with a warning that it cannot be shown
    again; ``c`` copies it."""

    def __init__(self, name: str, secret: str) -> None:
        super().__init__(
            f"Key {printable(name)!r} created",
            "⚠ This is the only time the key is shown. Copy it now and keep it somewhere"
            " safe: the platform stores only its hash.",
            secret,
            copied="Copied the key. Paste it where it is needed, then clear the clipboard.",
            warning=True,
        )

    @property
    def secret(self) -> str:
        """The key itself."""
        return self.value
