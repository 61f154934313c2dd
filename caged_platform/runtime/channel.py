"""The host side of the agent protocol (see :mod:`.agent` for the wire format), for asyncio.

Streams (PTYs, watches, forwards) each get a Unix-socket connection of their own.  Requests
that end in a known state (``exec``, ``ping``, ``ports``, ``stats``) reuse idle connections:
connecting costs the agent a thread and the host a round trip, a large share of a short exec.
Reading is pull-based: nothing is read from the socket until a caller asks, and asyncio's
stream buffer is bounded, so a slow consumer stalls the agent (and through it the PTY or
pipe) instead of growing a buffer.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import json
import time
from typing import Any

from .agent import FRAME_CONTROL, FRAME_DATA, FRAME_HEADER, MAX_FRAME, encode_control, encode_frame
from .agent import encode_line as _encode_line
from .api import CageError, ExecOutcome

STREAM_LIMIT = 2 * MAX_FRAME  # asyncio pauses reading the socket beyond twice this
# A terminal buffers little below the server: what it holds is output the user must wait for
# after ctrl+c (the server's flow-control window bounds only what it has sent). With the
# agent's socket buffer, 4 KiB each left 0.08 MB to show after ctrl+c during `yes` where
# 16 KiB left 0.13 MB; a cage's PTY still moves 20+ MB/s, far above what a client parses.
PTY_STREAM_LIMIT = 4 * 1024
MAX_EXEC_OUTPUT = 16 * 1024 * 1024
CONNECT_TIMEOUT_S = 10.0
# Idle connections kept per agent: enough for a few concurrent callers; each holds a thread
# in the agent.
MAX_IDLE = 4

_Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class AgentUnavailable(CageError):
    """The agent's socket does not answer (cage stopped, crashed or frozen)."""


class _ClosedUnanswered(AgentUnavailable):
    """The agent closed the connection (or reset it) without answering the request."""


async def read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes] | None:
    """The next frame, or None at EOF."""
    try:
        head = await reader.readexactly(FRAME_HEADER.size)
    except asyncio.IncompleteReadError as err:
        if err.partial:
            raise CageError("agent connection closed inside a frame") from err
        return None
    kind, length = FRAME_HEADER.unpack(head)
    if length > MAX_FRAME:
        raise CageError("agent sent an oversized frame")
    try:
        payload = await reader.readexactly(length)
    except asyncio.IncompleteReadError as err:
        raise CageError("agent connection closed inside a frame") from err
    return kind, payload


class AgentLink:
    """Talks to one cage's agent through the socket at ``socket_path``."""

    def __init__(self, socket_path: str) -> None:
        self.socket_path = socket_path
        self._idle: list[_Connection] = []

    async def _connect(self, answer_within: float, limit: int) -> _Connection:
        try:
            async with asyncio.timeout(answer_within):
                return await asyncio.open_unix_connection(self.socket_path, limit=limit)
        except (OSError, TimeoutError) as err:
            raise AgentUnavailable(f"agent unreachable: {err}") from err

    async def _ask(
        self, connection: _Connection, op: str, answer_within: float, args: dict[str, Any]
    ) -> dict[str, Any]:
        """Send the header, read the answer line; closes the connection on any failure."""
        reader, writer = connection
        try:
            writer.write(_encode_line({"op": op, **args}))
            async with asyncio.timeout(answer_within):
                line = await reader.readline()
            if not line:
                raise _ClosedUnanswered("agent closed the connection")
            answer: dict[str, Any] = json.loads(line)
        except BaseException as err:
            writer.close()
            if isinstance(err, ConnectionError):
                raise _ClosedUnanswered(f"agent did not answer {op!r}: {err!r}") from err
            if isinstance(err, TimeoutError | ValueError):
                raise AgentUnavailable(f"agent did not answer {op!r}: {err!r}") from err
            raise
        if not answer.get("ok"):
            writer.close()
            raise CageError(str(answer.get("error") or f"agent refused {op!r}"))
        return answer

    async def open(
        self,
        op: str,
        *,
        answer_within: float = CONNECT_TIMEOUT_S,
        limit: int = STREAM_LIMIT,
        **args: Any,
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, dict[str, Any]]:
        """A connection of its own for a stream: connect, send the header, read the answer
        line; raise :class:`CageError` on refusal.

        ``limit`` bounds what asyncio buffers from the socket (it pauses at twice that).
        """
        reader, writer = await self._connect(answer_within, limit)
        return reader, writer, await self._ask((reader, writer), op, answer_within, args)

    async def _request(
        self, op: str, answer_within: float, args: dict[str, Any]
    ) -> tuple[_Connection, dict[str, Any]]:
        """Send a request on an idle connection (a new one when none is left) and read
        its answer line."""
        while self._idle:
            connection = self._idle.pop()
            if connection[0].at_eof() or connection[1].is_closing():
                connection[1].close()
                continue
            try:
                return connection, await self._ask(connection, op, answer_within, args)
            except _ClosedUnanswered:
                # The agent closed it while idle (one of an older version does after every
                # request). A live agent answers each request it reads, so it never read
                # this one: sent on another connection, it runs once. (A timeout is not
                # retried: a frozen agent may still run the request when it thaws.)
                continue
        connection = await self._connect(answer_within, STREAM_LIMIT)
        return connection, await self._ask(connection, op, answer_within, args)

    def _release(self, connection: _Connection) -> None:
        """Keep a connection whose request ended in a known state for the next one."""
        if len(self._idle) < MAX_IDLE and not connection[1].is_closing():
            self._idle.append(connection)
        else:
            connection[1].close()

    def close(self) -> None:
        """Close the idle connections (the cage is stopping or being forgotten)."""
        while self._idle:
            self._idle.pop()[1].close()

    async def call(
        self, op: str, *, answer_within: float = CONNECT_TIMEOUT_S, **args: Any
    ) -> dict[str, Any]:
        """A request whose whole answer is the answer line."""
        connection, answer = await self._request(op, answer_within, args)
        self._release(connection)
        return answer

    async def exec(
        self, command: str, *, env: dict[str, str] | None, limit_s: float
    ) -> ExecOutcome:
        """Run ``command``; the agent kills its process group after ``limit_s`` seconds."""
        timeout = limit_s
        started = time.monotonic()
        connection, _ = await self._request(
            "exec", CONNECT_TIMEOUT_S, {"cmd": command, "env": env or {}, "timeout_s": timeout}
        )
        reader, writer = connection
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        parts: list[str] = []
        size = 0
        truncated = False
        end: dict[str, Any] | None = None
        finished = False  # the agent sent the exit status: the connection is idle again
        try:
            # The agent enforces ``timeout``; this guard only covers an agent that stalls
            # (e.g. frozen by a pause).
            async with asyncio.timeout(timeout + 10.0):
                while (frame := await read_frame(reader)) is not None:
                    kind, payload = frame
                    if kind == FRAME_DATA:
                        if size < MAX_EXEC_OUTPUT:
                            parts.append(decoder.decode(payload))
                            size += len(payload)
                        else:
                            truncated = True  # keep reading: the command must not block
                    elif kind == FRAME_CONTROL:
                        end = json.loads(payload)
                        finished = True
                        break
        except TimeoutError:
            end = {"exit": None, "timed_out": True}
        finally:
            if finished:
                self._release(connection)
            else:
                writer.close()  # on cancellation this kills the command's process group
        parts.append(decoder.decode(b"", final=True))
        if truncated:
            parts.append(f"\n[output truncated at {MAX_EXEC_OUTPUT} bytes]\n")
        if end is None:
            raise CageError("the agent closed the exec stream without an exit status")
        exit_code = end.get("exit")
        return ExecOutcome(
            output="".join(parts),
            exit_code=int(exit_code) if exit_code is not None else None,
            duration_ms=float(end.get("duration_ms") or (time.monotonic() - started) * 1000.0),
            timed_out=bool(end.get("timed_out")),
        )


class AgentPty:
    """A :class:`~.api.PtyChannel` over an agent ``pty`` connection."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, pid: int
    ) -> None:
        self._reader = reader
        self._writer = writer
        self.pid = pid
        self._exit_status: int | None = None
        self._done = False
        self._write_lock = asyncio.Lock()

    @property
    def exit_status(self) -> int | None:
        """The shell's exit status once it has ended (None before, or if unknown)."""
        return self._exit_status

    async def read(self) -> bytes:
        """Next chunk of output; ``b""`` once the shell has exited."""
        while not self._done:
            try:
                frame = await read_frame(self._reader)
            except (ConnectionError, CageError):
                frame = None
            if frame is None:
                self._done = True
                break
            kind, payload = frame
            if kind == FRAME_DATA:
                return payload
            if kind == FRAME_CONTROL:
                message = json.loads(payload)
                if "exit" in message:
                    code = message["exit"]
                    self._exit_status = int(code) if code is not None else None
                    self._done = True
        return b""

    async def _send(self, frame: bytes) -> None:
        async with self._write_lock:
            if self._writer.is_closing():
                raise CageError("the terminal is closed")
            self._writer.write(frame)
            await self._writer.drain()

    async def write(self, data: bytes) -> None:
        """Send keyboard input (split into frames)."""
        for start in range(0, len(data), MAX_FRAME):
            await self._send(encode_frame(FRAME_DATA, data[start : start + MAX_FRAME]))

    async def resize(self, rows: int, cols: int) -> None:
        """Set the terminal size; the shell's foreground job gets SIGWINCH."""
        await self._send(encode_control({"resize": [int(rows), int(cols)]}))

    async def close(self) -> None:
        """Hang up: closing the connection makes the agent SIGHUP the shell's session."""
        self._writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self._writer.wait_closed()
