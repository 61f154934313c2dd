"""Hostile input found by fuzzing gets clean RFC 7807 answers (issue 10): deeply nested
JSON, booleans posing as numbers, missing required fields, control characters in names."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from platform_helpers import call, mcp, problem_detail

pytestmark = pytest.mark.integration

#: What the fuzzer sent: json.loads recursed until RecursionError, a 500 and a reset.
BRACKETS = b"[" * 100_000
#: Nesting json.loads still parses, deeper than any request needs.
NESTED_OBJECTS = json.dumps(json.loads('{"a": ' * 500 + "1" + "}" * 500)).encode()


async def _json_operations(client: httpx.AsyncClient, sandbox_id: str) -> list[tuple[str, str]]:
    """(method, concrete path) of every operation whose request body is JSON."""
    spec = (await client.get("/v1/openapi.json")).json()
    return [
        (method.upper(), re.sub(r"{\w+}", sandbox_id, path))
        for path, methods in spec["paths"].items()
        for method, op in methods.items()
        if "application/json" in op.get("requestBody", {}).get("content", {})
    ]


@pytest.mark.parametrize("body", [BRACKETS, NESTED_OBJECTS], ids=["brackets", "objects"])
async def test_deeply_nested_json_is_a_400_on_every_json_endpoint(
    client: httpx.AsyncClient, shared_sandbox: dict[str, Any], body: bytes
) -> None:
    operations = await _json_operations(client, shared_sandbox["id"])
    assert len(operations) >= 10
    for method, path in operations:
        response = await client.request(
            method, path, content=body, headers={"Content-Type": "application/json"}
        )
        assert "nested" in problem_detail(response, 400), (method, path)
    # The same connection still answers: nothing was reset.
    assert (await client.get("/v1/account")).status_code == 200


async def test_deeply_nested_mcp_messages_are_parse_errors(
    platform: Any, shared_sandbox: dict[str, Any]
) -> None:
    async with mcp(platform, platform.api_key, shared_sandbox["id"]) as ws:
        await ws.send(BRACKETS.decode())
        answer = json.loads(await ws.recv())
        assert answer["error"]["code"] == -32700
        assert (await call(ws, 1, "ping"))["result"] == {}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "template"),
        ({"cpus": 2}, "template"),
        ({"template": "minimal", "disk_gb": True}, "disk_gb"),
        ({"template": "minimal", "cpus": True}, "cpus"),
        ({"template": "minimal", "memory_mb": "1024"}, "memory_mb"),
        ({"template": "minimal", "cpus": 2.0}, "cpus"),
        ({"template": "minimal", "timeout": False}, "timeout"),
        ({"template": "minimal", "budget": True}, "budget"),
        ({"template": "minimal", "budget": "5"}, "budget"),
    ],
)
async def test_create_wants_its_template_and_real_numbers(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    detail = problem_detail(await client.post("/v1/sandboxes", json=body), 400)
    assert repr(field) in detail


@pytest.mark.parametrize("value", [True, "5", [5]])
async def test_exec_timeout_is_a_number_not_a_boolean(
    client: httpx.AsyncClient, shared_sandbox: dict[str, Any], value: Any
) -> None:
    response = await client.post(
        f"/v1/sandboxes/{shared_sandbox['id']}/exec", json={"command": "true", "timeout": value}
    )
    assert "'timeout'" in problem_detail(response, 400)


@pytest.mark.parametrize("name", ["evil\x1b[2J", "two\nlines", "nul\x00", "\u202eflipped"])
async def test_names_with_control_characters_are_refused(
    client: httpx.AsyncClient, shared_sandbox: dict[str, Any], name: str
) -> None:
    key = await client.post("/v1/account/keys", json={"name": name})
    assert "control characters" in problem_detail(key, 400)
    snapshot = await client.post(
        f"/v1/sandboxes/{shared_sandbox['id']}/snapshots", json={"name": name}
    )
    assert "control characters" in problem_detail(snapshot, 400)
    assert all(k["name"] != name for k in (await client.get("/v1/account/keys")).json())


async def test_plain_unicode_names_and_multiline_descriptions_are_kept(
    client: httpx.AsyncClient, shared_sandbox: dict[str, Any]
) -> None:
    created = await client.post("/v1/account/keys", json={"name": "CI — 東京 🚀"})
    assert created.status_code == 201, created.text
    await client.delete(f"/v1/account/keys/{created.json()['info']['id']}")
    snapshot = await client.post(
        f"/v1/sandboxes/{shared_sandbox['id']}/snapshots",
        json={"name": "before", "description": "line one\n\tline two"},
    )
    assert snapshot.status_code == 201, snapshot.text
    assert snapshot.json()["description"] == "line one\n\tline two"
    await client.delete(f"/v1/snapshots/{snapshot.json()['id']}")
