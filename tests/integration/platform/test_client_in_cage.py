"""The client's in-sandbox workspace verbs (``caged_core.client._in_cage``) on a real cage:
a recursive listing, first bytes, mkdir, rename, delete and git status, all run inside it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from platform_helpers import create_running

from caged_core.client import AsyncCaged
from caged_core.errors import CagedCommandError


@pytest.fixture(scope="module")
def sandbox(sync_client: httpx.Client) -> Iterator[dict[str, Any]]:
    """A sandbox of this module's own: its workspace is rearranged."""
    created = create_running(sync_client)
    try:
        yield created
    finally:
        sync_client.delete(f"/v1/sandboxes/{created['id']}")


@pytest.fixture
async def caged(platform: Any) -> AsyncIterator[AsyncCaged]:
    async with AsyncCaged(api_key=platform.api_key, base_url=platform.url) as client:
        yield client


async def test_walk_lists_everything_below_the_workspace_but_git_objects(
    caged: AsyncCaged, sandbox: dict[str, Any]
) -> None:
    sid = sandbox["id"]
    await caged.sandboxes.exec(
        sid,
        "mkdir -p walk/deep/er walk/.git/objects && printf abc > 'walk/deep/er/a b.txt' "
        "&& printf x > walk/.git/objects/o && printf '' > \"walk/new\nline\"",
    )
    entries = {e.path: e for e in await caged.files.walk(sid)}
    assert entries["/workspace/walk/deep/er/a b.txt"].size == 3
    assert entries["/workspace/walk/deep/er"].is_dir
    assert "/workspace/walk/new\nline" in entries
    assert not any("/.git" in path for path in entries)


async def test_head_gives_exact_bytes(caged: AsyncCaged, sandbox: dict[str, Any]) -> None:
    sid = sandbox["id"]
    await caged.sandboxes.exec(sid, r"printf '\000\001\377PNG rest' > bin.dat")
    assert await caged.files.head(sid, "/workspace/bin.dat", 5) == b"\x00\x01\xffPN"


async def test_mkdir_rename_delete(caged: AsyncCaged, sandbox: dict[str, Any]) -> None:
    sid = sandbox["id"]
    await caged.files.make_dir(sid, "/workspace/made/in/cage")
    await caged.files.write(sid, "/workspace/made/in/cage/f.txt", "hello")
    await caged.files.rename(sid, "/workspace/made/in/cage/f.txt", "/workspace/made/g's.txt")
    assert await caged.files.read(sid, "/workspace/made/g's.txt") == "hello"
    await caged.files.write(sid, "/workspace/made/other.txt", "keep")
    with pytest.raises(CagedCommandError, match="already exists"):
        await caged.files.rename(sid, "/workspace/made/g's.txt", "/workspace/made/other.txt")
    assert await caged.files.read(sid, "/workspace/made/other.txt") == "keep"
    await caged.files.delete(sid, "/workspace/made")
    names = [e.name for e in await caged.files.list(sid, "/workspace")]
    assert "made" not in names
    with pytest.raises(ValueError, match="workspace itself"):
        await caged.files.delete(sid, "/workspace/")


async def test_git_status_with_ignored_and_not_a_repository(
    caged: AsyncCaged, sandbox: dict[str, Any]
) -> None:
    sid = sandbox["id"]
    await caged.files.delete(sid, "/workspace/walk")
    assert not (await caged.files.git_status(sid)).is_repository
    result = await caged.sandboxes.exec(
        sid,
        "git init -q . && printf 'build/\\n' > .gitignore && mkdir -p src build "
        "&& echo one > src/a.py && git add -A && git -c user.name=t -c user.email=t@t "
        "commit -qm init && echo two >> src/a.py && echo new > src/b.py && echo o > build/x",
    )
    assert result.exit_code == 0, result.output
    status = await caged.files.git_status(sid)
    found = {entry.path: entry.status for entry in status.files or []}
    assert found["/workspace/src/a.py"] == "modified"
    assert found["/workspace/src/b.py"] == "untracked"
    assert found["/workspace/build"] == "ignored"
