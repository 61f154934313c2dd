"""The terminal WebSocket: ``/v1/sandboxes/{id}/terminal`` — a shell on a PTY.

Frames are JSON text (contract §3): ``input``/``resize``/``ping`` in,
``output``/``pong`` out. The local platform adds flow control (contract §4):
its first frame is ``{"type": "flow", "window": 65536}``; once a client sends
``{"type": "ack", "bytes": N}`` the PTY is not read while more than a window of
output is unacknowledged, so a flood cannot bury a ``ctrl+c``. A client that
never acks gets TCP backpressure (every send is awaited).

Closes with 1000 when the shell exits, 1001 when the sandbox pauses or is
destroyed; the handshake codes are in :mod:`caged_platform.http.sockets`.

Each socket is an agent session of the observer: typed input is recorded
before it reaches the PTY, and every chunk the PTY shows is kept as output, so
the session replays as a recording. The session ends with the socket —
``failed`` when the terminal broke or the platform cut it off.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import json
import logging
from typing import Any

from starlette.websockets import WebSocket

from caged_platform import jsontext
from caged_platform.http.sockets import (
    CLOSE_BAD_REQUEST,
    CLOSE_NORMAL,
    Closing,
    OpenSocket,
    close_quietly,
    describe,
    disconnected,
    end_session,
    open_socket,
)
from caged_platform.observe import Observer
from caged_platform.runtime.api import PtyChannel
from caged_platform.services.connections import Connection
from caged_platform.services.sandboxes import SandboxService

__all__ = ["FLOW_WINDOW", "terminal_endpoint"]

_log = logging.getLogger(__name__)

# Bounds what is still to be shown after a ctrl+c during a flood: 256 KiB left 0.33 MB to
# parse (0.59 s on a loaded machine), 64 KiB 0.12 MB. Not below 64 KiB: the contract lets a
# client ack only every 64 KiB, and a smaller window would stall it.
FLOW_WINDOW = 65536
# Output frames stay far below the 1 MiB message limit.
_MAX_OUTPUT_CHARS = 64 * 1024
_MAX_DIMENSION = 1000
CLOSE_INTERNAL_ERROR = 1011


def _dimension(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= _MAX_DIMENSION:
        raise ValueError(f"{name} must be an integer between 1 and {_MAX_DIMENSION}")
    return value


def _requested_size(websocket: WebSocket) -> tuple[int, int] | None:
    """``rows``/``cols`` from the query; None when absent (a plain, pipe-like session)."""
    rows, cols = websocket.query_params.get("rows"), websocket.query_params.get("cols")
    if rows is None and cols is None:
        return None
    try:
        return _dimension(int(rows or 24), "rows"), _dimension(int(cols or 80), "cols")
    except ValueError as exc:
        raise ValueError(f"bad terminal size: {exc}") from None


class _TerminalSession:
    """Pumps one socket ⇄ one PTY until either side ends or a close is requested,
    recording the traffic as observer session ``session_id``."""

    def __init__(
        self,
        websocket: WebSocket,
        pty: PtyChannel,
        sandboxes: SandboxService,
        conn: Connection,
        observer: Observer,
        session_id: str,
    ) -> None:
        self._ws = websocket
        self._pty = pty
        self._sandboxes = sandboxes
        self._conn = conn
        self._observer = observer
        self._session_id = session_id
        self._send_lock = asyncio.Lock()
        self._sent = 0
        self._acked: int | None = None  # None until the client first acks
        self._ack_arrived = asyncio.Event()

    async def _send(self, frame: dict[str, Any]) -> None:
        async with self._send_lock:
            await self._ws.send_text(json.dumps(frame))

    async def run(self, closing: Closing) -> tuple[bool, str]:
        """Pump until the end; returns (failed, why it ended) for the session record."""
        await self._send({"type": "flow", "window": FLOW_WINDOW})
        output = asyncio.create_task(self._pump_output())
        incoming = asyncio.create_task(self._pump_input())
        stop = asyncio.create_task(closing.requested.wait())
        done, pending = await asyncio.wait(
            {output, incoming, stop}, return_when=asyncio.FIRST_COMPLETED
        )
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        failed = next((t.exception() for t in done if t.exception() is not None), None)
        if stop in done:
            await close_quietly(self._ws, closing.code, closing.reason)
            return True, closing.reason
        if failed is not None and disconnected(failed):
            # A send found the client gone before the receive loop heard of it.
            return False, "the client disconnected"
        if failed is not None:
            _log.warning("terminal %s failed: %s", self._conn.id, describe(failed))
            await close_quietly(self._ws, CLOSE_INTERNAL_ERROR, "the terminal failed")
            return True, f"the terminal failed: {describe(failed)}"
        if output in done:
            await close_quietly(self._ws, CLOSE_NORMAL, "the shell exited")
            return False, "the shell exited"
        return False, "the client disconnected"

    async def _pump_output(self) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        while True:
            while self._acked is not None and self._sent - self._acked > FLOW_WINDOW:
                self._ack_arrived.clear()
                await self._ack_arrived.wait()
            chunk = await self._pty.read()
            if chunk:
                await self._observer.terminal_output(self._session_id, chunk)
            text = decoder.decode(chunk, final=not chunk)
            for start in range(0, len(text), _MAX_OUTPUT_CHARS):
                piece = text[start : start + _MAX_OUTPUT_CHARS]
                self._sent += len(piece.encode())
                await self._send({"type": "output", "data": piece})
            if not chunk:
                return

    async def _pump_input(self) -> None:
        while True:
            message = await self._ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("bytes") is not None:
                await self._input(message["bytes"])
            elif message.get("text") is not None:
                await self._frame(message["text"])

    async def _input(self, data: bytes) -> None:
        self._sandboxes.touch(self._conn.sandbox_id)
        # Recorded before the shell sees it, so a typed command precedes its output.
        try:
            await self._observer.terminal_input(
                self._session_id, data.decode("utf-8", errors="replace")
            )
        except Exception:  # recording must never cost the user their keystrokes
            _log.exception("recording input of terminal %s failed", self._conn.id)
        await self._pty.write(data)

    async def _frame(self, text: str) -> None:
        try:
            frame = jsontext.loads(text)
        except ValueError:
            frame = None
        if not isinstance(frame, dict):
            # Not a JSON frame: legacy clients type raw text.
            await self._input(text.encode())
            return
        kind = frame.get("type")
        if kind == "input" and isinstance(frame.get("data"), str):
            await self._input(frame["data"].encode())
        elif kind == "resize":
            try:
                rows = _dimension(frame.get("rows"), "rows")
                cols = _dimension(frame.get("cols"), "cols")
            except ValueError:
                return  # a bad resize is ignored: the terminal keeps its size
            self._conn.rows, self._conn.cols = rows, cols
            self._sandboxes.touch(self._conn.sandbox_id)
            await self._pty.resize(rows, cols)
            try:
                await self._observer.terminal_resize(self._session_id, rows, cols)
            except Exception:  # recording must never cost the user their terminal
                _log.exception("recording a resize of terminal %s failed", self._conn.id)
        elif kind == "ping":
            await self._send({"type": "pong"})
        elif kind == "ack" and isinstance(frame.get("bytes"), int):
            self._acked = max(self._acked or 0, frame["bytes"])
            self._ack_arrived.set()


async def terminal_endpoint(websocket: WebSocket) -> None:
    """``/v1/sandboxes/{id}/terminal``: accept, authenticate, then bridge to a PTY."""
    # Legacy 0.2 clients ask for the "mcp" subprotocol on the terminal too.
    async with open_socket(
        websocket, kind="terminal", subprotocols=("terminal", "mcp"), allow_read_only=False
    ) as opened:
        if opened is not None:
            await _serve(opened)


async def _serve(opened: OpenSocket) -> None:
    websocket, platform, conn = opened.websocket, opened.platform, opened.conn
    try:
        size = _requested_size(websocket)
    except ValueError as exc:
        await close_quietly(websocket, CLOSE_BAD_REQUEST, str(exc))
        return
    conn.rows, conn.cols = size or (None, None)
    rows, cols = size or (24, 80)
    try:
        pty = await platform.runtime.open_pty(conn.sandbox_id, rows=rows, cols=cols)
    except Exception as exc:
        _log.warning("could not open a PTY in %s: %s", conn.sandbox_id, describe(exc))
        await close_quietly(websocket, CLOSE_INTERNAL_ERROR, "could not start a shell")
        return
    platform.sandboxes.touch(conn.sandbox_id)
    observer = platform.observer
    session_id: str | None = None
    failed, why = True, "the terminal was interrupted"
    try:
        session_id = await observer.open_session(
            opened.principal.account_id,
            conn.sandbox_id,
            client=conn.user_agent or conn.address,
            size=(rows, cols),
        )
        terminal = _TerminalSession(websocket, pty, platform.sandboxes, conn, observer, session_id)
        failed, why = await terminal.run(opened.closing)
    finally:
        with contextlib.suppress(Exception):
            await pty.close()
        if session_id is not None:
            await end_session(opened, session_id, failed=failed, why=why)
