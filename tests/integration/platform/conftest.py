"""Fixtures shared by the local platform's own integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from platform_helpers import create_running

if TYPE_CHECKING:
    from tests.integration.conftest import RunningPlatform


@pytest.fixture(scope="session")
def sync_client(platform: RunningPlatform) -> Iterator[httpx.Client]:
    """A blocking client with the full-scope key (for fixtures and setup)."""
    with httpx.Client(base_url=platform.url, headers=platform.headers, timeout=120) as client:
        yield client


@pytest.fixture(scope="session")
def shared_sandbox(sync_client: httpx.Client) -> Iterator[dict[str, Any]]:
    """One running sandbox for the tests that do not change its lifecycle."""
    sandbox = create_running(sync_client)
    try:
        yield sandbox
    finally:
        sync_client.delete(f"/v1/sandboxes/{sandbox['id']}")


@pytest.fixture
async def client(platform: RunningPlatform) -> AsyncIterator[httpx.AsyncClient]:
    """An async client with the full-scope key."""
    async with httpx.AsyncClient(
        base_url=platform.url, headers=platform.headers, timeout=120
    ) as http:
        yield http
