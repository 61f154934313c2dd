"""Conditional GETs against the real local platform: JSON answers to GETs carry an ETag,
``If-None-Match`` with it answers 304 until the answer changes, and the client's
``list_if_changed`` keeps what it has on a 304 (caged_platform/http/etags.py)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from eventually import eventually_async

from caged_core.client import AsyncCaged

pytestmark = pytest.mark.integration


@pytest.fixture
async def api(platform: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=f"{platform.url}/v1", headers=platform.headers, timeout=120
    ) as client:
        yield client


async def test_a_list_answers_304_until_it_changes(api: httpx.AsyncClient) -> None:
    first = await api.get("/account/keys")
    tag = first.headers["etag"]
    assert first.status_code == 200 and not tag.startswith("W/")
    same = await api.get("/account/keys", headers={"If-None-Match": tag})
    assert same.status_code == 304 and same.content == b"" and same.headers["etag"] == tag

    created = await api.post("/account/keys", json={"name": f"etag-{time.time_ns()}"})
    assert created.status_code == 201, created.text
    assert "etag" not in created.headers  # only GETs are conditional
    try:
        changed = await api.get("/account/keys", headers={"If-None-Match": tag})
        assert changed.status_code == 200 and changed.headers["etag"] != tag
        assert created.json()["info"]["id"] in changed.text
    finally:
        await api.delete(f"/account/keys/{created.json()['info']['id']}")


async def test_problems_carry_no_etag(api: httpx.AsyncClient) -> None:
    missing = await api.get("/sandboxes/cage-nope", headers={"If-None-Match": "*"})
    assert missing.status_code == 404 and "etag" not in missing.headers


async def test_client_keeps_its_sandbox_list_on_304(platform: Any) -> None:
    async with AsyncCaged(api_key=platform.api_key, base_url=platform.url) as caged:
        first = await caged.sandboxes.list_if_changed()
        # Weak: running sandboxes' costs grow every second without changing the tag.
        assert first.value is not None and first.etag and first.etag.startswith("W/")

        async def unchanged() -> bool:
            # Sandboxes created by other tests, or a new cost period, change the list;
            # asked again at once, the platform answers 304 and the client no value.
            fresh = await caged.sandboxes.list_if_changed()
            again = await caged.sandboxes.list_if_changed(etag=fresh.etag)
            return again.value is None and again.etag == fresh.etag

        await eventually_async(unchanged, what="a 304 to the list's own ETag")
