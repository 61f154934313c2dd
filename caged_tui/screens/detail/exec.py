"""The exec panel: run a command, stream its output, interrupt it, see how it ended.

Commands stream through ``client.sandboxes.exec_stream`` (the marker protocol
over the terminal socket). A command that ends without an exit code says why
(:func:`~caged_tui.ending.why_ended`): a paused sandbox offers ``p`` to resume.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from rich.style import Style
from rich.text import Span, Text
from textual import on, work
from textual.app import ComposeResult
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import RichLog, Static

from caged_core.client.realtime.exec_stream import ExecStream
from caged_tui.ending import Ending, EndKind, why_ended
from caged_tui.safe_text import controls_escaped
from caged_tui.screens.detail.panel import DetailPanel
from caged_tui.streams import LineBuffer, batched
from caged_tui.widgets.exec_prompt import ExecPrompt
from caged_tui.widgets.terminal.links import web_link

#: Lines of exec output kept on screen, and drawn at most per batch of output.
EXEC_MAX_LINES = 2000
EXEC_BATCH_LINES = 24
#: Seconds ``ctrl+c`` waits for the interrupted command to report before dropping the socket.
INTERRUPT_GRACE = 3.0
# Control characters but tab, carriage return (Rich acts on both) and ESC (ANSI styles).
_CONTROLS = re.compile("[\x00-\x08\x0a-\x0c\x0e-\x1a\x1c-\x1f\x7f-\x9f]")


def _terminal_text(line: str) -> Text:
    """A line of PTY output; ANSI styles are parsed only when there are any (cheaper).

    Only what Rich draws as text and colour reaches the user's terminal: the other control
    characters are shown escaped (a C1 one is a sequence to some terminals; an ESC Rich
    does not take as part of a sequence is drawn as ␛), and a link
    (OSC 8) is kept only when it is a web link — Rich takes anything up to ``ESC \\`` for
    its target, which Textual writes out inside an escape sequence of its own.
    """
    line = _CONTROLS.sub(lambda found: controls_escaped(found.group()), line)
    if "\x1b" not in line:
        return Text(line)
    text = Text.from_ansi(line)
    if "\x1b" in text.plain:  # a sequence Rich does not know (ESC c resets the terminal)
        text.plain = text.plain.replace("\x1b", "␛")  # as long: the spans stay in place
    text.spans = [
        Span(span.start, span.end, span.style.update_link(web_link(span.style.link) or None))
        if isinstance(span.style, Style) and span.style.link
        else span
        for span in text.spans
    ]
    return text


class ExecPanel(DetailPanel):
    """A prompt, the output of the running command and its outcome."""

    PANEL_ID = "exec"
    TITLE = "Exec"
    FOCUS = "#exec-prompt"

    running_command: reactive[str] = reactive("", init=False)

    @dataclass
    class Output(Message):
        """A chunk of a running command's output."""

        text: str

    @dataclass
    class Finished(Message):
        """The command ended; ``exit_code`` is None when it was never reported
        (then ``ending`` says why)."""

        command: str
        exit_code: int | None
        interrupted: bool = False
        ending: Ending | None = None

    def __init__(self, sandbox_id: str) -> None:
        super().__init__(sandbox_id)
        self._lines = LineBuffer()
        self._done = asyncio.Event()
        self._stream: ExecStream | None = None

    def compose(self) -> ComposeResult:
        yield RichLog(
            id="exec-output", markup=False, highlight=False, wrap=True, max_lines=EXEC_MAX_LINES
        )
        yield Static(
            "Type a command and press enter · ↑/↓ history · ctrl+c interrupts", id="exec-status"
        )
        yield ExecPrompt(id="exec-prompt")

    @on(ExecPrompt.CommandEntered)
    def _entered(self, event: ExecPrompt.CommandEntered) -> None:
        if self.running_command:
            self.notify("A command is still running (ctrl+c interrupts it).", severity="warning")
            return
        self.query_one("#exec-output", RichLog).write(Text(f"$ {event.command}", style="bold"))
        self.running_command = event.command
        self.run_command(event.command)

    def watch_running_command(self, command: str) -> None:
        self.set_class(bool(command), "-running")
        self.query_one(ExecPrompt).running = bool(command)
        if command:
            status = self.query_one("#exec-status", Static)
            status.set_classes("-running")
            status.update(f"running: {command}   (ctrl+c interrupts)")

    @work(exclusive=True, group="detail.exec", exit_on_error=False, description="Running a command")
    async def run_command(self, command: str) -> None:
        """Stream ``command``'s output; closing the stream (cancel) stops it."""
        self._done.clear()
        stream = await self.client.sandboxes.exec_stream(self.sandbox_id, command)
        self._stream = stream
        interrupted = False
        try:
            async for text in batched(stream):
                self.post_message(self.Output(text))
        except asyncio.CancelledError:
            interrupted = True
            raise
        finally:
            await stream.close()
            self._done.set()
            ending = None
            if stream.exit_code is None and not interrupted:
                ending = await why_ended(
                    self.client, self.sandbox_id, stream.close_code, stream.close_reason
                )
            self.post_message(self.Finished(command, stream.exit_code, interrupted, ending))

    @on(ExecPrompt.InterruptRequested)
    def _interrupt_requested(self) -> None:
        if self.running_command:
            self.interrupt()

    @work(group="detail.interrupt", exit_on_error=False, description="Interrupting")
    async def interrupt(self) -> None:
        """Send ctrl+c; drop the socket if the command does not end in time."""
        if self._stream is not None:
            await self._stream.kill()
        try:
            await asyncio.wait_for(self._done.wait(), INTERRUPT_GRACE)
        except TimeoutError:
            self.workers.cancel_group(self, "detail.exec")

    @on(Output)
    def _output(self, event: Output) -> None:
        output = self.query_one("#exec-output", RichLog)
        lines = self._lines.feed(event.text)
        if len(lines) > EXEC_BATCH_LINES:
            # A flood (``yes``): drawing every line would starve the event loop,
            # and with it the ctrl+c that should stop the command.
            skipped = len(lines) - EXEC_BATCH_LINES
            output.write(Text(f"… {skipped} lines not shown (output too fast)", style="dim"))
            lines = lines[-EXEC_BATCH_LINES:]
        for line in lines:
            output.write(_terminal_text(line))

    @on(Finished)
    def _finished(self, event: Finished) -> None:
        output = self.query_one("#exec-output", RichLog)
        if rest := self._lines.flush():
            output.write(_terminal_text(rest))
        self.running_command = ""
        status = self.query_one("#exec-status", Static)
        code = event.exit_code
        if event.interrupted:
            status.set_classes("-failed")
            status.update(f"interrupted: {event.command}")
        elif code is None:
            status.set_classes("-failed")
            ending = event.ending or Ending(EndKind.OTHER, "the connection ended")
            hint = {EndKind.PAUSED: " — p resumes it", EndKind.GONE: ""}.get(ending.kind, "")
            status.update(f"not run: {ending.reason}{hint}")
            if ending.kind is EndKind.PAUSED:
                # The prompt would swallow the p that resumes.
                output.focus()
        else:
            status.set_classes("-ok" if code == 0 else "-failed")
            status.update(f"{'✔' if code == 0 else '✘'} exit {code}: {event.command}")
        output.write(Text(f"[exit {code if code is not None else '?'}]", style="dim"))
