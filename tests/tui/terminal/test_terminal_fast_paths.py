"""The two shortcuts of a typed character's echo, and when they stand aside.

- The app hands a key straight to the focused terminal (``hand_key_to_terminal`` →
  ``TerminalView.take_key``) instead of Textual's route through the widget's message queue;
  keys the view must see in order (after its prefix key, after a paste) take the usual route.
- The view writes changed rows straight to the display (``_paint_rows``) instead of Textual's
  compositor rendering every widget under them; rows something is drawn over (a toast) are
  left to the compositor. Both rely on Textual internals (``ChopsUpdate``, the compositor's
  visible widgets, ``App._display``): these tests fail if an upgrade changes them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from eventually import eventually_async
from fake_platform import FakePlatform, fake_app
from rich.segment import Segment
from terminal_app import TerminalTestApp
from test_app import SIZE as APP_SIZE
from test_terminal_clipboard import ClipboardSession, open_terminal
from test_terminal_send_order import StallingTransport
from textual import events
from textual._compositor import ChopsUpdate
from textual.geometry import Region
from textual.screen import Screen
from textual.strip import Strip
from textual.widgets._toast import Toast

from caged_tui.widgets.terminal import TerminalView, widget

SIZE = (40, 10)


def open_transport() -> StallingTransport:
    """A PTY connection that records what is sent to it, without stalling."""
    transport = StallingTransport()
    transport.gate.set()
    return transport


@asynccontextmanager
async def connected_app() -> AsyncIterator[tuple[TerminalTestApp, StallingTransport]]:
    """A running test app whose view is connected to an :func:`open_transport`."""
    transport = open_transport()
    app = TerminalTestApp()
    async with app.run_test(size=SIZE) as pilot:
        app.view.attach(transport)
        await eventually_async(lambda: app.view.connected, pause=pilot.pause)
        yield app, transport


async def settled(view: TerminalView) -> None:
    """Wait until nothing is queued for the view, without ``pilot.pause`` (which queues a
    callback for every widget, and a key finding one there takes the usual route)."""
    await eventually_async(lambda: view.message_queue_size == 0)


def record_displays(app: TerminalTestApp) -> list[object]:
    """Everything the app hands its display from now on (headless apps draw nothing)."""
    shown: list[object] = []
    original = app._display

    def spy(screen: Screen[object], renderable: object) -> None:
        shown.append(renderable)
        original(screen, renderable)  # type: ignore[arg-type]

    app._display = spy  # type: ignore[method-assign]
    return shown


def record_row_paints(view: TerminalView) -> list[bool]:
    """Whether each of the view's row paints from now on was written straight (True) or left
    to the compositor."""
    results: list[bool] = []
    original = view._paint_rows

    def spy(rows: list[Region]) -> bool:
        results.append(original(rows))
        return results[-1]

    view._paint_rows = spy  # type: ignore[method-assign]
    return results


def record_handled_keys(view: TerminalView) -> list[str]:
    """Keys that reach the view's ``on_key`` (the usual route)."""
    handled: list[str] = []
    original = view._handle_key

    async def spy(event: events.Key) -> None:
        handled.append(event.key)
        await original(event)

    view._handle_key = spy  # type: ignore[method-assign]
    return handled


async def test_a_typed_key_goes_straight_to_the_pty() -> None:
    async with connected_app() as (app, transport):
        view = app.view
        handled = record_handled_keys(view)
        await settled(view)
        for key, character in (("a", "a"), ("ctrl+c", None), ("up", None)):
            app.post_message(events.Key(key, character))
        await eventually_async(lambda: len(transport.sent) == 3)
        assert transport.sent == ["a", "\x03", "\x1b[A"]
        assert handled == []  # None of them went through the view's queue.


async def test_a_key_is_sent_before_the_app_moves_on() -> None:
    """Nothing else on its way out: the send starts at once, not when the writer task's turn
    comes; a send that has to wait finishes in a task, and is cancelled where it waits."""
    async with connected_app() as (app, transport):
        view = app.view
        await settled(view)
        assert view.take_key(events.Key("a", "a"))
        assert transport.sent == ["a"]  # No turn of the event loop in between.
    gate = asyncio.Event()
    seen: list[str] = []

    async def send() -> None:
        seen.append("started")
        try:
            await gate.wait()
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    task = widget._start_eagerly(send())
    assert task is not None and seen == ["started"]
    await asyncio.sleep(0)  # The task is waiting where the send waits.
    task.cancel()
    await asyncio.wait({task})
    assert seen == ["started", "cancelled"]
    gate.set()
    finished = widget._start_eagerly(send())
    assert finished is None  # Did not have to wait.


async def test_keys_after_the_prefix_or_a_paste_keep_their_order() -> None:
    async with connected_app() as (app, transport):
        view = app.view
        handled = record_handled_keys(view)
        # Posted together: the prefix is still in the view's queue when "y" reaches the app.
        app.post_message(events.Key("ctrl+right_square_bracket", None))
        app.post_message(events.Key("y", "y"))
        await eventually_async(lambda: handled == ["ctrl+right_square_bracket", "y"])
        assert transport.sent == []  # "y" was the app's, as the prefix says.
        assert not view.prefix_pending
        app.post_message(events.Paste("pasted"))
        app.post_message(events.Key("k", "k"))
        await eventually_async(lambda: len(transport.sent) == 2)
        assert transport.sent == ["pasted", "k"]


async def test_a_disconnected_view_leaves_keys_to_the_usual_route() -> None:
    app = TerminalTestApp()
    async with app.run_test(size=SIZE) as pilot:
        view = app.view
        handled = record_handled_keys(view)
        app.post_message(events.Key("a", "a"))
        await eventually_async(lambda: handled == ["a"], pause=pilot.pause)


async def test_an_echo_is_written_as_just_its_row() -> None:
    app = TerminalTestApp()
    async with app.run_test(size=SIZE) as pilot:
        view = app.view
        view.feed(b"first line\r\n\x1b[32mprompt\x1b[0m$ ")
        await eventually_async(lambda: not view.terminal.dirty, pause=pilot.pause)
        await pilot.pause(0.05)  # A frame later: the next flush is at once.
        screen = app.screen
        screen_renders: list[Region] = []
        original = screen.render_lines

        def spy(crop: Region) -> list[object]:
            screen_renders.append(crop)
            return original(crop)  # type: ignore[return-value]

        screen.render_lines = spy  # type: ignore[method-assign]
        shown = record_displays(app)
        view.feed(b"x")
        assert len(shown) == 1  # Painted at once...
        (update,) = shown
        assert isinstance(update, ChopsUpdate)
        assert update.spans == [(1, 0, 40)]  # ...just the cursor's row...
        assert screen_renders == []  # ...without rendering what is under the view.
        (strip,) = update.chops[1].values()
        assert strip is not None
        # What the compositor would show on that row, styles and all.
        expected = screen._compositor.render_strips()[1]
        assert list(strip) == list(expected)
        assert strip.text.startswith("prompt$ x")
        sequence = update.render_segments(app.console)
        assert sequence.startswith("\x1b[2;1H") and "prompt" in sequence


async def test_rows_under_a_toast_are_left_to_the_compositor() -> None:
    app = TerminalTestApp()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        view = app.view
        app.notify("hello", timeout=60)
        await eventually_async(lambda: app.screen.query(Toast), pause=pilot.pause)
        toast = app.screen.query_one(Toast)
        await eventually_async(lambda: toast.region.height > 0, pause=pilot.pause)
        under, clear = toast.region.y, toast.region.y - 1
        assert clear >= 0
        results = record_row_paints(view)
        shown = record_displays(app)
        view.feed(f"\x1b[{clear + 1};1Hclear of it".encode())
        await eventually_async(lambda: results, pause=pilot.pause)
        assert results == [True]
        await pilot.pause(0.05)
        shown.clear()
        view.feed(f"\x1b[{under + 1};1Hunder it".encode())
        await eventually_async(lambda: len(results) == 2, pause=pilot.pause)
        assert results[1] is False
        # The compositor painted the row, with the toast in front of the view.
        await eventually_async(lambda: shown, pause=pilot.pause)
        row = screen_row(app, under)
        assert row.startswith("under it")
        left, right = toast.region.x, toast.region.right
        assert row[left:right] != view.render_line(under).text[left:right]


def screen_row(app: TerminalTestApp, y: int) -> str:
    """Row ``y`` of the whole screen as the compositor draws it."""
    return app.screen._compositor.render_strips()[y].text


@asynccontextmanager
async def prompt_in_app(
    fake: FakePlatform,
) -> AsyncIterator[tuple[Any, RecordingSession, TerminalView]]:
    """The app itself, running, with a terminal open whose shell has printed ``$ ``."""
    app = fake_app(fake.handle)
    async with app.run_test(size=APP_SIZE, notifications=True) as pilot:
        session = RecordingSession()
        _, view = await open_terminal(app, pilot, session)
        session.output.put_nowait(b"$ ")
        await eventually_async(lambda: view.terminal.cursor.x == 2, pause=pilot.pause)
        yield app, session, view


async def test_in_the_app_a_key_and_its_echo_take_the_short_ways(fake: FakePlatform) -> None:
    """The same in the app itself: nothing of it is drawn over the terminal's rows."""
    async with prompt_in_app(fake) as (app, session, view):
        handled = record_handled_keys(view)
        painted = record_row_paints(view)
        await settled(view)
        app.post_message(events.Key("x", "x"))
        await eventually_async(lambda: session.sent == ["x"])
        assert handled == []
        session.output.put_nowait(b"x")
        await eventually_async(lambda: painted)
        assert painted == [True]


class RecordingSession(ClipboardSession):
    """A terminal session of the fake platform that records what is typed."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[str] = []

    async def send(self, data: str) -> None:
        self.sent.append(data)


async def test_a_row_written_straight_still_passes_the_control_filter(fake: FakePlatform) -> None:
    """The straight write is the compositor's last guard too: a control character that
    reached a row of the view (a cell the emulator should never have let through) is
    dropped from what goes to the host terminal, as the compositor would drop it."""
    async with prompt_in_app(fake) as (app, session, view):
        await settled(view)
        original = view.render_line

        def hostile(y: int) -> Strip:
            strip = original(y)
            if not strip.text.startswith("$ x"):
                return strip
            return Strip([Segment("\x1b]52;c;aGk=\x07\x1bc\x9b2J"), *strip], strip.cell_length)

        view.render_line = hostile  # type: ignore[method-assign]
        painted = record_row_paints(view)
        shown = record_displays(app)
        session.output.put_nowait(b"x")
        await eventually_async(lambda: painted)
        assert painted == [True]
        (update,) = (item for item in shown if isinstance(item, ChopsUpdate))
        sequence = update.render_segments(app.console)
        assert "$ x" in sequence
        assert "]52" in sequence.replace("\x1b", "")  # The text is there, its escapes gone:
        assert "\x1b]" not in sequence and "\x1bc" not in sequence and "\x9b" not in sequence
        assert "\x07" not in sequence
