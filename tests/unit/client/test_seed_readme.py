"""The caged-sdk 0.2.0 README examples, run unchanged against caged_core.

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
from websockets.asyncio.server import ServerConnection

import caged_core.client._transport as transport_module

EXAMPLES = {
    "quick_start": """
from caged import Caged

caged = Caged(api_key="caged_sk_...")

# Create a sandbox
sandbox = caged.sandboxes.create(template="node-20", memory_mb=1024)
print(f"Sandbox {sandbox.id} is {sandbox.status}")

# Run a command
result = caged.sandboxes.exec(sandbox.id, "echo 'hello world'")
print(result.output)

# Write and read files
caged.files.write(sandbox.id, "/workspace/hello.py", "print('hi')")
content = caged.files.read(sandbox.id, "/workspace/hello.py")

# Create a snapshot
snapshot = caged.snapshots.create(sandbox.id, name="checkpoint-1")

# Clean up
caged.sandboxes.destroy(sandbox.id)
""",
    "context_manager": """
with Caged(api_key="caged_sk_...") as caged:
    sandbox = caged.sandboxes.create(template="python-312")
    result = caged.sandboxes.exec(sandbox.id, "python --version")
    print(result.output)
    caged.sandboxes.destroy(sandbox.id)
""",
    "terminal": """
import asyncio
from caged import Caged

async def main():
    caged = Caged(api_key="caged_sk_...")
    sandbox = caged.sandboxes.create(template="node-20")

    terminal = await caged.sandboxes.terminal(sandbox.id)
    terminal.on_output(lambda data: print(data, end=""))
    await terminal.send("ls -la\\n")
    await asyncio.sleep(2)
    await terminal.close()

asyncio.run(main())
""",
    "streaming_exec": """
import asyncio
from caged import Caged

async def main():
    caged = Caged(api_key="caged_sk_...")
    sandbox = caged.sandboxes.create(template="node-20")

    stream = await caged.sandboxes.exec_stream(sandbox.id, "npm test")
    async for chunk in stream:
        print(chunk, end="")
    print(f"\\nExit code: {stream.exit_code}")

asyncio.run(main())
""",
    "mcp": """
import asyncio
from caged import Caged

async def main():
    caged = Caged(api_key="caged_sk_...")
    sandbox = caged.sandboxes.create(template="node-20")

    mcp = await caged.sandboxes.mcp(sandbox.id)

    # List available tools
    tools = await mcp.list_tools()
    for tool in tools:
        print(f"  {tool.name}: {tool.description}")

    # Call a tool
    result = await mcp.call_tool("terminal_exec", {"command": "npm test"})
    print(result["content"][0]["text"])

    await mcp.close()

asyncio.run(main())
""",
    "session_replay": """
caged = Caged(api_key="caged_sk_...")

# List sessions for a sandbox
sessions = caged.sessions.list_by_sandbox("sandbox-id")
for s in sessions:
    print(f"{s.id}: {s.agent_type} — ${s.cost_usd:.4f}")

# Get replay timeline
events = caged.sessions.replay(sessions[0].id)
for event in events:
    print(f"[{event.timestamp}] {event.type}: {event.data}")

# Get summary
summary = caged.sessions.replay_summary(sessions[0].id)
print(f"Duration: {summary.duration_ms}ms, Cost: ${summary.cost_usd:.4f}")
""",
    "events": """
from caged import Caged, EventPayload

caged = Caged(api_key="caged_sk_...")

response = caged.events.ingest([
    EventPayload(
        type="llm_call",
        sandbox_id="sandbox-id",
        data={"model": "claude-4", "tokens_in": 500, "tokens_out": 200},
    ),
])
print(f"Accepted: {response.accepted}, Errors: {response.errors}")
""",
    "alerts": """
caged = Caged(api_key="caged_sk_...")

# List alerts
alerts = caged.alerts.list()
for alert in alerts:
    print(f"[{alert.severity}] {alert.message}")

# Resolve an alert
caged.alerts.resolve(alerts[0].id)

# Check notifications
count = caged.notifications.unread_count()
print(f"Unread: {count}")

notifications = caged.notifications.list()
caged.notifications.mark_all_read()
""",
    "billing": """
caged = Caged(api_key="caged_sk_...")

sub = caged.billing.get_subscription()
print(f"Plan: {sub.plan}, Status: {sub.status}")

# Get checkout URL for upgrade
url = caged.billing.create_checkout("pro")
print(f"Upgrade: {url}")
""",
    "error_handling": """
from caged import Caged, CagedAPIError, CagedTimeoutError

caged = Caged(api_key="caged_sk_...")

try:
    caged.sandboxes.get("nonexistent")
except CagedAPIError as e:
    print(f"API error {e.status}: {e}")
except CagedTimeoutError as e:
    print(f"Timeout: {e}")
""",
}

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
    source = EXAMPLES[name].replace("from caged import", "from caged_core import")
    namespace: dict[str, Any] = {}
    if "from caged_core import" not in source:  # snippets that assume the Quick Start import
        exec("from caged_core import Caged", namespace)
    exec(compile(source, f"<README {name}>", "exec"), namespace)
    printed = capsys.readouterr().out
    for expected in EXPECTED[name]:
        assert expected in printed, (name, printed)
    assert all(r.headers["authorization"] == "Bearer caged_sk_..." for r in seed_platform.requests)
