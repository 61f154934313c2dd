"""A SIGKILL during ingest loses nothing acknowledged.

Acknowledged means the ``200`` answer to ``POST /events/ingest``: the platform sends
it only after the batch's transaction committed (``observe.db`` in WAL mode with
``synchronous=FULL``, so the commit is on disk). A batch in flight when the server
dies may or may not have been stored, but never in part: it is one transaction.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest
from eventually import eventually

pytestmark = pytest.mark.integration

BATCH = 200


def _batch(session_id: str, number: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"{session_id}-{number}-{i}",
            "type": "command",
            "timestamp": "2026-01-01T00:00:00Z",
            "session_id": session_id,
            "payload": {"command": f"echo {number} {i}"},
        }
        for i in range(BATCH)
    ]


def _stored_ids(client: httpx.Client, session_id: str) -> list[str]:
    ids: list[str] = []
    after = 0
    while True:
        page = client.get(
            f"/v1/sessions/{session_id}/replay", params={"after_seq": after, "limit": 1000}
        ).json()
        ids += [event["id"] for event in page["events"]]
        assert [e["sequence"] for e in page["events"]] == list(
            range(after + 1, after + 1 + len(page["events"]))
        )
        after = page["next_seq"]
        if not page["has_more"]:
            return ids


def test_a_killed_platform_keeps_every_acknowledged_batch(
    tmp_path: Path, platform_runner: Callable[..., AbstractContextManager[Any]]
) -> None:
    session_id = f"durable-{time.time_ns()}"
    acknowledged: list[int] = []
    stop = threading.Event()

    with platform_runner(tmp_path) as running:

        def send() -> None:
            with httpx.Client(base_url=running.url, headers=running.headers, timeout=30) as c:
                number = 0
                while not stop.is_set():
                    try:
                        body = {"events": _batch(session_id, number)}
                        answer = c.post("/v1/events/ingest", json=body)
                    except httpx.TransportError:
                        return  # the server died with this batch in flight
                    assert answer.status_code == 200 and answer.json()["accepted"] == BATCH
                    acknowledged.append(number)
                    number += 1

        sender = threading.Thread(target=send)
        sender.start()
        try:
            eventually(lambda: len(acknowledged) >= 5, what="five acknowledged batches")
            running.stop(kill=True)  # SIGKILL, most likely mid-batch: the sender is never idle
        finally:
            stop.set()
            sender.join()
        running.start(int(running.url.rsplit(":", 1)[1]))
        with httpx.Client(base_url=running.url, headers=running.headers, timeout=60) as client:
            stored = _stored_ids(client, session_id)

    assert len(stored) == len(set(stored))  # nothing twice
    batches = {event_id.rsplit("-", 2)[1] for event_id in stored}
    for number in acknowledged:
        expected = {f"{session_id}-{number}-{i}" for i in range(BATCH)}
        assert expected <= set(stored), f"acknowledged batch {number} lost events"
    # Whatever else is stored is whole batches (the one in flight, at most).
    assert len(stored) % BATCH == 0
    assert len(batches) - len(acknowledged) in (0, 1)
