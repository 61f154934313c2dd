"""The WebSocket clients connected right now (terminal and MCP sockets).

They are what the local platform lists as terminal sessions and as account
sessions, and what it disconnects when a sandbox pauses or is destroyed or an
account session is deleted.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from caged_core.local.store import utcnow

__all__ = ["Connection", "Connections"]

Closer = Callable[[int, str], Awaitable[None]]


@dataclass(slots=True)
class Connection:
    """One open socket: what it is attached to, who opened it, how to close it."""

    id: str
    kind: str  # "terminal" | "mcp"
    sandbox_id: str
    user_agent: str
    address: str
    close: Closer = field(repr=False)
    rows: int | None = None
    cols: int | None = None
    created_at: datetime = field(default_factory=utcnow)


class Connections:
    """Registry of open sockets."""

    def __init__(self) -> None:
        self._open: dict[str, Connection] = {}

    def add(
        self,
        kind: str,
        sandbox_id: str,
        *,
        user_agent: str,
        address: str,
        close: Closer,
        rows: int | None = None,
        cols: int | None = None,
    ) -> Connection:
        """Register a socket that has just been accepted."""
        prefix = "term-" if kind == "terminal" else "sess-"
        conn = Connection(
            id=prefix + secrets.token_hex(4),
            kind=kind,
            sandbox_id=sandbox_id,
            user_agent=user_agent,
            address=address,
            close=close,
            rows=rows,
            cols=cols,
        )
        self._open[conn.id] = conn
        return conn

    def remove(self, conn_id: str) -> None:
        """Forget a socket that has closed."""
        self._open.pop(conn_id, None)

    def get(self, conn_id: str) -> Connection | None:
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
