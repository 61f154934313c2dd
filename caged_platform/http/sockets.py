"""What every WebSocket endpoint of the local platform does first, and its close codes.

The handshake is accepted before the credential is checked because only an
accepted socket can be closed with an application code (4401, 4404, …); a
refusal before accepting would surface as a bare HTTP 403. An admitted socket
is registered in :class:`~caged_platform.services.connections.Connections` for as long
as it is open, which is how revoking its key or its account session, pausing
or destroying its sandbox closes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from caged_platform.platform import Platform
from caged_platform.services.auth import Principal
from caged_platform.services.connections import Connection, Refused
from caged_platform.store import Row

__all__ = [
    "CLOSE_BAD_REQUEST",
    "CLOSE_NORMAL",
    "CLOSE_NOT_FOUND",
    "CLOSE_NOT_RUNNING",
    "CLOSE_READ_ONLY",
    "CLOSE_UNAUTHORIZED",
    "Closing",
    "OpenSocket",
    "close_quietly",
    "describe",
    "disconnected",
    "end_session",
    "open_socket",
]

_log = logging.getLogger(__name__)

CLOSE_NORMAL = 1000
CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHORIZED = 4401
CLOSE_READ_ONLY = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_NOT_RUNNING = 4409


class Closing:
    """Lets another task ask a socket's handler to close it with a given code.

    The handler owns the socket; others only request, so the close frame is
    sent once, from one place.
    """

    def __init__(self) -> None:
        self.requested = asyncio.Event()
        self.code = CLOSE_NORMAL
        self.reason = ""

    async def request(self, code: int, reason: str) -> None:
        """Ask the handler to close with ``code``; the first request wins."""
        if not self.requested.is_set():
            self.code, self.reason = code, reason
            self.requested.set()


@dataclass(slots=True)
class OpenSocket:
    """An accepted, authenticated, registered socket on a running sandbox."""

    websocket: WebSocket
    platform: Platform
    principal: Principal
    sandbox: Row
    conn: Connection
    closing: Closing


def _pick_subprotocol(offered: Iterable[str], preferred: tuple[str, ...]) -> str | None:
    offered = list(offered)
    return next((p for p in preferred if p in offered), None)


def disconnected(exc: BaseException) -> bool:
    """Whether ``exc`` only says the peer is gone (a send found the socket closed)."""
    return isinstance(exc, WebSocketDisconnect)


def describe(exc: BaseException) -> str:
    """``exc`` for a log line or a close reason: its message, else its type's name."""
    return str(exc) or type(exc).__name__


async def _admit(websocket: WebSocket, kind: str, allow_read_only: bool) -> OpenSocket | None:
    """The checks of :func:`open_socket`; None after closing the socket with the reason."""
    platform: Platform = websocket.app.state.platform
    principal = await platform.keys.verify_socket_credential(websocket.query_params.get("token"))
    if principal is None:
        await close_quietly(
            websocket, CLOSE_UNAUTHORIZED, "a valid socket ticket or API key is required"
        )
        return None
    if principal.read_only and not allow_read_only:
        await close_quietly(websocket, CLOSE_READ_ONLY, "a read_only key cannot open this socket")
        return None
    sandbox_id = websocket.path_params["id"]
    row = await platform.store.get("sandboxes", sandbox_id)
    if row is None or row["status"] == "destroyed":
        await close_quietly(websocket, CLOSE_NOT_FOUND, f"sandbox {sandbox_id} not found")
        return None
    if row["status"] != "running":
        await close_quietly(
            websocket, CLOSE_NOT_RUNNING, f"sandbox {sandbox_id} is {row['status']}"
        )
        return None
    closing = Closing()
    client = websocket.client
    try:
        conn = platform.connections.add(
            kind,
            row["id"],
            key_id=principal.key_id,
            user_agent=websocket.headers.get("user-agent", ""),
            address=client.host if client else "",
            close=closing.request,
        )
    except Refused as refused:
        await close_quietly(websocket, refused.code, refused.reason)
        return None
    return OpenSocket(websocket, platform, principal, row, conn, closing)


@contextlib.asynccontextmanager
async def open_socket(
    websocket: WebSocket, *, kind: str, subprotocols: tuple[str, ...], allow_read_only: bool
) -> AsyncIterator[OpenSocket | None]:
    """Accept, authenticate (``?token=``: ticket or key), find the running sandbox and
    register the socket as a ``kind`` connection until the block ends.

    Yields None after closing the socket with the reason when any check fails.
    """
    opened = None
    try:
        await websocket.accept(
            subprotocol=_pick_subprotocol(websocket.scope.get("subprotocols", ()), subprotocols)
        )
    except (OSError, WebSocketDisconnect):
        pass  # the client left during the handshake: there is nobody to answer
    else:
        opened = await _admit(websocket, kind, allow_read_only)
    try:
        yield opened
    finally:
        if opened is not None:
            opened.platform.connections.remove(opened.conn.id)


async def close_quietly(websocket: WebSocket, code: int, reason: str) -> None:
    """Close unless the peer already did (then there is nothing left to close)."""
    if websocket.application_state == WebSocketState.CONNECTED:
        # The peer's close may cross ours: the socket is closed either way. Starlette says
        # so with RuntimeError (a close already sent) or WebSocketDisconnect (the transport
        # is gone).
        with contextlib.suppress(RuntimeError, WebSocketDisconnect, OSError):
            await websocket.close(code, reason)


async def end_session(opened: OpenSocket, session_id: str, *, failed: bool, why: str) -> None:
    """After the socket has closed: out of the registry at once (it no longer counts
    against its sandbox's terminals), then its observer session ended once the sandbox's
    last file changes are recorded."""
    platform, conn = opened.platform, opened.conn
    platform.connections.remove(conn.id)
    try:
        await platform.sandboxes.settle_file_changes(conn.sandbox_id)
        await platform.observer.close_session(session_id, failed=failed, reason=why)
    except Exception:  # the platform may be shutting down; a restart ends it too
        _log.exception("ending the session of %s socket %s failed", conn.kind, conn.id)
