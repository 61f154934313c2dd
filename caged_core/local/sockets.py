"""What every WebSocket endpoint of the local platform does first, and its close codes.

The handshake is accepted before the credential is checked because only an
accepted socket can be closed with an application code (4401, 4404, …); a
refusal before accepting would surface as a bare HTTP 403.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass

from starlette.websockets import WebSocket, WebSocketState

from caged_core.local.auth import Principal
from caged_core.local.platform import Platform
from caged_core.local.store import Row

__all__ = [
    "CLOSE_BAD_REQUEST",
    "CLOSE_NORMAL",
    "CLOSE_NOT_FOUND",
    "CLOSE_NOT_RUNNING",
    "CLOSE_READ_ONLY",
    "CLOSE_UNAUTHORIZED",
    "Closing",
    "OpenSocket",
    "client_identity",
    "close_quietly",
    "open_socket",
]

CLOSE_NORMAL = 1000
CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHORIZED = 4401
CLOSE_READ_ONLY = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_NOT_RUNNING = 4409


@dataclass(slots=True)
class OpenSocket:
    """An accepted, authenticated socket on a running sandbox."""

    websocket: WebSocket
    platform: Platform
    principal: Principal
    sandbox: Row


def _pick_subprotocol(offered: Iterable[str], preferred: tuple[str, ...]) -> str | None:
    offered = list(offered)
    return next((p for p in preferred if p in offered), None)


async def open_socket(
    websocket: WebSocket, *, subprotocols: tuple[str, ...], allow_read_only: bool
) -> OpenSocket | None:
    """Accept, authenticate (``?token=``: ticket or key) and find the running sandbox.

    Returns None after closing the socket with the reason when any check fails.
    """
    platform: Platform = websocket.app.state.platform
    await websocket.accept(
        subprotocol=_pick_subprotocol(websocket.scope.get("subprotocols", ()), subprotocols)
    )
    principal = await platform.keys.verify_socket_credential(websocket.query_params.get("token"))
    if principal is None:
        await websocket.close(CLOSE_UNAUTHORIZED, "a valid socket ticket or API key is required")
        return None
    if principal.read_only and not allow_read_only:
        await websocket.close(CLOSE_READ_ONLY, "a read_only key cannot open this socket")
        return None
    sandbox_id = websocket.path_params["id"]
    row = await platform.store.get("sandboxes", sandbox_id)
    if row is None or row["status"] == "destroyed":
        await websocket.close(CLOSE_NOT_FOUND, f"sandbox {sandbox_id} not found")
        return None
    if row["status"] != "running":
        await websocket.close(CLOSE_NOT_RUNNING, f"sandbox {sandbox_id} is {row['status']}")
        return None
    return OpenSocket(websocket, platform, principal, row)


def client_identity(websocket: WebSocket) -> tuple[str, str]:
    """(user agent, address) of the peer, as listed in account sessions."""
    client = websocket.client
    return websocket.headers.get("user-agent", ""), client.host if client else ""


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
        if not self.requested.is_set():
            self.code, self.reason = code, reason
            self.requested.set()


async def close_quietly(websocket: WebSocket, code: int, reason: str) -> None:
    """Close unless the peer already did."""
    if websocket.application_state == WebSocketState.CONNECTED:
        # The peer's close may cross ours: the socket is closed either way.
        with contextlib.suppress(RuntimeError):
            await websocket.close(code, reason)
