"""Input while a send is stalled (a full socket): keys and the replies to the program's queries
reach the PTY in the order they were produced, and the view keeps handling its messages
meanwhile (a key sent by awaiting the transport in ``on_key`` blocked them: the pauses below
never returned)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from eventually import eventually_async
from terminal_app import TerminalTestApp
from textual import events

CURSOR_QUERY = b"\x1b[6n"  # DSR: the terminal answers ESC [ row ; col R.


class StallingTransport:
    """Holds the first send until ``gate`` is set; output is fed through ``output``."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.started: list[str] = []
        self.gate = asyncio.Event()
        self.output: asyncio.Queue[bytes] = asyncio.Queue()
        self.closed = False

    async def send(self, data: str) -> None:
        self.started.append(data)
        if len(self.started) == 1:
            await self.gate.wait()
        self.sent.append(data)

    async def resize(self, rows: int, cols: int) -> None:
        pass

    async def ack(self, nbytes: int) -> None:
        pass

    async def _frames(self) -> AsyncIterator[bytes]:
        while True:
            yield await self.output.get()

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._frames()

    async def close(self) -> None:
        self.closed = True


async def test_a_reply_queued_while_a_key_is_being_sent_goes_after_it() -> None:
    transport = StallingTransport()
    app = TerminalTestApp()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.view
        view.attach(transport)
        await eventually_async(lambda: view.connected, pause=pilot.pause)
        app.post_message(events.Key("a", "a"))
        await eventually_async(lambda: transport.started == ["a"], pause=pilot.pause)
        # The program asks where the cursor is while the key is still on its way out.
        transport.output.put_nowait(CURSOR_QUERY)
        await eventually_async(lambda: view.parsed_bytes >= len(CURSOR_QUERY), pause=pilot.pause)
        assert transport.started == ["a"]  # The reply waits for the key.
        transport.gate.set()
        await eventually_async(lambda: len(transport.sent) == 2, pause=pilot.pause)
        app.post_message(events.Key("b", "b"))
        await eventually_async(lambda: len(transport.sent) == 3, pause=pilot.pause)
        assert transport.sent[0] == "a"
        assert transport.sent[1].startswith("\x1b[") and transport.sent[1].endswith("R")
        assert transport.sent[2] == "b"
