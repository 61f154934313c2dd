"""The caged-sdk 0.2.0 README examples (``seed_readme.py``), run unchanged against caged_core.

Only the import line differs (``from caged import`` → ``from caged_core import``).
The examples build ``Caged(api_key="caged_sk_...")`` without a URL, so the URL
comes from ``CAGED_API_URL`` (pointing at an in-process WebSocket peer), and
HTTP goes to a fake API through ``httpx.MockTransport``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from client_fakes import TICKET, FakeAPI, MCPPeer, ThreadedWSServer, emulate, output
from seed_readme import EXAMPLES, as_caged_core
from websockets.asyncio.server import ServerConnection

import caged_core.client._transport as transport_module

EXPECTED = {
    "quick_start": ["Sandbox cage-0001 is running", "hello world"],
    "context_manager": ["Python 3.12.7"],
    "terminal": ["Welcome", "ls -la"],
    "streaming_exec": ["3 passing", "Exit code: 0"],
    "mcp": ["  filesystem_read: Read a file", "  terminal_exec: Run a command", "ok"],
    "session_replay": [
        "sess-1: claude-code — $0.0123",
        "llm_call: {'model': 'claude-4'}",
        "Duration: 1500.0ms, Cost: $0.0000",
    ],
    "events": ["Accepted: 1, Errors: 0"],
    "alerts": ["[warning] 82% of budget used", "Unread: 3"],
    "billing": ["Plan: pro, Status: active", "Upgrade: https://checkout.stripe.test/c"],
    "error_handling": ["API error 404: sandbox nonexistent not found"],
}


def platform_api() -> FakeAPI:
    api = FakeAPI()
    sandbox = {"id": "cage-0001", "status": "running", "template": "node-20"}
    api.route("POST", "/v1/sandboxes", httpx.Response(201, json=sandbox))
    api.route("DELETE", "/v1/sandboxes/cage-0001", httpx.Response(204))
    api.route(
        "POST",
        "/v1/sandboxes/cage-0001/exec",
        lambda r: httpx.Response(
            200,
            json={
                "output": "Python 3.12.7\n" if "python" in r.content.decode() else "hello world\n",
                "exit_code": 0,
            },
        ),
    )
    api.route("PUT", "/v1/sandboxes/cage-0001/files/content", httpx.Response(204))
    api.route(
        "GET", "/v1/sandboxes/cage-0001/files/content", httpx.Response(200, text="print('hi')")
    )
    api.route(
        "POST", "/v1/sandboxes/cage-0001/snapshots", httpx.Response(201, json={"id": "snap-1"})
    )
    api.route("POST", "/v1/auth/socket-ticket", {"ticket": TICKET, "expires_in": 60})
    api.route(
        "GET",
        "/v1/sandboxes/sandbox-id/sessions",
        [{"id": "sess-1", "agent_type": "claude-code", "cost_usd": 0.0123}],
    )
    api.route(
        "GET",
        "/v1/sessions/sess-1/replay",
        [
            {
                "sequence": 1,
                "type": "llm_call",
                "timestamp": "2026-11-27T10:00:00Z",
                "data": {"model": "claude-4"},
            }
        ],
    )
    api.route(
        "GET", "/v1/sessions/sess-1/replay/summary", {"session_id": "sess-1", "duration_ms": 1500}
    )
    api.route("POST", "/v1/events/ingest", {"accepted": 1, "errors": 0})
    api.route(
        "GET",
        "/v1/alerts",
        {
            "alerts": [{"id": "alert-1", "severity": "warning", "message": "82% of budget used"}],
            "total": 1,
        },
    )
    api.route("POST", "/v1/alerts/alert-1/resolve", httpx.Response(204))
    api.route("GET", "/v1/notifications/unread-count", {"unread_count": 3})
    api.route("GET", "/v1/notifications", {"notifications": [], "unread_count": 3})
    api.route("POST", "/v1/notifications/read-all", httpx.Response(204))
    api.route("GET", "/v1/billing/subscription", {"plan": "pro", "status": "active"})
    api.route("POST", "/v1/billing/checkout", {"url": "https://checkout.stripe.test/c"})
    api.route(
        "GET",
        "/v1/sandboxes/nonexistent",
        httpx.Response(
            404,
            json={
                "type": "https://caged.dev/errors/NotFound",
                "title": "Not Found",
                "status": 404,
                "detail": "sandbox nonexistent not found",
            },
            headers={"content-type": "application/problem+json"},
        ),
    )
    return api


async def sandbox_sockets(ws: ServerConnection) -> None:
    """The terminal (echoing, or running the marker protocol) and MCP of a sandbox."""
    assert ws.request is not None
    if ws.request.path.split("?")[0].endswith("/mcp"):
        await MCPPeer()(ws)
        return
    await ws.send(output("Welcome to your cage\r\n$ "))
    first = json.loads(await ws.recv())["data"]
    if "__CAGED_BEG" in first:
        frames = [first] + [json.loads(await ws.recv())["data"] for _ in range(2)]
        await ws.send(output(emulate(frames, "> jest\n3 passing\n", 0)))
        await ws.wait_closed()
        return
    await ws.send(output(first))
    await ws.wait_closed()


@pytest.fixture
def seed_platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAPI]:
    api = platform_api()
    server = ThreadedWSServer(sandbox_sockets)
    real_client = httpx.AsyncClient
    real_sleep = asyncio.sleep

    def client_via_fake(**kwargs: Any) -> httpx.AsyncClient:
        return real_client(**{**kwargs, "transport": httpx.MockTransport(api)})

    async def short_sleep(delay: float, *args: Any) -> Any:
        return await real_sleep(min(delay, 0.2), *args)  # the terminal example waits 2 s

    monkeypatch.setattr(transport_module.httpx, "AsyncClient", client_via_fake)
    monkeypatch.setattr(asyncio, "sleep", short_sleep)
    monkeypatch.setenv("CAGED_API_URL", server.base_url)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("CAGED_API_KEY", raising=False)
    try:
        yield api
    finally:
        server.close()


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_seed_example_runs_unchanged(
    name: str, seed_platform: FakeAPI, capsys: pytest.CaptureFixture[str]
) -> None:
    namespace: dict[str, Any] = {}
    exec(compile(as_caged_core(EXAMPLES[name]), f"<README {name}>", "exec"), namespace)
    printed = capsys.readouterr().out
    for expected in EXPECTED[name]:
        assert expected in printed, (name, printed)
    assert all(r.headers["authorization"] == "Bearer caged_sk_..." for r in seed_platform.requests)
