"""Adapt the client's :class:`TerminalSession` to the widget's ``TerminalTransport``.

Two differences are bridged here:

- the session iterates text; the widget wants bytes (it counts them for flow
  control), so iteration goes through ``session.iter_bytes()``;
- the widget reports the *cumulative* bytes consumed, the session's ``ack``
  takes the bytes consumed *since the last call*.

Sending to a session that has ended is a no-op, as the protocol requires:
the widget finds out through the end of iteration, not through an exception.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from caged_core.client.realtime.terminal import TerminalSession
from caged_core.errors import CagedConnectionError


class SessionTransport:
    """A :class:`~caged_tui.widgets.terminal.TerminalTransport` over a terminal socket."""

    def __init__(self, session: TerminalSession) -> None:
        self.session = session
        self._acked = 0

    @property
    def closed(self) -> bool:
        """True once the socket has ended, from either side."""
        return self.session.closed

    @property
    def close_code(self) -> int | None:
        """The socket's close code, once closed."""
        return self.session.close_code

    @property
    def close_reason(self) -> str | None:
        """The close frame's reason (``sandbox … is paused``), once closed."""
        return self.session.close_reason

    async def send(self, data: str) -> None:
        """Type ``data`` into the PTY."""
        with contextlib.suppress(CagedConnectionError):
            await self.session.send(data)

    async def resize(self, rows: int, cols: int) -> None:
        """Resize the remote PTY."""
        with contextlib.suppress(CagedConnectionError):
            await self.session.resize(rows, cols)

    async def ack(self, nbytes: int) -> None:
        """Forward the consumed-bytes count as the increment the session expects."""
        increment, self._acked = nbytes - self._acked, max(self._acked, nbytes)
        if increment > 0:
            with contextlib.suppress(CagedConnectionError):
                await self.session.ack(increment)

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self.session.iter_bytes()

    async def close(self) -> None:
        """Close the socket (idempotent)."""
        await self.session.close()
