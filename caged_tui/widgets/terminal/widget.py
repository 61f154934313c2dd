"""``TerminalView``: a Textual widget showing a remote PTY through pyte.

The data path (measured design, see ``/work/shared/terminal-notes.md``)::

    transport ──receive task──▶ deque (high/low water) ──parse task──▶ TerminalStream/Screen
        ▲                        (stops pulling above        8 KiB slices, yields between,
        │                         the high mark)             acks every 32 KiB
        └──────── writer task ◀── keys, pastes, mouse, replies to queries, resizes

    Screen.dirty ──leading-edge 60 Hz flush──▶ refresh(row regions) ──▶ render_line (Strip cache)

Keys: while the view has the focus and is connected, every key a terminal can encode goes to the
PTY — ``ctrl+c``, ``tab``, ``escape``, ``ctrl+p`` and ``ctrl+q`` included (the app's *priority*
bindings stand aside: the app asks :func:`caged_tui.host_keys.takes_every_key` first). The app is
reached through the prefix key ``ctrl+]``, like tmux's: the next key is the app's (``q`` quits,
``w`` closes the tab, any screen or app key works), except ``p`` (command palette), ``]`` (leave:
blur the view and post :class:`TerminalView.FocusReleased`), ``ctrl+]`` (send a literal ``^]``)
and ``escape`` (never mind). Alt keys reach the program as the host terminal sent them (``ESC`` +
key, see :mod:`caged_tui.host_keys`); other keys are encoded by :func:`.keys.encode_key`.

Also: pastes are sent as typed text (bracketed when the program set mode 2004); mouse presses,
releases, motion and the wheel are reported only while the program tracks the mouse (SGR 1006 or
X10 encoding); otherwise the wheel scrolls the scrollback (or sends arrow keys in full-screen
programs, like xterm). Resizes reach the PTY once the size has been stable for 75 ms. When the
transport ends the view keeps its content, shows :attr:`TerminalView.banner` ("disconnected —
press r to reconnect" unless the owner says why) and posts :class:`TerminalView.Disconnected`;
``r`` posts :class:`TerminalView.ReconnectRequested`, and the owner answers with
:meth:`TerminalView.attach`. While disconnected, typed keys are swallowed: what was meant for
the shell must not fire the app's shortcuts (``w`` closing the tab, ``q`` quitting).

Bindings (ids can be remapped in the app keymap):

==========================  ===================  ===========================================
id                          default key          action
==========================  ===================  ===========================================
``terminal.scroll_back``    ``shift+pageup``     scroll the scrollback up one page
``terminal.scroll_forward`` ``shift+pagedown``   scroll down one page (any typing snaps back)
``terminal.prefix``         ``ctrl+]``           the next key is the app's (again: send ``^]``)
``terminal.palette``        ``p``                after the prefix: the command palette
``terminal.release_focus``  ``]``                after the prefix: blur, post FocusReleased
``terminal.cancel_prefix``  ``escape``           after the prefix: back to the program
``terminal.reconnect``      ``r``                when disconnected: post ReconnectRequested
==========================  ===================  ===========================================
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass
from time import monotonic
from typing import Any, ClassVar, NamedTuple, Self

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual._compositor import ChopsUpdate
from textual.binding import Binding, BindingType
from textual.dom import NoScreen
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.timer import Timer
from textual.widget import Widget

from .cells import Cell, Line
from .keys import encode_event, encode_key
from .render import RowRenderer
from .screen import DEFAULT_SCROLLBACK, TerminalScreen
from .stream import TerminalStream
from .transport import TerminalTransport

log = logging.getLogger(__name__)

#: Bytes fed to the parser before yielding to the event loop (64 KiB would block it ~55 ms).
PARSE_SLICE = 8 * 1024
#: Acknowledge consumed output every this many bytes (the protocol asks for 16-64 KiB).
ACK_EVERY = 32 * 1024
#: Default buffer marks: stop reading the transport above HIGH, resume at or below LOW.
HIGH_WATER = 256 * 1024
LOW_WATER = 64 * 1024
#: Minimum time between two flushes (60 Hz).
FRAME = 1 / 60
#: Minimum time between two flushes that redraw every row while more output is already waiting
#: to be parsed (a flood scrolling the screen faster than anyone reads): at 200x50 drawing the
#: frames took half the time of a ``cat``. Typing and full-screen programs, which leave no
#: backlog, keep 60 Hz.
FLOOD_FRAME = 1 / 15
#: Resizes are sent to the PTY once the size has been stable this long.
RESIZE_DEBOUNCE = 0.075
#: Rows per mouse-wheel step in the scrollback.
WHEEL_ROWS = 3

_Outgoing = str | tuple[int, int]


class _Connection:
    """The pipeline state of one attached transport.

    Each transport gets a fresh one, so tasks of a replaced transport that are still winding
    down after cancellation can only touch their own state.
    """

    def __init__(self, transport: TerminalTransport) -> None:
        self.transport = transport
        self.chunks: deque[bytes] = deque()
        self.buffered = 0  # Bytes in ``chunks``.
        self.parsed = 0
        self.acked = 0
        self.eof = False
        self.started = False
        self.data_ready = asyncio.Event()
        self.space = asyncio.Event()
        self.outgoing: asyncio.Queue[_Outgoing] = asyncio.Queue()
        self.writing = False  # The writer task is sending an item.
        self.in_flight: asyncio.Task[None] | None = None  # The rest of an eager send.
        self.sent_size: tuple[int, int] | None = None


def _landed(connection: _Connection) -> None:
    connection.in_flight = None


def _start_eagerly(send: Coroutine[Any, Any, None]) -> asyncio.Task[None] | None:
    """Run ``send`` up to where it would wait; None when it finished, else the task that
    finishes it. (``asyncio.Task(..., eager_start=True)`` from Python 3.12 on.)"""
    try:
        awaited = send.send(None)
    except StopIteration:
        return None
    except Exception:
        log.debug("terminal send failed", exc_info=True)
        return None
    return asyncio.ensure_future(_finish(send, awaited))


async def _finish(send: Coroutine[Any, Any, None], awaited: object) -> None:
    """Drive ``send`` on from a suspension at ``awaited`` (what it yielded), as a task would."""
    try:
        while True:
            try:
                if isinstance(awaited, asyncio.Future):
                    # What a task does with a future its coroutine yielded: take the
                    # "yielded by await" mark off before waiting for it.
                    awaited._asyncio_future_blocking = False
                    await awaited
                else:  # A bare yield (``asyncio.sleep(0)``): one turn of the loop.
                    await asyncio.sleep(0)
            except BaseException as error:  # Delivered where ``send`` waits (cancellation too).
                awaited = send.throw(error)
            else:
                awaited = send.send(None)
    except StopIteration:
        return
    except Exception:
        log.debug("terminal send failed", exc_info=True)


class _RowStrip(NamedTuple):
    """A row as last rendered, kept by the row object's ``id``: rows keep their object when a
    scroll moves them (see ``RowBuffer``), so a flood that moves every row up a line renders only
    the new one. ``cells`` is a copy of the row then: comparing it with the row (a C-speed dict
    comparison of flyweight cells) tells whether it was written since."""

    line: Line
    cells: dict[int, Cell]
    cursor_x: int
    strip: Strip


class TerminalView(Widget, can_focus=True):
    """A terminal emulator view over a :class:`TerminalTransport`.

    Args:
        transport: Connection to a PTY; can also be supplied later with :meth:`attach`.
        scrollback: Rows of history kept for the primary screen.
        high_water: Buffered output (bytes) above which the transport is no longer read.
        low_water: Buffered output at which reading resumes.
        name: Widget name.
        id: Widget id.
        classes: CSS classes.
    """

    DEFAULT_CSS = """
    TerminalView {
        width: 1fr;
        height: 1fr;
        background: $background;
        color: $foreground;
    }
    TerminalView > .terminal--banner {
        background: $error;
        color: $text;
        text-style: bold;
    }
    TerminalView > .terminal--position {
        background: $accent;
        color: $text;
    }
    TerminalView.-disconnected {
        tint: $background 30%;
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {"terminal--banner", "terminal--position"}

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "shift+pageup",
            "scroll_history(-1)",
            "Scroll back",
            show=False,
            id="terminal.scroll_back",
        ),
        Binding(
            "shift+pagedown",
            "scroll_history(1)",
            "Scroll forward",
            show=False,
            id="terminal.scroll_forward",
        ),
        Binding(
            "ctrl+right_square_bracket",
            "prefix",
            "App keys",
            key_display="^]",
            id="terminal.prefix",
        ),
        Binding("p", "palette", "Palette", id="terminal.palette"),
        Binding(
            "right_square_bracket",
            "release_focus",
            "Leave terminal",
            key_display="]",
            id="terminal.release_focus",
        ),
        Binding("escape", "cancel_prefix", "Back to the terminal", id="terminal.cancel_prefix"),
        Binding("r", "reconnect", "Reconnect", id="terminal.reconnect"),
    ]

    connected: reactive[bool] = reactive(False)
    """True while a transport is attached and open."""

    history_offset: reactive[int] = reactive(0)
    """Rows scrolled back into the history (0 = following the live screen)."""

    banner: reactive[str] = reactive("disconnected — press r to reconnect")
    """What the bottom row says while disconnected (the owner may say why)."""

    prefix_pending: reactive[bool] = reactive(False)
    """The prefix key was pressed: the next key is the app's."""

    #: Actions that only mean something right after the prefix key.
    _AFTER_PREFIX: ClassVar[frozenset[str]] = frozenset(
        {"palette", "release_focus", "cancel_prefix"}
    )

    @dataclass
    class Disconnected(Message):
        """The transport ended (shell exit, sandbox paused, network); the view keeps its
        content and offers ``r`` to reconnect."""

        terminal: TerminalView

        @property
        def control(self) -> TerminalView:
            """The terminal that was disconnected."""
            return self.terminal

    @dataclass
    class ReconnectRequested(Message):
        """The user asked to reconnect; the owner should call :meth:`TerminalView.attach`
        with a new transport."""

        terminal: TerminalView

        @property
        def control(self) -> TerminalView:
            """The terminal to reconnect."""
            return self.terminal

    @dataclass
    class FocusReleased(Message):
        """The user pressed the release key (``ctrl+]``); the view has blurred itself and
        the screen may focus whatever it likes."""

        terminal: TerminalView

        @property
        def control(self) -> TerminalView:
            """The terminal that let go of the focus."""
            return self.terminal

    @dataclass
    class ClipboardRequested(Message):
        """The program asked to put ``text`` on the clipboard (OSC 52). The owner decides:
        a sandbox writing the host's clipboard is a risk, so nothing is copied by default."""

        terminal: TerminalView
        text: str

        @property
        def control(self) -> TerminalView:
            """The terminal whose program asked."""
            return self.terminal

    @dataclass
    class TitleChanged(Message):
        """The program set the window title (OSC 0/2)."""

        terminal: TerminalView
        title: str

        @property
        def control(self) -> TerminalView:
            """The terminal whose title changed."""
            return self.terminal

        def can_replace(self, message: Message) -> bool:
            """A newer title supersedes one still queued."""
            return isinstance(message, TerminalView.TitleChanged)

    def __init__(
        self,
        transport: TerminalTransport | None = None,
        *,
        scrollback: int = DEFAULT_SCROLLBACK,
        high_water: int = HIGH_WATER,
        low_water: int = LOW_WATER,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        if not 0 <= low_water < high_water:
            raise ValueError("need 0 <= low_water < high_water")
        self._terminal = TerminalScreen(80, 24, scrollback=scrollback, on_reply=self._write)
        self._terminal.on_clipboard = self._clipboard_requested
        self._stream = TerminalStream(self._terminal)
        self._renderer = RowRenderer()
        self._style_stale = True
        #: Rendered rows by ``id`` of the row object (see :class:`_RowStrip`).
        self._strips: dict[int, _RowStrip] = {}
        self._high_water = high_water
        self._low_water = low_water
        self._connection: _Connection | None = None
        self._ended = False
        self._peak_buffered = 0
        self._last_flush = 0.0
        self._flush_timer: Timer | None = None
        self._resize_timer: Timer | None = None
        self._sized = False
        self._cursor_row = 0
        self._history_pushed = 0
        self._title = ""
        #: The key that followed the prefix, on its way to the app's bindings.
        self._app_key: str | None = None
        #: :meth:`on_key` is running (see :meth:`take_key`).
        self._handling_key = False
        #: Whether the terminal takes the widget's size (False: a replay keeps the
        #: recorded size).
        self.follows_size = True
        if transport is not None:
            self.attach(transport)

    # -- public API ------------------------------------------------------------------------

    @property
    def terminal(self) -> TerminalScreen:
        """The terminal model (screen buffers, scrollback, modes)."""
        return self._terminal

    @property
    def transport(self) -> TerminalTransport | None:
        """The attached transport, if any."""
        return None if self._connection is None else self._connection.transport

    @property
    def buffered_bytes(self) -> int:
        """Output received but not yet parsed."""
        return 0 if self._connection is None else self._connection.buffered

    @property
    def peak_buffered_bytes(self) -> int:
        """The most output ever held unparsed: at most ``high_water`` plus one chunk."""
        return self._peak_buffered

    @property
    def parsed_bytes(self) -> int:
        """Output bytes parsed since the current transport was attached."""
        return 0 if self._connection is None else self._connection.parsed

    def attach(self, transport: TerminalTransport) -> None:
        """Start showing ``transport`` (first connection or a reconnect).

        Any previous transport's tasks are cancelled (the transport itself is left to its
        owner). The screen content is kept; modes a previous program left behind are reset.
        """
        self._stop_io()
        if self._connection is not None or self._ended:
            self._reset_session_state()
        self._connection = _Connection(transport)
        self._ended = False
        if self.is_mounted:
            self._start_io(self._connection)

    def feed(self, data: bytes) -> None:
        """Parse output directly (replays, tests); the display updates at the next flush."""
        self._stream.feed(data)
        self._request_flush()

    def feed_text(self, text: str) -> None:
        """Parse already-decoded output (a recording's chunks); shown at the next flush."""
        self._stream.feed_text(text)
        self._request_flush()

    def show(self, terminal: TerminalScreen) -> None:
        """Show ``terminal`` instead of the current model (a replay restoring a keyframe);
        what is fed next is parsed into it. Its size is kept: a replay shows the recorded
        terminal at the size it had (set :attr:`follows_size` false)."""
        self._terminal = terminal
        terminal.on_reply = None
        self._stream = TerminalStream(terminal)
        terminal.dirty.clear()
        self._strips.clear()
        self._cursor_row = terminal.cursor.y
        self._history_pushed = terminal.history_pushed
        self.history_offset = 0
        self.refresh()

    # -- lifecycle -------------------------------------------------------------------------

    def on_mount(self) -> None:
        """Start the I/O tasks of a transport attached before the widget was mounted."""
        if self._connection is not None and not self._connection.started:
            self._start_io(self._connection)

    def on_unmount(self) -> None:
        """Stop timers; the workers are cancelled with the widget."""
        self._stop_io()

    def _start_io(self, connection: _Connection) -> None:
        connection.started = True
        self.connected = True
        for coroutine, description in (
            (self._receive(connection), "terminal receive"),
            (self._parse(connection), "terminal parse"),
            (self._send(connection), "terminal send"),
        ):
            self.run_worker(coroutine, name=description, group="terminal-io", exit_on_error=False)
        if self._sized:
            self._send_size()

    def _stop_io(self) -> None:
        if self.is_attached:
            self.workers.cancel_group(self, "terminal-io")
        for timer in (self._flush_timer, self._resize_timer):
            if timer is not None:
                timer.stop()
        self._flush_timer = self._resize_timer = None

    def _reset_session_state(self) -> None:
        """Forget modes a previous session left on, keeping what is on screen."""
        terminal = self._terminal
        # The old stream may have stopped inside an escape sequence or a UTF-8 character;
        # the new session's first bytes must not be read as its continuation.
        self._stream = TerminalStream(terminal)
        if terminal.in_alternate:
            terminal.reset_mode(1049, private=True)
        terminal.mode.clear()
        terminal.set_mode(7 << 5, 25 << 5)  # DECAWM, DECTCEM: pyte's defaults.
        terminal.select_graphic_rendition(0)
        if terminal.cursor.x:
            terminal.carriage_return()
            terminal.linefeed()
        self._request_flush()

    # -- the pipeline ----------------------------------------------------------------------

    async def _receive(self, connection: _Connection) -> None:
        """Pull chunks into the buffer; stop pulling above the high mark (backpressure)."""
        try:
            async for chunk in connection.transport:
                if not chunk:
                    continue
                connection.chunks.append(chunk)
                connection.buffered += len(chunk)
                self._peak_buffered = max(self._peak_buffered, connection.buffered)
                connection.data_ready.set()
                if connection.buffered >= self._high_water:
                    connection.space.clear()
                    await connection.space.wait()
        except asyncio.CancelledError:
            raise
        except Exception:
            # A broken connection ends the session like a clean close.
            log.debug("terminal transport failed", exc_info=True)
        finally:
            connection.eof = True
            connection.data_ready.set()

    async def _parse(self, connection: _Connection) -> None:
        """Feed buffered output to the parser in slices, ack it, and schedule flushes."""
        feed = self._stream.feed
        chunks = connection.chunks
        while True:
            if not chunks:
                if connection.eof:
                    break
                connection.data_ready.clear()
                await connection.data_ready.wait()
                continue
            chunk = chunks.popleft()
            for start in range(0, len(chunk), PARSE_SLICE):
                piece = chunk[start : start + PARSE_SLICE]
                feed(piece)
                size = len(piece)
                connection.buffered -= size
                connection.parsed += size
                if connection.buffered <= self._low_water:
                    connection.space.set()
                if connection.parsed - connection.acked >= ACK_EVERY:
                    connection.acked = connection.parsed
                    await self._ack(connection.transport, connection.parsed)
                self._request_flush()
                # Let keys, timers and painting run between slices.
                await asyncio.sleep(0)
        self._flush()
        if connection is self._connection:
            self._transport_ended()

    async def _ack(self, transport: TerminalTransport, nbytes: int) -> None:
        try:
            await transport.ack(nbytes)
        except Exception:
            log.debug("terminal ack failed", exc_info=True)

    async def _send(self, connection: _Connection) -> None:
        """Write input and resizes in order."""
        transport = connection.transport
        while True:
            item = await connection.outgoing.get()
            if connection.in_flight is not None:
                await asyncio.wait({connection.in_flight})  # Sent before this item was queued.
            connection.writing = True
            try:
                if isinstance(item, str):
                    await transport.send(item)
                else:
                    await transport.resize(*item)
            except Exception:
                log.debug("terminal send failed", exc_info=True)
            finally:
                connection.writing = False

    def _write(self, data: str) -> None:
        """Send input to the PTY (also the screen's reply callback).

        When nothing else is on its way out, the send starts at once and goes as far as it can
        without waiting (a WebSocket write that the socket takes: all of it, usually); the rest,
        if any, finishes in a task. Through the writer task, a key waited for the event loop to
        come round to it after the app's own work on the key (~0.1 ms of a ~2 ms echo). Else
        it queues for the writer task, which keeps the order; a send stalled by a full socket
        never holds up the caller (the view's messages, the app's keys).
        """
        connection = self._connection
        if connection is None or not self.connected:
            return
        if connection.outgoing.empty() and not connection.writing and connection.in_flight is None:
            connection.in_flight = _start_eagerly(connection.transport.send(data))
            if connection.in_flight is not None:
                connection.in_flight.add_done_callback(lambda _: _landed(connection))
        else:
            connection.outgoing.put_nowait(data)

    def _clipboard_requested(self, text: str) -> None:
        self.post_message(self.ClipboardRequested(self, text))

    def _transport_ended(self) -> None:
        self._ended = True
        self.connected = False
        self.post_message(self.Disconnected(self))

    # -- flushing --------------------------------------------------------------------------

    def _request_flush(self) -> None:
        """Leading-edge 60 Hz cap (15 Hz while a flood redraws every row with more output
        waiting): flush now if the last flush is a frame old, else once later."""
        if self._flush_timer is not None:
            return
        terminal = self._terminal
        connection = self._connection
        behind = connection is not None and connection.buffered > 0
        frame = FLOOD_FRAME if behind and len(terminal.dirty) >= terminal.lines else FRAME
        elapsed = monotonic() - self._last_flush
        if elapsed >= frame:
            self._flush()
        elif self.is_mounted:
            self._flush_timer = self.set_timer(frame - elapsed, self._flush)

    def _flush(self) -> None:
        """Turn the screen's dirty rows into refreshes of just those rows."""
        self._flush_timer = None
        self._last_flush = monotonic()
        terminal = self._terminal
        dirty = set(terminal.dirty)
        terminal.dirty.clear()
        if terminal.title != self._title:
            self._title = terminal.title
            self.post_message(self.TitleChanged(self, terminal.title))
        pushed = terminal.history_pushed - self._history_pushed
        self._history_pushed = terminal.history_pushed
        if self.history_offset and terminal.in_alternate:
            self.history_offset = 0  # A full-screen program took over: show it.
        elif self.history_offset and pushed:
            # Keep the rows the user is reading in place while new output arrives.
            self.history_offset = min(self.history_offset + pushed, len(terminal.history))
        cursor_rows = {self._cursor_row, terminal.cursor.y}
        self._cursor_row = terminal.cursor.y
        if len(self._strips) > 2 * terminal.lines:
            # Forget rows that scrolled away (their strips are not shown any more).
            shown = {id(terminal.line(y)) for y in range(terminal.lines)}
            self._strips = {key: row for key, row in self._strips.items() if key in shown}
        if not self.is_mounted:
            return
        if self.history_offset or len(dirty) >= terminal.lines:
            self.refresh()
            return
        width, height = self.size
        rows = [Region(0, y, width, 1) for y in sorted(dirty | cursor_rows)]
        if not self._paint_rows([row for row in rows if row.y < height]):
            self.refresh(*rows)
            self._paint_now()

    def _paint_rows(self, rows: list[Region]) -> bool:
        """Write these rows of the view straight to the display; False (nothing done) when
        anything else may be drawn over them, for Textual's compositor to paint them.

        For a typed character the compositor would render every line of every widget under the
        changed row (here the screen's 24 and this view's 24, through their style caches) to
        keep one: ~0.3 ms of a ~2 ms echo on a busy machine. When no widget in front of this one
        (a toast, a tooltip, a layer) touches the rows, no layout is pending, the compositor
        shows all of this view and the app fills the terminal (not inline), the rows are
        rendered through this view's style cache as Textual would and sent as the update
        Textual would send for them.
        """
        try:
            screen = self.screen
        except NoScreen:  # Being removed: nothing to paint.
            return False
        app = self.app
        if (
            not rows
            or not screen.is_current
            or app._batch_count
            or app.is_inline  # Inline apps place their updates relative to the cursor.
            or screen._layout_required
        ):
            return False
        shown = screen._compositor.visible_widgets
        placed = shown.get(self)
        if placed is None or placed[0] != placed[1] or placed[0].size != self.size:
            return False  # Hidden, clipped, or laid out at another size than it has now.
        region = placed[0]
        on_screen = [row.translate(region.offset) for row in rows]
        for widget, (placed_at, clip) in shown.items():  # Front to back.
            if widget is self:
                break
            drawn = placed_at.intersection(clip)
            if any(drawn.overlaps(row) for row in on_screen):
                return False
        self._styles_cache.set_dirty(*rows)
        lines = screen.size.height
        chops: list[dict[int, Strip | None]] = [{} for _ in range(lines)]
        ends: list[list[int]] = [[] for _ in range(lines)]
        spans: list[tuple[int, int, int]] = []
        left, right = region.x, region.right
        for row, target in zip(rows, on_screen, strict=True):
            (strip,) = self.render_lines(row)
            chops[target.y] = {left: strip}
            ends[target.y] = [right]
            spans.append((target.y, left, right))
        app._display(screen, ChopsUpdate(chops, spans, ends))
        return True

    def _paint_now(self) -> None:
        """Compose the frame with the refreshed rows now.

        Left to Textual, a refresh reaches the screen after five hops through message queues
        and a timer task (this widget's idle, an ``Update`` to the screen, the screen's idle,
        its update timer, a ``Timer`` event): ~0.3-0.5 ms of a ~1 ms echo on a busy machine.
        This does what the screen's update timer would do, at once; flushes are already capped
        at 60 Hz here, and the screen still batches, lays out and defers as it would.
        """
        try:
            screen = self.screen
        except NoScreen:  # Being removed: nothing to paint.
            return
        if not screen.is_current or self.app._batch_count:
            return  # Behind another screen or inside a batch: Textual's own path paints later.
        self._check_refresh()  # The widget's idle step: posts Update, clears the flag.
        screen._dirty_widgets.add(self)  # The screen's Update handler, ahead of the message.
        screen._on_timer_update()

    # -- rendering -------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        """The CSS changed (a theme, a class): pick up the base style at the next paint."""
        super().notify_style_update()
        self._style_stale = True

    def refresh(
        self, *regions: Region, repaint: bool = True, layout: bool = False, recompose: bool = False
    ) -> Self:
        """A whole-widget refresh (what setting an inline style does) rereads the base style."""
        if not regions:
            self._style_stale = True
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    def render_lines(self, crop: Region) -> list[Strip]:
        """Pick up a changed base style, then render the rows. ``rich_style`` walks the
        ancestors' styles (~0.1 ms): read only when they may have changed, not on every echo."""
        if self._style_stale:
            self._style_stale = False
            if self._renderer.set_base_style(self.rich_style):
                self._strips.clear()
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        """One widget row: scrollback, live screen, or the disconnected banner."""
        width = self.size.width
        if self._ended and not self.connected and y == self.size.height - 1:
            return self._banner(width)
        terminal = self._terminal
        row = y
        if self.history_offset:
            history = terminal.history
            index = len(history) - self.history_offset + y
            if index < len(history):
                strip = self._renderer.render_row(history[index], terminal.columns, width)
                return self._with_position(strip, width) if y == 0 else strip
            row = index - len(history)
        if row >= terminal.lines:
            return Strip.blank(width, self._renderer.base_style)
        cursor_x = -1
        if row == terminal.cursor.y and terminal.cursor_visible and self.has_focus:
            cursor_x = min(terminal.cursor.x, terminal.columns - 1)
        line = terminal.line(row)
        if line is None:
            return self._renderer.render_row(None, terminal.columns, width, cursor_x)
        cached = self._strips.get(id(line))
        if (
            cached is not None
            and cached.line is line
            and cached.cursor_x == cursor_x
            and cached.strip.cell_length == width
            and cached.cells == line
        ):
            return cached.strip
        strip = self._renderer.render_row(line, terminal.columns, width, cursor_x)
        self._strips[id(line)] = _RowStrip(line, dict(line), cursor_x, strip)
        return strip

    def _with_position(self, strip: Strip, width: int) -> Strip:
        """Overlay "offset/total" on the top row while scrolled back, so it is obvious the
        view is not live."""
        label = f" {self.history_offset}/{len(self._terminal.history)} "
        if len(label) >= width:
            return strip
        style: Style = self.get_component_rich_style("terminal--position")
        return Strip.join(
            [strip.crop(0, width - len(label)), Strip([Segment(label, style)], len(label))]
        )

    def _banner(self, width: int) -> Strip:
        style: Style = self.get_component_rich_style("terminal--banner")
        text = f" {self.banner} "
        return Strip([Segment(text.center(width)[:width], style)], width)

    def mark_ended(self) -> None:
        """The session is over without a transport having ended (opening it failed):
        show the banner and offer reconnect."""
        self._stop_io()
        self._connection = None
        self._ended = True
        self.connected = False
        self.refresh_bindings()
        self.refresh()

    def watch_banner(self) -> None:
        """The banner row repaints with its new text."""
        if self.is_mounted:
            self.refresh(Region(0, self.size.height - 1, self.size.width, 1))

    def watch_connected(self, connected: bool) -> None:
        """Appearance follows the state: the ``-disconnected`` class and the banner."""
        self.set_class(not connected and self._ended, "-disconnected")
        self.refresh_bindings()
        self.refresh()

    def validate_history_offset(self, offset: int) -> int:
        """Clamp to the history (none in the alternate screen)."""
        if self._terminal.in_alternate:
            return 0
        return max(0, min(offset, len(self._terminal.history)))

    def watch_history_offset(self) -> None:
        """Scrolling moves every row."""
        self.refresh()

    # -- size ------------------------------------------------------------------------------

    def on_resize(self, event: events.Resize) -> None:
        """Resize at once the first time (so the shell starts right), then debounced."""
        self._strips.clear()
        if not self._sized:
            self._sized = True
            self._apply_size()
            return
        if self._resize_timer is not None:
            self._resize_timer.stop()
        self._resize_timer = self.set_timer(RESIZE_DEBOUNCE, self._apply_size)

    def _apply_size(self) -> None:
        self._resize_timer = None
        if not self.follows_size:
            return
        size: Size = self.size
        rows, cols = size.height, size.width
        if rows < 1 or cols < 1:
            return
        terminal = self._terminal
        if (rows, cols) != (terminal.lines, terminal.columns):
            terminal.resize(rows, cols)
            self._strips.clear()
            self._request_flush()
        self._send_size()

    def _send_size(self) -> None:
        """Tell the PTY the screen size, once per change and transport."""
        size = (self._terminal.lines, self._terminal.columns)
        connection = self._connection
        if connection is not None and self.connected and size != connection.sent_size:
            connection.sent_size = size
            connection.outgoing.put_nowait(size)

    # -- input -----------------------------------------------------------------------------

    @property
    def captures_keys(self) -> bool:
        """Every key goes to the program, the app's priority bindings included: connected and
        no prefix pending."""
        return self.connected and not self.prefix_pending

    def check_consume_key(self, key: str, character: str | None = None) -> bool:
        """Printable keys, tab and ctrl+c belong to the shell (this also hides the app's
        bindings for them in the footer); while disconnected they are swallowed. After the
        prefix key they are the app's."""
        if self.prefix_pending or key == self._app_key:
            return False
        return bool(character and character.isprintable()) or key in (
            "tab",
            "shift+tab",
            "ctrl+c",
        )

    def _own_action(self, key: str) -> str | None:
        """The action this widget binds ``key`` to, if enabled now (after the app's keymap)."""
        bindings = self._bindings.copy()
        keymap = self.app._keymap  # Textual keeps the active keymap here.
        if keymap:
            bindings.apply_keymap(keymap)
        for binding in bindings.key_to_bindings.get(key, ()):
            if self.check_action(binding.action.partition("(")[0], ()):
                return binding.action
        return None

    async def on_key(self, event: events.Key) -> None:
        """Send the key to the PTY (and keep the app from acting on it)."""
        # Keys the app hands over directly wait while this one is handled (it may await).
        self._handling_key = True
        try:
            await self._handle_key(event)
        finally:
            self._handling_key = False

    async def _handle_key(self, event: events.Key) -> None:
        self._app_key = None
        action = self._own_action(event.key)
        if action is not None:
            # Run now rather than when the event has bubbled up to the binding check: the next
            # key may already be queued behind this one (fast typing, tmux send-keys) and must
            # find the prefix armed.
            event.stop()
            event.prevent_default()
            await self.run_action(action)
            return
        if self.prefix_pending:
            # The key after the prefix is the app's: its bindings run as the event bubbles up,
            # and they must not see it consumed. Its priority bindings (ctrl+q) were looked at
            # when it arrived, maybe before the prefix was: they get their turn now.
            self._app_key = event.key
            if await self.app._check_bindings(event.key, priority=True):
                event.stop()
                event.prevent_default()
            self.prefix_pending = False
            return
        if not self.connected:
            if self.check_consume_key(event.key, event.character):
                # Typed for a shell that is gone: not for the app's shortcuts either.
                event.stop()
                event.prevent_default()
            return
        if self._type(event):
            event.stop()
            event.prevent_default()

    def take_key(self, event: events.Key) -> bool:
        """Send a key the app has just received to the PTY at once; True if it was sent.

        For the app's event handler (see :func:`caged_tui.host_keys.hand_key_to_terminal`):
        Textual would pass the key through this widget's message queue first, ~0.15 ms of a
        ~2 ms echo on a busy machine. False leaves the key to that usual route (and to
        :meth:`on_key`): while the view does not take every key (disconnected, prefix pending),
        for the view's own bindings (the prefix key), for keys no terminal can encode, and while
        anything is queued for or being handled by the view, which must come first (a prefix
        key typed just before this one, a paste).
        """
        if not self.captures_keys or self.message_queue_size or self._handling_key:
            return False
        if self._own_action(event.key) is not None:
            return False
        self._app_key = None
        return self._type(event)

    def _type(self, event: events.Key) -> bool:
        """Send a key to the PTY, if a terminal can encode it."""
        data = encode_event(event, app_cursor=self._terminal.app_cursor_keys)
        if data is None:
            return False
        self.history_offset = 0
        self._write(data)
        return True

    def on_paste(self, event: events.Paste) -> None:
        """Paste as typed text; wrapped in ``ESC[200~``/``ESC[201~`` when the program asked."""
        if not self.connected:
            return
        event.stop()
        text = event.text.replace("\r\n", "\r").replace("\n", "\r")
        if self._terminal.bracketed_paste:
            # A pasted end marker would let the paste escape into commands.
            text = "\x1b[200~" + text.replace("\x1b[201~", "") + "\x1b[201~"
        self.history_offset = 0
        self._write(text)

    def on_focus(self) -> None:
        """Show the cursor; tell programs that asked (mode 1004)."""
        if self._terminal.focus_events:
            self._write("\x1b[I")
        self._refresh_cursor_row()

    def on_blur(self) -> None:
        """Hide the cursor; tell programs that asked (mode 1004); forget a pending prefix."""
        self.prefix_pending = False
        if self._terminal.focus_events:
            self._write("\x1b[O")
        self._refresh_cursor_row()

    def _refresh_cursor_row(self) -> None:
        if self.is_mounted:
            row = self._terminal.cursor.y + self.history_offset
            self.refresh(Region(0, row, self.size.width, 1))

    # -- mouse -----------------------------------------------------------------------------

    def _mouse_report(self, code: int, x: int, y: int, *, release: bool = False) -> str:
        """Encode a mouse report in SGR (1006) or X10 form."""
        if self._terminal.sgr_mouse:
            return f"\x1b[<{code};{x + 1};{y + 1}{'m' if release else 'M'}"
        if release:
            code = (code & ~3) | 3  # X10 cannot say which button was released.
        return "\x1b[M" + "".join(chr(32 + min(v, 222)) for v in (code, x + 1, y + 1))

    @staticmethod
    def _modifier_bits(event: events.MouseEvent) -> int:
        return (4 if event.shift else 0) | (8 if event.meta else 0) | (16 if event.ctrl else 0)

    def _reporting(self) -> bool:
        return self.connected and self._terminal.mouse_tracking != 0 and not self.history_offset

    def on_mouse_down(self, event: events.MouseDown) -> None:
        """Report presses when the program tracks the mouse."""
        if self._reporting() and 1 <= event.button <= 3:
            event.stop()
            code = (event.button - 1) | self._modifier_bits(event)
            self._write(self._mouse_report(code, event.x, event.y))

    def on_mouse_up(self, event: events.MouseUp) -> None:
        """Report releases (not in X10 mode 9, which only reports presses)."""
        if self._reporting() and self._terminal.mouse_tracking != 9 and 1 <= event.button <= 3:
            event.stop()
            code = (event.button - 1) | self._modifier_bits(event)
            self._write(self._mouse_report(code, event.x, event.y, release=True))

    def on_click(self, event: events.Click) -> None:
        """A ctrl+click on a hyperlink (OSC 8) opens it, unless the program tracks the mouse.

        A plain click only says where the link goes: the sandbox chose both the text and the
        target, and a click may be meant to focus the view (host terminals ask for ctrl too).
        """
        if self._reporting():
            return
        link = self.link_at(event.x, event.y)
        if not link:
            return
        event.stop()
        if event.ctrl:
            self.app.open_url(link)
        else:
            self.notify(f"ctrl+click opens {link}", title="Link", markup=False)

    def link_at(self, x: int, y: int) -> str:
        """The hyperlink (OSC 8) of the cell shown at widget row ``y``, column ``x``, or ``""``."""
        terminal = self._terminal
        history = terminal.history
        index = len(history) - self.history_offset + y  # As render_line counts.
        line = history[index] if index < len(history) else terminal.line(index - len(history))
        if line is None or not 0 <= x < terminal.columns:
            return ""
        cell = line.get(x)
        return cell.link if isinstance(cell, Cell) else ""

    def on_mouse_move(self, event: events.MouseMove) -> None:
        """Report motion: with a button held in mode 1002, always in mode 1003."""
        if not self._reporting():
            return
        tracking = self._terminal.mouse_tracking
        if tracking == 1003 or (tracking == 1002 and event.button):
            button = event.button - 1 if 1 <= event.button <= 3 else 3
            code = (32 + button) | self._modifier_bits(event)
            self._write(self._mouse_report(code, event.x, event.y))

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        """Wheel up: report it, send arrows in full-screen apps, or scroll back."""
        event.stop()
        self._wheel(event, up=True)

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        """Wheel down: report it, send arrows in full-screen apps, or scroll forward."""
        event.stop()
        self._wheel(event, up=False)

    def _wheel(self, event: events.MouseEvent, *, up: bool) -> None:
        terminal = self._terminal
        if self._reporting():
            code = (64 if up else 65) | self._modifier_bits(event)
            self._write(self._mouse_report(code, event.x, event.y))
        elif terminal.in_alternate and self.connected:
            # xterm's alternateScroll: pagers and editors without mouse support get arrows.
            arrow = encode_key("up" if up else "down", None, app_cursor=terminal.app_cursor_keys)
            self._write((arrow or "") * WHEEL_ROWS)
        else:
            self.history_offset += WHEEL_ROWS if up else -WHEEL_ROWS

    # -- actions ---------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """``reconnect`` only while disconnected; the prefix's keys only after it."""
        if action == "reconnect":
            return self._ended and not self.connected
        if action in self._AFTER_PREFIX:
            return self.prefix_pending
        return True

    def watch_prefix_pending(self) -> None:
        """The footer follows: the prefix's keys, or the program's."""
        self.refresh_bindings()

    def action_prefix(self) -> None:
        """The prefix key: the next key is the app's; pressed twice, the program gets ``^]``."""
        if self.prefix_pending:
            self.prefix_pending = False
            self._write("\x1d")
        else:
            self.prefix_pending = True

    def action_cancel_prefix(self) -> None:
        """Back to the program, nothing sent."""
        self.prefix_pending = False

    def action_palette(self) -> None:
        """The app's command palette."""
        self.prefix_pending = False
        self.app.action_command_palette()

    def action_scroll_history(self, direction: int) -> None:
        """Scroll the view a page into (-1) or out of (+1) the history."""
        page = max(1, self.size.height - 1)
        self.history_offset -= direction * page

    def action_release_focus(self) -> None:
        """Give the focus back to the screen without sending anything to the PTY."""
        self.prefix_pending = False
        self.blur()
        self.post_message(self.FocusReleased(self))

    def action_reconnect(self) -> None:
        """Ask the owner for a new transport."""
        self.post_message(self.ReconnectRequested(self))
