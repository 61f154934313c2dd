"""An interactive terminal on a sandbox: ``/sandboxes/{id}/terminal``.

Frames are JSON text: ``{"type": "output", "data": …}`` and ``pong`` from the
server; a frame that is not a JSON object is raw output. The local platform
adds flow control: its first frame is ``{"type": "flow", "window": N}``, and a
client that sends cumulative ``{"type": "ack", "bytes": N}`` frames keeps the
server from running more than ``N`` bytes ahead of what it has consumed (so
``ctrl+c`` during a flood takes effect at once).

Output reaches the caller two ways, usable together: ``on_output`` callbacks
and async iteration (``async for text in session`` or ``iter_bytes()``).
Output is buffered for iteration until a callback is registered; after that
only an active iterator receives it. The buffer is bounded, so a caller
that stops reading slows the server down (TCP backpressure) instead of
growing memory. When the socket ends — closed by either side or dropped —
iteration stops; it never hangs. Whether to reconnect is the caller's
choice: :func:`reconnecting` (``client.sandboxes.reconnecting_terminal``)
opens a new session after a drop, and only then.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import inspect
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import Any, Self

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from caged_core.client._retry import RetryPolicy
from caged_core.client._transport import APICore, encode_path
from caged_core.client.realtime._socket import connect_socket
from caged_core.errors import CagedConnectionError, CagedTimeoutError

__all__ = ["OutputCallback", "TerminalSession", "reconnecting"]

log = logging.getLogger("caged_core.client.terminal")

#: ``on_output`` callbacks get each chunk of text; they may be coroutines.
OutputCallback = Callable[[str], Awaitable[None] | None]

# Chunks buffered for an iterator before the reader waits for the consumer.
_BUFFERED_CHUNKS = 256
# Close codes after which a terminal is over for good (see ``dropped``).
_FINAL_CLOSE_CODES = frozenset({1000, 1001})
# The contract asks for an ack every 16-64 KiB; a quarter of the window is
# within that range for the local platform's windows and never stalls it.
_MAX_ACK_INTERVAL = 32 * 1024
# A session that dropped sooner than this counts toward the reconnect backoff.
_QUICK_DROP = 5.0


class TerminalSession:
    """A live terminal socket. Create it with ``await client.sandboxes.terminal(id)``."""

    def __init__(self, ws: ClientConnection, *, sandbox_id: str) -> None:
        self.sandbox_id = sandbox_id
        self._ws = ws
        self._queue: asyncio.Queue[str | None] = asyncio.Queue(_BUFFERED_CHUNKS)
        self._callbacks: list[OutputCallback] = []
        self._iterating = False
        self._ended = False
        self._pong = asyncio.Event()
        self._closed = asyncio.Event()
        self._closed_by_caller = False
        self._flow_window: int | None = None
        self._consumed = 0
        self._acked = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._reader = asyncio.create_task(self._read(), name=f"terminal-{sandbox_id}")

    @classmethod
    async def open(
        cls,
        core: APICore,
        sandbox_id: str,
        *,
        rows: int | None = 24,
        cols: int | None = 80,
        open_timeout: float | None = None,
    ) -> Self:
        """Open a terminal socket (``rows``/``cols`` ``None`` → not sent, as exec does)."""
        ws = await connect_socket(
            core,
            encode_path("/sandboxes/{}/terminal", sandbox_id),
            subprotocol="terminal",
            query={"rows": rows, "cols": cols},
            open_timeout=open_timeout,
        )
        return cls(ws, sandbox_id=sandbox_id)

    # ------------------------------------------------------------------ state

    @property
    def closed(self) -> bool:
        """Whether the socket has ended (either side closed it, or it dropped)."""
        return self._ended

    @property
    def close_code(self) -> int | None:
        """The WebSocket close code once closed (1000 shell exited, 1001 sandbox
        paused/destroyed, 4401 bad credential, 4404 unknown sandbox)."""
        return self._ws.close_code

    @property
    def close_reason(self) -> str | None:
        """The close frame's reason text, once closed."""
        return self._ws.close_reason

    @property
    def dropped(self) -> bool:
        """Whether the socket ended abnormally — neither side closed it on
        purpose (no close frame, or 1006/1011/1012/1013…), so reconnecting
        makes sense. Normal ends: the caller closed it; 1000 (the shell
        exited); 1001 (the sandbox paused or went away); 4xxx (refused)."""
        if not self._ended or self._closed_by_caller:
            return False
        code = self.close_code
        return code is None or (code not in _FINAL_CLOSE_CODES and not 4000 <= code < 5000)

    @property
    def flow_window(self) -> int | None:
        """The server's flow-control window in bytes, or ``None`` if it has none."""
        return self._flow_window

    def __repr__(self) -> str:
        state = "closed" if self._ended else "open"
        return f"<TerminalSession {self.sandbox_id} {state}>"

    # ------------------------------------------------------------------ sending

    async def _send(self, frame: dict[str, Any]) -> None:
        try:
            await self._ws.send(json.dumps(frame))
        except ConnectionClosed as err:
            raise CagedConnectionError(
                f"terminal {self.sandbox_id} is closed ({err.rcvd or 'no close frame'})"
            ) from err

    async def send(self, data: str) -> None:
        """Type ``data`` into the terminal (include ``\\n`` to run a line)."""
        await self._send({"type": "input", "data": data})

    async def resize(self, rows: int, cols: int) -> None:
        """Tell the PTY its new size."""
        await self._send({"type": "resize", "rows": rows, "cols": cols})

    async def ping(self, *, timeout: float = 10.0) -> float:
        """Send an application ping; return the round trip in seconds."""
        self._pong.clear()
        started = time.monotonic()
        await self._send({"type": "ping"})
        pong = asyncio.ensure_future(self._pong.wait())
        closed = asyncio.ensure_future(self._closed.wait())
        try:
            done, _ = await asyncio.wait(
                {pong, closed}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            pong.cancel()
            closed.cancel()
        if pong in done:
            return time.monotonic() - started
        if closed in done:
            raise CagedConnectionError(f"terminal {self.sandbox_id} closed before the pong")
        raise CagedTimeoutError(f"no pong within {timeout:g} s", timeout=timeout)

    async def ack(self, nbytes: int, *, force: bool = False) -> None:
        """Record that ``nbytes`` more bytes of output were consumed.

        Sends ``{"type": "ack", "bytes": <cumulative>}`` once enough has been
        consumed since the last ack (a quarter of the window, at most 32 KiB)
        or when ``force`` is set. Does nothing on servers without flow
        control (no ``flow`` frame seen), as hosted ones are.
        """
        self._consumed += nbytes
        if self._flow_window is None or self._ended:
            return
        interval = max(1, min(_MAX_ACK_INTERVAL, self._flow_window // 4))
        if force or self._consumed - self._acked >= interval:
            self._acked = self._consumed
            await self._send({"type": "ack", "bytes": self._consumed})

    # ------------------------------------------------------------------ receiving

    def on_output(self, callback: OutputCallback) -> None:
        """Call ``callback(text)`` for every chunk of output from now on.

        Output buffered before the first callback (the banner, the prompt) is
        handed to it at once unless an iterator is consuming it.
        """
        self._callbacks.append(callback)
        if self._iterating:
            return
        while not self._queue.empty():
            chunk = self._queue.get_nowait()
            if chunk is None:  # the end marker stays for a later iterator
                self._queue.put_nowait(None)
                return
            self._call(callback, chunk)

    def _call(self, callback: OutputCallback, chunk: str) -> None:
        try:
            result = callback(chunk)
        except Exception:
            log.exception("terminal output callback failed")
            return
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            task.add_done_callback(_log_callback_failure)

    async def _read(self) -> None:
        try:
            async for message in self._ws:
                if isinstance(message, bytes):
                    await self._deliver(self._decoder.decode(message))
                else:
                    await self._handle(message)
        except ConnectionClosed:
            pass  # a dropped socket ends the session like a closed one
        except Exception:
            log.exception("terminal reader failed")
        finally:
            self._ended = True
            self._closed.set()
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.put_nowait(None)

    async def _handle(self, text: str) -> None:
        try:
            frame = json.loads(text)
        except ValueError:
            frame = None
        if not isinstance(frame, dict):
            await self._deliver(text)
            return
        kind = frame.get("type")
        if kind == "output":
            data = frame.get("data")
            if isinstance(data, str) and data:
                await self._deliver(data)
        elif kind == "pong":
            self._pong.set()
        elif kind == "flow" and isinstance(frame.get("window"), int):
            self._flow_window = frame["window"]
        # Any other frame type is an extension we do not know: ignore it.

    async def _deliver(self, chunk: str) -> None:
        if not chunk:
            return
        for callback in self._callbacks:
            self._call(callback, chunk)
        if self._iterating or not self._callbacks:
            await self._queue.put(chunk)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> str:
        self._iterating = True
        if self._queue.empty() and self._ended:
            raise StopAsyncIteration
        chunk = await self._queue.get()
        if chunk is None:
            self._queue.put_nowait(None)  # keep later calls ending too
            raise StopAsyncIteration
        return chunk

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        """Iterate output as UTF-8 bytes (what a terminal emulator and ``ack`` count)."""
        async for chunk in self:
            yield chunk.encode()

    # ------------------------------------------------------------------ closing

    async def close(self) -> None:
        """Close the socket with 1000; output not yet read is discarded."""
        self._closed_by_caller = True
        # Cancel first: the reader may be waiting for an iterator that is gone.
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        with contextlib.suppress(Exception):
            await self._ws.close()

    async def wait_closed(self) -> None:
        """Wait until the socket has ended."""
        await self._closed.wait()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


async def reconnecting(
    open_session: Callable[[], Awaitable[TerminalSession]], retry: RetryPolicy
) -> AsyncIterator[TerminalSession]:
    """Yield a session, then a fresh one each time the previous one *dropped*.

    Shaped like ``async for ws in websockets.connect(uri)``: the loop body
    uses the session until it ends; the next iteration reconnects (after a
    capped, jittered backoff when drops come quickly) only if it
    :attr:`~TerminalSession.dropped`. A session the caller closed, or one the
    server ended on purpose, ends the loop. Opening failures raise (after the
    client's own handshake retries).
    """
    quick_drops = 0
    while True:
        session = await open_session()
        opened = time.monotonic()
        try:
            yield session
        finally:
            if not session.closed:  # the caller left the loop with it open
                await session.close()
        if not session.dropped:
            return
        lived = time.monotonic() - opened
        quick_drops = quick_drops + 1 if lived < _QUICK_DROP else 0
        if quick_drops:
            await retry.sleep(retry.delay(quick_drops - 1) or retry.max_delay)


def _log_callback_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("terminal output callback failed", exc_info=task.exception())
