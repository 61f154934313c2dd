"""The local platform's documented limits (issue 10): sandboxes per account, file sizes
that are the same both ways, and disk_gb reported as advisory rather than silently
ignored."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest
from platform_helpers import problem_detail

from caged_platform.content.files import READ_LIMIT

pytestmark = pytest.mark.integration


async def test_sandboxes_beyond_the_cap_are_a_clean_409(
    tmp_path: Path, platform_runner: Callable[..., AbstractContextManager[Any]]
) -> None:
    with platform_runner(tmp_path, CAGED_MAX_SANDBOXES="2") as own:
        async with httpx.AsyncClient(base_url=own.url, headers=own.headers, timeout=60) as client:
            # Four at once: the cap holds under concurrency.
            answers = await asyncio.gather(
                *(client.post("/v1/sandboxes", json={"template": "minimal"}) for _ in range(4))
            )
            created = [a.json()["id"] for a in answers if a.status_code == 201]
            refused = [a for a in answers if a.status_code != 201]
            assert len(created) == 2 and len(refused) == 2
            for answer in refused:
                assert "at most 2 sandboxes" in problem_detail(answer, 409)
                assert answer.json()["reason"]["code"] == "plan_limit_reached"
            # A destroyed sandbox frees its place.
            assert (await client.delete(f"/v1/sandboxes/{created[0]}")).status_code == 204
            again = await client.post("/v1/sandboxes", json={"template": "minimal"})
            assert again.status_code == 201, again.text


async def test_what_can_be_written_can_be_read_back(
    client: httpx.AsyncClient, shared_sandbox: dict[str, Any]
) -> None:
    url = f"/v1/sandboxes/{shared_sandbox['id']}/files/content"
    largest = "x" * READ_LIMIT
    written = await client.put(
        url, params={"path": "/workspace/largest.txt"}, json={"content": largest}
    )
    assert written.status_code == 204, written.text
    read = await client.get(url, params={"path": "/workspace/largest.txt"})
    assert read.status_code == 200 and read.text == largest
    # One byte more is refused both ways; the write is refused before anything is stored.
    too_big = await client.put(
        url, params={"path": "/workspace/too-big.txt"}, json={"content": largest + "é"}
    )
    assert "at most 1,000,000" in problem_detail(too_big, 413)
    missing = await client.get(url, params={"path": "/workspace/too-big.txt"})
    problem_detail(missing, 404)


async def test_disk_gb_is_reported_as_advisory(
    client: httpx.AsyncClient, shared_sandbox: dict[str, Any]
) -> None:
    sandbox = (await client.get(f"/v1/sandboxes/{shared_sandbox['id']}")).json()
    assert sandbox["disk_gb"] == 5
    assert "not enforced" in sandbox["config"]["disk"]
    logs = (await client.get(f"/v1/sandboxes/{shared_sandbox['id']}/logs")).json()
    assert any("disk_gb is advisory" in entry["message"] for entry in logs)
