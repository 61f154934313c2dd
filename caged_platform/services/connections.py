"""The WebSocket clients connected right now (terminal and MCP sockets).

They are what the local platform lists as terminal sessions and as account
sessions, and what it disconnects when a sandbox pauses or is destroyed, an
account session is deleted or the API key a socket was opened with is revoked.

The registry is also where a socket is admitted: :meth:`Connections.add`
refuses a socket whose key has been revoked meanwhile (the revocation may land
between the handshake's credential check and the registration) and a terminal
beyond :data:`MAX_TERMINALS_PER_SANDBOX`.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from caged_platform.store import utcnow

__all__ = [
    "CLOSE_REVOKED",
    "CLOSE_TOO_MANY",
    "MAX_TERMINALS_PER_SANDBOX",
    "Connection",
    "Connections",
    "Refused",
]

#: Close code of a socket whose key or account session was revoked ("policy violation").
CLOSE_REVOKED = 1008
#: Close code of a socket refused because its sandbox has as many as it may hold.
CLOSE_TOO_MANY = 4429
#: Terminal sockets one sandbox may have open at once; each holds a PTY and a shell in the
#: cage, and the cage's agent fails in unhelpful ways well before a few hundred.
MAX_TERMINALS_PER_SANDBOX = 32

Closer = Callable[[int, str], Awaitable[None]]


class Refused(Exception):
    """A socket the registry does not admit: close it with ``code`` and ``reason``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(slots=True)
class Connection:
    """One open socket: what it is attached to, who opened it, how to close it."""

    id: str
    kind: str  # "terminal" | "mcp"
    sandbox_id: str
    key_id: str
    user_agent: str
    address: str
    close: Closer = field(repr=False)
    rows: int | None = None
    cols: int | None = None
    created_at: datetime = field(default_factory=utcnow)


class Connections:
    """Registry of open sockets, by id, with the keys they were opened with."""

    def __init__(self) -> None:
        self._open: dict[str, Connection] = {}
        # Keys revoked while this process runs; the store refuses them from then on, but a
        # handshake that checked its key just before the revocation registers just after.
        self._revoked_keys: set[str] = set()

    def add(
        self,
        kind: str,
        sandbox_id: str,
        *,
        key_id: str,
        user_agent: str,
        address: str,
        close: Closer,
    ) -> Connection:
        """Register a socket that has just been accepted; :class:`Refused` if it may not stay."""
        if key_id in self._revoked_keys:
            raise Refused(CLOSE_REVOKED, "the API key has been revoked")
        if kind == "terminal" and (
            len(self.all(kind="terminal", sandbox_id=sandbox_id)) >= MAX_TERMINALS_PER_SANDBOX
        ):
            raise Refused(
                CLOSE_TOO_MANY,
                f"sandbox {sandbox_id} already has {MAX_TERMINALS_PER_SANDBOX} terminals open",
            )
        prefix = "term-" if kind == "terminal" else "sess-"
        conn = Connection(
            id=prefix + secrets.token_hex(4),
            kind=kind,
            sandbox_id=sandbox_id,
            key_id=key_id,
            user_agent=user_agent,
            address=address,
            close=close,
        )
        self._open[conn.id] = conn
        return conn

    def remove(self, conn_id: str) -> None:
        """Forget a socket that has closed."""
        self._open.pop(conn_id, None)

    def get(self, conn_id: str) -> Connection | None:
        """The open socket ``conn_id``, if it is still open."""
        return self._open.get(conn_id)

    def all(self, *, kind: str | None = None, sandbox_id: str | None = None) -> list[Connection]:
        """Open sockets, oldest first, optionally of one kind and/or one sandbox."""
        return [
            c
            for c in sorted(self._open.values(), key=lambda c: c.created_at)
            if (kind is None or c.kind == kind)
            and (sandbox_id is None or c.sandbox_id == sandbox_id)
        ]

    async def close_sandbox(self, sandbox_id: str, code: int, reason: str) -> None:
        """Close every socket attached to a sandbox (it paused or went away)."""
        for conn in self.all(sandbox_id=sandbox_id):
            await conn.close(code, reason)

    async def close_key(self, key_id: str) -> None:
        """Close every socket opened with a key that has just been revoked, and refuse
        any that registers with it later."""
        self._revoked_keys.add(key_id)
        for conn in list(self._open.values()):
            if conn.key_id == key_id:
                await conn.close(CLOSE_REVOKED, "the API key has been revoked")
