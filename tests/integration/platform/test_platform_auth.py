"""Every route and socket needs a key; read-only keys cannot write; tickets are single-use."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

pytestmark = pytest.mark.integration

PROBLEM = "application/problem+json"
SOCKETS = ("terminal", "mcp")


def _concrete(path: str) -> str:
    """A route-table path with made-up ids in place of its parameters."""
    return re.sub(r"{port}", "8080", re.sub(r"{(id|sid)}", "cage-00000000", path))


async def _operations(client: httpx.AsyncClient) -> list[tuple[str, str, dict[str, Any]]]:
    spec = (await client.get("/v1/openapi.json")).json()
    return [
        (method.upper(), path, op)
        for path, methods in spec["paths"].items()
        for method, op in methods.items()
    ]


async def _close_code(url: str, **kwargs: Any) -> int | None:
    async with websockets.connect(url, **kwargs) as ws:
        with pytest.raises(ConnectionClosed):
            while True:
                await ws.recv()
        return ws.close_code


def _assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    assert body["type"].startswith("https://caged.dev/errors/")
    return body


async def test_openapi_lists_every_contract_path(client: httpx.AsyncClient) -> None:
    ops = {(m, p) for m, p, _ in await _operations(client)}
    for expected in [
        ("POST", "/v1/sandboxes"),
        ("GET", "/v1/sandboxes/{id}/logs"),
        ("POST", "/v1/sandboxes/{id}/exec"),
        ("PUT", "/v1/sandboxes/{id}/files/content"),
        ("GET", "/v1/snapshots/{sid}/download"),
        ("POST", "/v1/snapshots/{sid}/restore"),
        ("GET", "/v1/trust/sandboxes/{id}"),
        ("GET", "/v1/sandboxes/{id}/terminal/sessions"),
        ("DELETE", "/v1/account/sessions/{id}"),
        ("POST", "/v1/billing/checkout"),
        ("POST", "/v1/auth/socket-ticket"),
        ("GET", "/v1/sessions/{sid}/replay/summary"),
        ("POST", "/v1/events/ingest"),
        ("PUT", "/v1/alerts/rules/{id}"),
        ("PUT", "/v1/notifications/config"),
        ("GET", "/v1/notifications/unread-count"),
    ]:
        assert expected in ops
    assert len(ops) >= 45


async def test_every_route_refuses_a_missing_or_wrong_key(
    client: httpx.AsyncClient, platform: Any
) -> None:
    operations = await _operations(client)
    async with httpx.AsyncClient(base_url=platform.url) as anonymous:
        for method, path, _ in operations:
            url = _concrete(path)
            for headers in (
                {},
                {"Authorization": "Bearer caged_sk_wrong"},
                {"Authorization": "Basic abc"},
            ):
                response = await anonymous.request(method, url, headers=headers, json={})
                body = _assert_problem(response, 401)
                assert "caged_sk_wrong" not in body["detail"]
                assert response.headers["www-authenticate"] == "Bearer"
        # The document itself needs a key too.
        _assert_problem(await anonymous.get("/v1/openapi.json"), 401)


async def test_read_only_key_is_refused_every_write(
    client: httpx.AsyncClient, platform: Any
) -> None:
    viewer_key = {"name": "viewer", "scope": "read_only"}
    created = await client.post("/v1/account/keys", json=viewer_key)
    assert created.status_code == 201
    secret = created.json()["key"]
    assert secret.startswith("caged_sk_")
    assert created.json()["info"]["scope"] == "read_only"
    try:
        async with httpx.AsyncClient(
            base_url=platform.url, headers={"Authorization": f"Bearer {secret}"}
        ) as viewer:
            writes = 0
            for method, path, op in await _operations(client):
                if "full scope" not in op.get("description", ""):
                    continue
                writes += 1
                body = _assert_problem(await viewer.request(method, _concrete(path), json={}), 403)
                assert "read_only" in body["detail"]
            assert writes >= 20
            # Reads still work, and a ticket can be had (for the read-only MCP tools).
            assert (await viewer.get("/v1/sandboxes")).status_code == 200
            assert (await viewer.post("/v1/auth/socket-ticket")).status_code == 201
    finally:
        await client.delete(f"/v1/account/keys/{created.json()['info']['id']}")


async def test_keys_lifecycle(client: httpx.AsyncClient, platform: Any) -> None:
    created = (await client.post("/v1/account/keys", json={"name": "ci"})).json()
    secret, info = created["key"], created["info"]
    assert info["scope"] == "full" and secret.startswith(info["prefix"])
    listed = (await client.get("/v1/account/keys")).json()
    assert info["id"] in {k["id"] for k in listed}
    assert all("key" not in k and "secret_hash" not in k for k in listed)
    async with httpx.AsyncClient(
        base_url=platform.url, headers={"Authorization": f"Bearer {secret}"}
    ) as other:
        assert (await other.get("/v1/account")).status_code == 200
        assert (await client.delete(f"/v1/account/keys/{info['id']}")).status_code == 204
        _assert_problem(await other.get("/v1/account"), 401)
    _assert_problem(await client.delete(f"/v1/account/keys/{info['id']}"), 404)
    admin = {"name": "x", "scope": "admin"}
    _assert_problem(await client.post("/v1/account/keys", json=admin), 400)
    _assert_problem(await client.post("/v1/account/keys", json={}), 400)


async def test_socket_ticket_is_single_use_and_only_for_sockets(
    client: httpx.AsyncClient, platform: Any, shared_sandbox: dict[str, Any]
) -> None:
    ticket = (await client.post("/v1/auth/socket-ticket")).json()
    assert ticket["ticket"].startswith("caged_wst_") and ticket["expires_in"] == 60
    # Not a REST credential.
    async with httpx.AsyncClient(base_url=platform.url) as anonymous:
        _assert_problem(
            await anonymous.get(
                "/v1/account", headers={"Authorization": f"Bearer {ticket['ticket']}"}
            ),
            401,
        )
    url = f"{platform.ws_url}/v1/sandboxes/{shared_sandbox['id']}/mcp?token={ticket['ticket']}"
    async with websockets.connect(url, subprotocols=["mcp"]) as ws:
        await ws.send('{"jsonrpc": "2.0", "id": 1, "method": "ping"}')
        assert '"result"' in await ws.recv()
    assert await _close_code(url, subprotocols=["mcp"]) == 4401


@pytest.mark.parametrize("socket", SOCKETS)
async def test_sockets_refuse_bad_credentials_and_unknown_sandboxes(
    socket: str, platform: Any, shared_sandbox: dict[str, Any]
) -> None:
    base = f"{platform.ws_url}/v1/sandboxes/{shared_sandbox['id']}/{socket}"
    assert await _close_code(base) == 4401
    assert await _close_code(base + "?token=caged_sk_wrong") == 4401
    assert await _close_code(base + "?token=caged_wst_forged") == 4401
    unknown = f"{platform.ws_url}/v1/sandboxes/cage-00000000/{socket}?token={platform.api_key}"
    assert await _close_code(unknown) == 4404
