"""The MCP WebSocket: ``/v1/sandboxes/{id}/mcp`` — JSON-RPC 2.0, one message per frame.

Each text frame goes to an :class:`caged_core.local.mcp.MCPSession` bound to
the sandbox's workspace (commands run inside the cage through the runtime);
``read_only`` keys get the read-only tool set. Every message counts as
activity for the idle timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.websockets import WebSocket

from caged_core.local.mcp import MCPSession
from caged_core.local.runtime.api import ExecOutcome
from caged_core.local.sockets import Closing, client_identity, close_quietly, open_socket

__all__ = ["mcp_endpoint"]

_log = logging.getLogger(__name__)


async def mcp_endpoint(websocket: WebSocket) -> None:
    """Accept, authenticate, then answer JSON-RPC messages until either side closes."""
    opened = await open_socket(websocket, subprotocols=("mcp",), allow_read_only=True)
    if opened is None:
        return
    platform, sandbox_id = opened.platform, opened.sandbox["id"]

    async def run(command: str, budget: float) -> ExecOutcome:
        return await platform.runtime.exec(sandbox_id, command, timeout=budget)

    session = MCPSession(
        platform.runtime.workspace_dir(sandbox_id), run, read_only=opened.principal.read_only
    )
    closing = Closing()
    user_agent, address = client_identity(websocket)
    conn = platform.connections.add(
        "mcp", sandbox_id, user_agent=user_agent, address=address, close=closing.request
    )

    async def serve() -> None:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            frame = message.get("text")
            if frame is None:
                frame = message.get("bytes") or b""
            platform.sandboxes.touch(sandbox_id)
            answer = await session.handle(frame)
            if answer is not None:
                await websocket.send_text(answer)

    serving = asyncio.create_task(serve())
    stop = asyncio.create_task(closing.requested.wait())
    try:
        done, _ = await asyncio.wait({serving, stop}, return_when=asyncio.FIRST_COMPLETED)
        if stop in done:
            await close_quietly(websocket, closing.code, closing.reason)
        elif serving.exception() is not None:
            _log.warning("MCP socket on %s failed: %s", sandbox_id, serving.exception())
            await close_quietly(websocket, 1011, "the MCP server failed")
    finally:
        for task in (serving, stop):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(serving, stop, return_exceptions=True)
        platform.connections.remove(conn.id)
