"""The terminal WebSocket against a real shell: frames, resize, flow control, close codes,
and the session listings that follow the open sockets."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets
from eventually import eventually_async
from platform_helpers import WINDOW, closed_with, create_running, read_until, terminal

pytestmark = pytest.mark.integration


async def test_typing_resize_ping_and_exit(
    platform: Any, client: httpx.AsyncClient, shared_sandbox: dict[str, Any]
) -> None:
    async with terminal(platform, client, shared_sandbox["id"]) as ws:
        assert ws.subprotocol == "terminal"
        await ws.send(json.dumps({"type": "input", "data": "echo hi-$((40+2))\n"}))
        await read_until(ws, "hi-42")
        await ws.send(json.dumps({"type": "resize", "rows": 40, "cols": 120}))
        await ws.send(json.dumps({"type": "input", "data": "stty size\n"}))
        await read_until(ws, "40 120")
        await ws.send(json.dumps({"type": "ping"}))
        while json.loads(await ws.recv())["type"] != "pong":
            pass
        await ws.send(json.dumps({"type": "input", "data": "exit\n"}))
        assert await closed_with(ws) == 1000


async def test_legacy_and_plain_clients_are_served(
    platform: Any, client: httpx.AsyncClient, shared_sandbox: dict[str, Any]
) -> None:
    # Legacy 0.2 asks for "mcp" on the terminal; the marker-protocol exec sends no size.
    async with terminal(
        platform, client, shared_sandbox["id"], query="", subprotocols=["mcp"]
    ) as ws:
        assert ws.subprotocol == "mcp"
        await ws.send("echo raw-$((1+1))\n")  # a non-JSON frame is typed as is
        await read_until(ws, "raw-2")


async def test_sessions_list_open_sockets_and_delete_disconnects(
    platform: Any, client: httpx.AsyncClient, shared_sandbox: dict[str, Any]
) -> None:
    sandbox_id = shared_sandbox["id"]
    async with (
        terminal(platform, client, sandbox_id, query="rows=30&cols=100") as ws,
        terminal(platform, client, sandbox_id, user_agent="caged-tests/second") as second,
    ):
        listed = (await client.get(f"/v1/sandboxes/{sandbox_id}/terminal/sessions")).json()
        assert {s["client"] for s in listed} >= {"caged-tests/terminal", "caged-tests/second"}
        mine = [s for s in listed if s["client"] == "caged-tests/terminal"]
        assert len(mine) == 1 and (mine[0]["rows"], mine[0]["cols"]) == (30, 100)
        # Both shells work side by side.
        await second.send(json.dumps({"type": "input", "data": "echo second-$((2*3))\n"}))
        await read_until(second, "second-6")
        sessions = (await client.get("/v1/account/sessions")).json()
        account = next(s for s in sessions if s["id"] == mine[0]["id"])
        assert account["ip"] == "127.0.0.1" and account["user_agent"] == "caged-tests/terminal"
        assert (await client.delete(f"/v1/account/sessions/{account['id']}")).status_code == 204
        assert await closed_with(ws) == 1008

    async def unlisted() -> bool:
        listed = (await client.get(f"/v1/sandboxes/{sandbox_id}/terminal/sessions")).json()
        return all(s["id"] != mine[0]["id"] for s in listed)

    await eventually_async(unlisted, what="the closed session to leave the list")


async def test_flow_control_holds_output_until_acked(
    platform: Any, client: httpx.AsyncClient, shared_sandbox: dict[str, Any]
) -> None:
    async with terminal(platform, client, shared_sandbox["id"]) as ws:
        await ws.send(json.dumps({"type": "ack", "bytes": 0}))  # opt in to flow control
        flood = "stty -echo; yes flood | head -c 3000000\n"
        await ws.send(json.dumps({"type": "input", "data": flood}))
        received = 0

        async def drain(seconds: float) -> int:
            got = 0
            try:
                async with asyncio.timeout(seconds):
                    while True:
                        frame = json.loads(await ws.recv())
                        if frame["type"] == "output":
                            got += len(frame["data"].encode())
            except TimeoutError:
                pass
            return got

        received += await drain(1.5)
        # Stalled at about one window (plus at most one PTY read beyond it).
        assert WINDOW // 2 < received <= WINDOW + 65536, received
        assert await drain(0.5) == 0
        await ws.send(json.dumps({"type": "ack", "bytes": received}))
        more = await drain(1.0)
        assert more > 0
        received += more
        assert received <= 2 * WINDOW + 65536


async def test_terminal_closes_1001_on_pause_and_destroy(
    platform: Any, client: httpx.AsyncClient, sync_client: Any
) -> None:
    sandbox_id = create_running(sync_client)["id"]
    try:
        async with terminal(platform, client, sandbox_id) as ws:
            await ws.send(json.dumps({"type": "input", "data": "echo ready\n"}))
            await read_until(ws, "ready")
            assert (await client.post(f"/v1/sandboxes/{sandbox_id}/pause")).status_code == 204
            assert await closed_with(ws) == 1001
        # A paused sandbox refuses new terminals.
        ticket = (await client.post("/v1/auth/socket-ticket")).json()["ticket"]
        url = f"{platform.ws_url}/v1/sandboxes/{sandbox_id}/terminal?token={ticket}"
        async with websockets.connect(url) as refused:
            assert await closed_with(refused) == 4409
        assert (await client.post(f"/v1/sandboxes/{sandbox_id}/resume")).status_code == 204
        async with terminal(platform, client, sandbox_id) as ws:
            await ws.send(json.dumps({"type": "input", "data": "echo again\n"}))
            await read_until(ws, "again")
            assert (await client.delete(f"/v1/sandboxes/{sandbox_id}")).status_code == 204
            assert await closed_with(ws) == 1001
    finally:
        await client.delete(f"/v1/sandboxes/{sandbox_id}")


async def test_oversized_frames_close_the_socket(
    platform: Any, client: httpx.AsyncClient, shared_sandbox: dict[str, Any]
) -> None:
    async with terminal(platform, client, shared_sandbox["id"]) as ws:
        await ws.send(json.dumps({"type": "input", "data": "x" * (1024 * 1024 + 1)}))
        assert await closed_with(ws) == 1009  # message too big


async def test_read_only_keys_get_no_terminal(
    platform: Any, client: httpx.AsyncClient, shared_sandbox: dict[str, Any]
) -> None:
    created = (
        await client.post("/v1/account/keys", json={"name": "ro", "scope": "read_only"})
    ).json()
    try:
        url = (
            f"{platform.ws_url}/v1/sandboxes/{shared_sandbox['id']}/terminal?token={created['key']}"
        )
        async with websockets.connect(url) as ws:
            assert await closed_with(ws) == 4403
    finally:
        await client.delete(f"/v1/account/keys/{created['info']['id']}")
