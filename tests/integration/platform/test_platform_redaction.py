"""Secrets are redacted the same way in the logs and in recorded session events
(issue 10): typed, executed, shown in a terminal or ingested, none is stored verbatim."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from eventually import eventually_async
from platform_helpers import read_until, terminal

from caged_core.errors import redact

pytestmark = pytest.mark.integration

KEY = "caged_sk_" + "S3cretKeyMaterial" * 2
TOKEN = "ghp_t0kenValue"
LINE = f"echo GITHUB_TOKEN={TOKEN} {KEY} https://bot:pa55word@example.com/r.git"


async def _ended_session(client: httpx.AsyncClient, sandbox_id: str) -> dict[str, Any]:
    """The sandbox's newest session, once it has ended."""

    async def ended() -> dict[str, Any] | None:
        [newest, *_] = (await client.get(f"/v1/sandboxes/{sandbox_id}/sessions")).json()
        return dict(newest) if newest["status"] != "active" else None

    return await eventually_async(ended, what="the session to end")


async def test_typed_executed_and_shown_secrets_are_stored_redacted(
    platform: Any, client: httpx.AsyncClient, shared_sandbox: dict[str, Any]
) -> None:
    sandbox_id = shared_sandbox["id"]
    async with terminal(platform, client, sandbox_id) as ws:
        await ws.send(json.dumps({"type": "input", "data": LINE + "\r"}))
        await read_until(ws, "example.com/r.git\r\n")
        # An exec while the terminal is open joins its session.
        ran = await client.post(f"/v1/sandboxes/{sandbox_id}/exec", json={"command": LINE})
        assert ran.json()["exit_code"] == 0
    session = await _ended_session(client, sandbox_id)
    replay = await client.get(f"/v1/sessions/{session['id']}/replay", params={"limit": 1000})
    stored = replay.text
    commands = [e["data"]["command"] for e in replay.json()["events"] if e["type"] == "command"]
    assert commands == [redact(LINE), redact(LINE)]
    assert "GITHUB_TOKEN=***" in stored and "caged_sk_***" in stored and "bot:***@" in stored
    logs = (await client.get(f"/v1/sandboxes/{sandbox_id}/logs")).text
    for secret in (TOKEN, KEY, "pa55word"):
        assert secret not in stored and secret not in logs


async def test_ingested_secrets_are_stored_redacted(client: httpx.AsyncClient) -> None:
    event = {
        "type": "tool_call",
        "timestamp": "2026-01-01T00:00:00Z",
        "session_id": "sess-redaction",
        "payload": {"name": "http", "arguments": {"headers": [f"Authorization: Bearer {KEY}"]}},
    }
    result = (await client.post("/v1/events/ingest", json={"events": [event]})).json()
    assert result["accepted"] == 1
    replay = await client.get("/v1/sessions/sess-redaction/replay")
    [stored] = replay.json()["events"]
    assert stored["data"]["arguments"]["headers"] == ["Authorization: Bearer ***"]
