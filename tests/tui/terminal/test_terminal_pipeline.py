"""The receive → buffer → parse → ack pipeline under a fast producer.

A local PTY hands over at most 4 KiB per read and paces itself, so it never fills the buffer.
``RecordedTransport`` plays recorded output back as fast as the widget pulls it (like a replay
of a session over a fast socket), which is what the high-water mark and the acks are for.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import pytest
from eventually import eventually_async
from terminal_app import TerminalTestApp
from textual import events
from textual.geometry import Region

from caged_tui.widgets.terminal import TerminalView, widget

CHUNK = 64 * 1024


class RecordedTransport:
    """Replays ``data`` in ``CHUNK``-sized frames; records what the widget sends back."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.sent: list[str] = []
        self.acks: list[int] = []
        self.sizes: list[tuple[int, int]] = []
        self.pulled = 0
        self._closed = False
        self.release = asyncio.Event()

    @property
    def closed(self) -> bool:
        return self._closed

    async def send(self, data: str) -> None:
        self.sent.append(data)

    async def resize(self, rows: int, cols: int) -> None:
        self.sizes.append((rows, cols))

    async def ack(self, nbytes: int) -> None:
        self.acks.append(nbytes)

    async def _frames(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self.data), CHUNK):
            frame = self.data[start : start + CHUNK]
            self.pulled += len(frame)
            yield frame
        await self.release.wait()  # Stay connected until the test lets go.
        self._closed = True

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._frames()

    async def close(self) -> None:
        self._closed = True
        self.release.set()


def flood(lines: int) -> bytes:
    return b"".join(b"\x1b[32m%08d\x1b[0m some coloured output line\r\n" % i for i in range(lines))


async def test_high_water_mark_bounds_the_buffer_and_acks_are_cumulative() -> None:
    data = flood(30_000)  # ~1.3 MB
    transport = RecordedTransport(data)
    high, low = 128 * 1024, 32 * 1024
    app = TerminalTestApp(high_water=high, low_water=low)
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.view
        view.attach(transport)
        await eventually_async(lambda: view.peak_buffered_bytes >= high, pause=pilot.pause)
        # The producer is far ahead of the parser, yet the widget stopped pulling.
        assert transport.pulled < len(data)
        assert view.buffered_bytes <= high + CHUNK
        await eventually_async(lambda: view.parsed_bytes >= len(data), pause=pilot.pause)
        assert view.peak_buffered_bytes >= high  # The mark was actually reached...
        assert view.peak_buffered_bytes <= high + CHUNK  # ...and never overrun by > a frame.
        # Acks: cumulative, increasing, every 32 KiB of parsed output.
        assert transport.acks == sorted(transport.acks)
        assert transport.acks[0] == 32 * 1024
        assert {b - a for a, b in itertools.pairwise(transport.acks)} == {32 * 1024}
        assert transport.acks[-1] > len(data) - 32 * 1024
        # Everything arrived, in order.
        assert view.terminal.display[-2].startswith("00029999")
        assert len(view.terminal.history) == 10_000
        await transport.close()


async def test_parse_task_yields_so_keys_get_through_during_a_flood() -> None:
    app = TerminalTestApp()
    progress_at_send: list[int] = []

    class Recording(RecordedTransport):
        async def send(self, data: str) -> None:
            progress_at_send.append(app.view.parsed_bytes)
            await super().send(data)

    transport = Recording(flood(30_000))
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.view
        view.attach(transport)
        await eventually_async(lambda: view.parsed_bytes, pause=pilot.pause)
        # Posted like a real key press (Pilot.press would wait for the app to go idle).
        app.post_message(events.Key("x", "x"))
        await eventually_async(lambda: transport.sent, pause=pilot.pause)
        assert transport.sent == ["x"]
        # The key went out while most of the flood was still waiting to be parsed.
        assert progress_at_send[0] < len(transport.data) // 2
        await transport.close()


async def test_attach_sends_the_size_and_disconnect_is_reported() -> None:
    transport = RecordedTransport(b"hello")
    app = TerminalTestApp()
    async with app.run_test(size=(70, 20)) as pilot:
        view = app.view
        view.attach(transport)
        await eventually_async(lambda: transport.sizes, pause=pilot.pause)
        assert transport.sizes == [(20, 70)]
        assert view.connected
        transport.release.set()
        await eventually_async(lambda: not view.connected, pause=pilot.pause)
        await eventually_async(
            lambda: any(isinstance(m, TerminalView.Disconnected) for m in app.messages),
            pause=pilot.pause,
        )
        # Keys are not sent while disconnected (they are left to the app).
        await pilot.press("x")
        assert transport.sent == []


async def test_a_transport_given_to_the_constructor_starts_on_mount() -> None:
    transport = RecordedTransport(b"from the constructor")
    app = TerminalTestApp(transport=transport)
    async with app.run_test(size=(40, 5)) as pilot:
        view = app.view
        await eventually_async(
            lambda: view.terminal.display[0].rstrip() == "from the constructor",
            pause=pilot.pause,
        )
        assert view.connected
        await transport.close()


async def test_replacing_a_transport_never_reports_a_stale_disconnect() -> None:
    first = RecordedTransport(flood(5_000))
    # The title is posted as the second session's output is parsed: after anything the
    # cancelling of the first connection could have posted.
    second = RecordedTransport(b"\r\nsecond session\x1b]2;second\x07")
    app = TerminalTestApp()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.view
        view.attach(first)
        await eventually_async(lambda: view.parsed_bytes, pause=pilot.pause)
        view.attach(second)  # The first connection's tasks are cancelled mid-flood.
        await eventually_async(
            lambda: any(
                isinstance(m, TerminalView.TitleChanged) and m.title == "second"
                for m in app.messages
            ),
            pause=pilot.pause,
        )
        assert view.connected
        assert view.transport is second
        assert not any(isinstance(m, TerminalView.Disconnected) for m in app.messages)
        assert any("second session" in row for row in view.terminal.display), view.terminal.display
        await first.close()
        await second.close()


async def test_a_new_session_starts_with_a_fresh_parser() -> None:
    """The old output stopped inside an escape sequence: the new output must not finish it."""
    first = RecordedTransport(b"old\x1b[3")
    second = RecordedTransport(b"\r\nsecond session")
    app = TerminalTestApp()
    async with app.run_test(size=(40, 5)) as pilot:
        view = app.view
        view.attach(first)
        await eventually_async(lambda: view.parsed_bytes == len(first.data), pause=pilot.pause)
        view.attach(second)
        await eventually_async(
            lambda: any(row.startswith("second session") for row in view.terminal.display),
            pause=pilot.pause,
        )
        await first.close()
        await second.close()


async def test_flush_refreshes_only_dirty_and_cursor_rows_at_most_60_times_a_second(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The widget's clock stands still unless the test moves it: a machine that stalls
    # between two feeds cannot turn "within the same frame" into "a frame later".
    now = [1000.0]
    monkeypatch.setattr(widget, "monotonic", lambda: now[0])
    app = TerminalTestApp()
    async with app.run_test(size=(40, 10)) as pilot:
        view = app.view
        view.feed(b"line one\r\nline two\r\n\r\n")
        await eventually_async(lambda: not view.terminal.dirty, pause=pilot.pause)
        now[0] += 1  # A quiet second.
        painted: list[list[Region]] = []
        original = view._paint_rows

        def spy(rows: list[Region]) -> bool:
            painted.append(rows)
            return original(rows)

        view._paint_rows = spy  # type: ignore[method-assign]
        view.feed(b"\x1b[5;1Hx")  # Draw on row 4; the cursor moves from row 3 to row 4.
        # Leading edge: the first flush of a quiet period happens at once...
        assert len(painted) == 1
        assert painted[0] == [Region(0, 3, 40, 1), Region(0, 4, 40, 1)]
        view.feed(b"y")
        view.feed(b"z")
        # ...and more output within the same frame waits for one timer.
        assert len(painted) == 1
        await eventually_async(lambda: len(painted) == 2, pause=pilot.pause)
        assert painted[1] == [Region(0, 4, 40, 1)]
        assert view.terminal.display[4].startswith("xyz")
