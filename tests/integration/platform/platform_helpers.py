"""Helpers for the local platform's integration tests (imported by the test modules):
sandboxes, problem answers, and clients for the terminal and MCP sockets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import websockets
from eventually import TIMEOUT, eventually
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

READY_TIMEOUT = 60.0
PROBLEM = "application/problem+json"


def wait_for_status(
    client: httpx.Client, sandbox_id: str, wanted: str, timeout: float = READY_TIMEOUT
) -> dict[str, Any]:
    """Poll a sandbox until it reaches ``wanted`` (fails fast on ``error``)."""

    def reached() -> dict[str, Any] | None:
        sandbox: dict[str, Any] = client.get(f"/v1/sandboxes/{sandbox_id}").json()
        if sandbox["status"] == "error" and wanted != "error":
            logs = client.get(f"/v1/sandboxes/{sandbox_id}/logs").json()
            pytest.fail(f"sandbox failed: {sandbox['last_error']}; logs: {logs}")
        return sandbox if sandbox["status"] == wanted else None

    return eventually(reached, timeout, what=f"{sandbox_id} to be {wanted}")


def create_running(client: httpx.Client, **fields: Any) -> dict[str, Any]:
    """Create a sandbox and wait until it runs."""
    response = client.post("/v1/sandboxes", json={"template": "minimal", **fields})
    assert response.status_code == 201, response.text
    return wait_for_status(client, response.json()["id"], "running")


def problem_detail(response: httpx.Response, status: int) -> str:
    """The ``detail`` of a problem+json answer, after checking its status and type."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    detail: str = response.json()["detail"]
    return detail


# --------------------------------------------------------------------------- sockets

#: The terminal socket's flow-control window (its first frame announces it).
WINDOW = 65536


@asynccontextmanager
async def terminal(
    platform: Any,
    client: httpx.AsyncClient,
    sandbox_id: str,
    query: str = "rows=24&cols=80",
    subprotocols: list[str] | None = None,
    user_agent: str = "caged-tests/terminal",
) -> AsyncIterator[ClientConnection]:
    """A terminal socket on the sandbox, its flow frame already read."""
    ticket = (await client.post("/v1/auth/socket-ticket")).json()["ticket"]
    sep = "&" if query else ""
    url = f"{platform.ws_url}/v1/sandboxes/{sandbox_id}/terminal?{query}{sep}token={ticket}"
    async with websockets.connect(
        url,
        subprotocols=subprotocols or ["terminal"],  # type: ignore[list-item]
        user_agent_header=user_agent,
    ) as ws:
        first = json.loads(await ws.recv())
        assert first == {"type": "flow", "window": WINDOW}
        yield ws


async def read_until(ws: ClientConnection, needle: str) -> str:
    """Output text received until ``needle`` shows up (the suite's hang bound at most:
    10 s was a bet on a cage shell's speed that a loaded 2-core box lost)."""
    seen = ""
    try:
        async with asyncio.timeout(TIMEOUT):
            while needle not in seen:
                frame = json.loads(await ws.recv())
                if frame["type"] == "output":
                    seen += frame["data"]
    except TimeoutError:
        raise AssertionError(f"{needle!r} never came; the output was {seen[-500:]!r}") from None
    return seen


async def closed_with(ws: ClientConnection) -> int | None:
    """The close code, once the server has closed the socket (within the suite's hang bound)."""
    with pytest.raises(ConnectionClosed):
        async with asyncio.timeout(TIMEOUT):
            while True:
                await ws.recv()
    return ws.close_code


@asynccontextmanager
async def mcp(platform: Any, key: str, sandbox_id: str) -> AsyncIterator[ClientConnection]:
    """An MCP socket on the sandbox, opened with a ticket of ``key``."""
    async with httpx.AsyncClient(
        base_url=platform.url, headers={"Authorization": f"Bearer {key}"}
    ) as http:
        ticket = (await http.post("/v1/auth/socket-ticket")).json()["ticket"]
    url = f"{platform.ws_url}/v1/sandboxes/{sandbox_id}/mcp?token={ticket}"
    async with websockets.connect(url, subprotocols=["mcp"]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "mcp"
        yield ws


async def call(ws: ClientConnection, request_id: int, method: str, **params: Any) -> Any:
    """Send one JSON-RPC request and return its answer."""
    await ws.send(
        json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
    )
    answer = json.loads(await ws.recv())
    assert answer["id"] == request_id
    return answer
