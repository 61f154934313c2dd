"""The MCP client against a small JSON-RPC WebSocket peer built from the contract."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from client_fakes import TICKET, MCPPeer, WSServer
from eventually import eventually_async
from websockets.asyncio.server import ServerConnection

from caged_core.client import AsyncCaged, MCPClient, MCPNotification
from caged_core.errors import CagedConnectionError, CagedProtocolError, CagedTimeoutError, MCPError


@pytest.fixture
async def mcp(ws_client: AsyncCaged, ws_server: WSServer) -> Any:
    peer = MCPPeer()
    ws_server.handler = peer
    client = await ws_client.sandboxes.mcp("cage-1")
    client.peer = peer  # type: ignore[attr-defined]
    yield client
    await client.close()


async def test_connect_initializes(mcp: MCPClient, ws_server: WSServer) -> None:
    url = urlsplit(ws_server.paths[0])
    assert url.path == "/v1/sandboxes/cage-1/mcp" and parse_qs(url.query) == {"token": [TICKET]}
    assert ws_server.subprotocols == ["mcp"]
    init, initialized = mcp.peer.received[:2]  # type: ignore[attr-defined]
    assert init["id"] == 1 and init["jsonrpc"] == "2.0"
    assert init["params"]["protocolVersion"] == "2024-11-05"
    assert init["params"]["clientInfo"]["name"] == "caged-tui"
    assert initialized == {"jsonrpc": "2.0", "method": "notifications/initialized"}
    assert mcp.server_info == {"name": "caged-mcp", "version": "1"}
    assert (await mcp.initialize())["protocolVersion"] == "2024-11-05"  # cached, not resent
    assert len(mcp.peer.received) == 2  # type: ignore[attr-defined]


async def test_tools_follow_cursor_pages(mcp: MCPClient) -> None:
    tools = await mcp.list_tools()
    assert [(t.name, t.description) for t in tools] == [
        ("filesystem_read", "Read a file"),
        ("terminal_exec", "Run a command"),
    ]
    assert tools[0].input_schema["properties"]["path"]["type"] == "string"
    ids = [m["id"] for m in mcp.peer.received if "id" in m]  # type: ignore[attr-defined]
    assert ids == [1, 2, 3]


async def test_call_tool_results_and_errors(mcp: MCPClient) -> None:
    result = await mcp.call_tool("terminal_exec", {"command": "npm test"})
    assert result["content"][0]["text"] == "ok\n" and "isError" not in result
    failed = await mcp.call_tool("terminal_exec", {"command": "false"})
    assert failed["isError"] is True
    with pytest.raises(MCPError) as info:
        await mcp.call_tool("nope")
    assert info.value.code == -32602 and "unknown tool: nope" in str(info.value)


async def test_resources_prompts_ping(mcp: MCPClient) -> None:
    with pytest.raises(MCPError) as info:
        await mcp.list_resources()
    assert info.value.code == -32601 and info.value.data == {"method": "resources/list"}
    assert await mcp.list_prompts() == [{"name": "review"}]
    assert (await mcp.get_prompt("review"))["messages"]
    assert (await mcp.read_resource("file:///a"))["contents"][0]["uri"] == "file:///a"
    assert await mcp.ping() is None


async def test_notifications_and_server_requests(mcp: MCPClient) -> None:
    seen: list[MCPNotification] = []
    mcp.on_notification(seen.append)
    mcp.on_notification(lambda n: 1 / 0)  # a failing callback must not break the reader
    await mcp.call_tool("notify_me")
    assert seen == [MCPNotification("notifications/tools/list_changed", {})]
    stream = mcp.notifications()
    assert (await asyncio.wait_for(anext(stream), 2)).method == "notifications/tools/list_changed"

    def answered() -> bool:
        answers = {a["id"]: a for a in mcp.peer.client_answers}  # type: ignore[attr-defined]
        assert answers["srv-1"]["result"] == {}
        assert answers["srv-2"]["error"]["code"] == -32601
        return True

    await eventually_async(answered)
    await mcp.close()
    assert [n async for n in stream] == []  # ends with the socket


async def test_timeout_and_drop_fail_pending_calls(mcp: MCPClient) -> None:
    with pytest.raises(CagedTimeoutError) as info:
        await mcp.call_tool("hang", timeout=0.05)
    assert info.value.timeout == 0.05
    with pytest.raises(CagedConnectionError, match=r"dropped|closed"):
        await asyncio.wait_for(mcp.call_tool("drop"), 5)
    assert mcp.closed
    with pytest.raises(CagedConnectionError):
        await mcp.ping()
    with pytest.raises(CagedConnectionError):
        await mcp.notify("notifications/x")


async def test_close_fails_calls_in_flight(mcp: MCPClient) -> None:
    call = asyncio.create_task(mcp.call_tool("hang"))
    await asyncio.sleep(0.05)
    await mcp.close()
    with pytest.raises(CagedConnectionError, match="closed"):
        await asyncio.wait_for(call, 5)
    assert "closed" in repr(mcp)


async def test_failed_initialize_closes_the_socket(
    ws_client: AsyncCaged, ws_server: WSServer
) -> None:
    async def broken(ws: ServerConnection) -> None:
        message = json.loads(await ws.recv())
        await ws.send(
            json.dumps(
                {
                    "jsonrpc": "2.0",
                    "id": message["id"],
                    "error": {"code": -32603, "message": "internal"},
                }
            )
        )
        await ws.wait_closed()

    ws_server.handler = broken
    with pytest.raises(MCPError, match="internal"):
        await ws_client.sandboxes.mcp("cage-1")


async def test_async_with_closes(ws_client: AsyncCaged, ws_server: WSServer) -> None:
    ws_server.handler = MCPPeer()
    async with await ws_client.sandboxes.mcp("cage-1") as mcp:
        await mcp.ping()
    assert mcp.closed


async def test_a_result_that_is_not_an_object_is_a_protocol_error(
    ws_client: AsyncCaged, ws_server: WSServer
) -> None:
    peer = MCPPeer()
    ws_server.handler = peer
    async with await ws_client.sandboxes.mcp("cage-1") as mcp:
        peer.answer = lambda method, params: {"result": ["not", "an", "object"]}  # type: ignore[method-assign]
        with pytest.raises(CagedProtocolError, match="tools/call answered list"):
            await mcp.call_tool("terminal_exec", {"command": "true"})
