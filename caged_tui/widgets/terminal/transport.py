"""What the terminal widget needs from a connection to a PTY.

The widget never talks to a socket itself: the owner hands it a :class:`TerminalTransport` (the
client's terminal session adapted to this protocol, or a local PTY in the tests). The protocol is
deliberately small so any byte pipe can implement it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable


@runtime_checkable
class TerminalTransport(Protocol):
    """A bidirectional byte pipe to a PTY.

    Iterating yields output chunks as they arrive and ends when the connection closes; the widget
    iterates exactly once and stops pulling while its own buffer is full, so backpressure reaches
    the socket (or, with flow control, the server). Methods may be called concurrently with the
    iteration. After :meth:`close` or the end of iteration, ``send``/``resize``/``ack`` are
    no-ops (they must not raise merely because the peer has gone).
    """

    @property
    def closed(self) -> bool:
        """True once the connection has ended, from either side."""
        ...

    async def send(self, data: str) -> None:
        """Write input (keys, pastes, replies to terminal queries) to the PTY."""
        ...

    async def resize(self, rows: int, cols: int) -> None:
        """Tell the PTY its new size."""
        ...

    async def ack(self, nbytes: int) -> None:
        """Report the cumulative number of output bytes consumed (``caged-api.md`` §4 flow
        control). A transport without flow control makes this a no-op."""
        ...

    def __aiter__(self) -> AsyncIterator[bytes]:
        """Output chunks, in order; iteration ends when the connection closes."""
        ...

    async def close(self) -> None:
        """Close the connection; idempotent."""
        ...
