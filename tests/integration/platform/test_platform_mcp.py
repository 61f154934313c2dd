"""The MCP WebSocket: JSON-RPC 2.0 over a real socket, tools acting on the real cage."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from platform_helpers import call, mcp

pytestmark = pytest.mark.integration

WRITE_TOOLS = {"filesystem_write", "filesystem_delete", "terminal_exec", "git_commit"}


async def test_tools_act_inside_the_cage(
    platform: Any, client: httpx.AsyncClient, shared_sandbox: dict[str, Any]
) -> None:
    sandbox_id = shared_sandbox["id"]
    async with mcp(platform, platform.api_key, sandbox_id) as ws:
        init = await call(
            ws,
            1,
            "initialize",
            protocolVersion="2024-11-05",
            capabilities={},
            clientInfo={"name": "tests", "version": "0"},
        )
        assert init["result"]["protocolVersion"] and init["result"]["serverInfo"]["name"]
        assert init["result"]["capabilities"]["tools"] == {"listChanged": False}
        tools = {t["name"] for t in (await call(ws, 2, "tools/list"))["result"]["tools"]}
        assert len(tools) == 10
        assert tools >= WRITE_TOOLS
        wrote = await call(
            ws,
            3,
            "tools/call",
            name="filesystem_write",
            arguments={"path": "mcp/hello.txt", "content": "from mcp"},
        )
        assert not wrote["result"].get("isError"), wrote
        ran = await call(
            ws,
            4,
            "tools/call",
            name="terminal_exec",
            arguments={"command": "cat mcp/hello.txt; echo; hostname"},
        )
        text = ran["result"]["content"][0]["text"]
        assert "from mcp" in text and sandbox_id in text  # the cage's own hostname
        escaped = await call(
            ws, 5, "tools/call", name="filesystem_read", arguments={"path": "../../etc/passwd"}
        )
        assert escaped["result"]["isError"] is True
        assert (await call(ws, 6, "no/such/method"))["error"]["code"] == -32601
        await ws.send("{not json")
        assert json.loads(await ws.recv())["error"]["code"] == -32700
    content = await client.get(
        f"/v1/sandboxes/{sandbox_id}/files/content", params={"path": "mcp/hello.txt"}
    )
    assert content.text == "from mcp"


async def test_read_only_keys_get_the_read_only_tools(
    platform: Any, client: httpx.AsyncClient, shared_sandbox: dict[str, Any]
) -> None:
    created = (
        await client.post("/v1/account/keys", json={"name": "mcp-ro", "scope": "read_only"})
    ).json()
    try:
        async with mcp(platform, created["key"], shared_sandbox["id"]) as ws:
            tools = {t["name"] for t in (await call(ws, 1, "tools/list"))["result"]["tools"]}
            assert tools and not tools & WRITE_TOOLS
            sessions = (await client.get("/v1/account/sessions")).json()
            assert any(s["user_agent"].startswith("Python/") for s in sessions)
    finally:
        await client.delete(f"/v1/account/keys/{created['info']['id']}")
