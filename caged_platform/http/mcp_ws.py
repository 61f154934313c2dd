"""The MCP WebSocket: ``/v1/sandboxes/{id}/mcp`` — JSON-RPC 2.0, one message per frame.

Each text frame goes to an :class:`caged_platform.services.mcp.MCPSession` bound to
the sandbox's workspace (commands run inside the cage through the runtime);
``read_only`` keys get the read-only tool set. Every message counts as
activity for the idle timeout.

Each socket is an agent session of the observer (channel ``mcp``): every tool
call is recorded as a ``tool_call`` event, ``terminal_exec`` also as a
``command`` (exit code, duration) and file writes and deletes as ``file_op``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.websockets import WebSocket

from caged_platform.content import cage_git, files
from caged_platform.http.sockets import (
    OpenSocket,
    close_quietly,
    describe,
    disconnected,
    end_session,
    open_socket,
)
from caged_platform.runtime.api import ExecOutcome
from caged_platform.services.mcp import MCPSession, ToolCall

__all__ = ["mcp_endpoint"]

_log = logging.getLogger(__name__)

#: MCP tools that change a file, and the ``file_op`` kind each one records.
_FILE_TOOLS = {"filesystem_write": "write", "filesystem_delete": "delete"}


async def mcp_endpoint(websocket: WebSocket) -> None:
    """Accept, authenticate, then answer JSON-RPC messages until either side closes."""
    async with open_socket(
        websocket, kind="mcp", subprotocols=("mcp",), allow_read_only=True
    ) as opened:
        if opened is not None:
            await _serve(opened)


async def _serve(opened: OpenSocket) -> None:
    websocket, platform, conn = opened.websocket, opened.platform, opened.conn
    sandbox_id = conn.sandbox_id
    session_id = await platform.observer.open_session(
        opened.principal.account_id,
        sandbox_id,
        client=conn.user_agent or conn.address,
        channel="mcp",
    )

    async def run(command: str, budget: float) -> ExecOutcome:
        outcome = await platform.runtime.exec(sandbox_id, command, timeout=budget)
        await platform.sandboxes.record(
            sandbox_id,
            "command",
            {"command": command, "exit_code": outcome.exit_code, "source": "mcp"},
            session_id=session_id,
            duration_ms=outcome.duration_ms,
        )
        return outcome

    async def tool_called(call: ToolCall) -> None:
        await platform.sandboxes.record(
            sandbox_id,
            "tool_call",
            {"name": call.name, "arguments": call.arguments, "is_error": call.is_error},
            session_id=session_id,
            duration_ms=call.duration_ms,
        )
        kind = _FILE_TOOLS.get(call.name)
        if kind is not None and not call.is_error:
            path = files.workspace_path(call.arguments["path"])
            await platform.sandboxes.record(
                sandbox_id,
                "file_op",
                {"path": path, "kind": kind, "source": "mcp"},
                session_id=session_id,
            )

    session = MCPSession(
        platform.runtime.workspace_dir(sandbox_id),
        run,
        read_only=opened.principal.read_only,
        # git's own commands are the platform's, not the agent's: recorded as its tool_call.
        git=cage_git.in_sandbox(platform.runtime, sandbox_id),
        on_tool_call=tool_called,
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
    stop = asyncio.create_task(opened.closing.requested.wait())
    failed, why = True, "the MCP socket was interrupted"
    try:
        done, _ = await asyncio.wait({serving, stop}, return_when=asyncio.FIRST_COMPLETED)
        error = serving.exception() if serving in done else None
        if stop in done:
            await close_quietly(websocket, opened.closing.code, opened.closing.reason)
            why = opened.closing.reason
        elif error is not None and not disconnected(error):
            _log.warning("MCP socket on %s failed: %s", sandbox_id, describe(error))
            await close_quietly(websocket, 1011, "the MCP server failed")
            why = f"the MCP server failed: {describe(error)}"
        else:
            failed, why = False, "the client disconnected"
    finally:
        for task in (serving, stop):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(serving, stop, return_exceptions=True)
        await end_session(opened, session_id, failed=failed, why=why)
