"""Streaming a command's output over the terminal socket (the marker protocol).

There is no streaming-exec endpoint, so the client types three lines into a
fresh terminal (contract §3):

1. echo off, prompts off, then print ``__CAGED_BEGIN_<nonce>__`` on its own line;
2. the command — in a subshell, so that an ``exit`` in it cannot skip step 3;
3. print ``__CAGED_EXIT_<nonce>__<status>`` and a newline, then ``exit``.

Everything before the begin marker (banner, echo, prompt) is dropped. The two
weak spots of the 0.2 SDK are closed here: each marker is printed from two
quoted pieces, so the *echo* of a typed line never contains it whole; and the
exit status is accepted only once its newline has arrived, so a status split
across frames (``1`` … ``27``) is never misread.
"""

from __future__ import annotations

import asyncio
import secrets
from enum import Enum, auto
from types import TracebackType
from typing import Self

from caged_core.client._transport import APICore
from caged_core.client.realtime.terminal import TerminalSession
from caged_core.errors import CagedConnectionError

__all__ = ["ExecStream", "MarkerParser"]

_INTERRUPT = "\x03"
# After ctrl+c, when to type the exit line again (seconds after the previous try).
_RETYPE_DELAYS = (0.0, 0.3, 0.6, 1.2, 2.4)


class _Phase(Enum):
    BEFORE_BEGIN = auto()
    BEGIN_LINE = auto()
    OUTPUT = auto()
    EXIT_CODE = auto()
    DONE = auto()


def _split_print(marker: str) -> str:
    """A ``printf`` argument list that prints ``marker`` without containing it."""
    half = len(marker) // 2
    return f"'{marker[:half]}' '{marker[half:]}'"


class MarkerParser:
    """Turns the raw terminal stream into the command's output and exit code.

    Pure and incremental: :meth:`feed` any split of the stream, then
    :meth:`finish` when the socket ends. PTY line endings (``\\r\\n``) are
    reported as ``\\n``; a lone ``\\r`` (progress bars) is kept.
    """

    def __init__(self, nonce: str) -> None:
        self.begin = f"__CAGED_BEGIN_{nonce}__"
        self.exit = f"__CAGED_EXIT_{nonce}__"
        self.exit_code: int | None = None
        self._phase = _Phase.BEFORE_BEGIN
        self._buffer = ""

    @property
    def done(self) -> bool:
        """Whether the exit code line has been read completely."""
        return self._phase is _Phase.DONE

    def setup_lines(self, command: str) -> list[str]:
        """The three input frames that run ``command`` between the markers."""
        begin = (
            "stty -echo 2>/dev/null; PS1=''; PS2=''; PROMPT_COMMAND=''; "
            "bind 'set enable-bracketed-paste off' 2>/dev/null; "
            "unsetopt prompt_sp 2>/dev/null; "
            f"printf '%s%s\\n' {_split_print(self.begin)}\n"
        )
        # In a subshell, so that a command calling ``exit`` ends only itself and
        # the exit line still runs; the shell exits right after, so nothing
        # the subshell would have changed (cwd, variables) is ever missed.
        run = f"(\n{command.rstrip(chr(10))}\n)\n"
        end = (
            "__caged_rc=$?; "
            f"printf '%s%s%s\\n' {_split_print(self.exit)} \"$__caged_rc\"; "
            'exit "$__caged_rc"\n'
        )
        return [begin, run, end]

    def feed(self, text: str) -> str:
        """Consume more of the stream; return the output it completes."""
        self._buffer += text
        out: list[str] = []
        while True:
            phase = self._phase
            if phase is _Phase.BEFORE_BEGIN:
                found = self._buffer.find(self.begin)
                if found < 0:
                    # Only a tail that could still start the marker is worth keeping.
                    self._buffer = self._buffer[-(len(self.begin) - 1) :]
                    break
                self._buffer = self._buffer[found + len(self.begin) :]
                self._phase = _Phase.BEGIN_LINE
            elif phase is _Phase.BEGIN_LINE:
                newline = self._buffer.find("\n")
                if newline < 0:
                    self._buffer = ""
                    break
                self._buffer = self._buffer[newline + 1 :]
                self._phase = _Phase.OUTPUT
            elif phase is _Phase.OUTPUT:
                found = self._buffer.find(self.exit)
                if found < 0:
                    keep = _held_back(self._buffer, self.exit)
                    out.append(self._buffer[: len(self._buffer) - keep])
                    self._buffer = self._buffer[len(self._buffer) - keep :]
                    break
                out.append(self._buffer[:found])
                self._buffer = self._buffer[found + len(self.exit) :]
                self._phase = _Phase.EXIT_CODE
            elif phase is _Phase.EXIT_CODE:
                newline = self._buffer.find("\n")
                if newline < 0:
                    break
                status = self._buffer[:newline].strip()
                self.exit_code = int(status) if status.isdigit() else None
                self._buffer = ""
                self._phase = _Phase.DONE
            else:
                self._buffer = ""
                break
        return "".join(out).replace("\r\n", "\n")

    def finish(self) -> str:
        """The stream ended: release held-back output (the exit code stays unknown)."""
        rest = self._buffer if self._phase is _Phase.OUTPUT else ""
        self._buffer = ""
        if self._phase is not _Phase.DONE:
            self._phase = _Phase.DONE
        return rest.replace("\r\n", "\n")


def _held_back(buffer: str, marker: str) -> int:
    """Length of the longest tail of ``buffer`` that could begin ``marker`` —
    or a ``\\r`` whose ``\\n`` may follow."""
    for size in range(min(len(buffer), len(marker) - 1), 0, -1):
        if marker.startswith(buffer[-size:]):
            return size
    return 1 if buffer.endswith("\r") else 0


class ExecStream:
    """A command running in a sandbox, streamed as it prints.

    ``async for chunk in stream`` yields output text; afterwards
    :attr:`exit_code` is the command's status, or ``None`` when the socket
    ended before it was reported. Iteration always ends when the socket does.
    """

    def __init__(self, session: TerminalSession, parser: MarkerParser) -> None:
        self._session = session
        self._parser = parser
        self._pending: list[str] = []
        self._finished = False
        self._nudger: asyncio.Task[None] | None = None

    @classmethod
    async def start(
        cls, core: APICore, sandbox_id: str, command: str, *, open_timeout: float | None = None
    ) -> Self:
        """Open a terminal without a size and type the three marker lines."""
        session = await TerminalSession.open(
            core, sandbox_id, rows=None, cols=None, open_timeout=open_timeout
        )
        parser = MarkerParser(secrets.token_hex(8))
        stream = cls(session, parser)
        try:
            for line in parser.setup_lines(command):
                await session.send(line)
        except CagedConnectionError:
            # Closed under us (sandbox paused, unknown sandbox): the stream just
            # ends at once — the same outcome as a close a moment later.
            pass
        except BaseException:
            await session.close()
            raise
        return stream

    @property
    def exit_code(self) -> int | None:
        """The command's exit status (``None`` until reported, or if never reported)."""
        return self._parser.exit_code

    @property
    def closed(self) -> bool:
        """Whether iteration is over (exit code read, socket ended, or closed)."""
        return self._finished

    @property
    def close_code(self) -> int | None:
        """The socket's close code (see :attr:`TerminalSession.close_code`)."""
        return self._session.close_code

    @property
    def close_reason(self) -> str | None:
        """The socket's close reason (``sandbox … is paused`` when it was refused)."""
        return self._session.close_reason

    def __repr__(self) -> str:
        return f"<ExecStream {self._session.sandbox_id} exit_code={self.exit_code}>"

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> str:
        while not self._pending:
            if self._finished:
                raise StopAsyncIteration
            await self._pull()
        return self._pending.pop(0)

    async def _pull(self) -> None:
        try:
            raw = await anext(self._session)
        except StopAsyncIteration:
            self._emit(self._parser.finish())
            self._finished = True
            return
        self._emit(self._parser.feed(raw))
        if self._parser.done:
            self._finished = True
            await self._session.close()

    def _emit(self, text: str) -> None:
        if text:
            self._pending.append(text)

    async def wait(self) -> int | None:
        """Discard the remaining output; return the exit code."""
        async for _ in self:
            pass
        return self.exit_code

    async def text(self) -> str:
        """Collect the remaining output as one string."""
        return "".join([chunk async for chunk in self])

    async def kill(self) -> None:
        """Interrupt the command (``ctrl+c``); the exit code follows (usually 130).

        An interrupt is not always enough: it discards the typed exit line
        along with other pending input, and one that lands while the shell
        itself is in the foreground is taken by the shell, not the command. So
        a background task types ``ctrl+c`` and the exit line again a few times
        until the socket closes, and hangs up (closing the socket, which ends
        the shell) if it never does — then :attr:`exit_code` stays ``None``.
        The parser reads only the first exit code.
        """
        await self._session.send(_INTERRUPT)
        if self._nudger is None:
            self._nudger = asyncio.create_task(self._retype_exit_line())

    async def _retype_exit_line(self) -> None:
        exit_line = self._parser.setup_lines("")[2]
        for attempt, delay in enumerate(_RETYPE_DELAYS):
            await asyncio.sleep(delay)
            if self._session.closed:
                return
            try:
                await self._session.send(exit_line if attempt == 0 else _INTERRUPT + exit_line)
            except CagedConnectionError:
                return
        await asyncio.sleep(_RETYPE_DELAYS[-1])
        await self._session.close()

    async def close(self) -> None:
        """Close the socket; iteration ends and the exit code stays as it is."""
        self._finished = True
        if self._nudger is not None:
            self._nudger.cancel()
        await self._session.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
