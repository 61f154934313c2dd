"""A modal that picks one sandbox from the list (a restore's target, say)."""

from __future__ import annotations

from datetime import datetime

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label

from caged_core.models import Sandbox
from caged_tui.widgets.sandbox_table import SandboxTable, sandbox_source


class SandboxPicker(ModalScreen[str | None]):
    """The sandboxes in the shared table; ``enter`` picks the one under the cursor."""

    DEFAULT_CSS = """
    SandboxPicker { align: center middle; background: $background 60%; }
    SandboxPicker > Vertical {
        width: 90%; height: 70%; border: thick $accent; background: $surface; padding: 0 1;
    }
    SandboxPicker Label { text-style: bold; width: 1fr; margin-bottom: 1; }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="picker.cancel")]

    def __init__(
        self, title: str, sandboxes: list[Sandbox], now: datetime, *, selected: str | None = None
    ) -> None:
        super().__init__()
        self._title = title
        self._source = sandbox_source(now)
        self._source.update(sandboxes)
        self._selected = selected

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"{self._title}  (enter picks, esc cancels)", markup=False)
            yield SandboxTable(self._source, id="picker-table")

    def on_mount(self) -> None:
        table = self.query_one(SandboxTable)
        table.focus()
        if self._selected is not None:
            table.move_to(self._selected)

    def action_open(self) -> None:
        """Pick the sandbox under the cursor."""
        self.dismiss(self.query_one(SandboxTable).cursor_key)

    def action_cancel(self) -> None:
        """Close without picking."""
        self.dismiss(None)
