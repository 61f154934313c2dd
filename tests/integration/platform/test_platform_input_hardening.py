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
