"""Hostile or broken requests get clean RFC 7807 answers, never a 500 or a hang."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from caged_platform.http.ratelimit import RateLimitMiddleware

pytestmark = pytest.mark.integration

PROBLEM = "application/problem+json"


def _problem(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert set(body) >= {"type", "title", "status", "detail"} and body["status"] == status
    detail: str = body["detail"]
    return detail


@pytest.mark.parametrize(
    ("body", "status", "mentions"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"", 400, "JSON request body is required"),
        (b"[1, 2]", 400, "JSON object"),
        (b'{"template": 5}', 400, "template"),
        (b'{"template": "windows-95"}', 400, "valid templates: minimal"),
        (b'{"template": "computer"}', 400, "desktop template is not available"),
        (b'{"template": "python-312"}', 400, "offers: minimal, python-311, node-22, node-20"),
        (b'{"template": "minimal", "repo": "file:///etc"}', 400, "not visible in a sandbox"),
        (b'{"template": "minimal", "repo": "/root/project"}', 400, "not visible in a sandbox"),
        (b'{"template": "minimal", "cpus": 0}', 400, "cpus"),
        (b'{"template": "minimal", "memory_mb": 1000000}', 400, "memory_mb"),
        (b'{"template": "minimal", "disk_gb": "big"}', 400, "disk_gb"),
        (b'{"template": "minimal", "network_mode": "allowlist"}', 400, "allowlist"),
        (b'{"template": "minimal", "network_mode": "wifi"}', 400, "network_mode"),
        (b'{"template": "minimal", "surprise": true}', 400, "surprise"),
        (b'{"template": "minimal", "packages": ["left-pad"]}', 400, "packages"),
        (b'{"template": "minimal", "env": {"A": 1}}', 400, "env"),
    ],
)
async def test_create_refuses_bad_bodies(
    client: httpx.AsyncClient, body: bytes, status: int, mentions: str
) -> None:
    response = await client.post(
        "/v1/sandboxes", content=body, headers={"Content-Type": "application/json"}
    )
    assert mentions in _problem(response, status)


async def test_exec_refuses_bad_bodies(
    client: httpx.AsyncClient, shared_sandbox: dict[str, Any]
) -> None:
    url = f"/v1/sandboxes/{shared_sandbox['id']}/exec"
    assert "command" in _problem(await client.post(url, json={}), 400)
    assert "command" in _problem(await client.post(url, json={"command": ["ls"]}), 400)
    assert "timeout" in _problem(await client.post(url, json={"command": "ls", "timeout": -1}), 400)
    assert "timeout" in _problem(
        await client.post(url, json={"command": "ls", "timeout": 10**9}), 400
    )


async def test_oversized_bodies_are_refused(
    client: httpx.AsyncClient, shared_sandbox: dict[str, Any]
) -> None:
    big = b'{"command": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    response = await client.post(
        f"/v1/sandboxes/{shared_sandbox['id']}/exec",
        content=big,
        headers={"Content-Type": "application/json"},
    )
    _problem(response, 413)
    # A file write may carry more (JSON escaping) but not without bound.
    huge = b'{"content": "' + b"y" * (9 * 1024 * 1024) + b'"}'
    response = await client.put(
        f"/v1/sandboxes/{shared_sandbox['id']}/files/content",
        params={"path": "/workspace/huge.txt"},
        content=huge,
        headers={"Content-Type": "application/json"},
    )
    _problem(response, 413)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/sandboxes/cage-deadbeef"),
        ("DELETE", "/v1/sandboxes/cage-deadbeef"),
        ("POST", "/v1/sandboxes/cage-deadbeef/pause"),
        ("GET", "/v1/sandboxes/cage-deadbeef/logs"),
        ("GET", "/v1/sandboxes/cage-deadbeef/files"),
        ("GET", "/v1/sandboxes/cage-deadbeef/snapshots"),
        ("GET", "/v1/sandboxes/cage-deadbeef/terminal/sessions"),
        ("GET", "/v1/trust/sandboxes/cage-deadbeef"),
        ("GET", "/v1/snapshots/snap-deadbeef"),
        ("DELETE", "/v1/snapshots/snap-deadbeef"),
        ("GET", "/v1/snapshots/snap-deadbeef/download/content"),
        ("DELETE", "/v1/account/keys/key-deadbeef"),
        ("DELETE", "/v1/account/sessions/sess-deadbeef"),
        ("GET", "/v1/no/such/endpoint"),
    ],
)
async def test_unknown_ids_and_paths_are_404(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    _problem(await client.request(method, path), 404)


async def test_router_errors_and_limits_are_problems(client: httpx.AsyncClient) -> None:
    assert "method not allowed" in _problem(await client.patch("/v1/sandboxes"), 405)
    tail = "/v1/sandboxes/cage-deadbeef/logs?tail="
    assert "tail" in _problem(await client.get(tail + "many"), 400)
    assert "tail" in _problem(await client.get(tail + "0"), 400)
    restore = await client.post("/v1/snapshots/snap-deadbeef/restore", json={})
    assert "target_sandbox_id" in _problem(restore, 400)


async def test_billing_is_hosted_only(client: httpx.AsyncClient) -> None:
    for path in ("/v1/billing/portal", "/v1/billing/cancel"):
        assert "hosted Caged platform" in _problem(await client.post(path, json={}), 501)
    checkout = await client.post("/v1/billing/checkout", json={"plan_id": "pro"})
    assert "hosted Caged platform" in _problem(checkout, 501)
    subscription = (await client.get("/v1/billing/subscription")).json()
    assert subscription["tier"] == "local" and subscription["status"] == "active"
    usage = (await client.get("/v1/billing/usage")).json()
    assert usage["compute_minutes"] >= 0


async def test_every_response_carries_rate_limit_headers(client: httpx.AsyncClient) -> None:
    for response in (await client.get("/v1/account"), await client.get("/v1/nope")):
        assert int(response.headers["x-ratelimit-limit"]) == 6000
        assert 0 <= int(response.headers["x-ratelimit-remaining"]) < 6000
        assert int(response.headers["x-ratelimit-reset"]) > 1_700_000_000


async def test_exhausted_bucket_answers_429_with_retry_after() -> None:
    # The same middleware the platform runs, with a tiny limit so the test is fast.
    async def ok(_: object) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = RateLimitMiddleware(Starlette(routes=[Route("/", ok)]), limit=3, period=60)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        statuses = [
            (await http.get("/", headers={"Authorization": "Bearer a"})).status_code
            for _ in range(4)
        ]
        assert statuses == [200, 200, 200, 429]
        refused = await http.get("/", headers={"Authorization": "Bearer a"})
        assert "rate limit" in _problem(refused, 429)
        assert int(refused.headers["retry-after"]) >= 1
        # Another credential has a bucket of its own.
        assert (await http.get("/", headers={"Authorization": "Bearer b"})).status_code == 200
