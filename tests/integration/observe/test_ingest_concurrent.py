"""Eight clients ingesting at once, into sessions of their own and into one they share, with
a retried batch each: every event is stored once, and each session numbers its events 1..n."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from observe_helpers import event

pytestmark = pytest.mark.integration

CLIENTS = 8
BATCHES = 3
BATCH = 200


async def _events(client: httpx.AsyncClient, session_id: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    after = 0
    while True:
        page = (
            await client.get(
                f"/sessions/{session_id}/replay", params={"after_seq": after, "limit": 1000}
            )
        ).json()
        events += page["events"]
        after = page["next_seq"]
        if not page["has_more"]:
            return events


async def test_concurrent_clients_lose_and_duplicate_nothing(platform: Any) -> None:
    run = time.time_ns()
    shared = f"shared-{run}"

    def batch(n: int, b: int) -> list[dict[str, Any]]:
        own = f"own-{run}-{n}"
        return [
            event(second=i, id=f"{own}-{b}-{i}", session_id=own if i % 2 else shared)
            for i in range(BATCH)
        ]

    async def ingest(n: int) -> None:
        async with httpx.AsyncClient(
            base_url=f"{platform.url}/v1", headers=platform.headers, timeout=120
        ) as client:
            for b in range(BATCHES):
                answer = await client.post("/events/ingest", json={"events": batch(n, b)})
                assert answer.json() == {"accepted": BATCH, "errors": 0, "messages": []}
            # The answer to the last batch was "lost": the client sends it again.
            again = await client.post("/events/ingest", json={"events": batch(n, BATCHES - 1)})
            assert again.json()["accepted"] == BATCH

    await asyncio.gather(*(ingest(n) for n in range(CLIENTS)))
    async with httpx.AsyncClient(
        base_url=f"{platform.url}/v1", headers=platform.headers, timeout=120
    ) as client:
        sessions = [shared, *(f"own-{run}-{n}" for n in range(CLIENTS))]
        stored = {sid: await _events(client, sid) for sid in sessions}
    for session_id, events in stored.items():
        assert [e["sequence"] for e in events] == list(range(1, len(events) + 1)), session_id
    ids = [e["id"] for events in stored.values() for e in events]
    sent = {e["id"] for n in range(CLIENTS) for b in range(BATCHES) for e in batch(n, b)}
    assert len(ids) == len(set(ids)) and set(ids) == sent
    assert len(stored[shared]) == CLIENTS * BATCHES * BATCH // 2
