"""OSC 52 from a sandbox reaches the host clipboard only if the user allows it, asked once per
sandbox (issue 17, item 5)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from typing import Any

from eventually import eventually_async
from fake_platform import FakePlatform, fake_app
from test_app import SIZE, loaded
from textual.pilot import Pilot

from caged_tui.screens.terminals import TerminalsScreen
from caged_tui.widgets.dialogs import ConfirmDialog
from caged_tui.widgets.terminal import TerminalView


def osc_52(text: str) -> bytes:
    return b"\x1b]52;c;" + base64.b64encode(text.encode()) + b"\x07"


class ClipboardSession:
    """A terminal session whose program writes the clipboard when told to."""

    def __init__(self) -> None:
        self.output: asyncio.Queue[bytes] = asyncio.Queue()

    async def send(self, data: str) -> None:
        return None

    async def resize(self, rows: int, cols: int) -> None:
        return None

    async def ack(self, nbytes: int) -> None:
        return None

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        while True:
            yield await self.output.get()

    async def close(self) -> None:
        return None


async def open_terminal(
    app: Any, pilot: Pilot[Any], session: ClipboardSession | None = None
) -> tuple[ClipboardSession, TerminalView]:
    """Open a terminal on the first sandbox whose program writes what the test says."""
    session = session or ClipboardSession()

    async def terminal(sandbox_id: str, **_: Any) -> ClipboardSession:
        return session

    await loaded(pilot)
    app.client.sandboxes.terminal = terminal
    await pilot.press("t")
    await eventually_async(lambda: app.open_terminal_count() == 1, pause=pilot.pause)
    view = app.screen.query_one(TerminalView)
    await eventually_async(lambda: view.connected, pause=pilot.pause)
    return session, view


async def test_a_sandbox_sets_the_clipboard_only_once_allowed(fake: FakePlatform) -> None:
    app = fake_app(fake.handle)
    async with app.run_test(size=SIZE) as pilot:
        session, _view = await open_terminal(app, pilot)
        session.output.put_nowait(osc_52("first"))
        await eventually_async(lambda: isinstance(app.screen, ConfirmDialog), pause=pilot.pause)
        assert app.clipboard != "first"
        await pilot.press("y")
        await eventually_async(lambda: app.clipboard == "first", pause=pilot.pause)
        assert isinstance(app.screen, TerminalsScreen)
        session.output.put_nowait(osc_52("second") + b"$ ")
        await eventually_async(lambda: app.clipboard == "second", pause=pilot.pause)
        assert isinstance(app.screen, TerminalsScreen)  # not asked again


async def test_refused_clipboard_writes_are_dropped(fake: FakePlatform) -> None:
    app = fake_app(fake.handle)
    async with app.run_test(size=SIZE) as pilot:
        session, view = await open_terminal(app, pilot)
        session.output.put_nowait(osc_52("secret"))
        await eventually_async(lambda: isinstance(app.screen, ConfirmDialog), pause=pilot.pause)
        await pilot.press("enter")  # Cancel has the focus
        await eventually_async(lambda: isinstance(app.screen, TerminalsScreen), pause=pilot.pause)
        session.output.put_nowait(osc_52("again") + b"shown")
        await eventually_async(lambda: "shown" in "".join(view.terminal.display), pause=pilot.pause)
        assert isinstance(app.screen, TerminalsScreen)
        assert app.clipboard not in ("secret", "again")
