"""``snapshots.download_to``: progress as chunks arrive; a short archive never appears."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from client_fakes import FakeAPI

from caged_core.client import AsyncCaged
from caged_core.errors import CagedConnectionError

LINK = {"url": "/v1/snapshots/snap-1/download/content", "expires_in_seconds": 3600}


async def test_progress_reports_bytes_and_total(
    api: FakeAPI, client: AsyncCaged, tmp_path: Path
) -> None:
    api.route("GET", "/v1/snapshots/snap-1/download", LINK)
    api.route(
        "GET", "/v1/snapshots/snap-1/download/content", httpx.Response(200, content=b"x" * 10)
    )
    seen: list[tuple[int, int | None]] = []
    target = await client.snapshots.download_to(
        "snap-1", tmp_path / "a.tar.gz", progress=lambda got, total: seen.append((got, total))
    )
    assert target.stat().st_size == 10
    assert seen[-1] == (10, 10)


async def test_an_archive_shorter_than_announced_is_refused(
    api: FakeAPI, client: AsyncCaged, tmp_path: Path
) -> None:
    api.route("GET", "/v1/snapshots/snap-1/download", LINK)
    short = httpx.Response(200, content=b"abc", headers={"content-length": "10"})
    api.route("GET", "/v1/snapshots/snap-1/download/content", short)
    with pytest.raises(CagedConnectionError, match="incomplete: 3 of 10 bytes"):
        await client.snapshots.download_to("snap-1", tmp_path / "a.tar.gz")
    assert list(tmp_path.iterdir()) == []  # noqa: ASYNC240 - a tiny directory
