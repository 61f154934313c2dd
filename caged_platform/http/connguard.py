"""Keeping connections that send nothing from starving the ones that do.

Every route needs a key, but a key is only seen once a request head has arrived:
before that, a connection costs the server a file descriptor and a parser, and
uvicorn gives it all the time in the world. A thousand clients that connect and
stay silent (or send half a request line) used to exhaust the descriptors, after
which ``accept`` failed and authenticated clients waited too. So:

- the process's soft ``RLIMIT_NOFILE`` is raised to its hard limit
  (:func:`raise_fd_limit`);
- a connection must complete each request head within :data:`HEAD_TIMEOUT`
  seconds of connecting or of its previous response, whatever it trickles
  meanwhile (uvicorn's keep-alive timer is cancelled by any byte);
- at most ``max_connections`` HTTP connections are held: one more closes the
  oldest connection that is still waiting for its head — the newcomer may be
  the client with a key, and a flood of silent ones must not lock it out.

uvicorn's own ``limit_concurrency`` is not used: past its limit it answers 503 to
*every* new request, which is exactly the starvation to avoid.
"""

from __future__ import annotations

import asyncio
import resource
import time
from typing import Any, ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = [
    "HEAD_TIMEOUT",
    "KEEP_ALIVE_TIMEOUT",
    "GuardedH11Protocol",
    "guarded_protocol",
    "raise_fd_limit",
]

#: Seconds a connection has to send a complete request head.
HEAD_TIMEOUT = 10.0
#: Seconds an idle keep-alive connection is kept (uvicorn's timer).
KEEP_ALIVE_TIMEOUT = 5
# Descriptors kept for everything but client connections: databases, cage agents,
# PTYs, snapshot archives.
_RESERVED_FDS = 512
_MAX_CONNECTIONS = 10_000


def raise_fd_limit() -> int:
    """Raise the soft limit on open files to the hard one; return how many connections
    to hold at most with what is then available."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if wanted > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        soft = wanted
    return max(64, min(_MAX_CONNECTIONS, soft - _RESERVED_FDS, soft // 2))


class GuardedH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with a request-head deadline and a connection cap.

    Use :func:`guarded_protocol` to get a subclass with its own limits and registry.
    """

    max_connections: ClassVar[int] = _MAX_CONNECTIONS
    head_timeout: ClassVar[float] = HEAD_TIMEOUT
    # Connections waiting for a request head, oldest first (a dict keeps insertion order).
    waiting: ClassVar[dict[GuardedH11Protocol, float]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_head()
        if len(self.connections) > self.max_connections:
            self._make_room()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_waiting()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if not self._between_requests():
            self._stop_waiting()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._between_requests() and not self.transport.is_closing():
            self._await_head()

    def _between_requests(self) -> bool:
        # h11 leaves IDLE only once a whole request head has been parsed.
        return self.conn.their_state is h11.IDLE

    def _await_head(self) -> None:
        self._stop_waiting()
        self.waiting[self] = time.monotonic()
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_overdue)

    def _stop_waiting(self) -> None:
        self.waiting.pop(self, None)
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_overdue(self) -> None:
        self._head_timer = None
        if self._between_requests():
            self._close()

    def _close(self) -> None:
        self._stop_waiting()
        if not self.transport.is_closing():
            self.transport.close()

    def _make_room(self) -> None:
        oldest = next(iter(self.waiting), None)
        # Nothing is idle but us (every other connection is busy): refuse this one.
        (oldest or self)._close()


def guarded_protocol(
    *, max_connections: int, head_timeout: float = HEAD_TIMEOUT
) -> type[GuardedH11Protocol]:
    """A :class:`GuardedH11Protocol` subclass with these limits and a registry of its own
    (one per server: pass it as uvicorn's ``http=``)."""
    return type(
        "GuardedH11Protocol",
        (GuardedH11Protocol,),
        {"max_connections": max_connections, "head_timeout": head_timeout, "waiting": {}},
    )
