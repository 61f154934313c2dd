"""Sockets die with their key or account session, terminals per sandbox are capped with a
clean refusal, closes are clean, and account sessions carry their expiry (issue 10)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import httpx
import pytest
import websockets
from eventually import eventually_async
from platform_helpers import call, closed_with, mcp, read_until, terminal
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from caged_platform.services.connections import CLOSE_TOO_MANY, MAX_TERMINALS_PER_SANDBOX

pytestmark = pytest.mark.integration

REVOKED = 1008


@asynccontextmanager
async def _key(client: httpx.AsyncClient, name: str) -> AsyncIterator[tuple[str, str]]:
    """A fresh full-scope key (secret, id), revoked at the end if the test did not."""
    created = (await client.post("/v1/account/keys", json={"name": name})).json()
    try:
        yield created["key"], created["info"]["id"]
    finally:
        await client.delete(f"/v1/account/keys/{created['info']['id']}")


@asynccontextmanager
async def _socket_of(
    kind: str, platform: Any, key: str, sandbox_id: str
) -> AsyncIterator[ClientConnection]:
    """A socket of ``kind`` opened with ``key``, already busy with a long-running command."""
    async with httpx.AsyncClient(
        base_url=platform.url, headers={"Authorization": f"Bearer {key}"}, timeout=30
    ) as http:
        if kind == "mcp":
            async with mcp(platform, key, sandbox_id) as ws:
                await call(
                    ws,
                    1,
                    "initialize",
                    protocolVersion="2024-11-05",
                    capabilities={},
                    clientInfo={"name": "t", "version": "0"},
                )
                await ws.send(
                    json.dumps(
                        {
                            "jsonrpc": "2.0",
                            "id": 2,
                            "method": "tools/call",
                            "params": {
                                "name": "terminal_exec",
                                "arguments": {"command": "sleep 60", "timeout": 120},
                            },
                        }
                    )
                )
                yield ws
            return
        # "exec" is the client's streaming exec: the terminal socket without a size.
        query = "" if kind == "exec" else "rows=24&cols=80"
        async with terminal(platform, http, sandbox_id, query=query) as ws:
            await ws.send(json.dumps({"type": "input", "data": "echo rea''dy; sleep 60\n"}))
            await read_until(ws, "ready")
            yield ws


async def _revoke_key(client: httpx.AsyncClient, key_id: str) -> None:
    assert (await client.delete(f"/v1/account/keys/{key_id}")).status_code == 204


async def _revoke_session(client: httpx.AsyncClient, key_id: str) -> None:
    del key_id  # tests run one at a time per platform: the test's socket is the only one
    [mine] = (await client.get("/v1/account/sessions")).json()
    assert (await client.delete(f"/v1/account/sessions/{mine['id']}")).status_code == 204


async def _no_sessions_left(client: httpx.AsyncClient) -> None:
    """Wait until every socket is out of the registry (its handler has finished)."""

    async def none_left() -> bool:
        return not (await client.get("/v1/account/sessions")).json()

    await eventually_async(none_left, what="every socket to leave the registry")


@pytest.mark.parametrize("kind", ["terminal", "exec", "mcp"])
@pytest.mark.parametrize("revoke", [_revoke_key, _revoke_session], ids=["key", "session"])
async def test_a_socket_closes_on_its_revocation(
    platform: Any,
    client: httpx.AsyncClient,
    shared_sandbox: dict[str, Any],
    kind: str,
    revoke: Callable[[httpx.AsyncClient, str], Awaitable[None]],
) -> None:
    sandbox_id = shared_sandbox["id"]
    async with (
        _key(client, f"revoked-{kind}") as (secret, key_id),
        _socket_of(kind, platform, secret, sandbox_id) as ws,
    ):
        await revoke(client, key_id)
        # Closed by the revocation, long before its 60 s command could end the socket.
        assert await closed_with(ws) == REVOKED
    await _no_sessions_left(client)


async def test_a_revoked_key_opens_no_socket(
    platform: Any, client: httpx.AsyncClient, shared_sandbox: dict[str, Any]
) -> None:
    async with _key(client, "revoked-before") as (secret, key_id):
        await _revoke_key(client, key_id)
        url = f"{platform.ws_url}/v1/sandboxes/{shared_sandbox['id']}/terminal?token={secret}"
        async with websockets.connect(url, subprotocols=["terminal"]) as ws:  # type: ignore[list-item]
            assert await closed_with(ws) == 4401


async def test_terminals_per_sandbox_are_capped_with_a_clean_refusal(
    platform: Any, client: httpx.AsyncClient, shared_sandbox: dict[str, Any]
) -> None:
    sandbox_id = shared_sandbox["id"]
    tickets = [(await client.post("/v1/auth/socket-ticket")).json()["ticket"] for _ in range(200)]

    async def open_one(ticket: str) -> tuple[ClientConnection | None, int | None]:
        url = f"{platform.ws_url}/v1/sandboxes/{sandbox_id}/terminal?rows=24&cols=80&token={ticket}"
        ws = await websockets.connect(url, subprotocols=["terminal"])  # type: ignore[list-item]
        try:
            first = json.loads(await ws.recv())
        except ConnectionClosed:
            return None, ws.close_code
        assert first["type"] == "flow"
        return ws, None

    # 200 at once, as the report did: the first 32 get a shell, the rest a clean 4429.
    opened = await asyncio.gather(*(open_one(t) for t in tickets))
    try:
        live = [ws for ws, _ in opened if ws is not None]
        refused = [code for ws, code in opened if ws is None]
        assert len(live) == MAX_TERMINALS_PER_SANDBOX
        assert refused == [CLOSE_TOO_MANY] * (200 - MAX_TERMINALS_PER_SANDBOX)
        # Every admitted shell works.
        for index, ws in enumerate(live):
            await ws.send(json.dumps({"type": "input", "data": f"echo shell-$((1+{index}))\n"}))
        for index, ws in enumerate(live):
            await read_until(ws, f"shell-{1 + index}")
        listed = (await client.get(f"/v1/sandboxes/{sandbox_id}/terminal/sessions")).json()
        assert len(listed) == MAX_TERMINALS_PER_SANDBOX
    finally:
        await asyncio.gather(*(ws.close() for ws, _ in opened if ws is not None))
    # Closed terminals make room for others once the server has seen them go.
    await _no_sessions_left(client)
    async with terminal(platform, client, sandbox_id) as ws:
        await ws.send(json.dumps({"type": "input", "data": "echo room-$((4*4))\n"}))
        await read_until(ws, "room-16")


async def test_account_sessions_carry_an_expiry(
    platform: Any, client: httpx.AsyncClient, shared_sandbox: dict[str, Any]
) -> None:
    async with terminal(platform, client, shared_sandbox["id"]) as ws:
        sessions = (await client.get("/v1/account/sessions")).json()
        [mine] = [s for s in sessions if s["user_agent"] == "caged-tests/terminal"]
        expires = datetime.fromisoformat(mine["expires_at"])
        created = datetime.fromisoformat(mine["created_at"])
        # The shared sandbox pauses after the default 900 s of idleness.
        assert 0 < (expires - created).total_seconds() <= 900 + 60
        await ws.close()


async def test_clients_that_vanish_leave_no_traceback(
    platform: Any, client: httpx.AsyncClient, shared_sandbox: dict[str, Any]
) -> None:
    """A client that drops its TCP connection mid-flood, or closes while the server closes,
    is a normal end: the server log gets no traceback and no empty "failed: " reason."""
    sandbox_id = shared_sandbox["id"]
    before = platform.output.read_text(errors="replace")
    async with terminal(platform, client, sandbox_id) as ws:
        await ws.send(json.dumps({"type": "input", "data": "yes caged-flood | head -c 3000000\n"}))
        await read_until(ws, "caged-flood")
        ws.transport.abort()  # gone without a close frame, while output is being sent
    async with terminal(platform, client, sandbox_id, query="") as ws:
        await ws.send(json.dumps({"type": "input", "data": "exit 3\n"}))
        await ws.close()
    async with mcp(platform, platform.api_key, sandbox_id) as ws:
        await call(ws, 1, "ping")
        ws.transport.abort()
    await _no_sessions_left(client)
    added = platform.output.read_text(errors="replace").removeprefix(before)
    assert "Traceback" not in added
    assert "failed: \n" not in added and not added.rstrip().endswith("failed:")
