"""The ``:`` command line: jump to a screen by name, with completion."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from textual import on
from textual.binding import Binding
from textual.message import Message
from textual.suggester import SuggestFromList
from textual.widgets import Input


class CommandLine(Input):
    """A one-line prompt docked at the bottom, hidden until ``:`` is pressed.

    ``tab``/``right`` accept the completion; ``enter`` posts :class:`Entered`;
    ``esc`` closes it and gives the focus back.
    """

    DEFAULT_CSS = """
    CommandLine {
        dock: bottom;
        display: none;
        border: none;
        height: 1;
        padding: 0 1;
        background: $panel;
    }
    CommandLine.-open { display: block; }
    /* Input's focused border would take the only line: the typed text and the
       completion were invisible. */
    CommandLine:focus { border: none; }
    """

    BINDINGS = [
        Binding("escape", "close", "Close", id="command_line.close"),
        Binding("tab", "cursor_right", "Complete", show=False, id="command_line.complete"),
    ]

    @dataclass
    class Entered(Message):
        """The user entered a command (already stripped, never empty)."""

        command: str

    def __init__(self, names: Iterable[str]) -> None:
        super().__init__(
            placeholder="screen name (tab completes, esc closes)",
            suggester=SuggestFromList(list(names), case_sensitive=False),
        )

    def open(self) -> None:
        """Show the prompt and focus it."""
        self.value = ""
        self.add_class("-open")
        self.call_after_refresh(self.focus)

    def action_close(self) -> None:
        """Hide the prompt and return the focus to the screen."""
        self.remove_class("-open")
        self.value = ""
        self.screen.focus_next()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        command = event.value.strip()
        self.action_close()
        if command:
            self.post_message(self.Entered(command))
