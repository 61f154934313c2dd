"""Shared pieces of the terminal benchmarks.

- :class:`TerminalHarness`: the product's :class:`TerminalView` fed by the
  client's terminal session through the app's ``SessionTransport`` adapter,
  in a bare app run headless at a chosen size, with a :class:`FrameProbe`;
- :class:`RawTerminal`: the reference client — a bare ``websockets``
  connection to the same endpoint that neither parses nor renders;
- helpers to find text on the widget's screen and to wait for a shell prompt.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlencode

from textual import events
from textual.app import App, ComposeResult
from websockets.asyncio.client import ClientConnection, connect

from benchmarks._frames import FrameProbe
from benchmarks._platform import LocalPlatform
from caged_core.client import AsyncCaged
from caged_tui.host_keys import hand_key_to_terminal
from caged_tui.terminal_adapter import SessionTransport
from caged_tui.widgets.terminal import TerminalView
from caged_tui.widgets.terminal.screen import row_text

#: How long a shell must stay silent to count as waiting at its prompt.
QUIET = 0.4
#: Longest wait for a shell to go quiet.
SETTLE_LIMIT = 30.0


class TerminalApp(App[None]):
    """Nothing but a focused terminal view filling the screen, handing keys to it as the
    product's app does (:func:`caged_tui.host_keys.hand_key_to_terminal`)."""

    def __init__(self, view: TerminalView) -> None:
        super().__init__()
        self.view = view

    async def on_event(self, event: events.Event) -> None:
        if not hand_key_to_terminal(self, event):
            await super().on_event(event)

    def compose(self) -> ComposeResult:
        yield self.view

    def on_mount(self) -> None:
        self.view.focus()


class TerminalHarness:
    """A running :class:`TerminalApp` on a sandbox's terminal socket."""

    def __init__(self, app: TerminalApp, probe: FrameProbe) -> None:
        self.app = app
        self.view = app.view
        self.probe = probe

    def rows_near_cursor(self, above: int = 2) -> list[str]:
        """The text of the cursor's row and the ``above`` rows over it."""
        terminal = self.view.terminal
        y = terminal.cursor.y
        return [
            row_text(terminal.line(row), terminal.columns)
            for row in range(max(0, y - above), y + 1)
        ]

    async def settle(self) -> None:
        """Wait until output has stopped for :data:`QUIET` seconds (a prompt is showing)."""
        deadline = time.monotonic() + SETTLE_LIMIT
        last = -1
        while time.monotonic() < deadline:
            parsed = self.view.parsed_bytes
            if parsed == last and self.view.buffered_bytes == 0:
                return
            last = parsed
            await asyncio.sleep(QUIET)
        raise RuntimeError("the terminal never went quiet")


@asynccontextmanager
async def terminal_app(
    caged: AsyncCaged, sandbox_id: str, columns: int, lines: int
) -> AsyncIterator[TerminalHarness]:
    """The product's terminal on ``sandbox_id``, headless at ``columns`` x ``lines``."""
    session = await caged.sandboxes.terminal(sandbox_id, rows=lines, cols=columns)
    transport = SessionTransport(session)
    app = TerminalApp(TerminalView(transport))
    probe = FrameProbe(app)
    try:
        async with app.run_test(headless=True, size=(columns, lines)):
            harness = TerminalHarness(app, probe)
            await harness.settle()
            yield harness
    finally:
        await transport.close()


class RawTerminal:
    """A bare WebSocket client of the terminal endpoint (the reference client)."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.received = 0

    @classmethod
    @asynccontextmanager
    async def open(
        cls, platform: LocalPlatform, caged: AsyncCaged, sandbox_id: str, columns: int, lines: int
    ) -> AsyncIterator[RawTerminal]:
        """Connect with a fresh ticket; closed on exit."""
        ticket = (await caged.socket_ticket()).ticket
        query = urlencode({"rows": lines, "cols": columns, "token": ticket})
        url = f"{platform.ws_url}/v1/sandboxes/{sandbox_id}/terminal?{query}"
        async with connect(url, subprotocols=["terminal"], max_size=None) as ws:  # type: ignore[list-item]
            raw = cls(ws)
            await raw.drain_until_quiet()
            yield raw

    async def send(self, data: str) -> None:
        """Type ``data``."""
        await self.ws.send(json.dumps({"type": "input", "data": data}))

    async def output(self) -> str:
        """The next piece of output (other frames are skipped)."""
        while True:
            frame: Any = json.loads(await self.ws.recv())
            if isinstance(frame, dict) and frame.get("type") == "output":
                data = str(frame.get("data", ""))
                self.received += len(data.encode())
                return data

    async def drain_until_quiet(self) -> None:
        """Read until the shell has been silent for :data:`QUIET` seconds."""
        while True:
            try:
                await asyncio.wait_for(self.output(), QUIET)
            except TimeoutError:
                return
