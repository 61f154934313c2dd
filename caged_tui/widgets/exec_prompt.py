"""The exec prompt: an Input with shell-like history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Input


class ExecPrompt(Input):
    """A command prompt: ``enter`` runs, ``↑``/``↓`` walk the history,
    ``ctrl+c`` asks to interrupt the running command (:class:`InterruptRequested`);
    without one (:attr:`running` false) it is left to the app."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "history(-1)", "Previous command", id="exec.history_previous"),
        Binding("down", "history(1)", "Next command", id="exec.history_next"),
        Binding("ctrl+c", "interrupt", "Interrupt", id="exec.interrupt"),
    ]

    running: reactive[bool] = reactive(False, init=False)
    """Whether a command is running (set by the owner): ``ctrl+c`` acts only then."""

    @dataclass
    class CommandEntered(Message):
        """The user submitted a command (never empty)."""

        command: str

    @dataclass
    class InterruptRequested(Message):
        """``ctrl+c`` while a command runs."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder="command to run in the sandbox, e.g. ls -la", id=id)
        self.history: list[str] = []
        self._position = 0

    def action_history(self, step: int) -> None:
        """Show the previous (-1) or next (+1) command of the history."""
        if not self.history:
            return
        self._position = max(0, min(len(self.history), self._position + step))
        self.value = self.history[self._position] if self._position < len(self.history) else ""
        self.cursor_position = len(self.value)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """``ctrl+c`` interrupts only while a command runs."""
        return self.running if action == "interrupt" else True

    def action_interrupt(self) -> None:
        """Ask the owner to interrupt the running command."""
        self.post_message(self.InterruptRequested())

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        command = event.value.strip()
        if not command:
            return
        if not self.history or self.history[-1] != command:
            self.history.append(command)
        self._position = len(self.history)
        self.value = ""
        self.post_message(self.CommandEntered(command))
