"""Files, git diff and snapshots through the REST API, with real workspaces."""

from __future__ import annotations

import io
import tarfile
from typing import Any

import httpx
import pytest
from platform_helpers import create_running

pytestmark = pytest.mark.integration


async def _exec(client: httpx.AsyncClient, sandbox_id: str, command: str) -> str:
    response = await client.post(f"/v1/sandboxes/{sandbox_id}/exec", json={"command": command})
    output: str = response.json()["output"]
    return output


async def test_write_read_list_and_legacy_write(
    client: httpx.AsyncClient, shared_sandbox: dict[str, Any]
) -> None:
    base = f"/v1/sandboxes/{shared_sandbox['id']}/files"
    written = await client.put(
        f"{base}/content", params={"path": "/workspace/notes/a.txt"}, json={"content": "héllo\n"}
    )
    assert written.status_code == 204, written.text
    read = await client.get(f"{base}/content", params={"path": "notes/a.txt"})
    assert read.headers["content-type"].startswith("text/plain") and read.text == "héllo\n"
    # The cage sees what the API wrote.
    assert await _exec(client, shared_sandbox["id"], "cat notes/a.txt") == "héllo\n"
    legacy = await client.put(
        f"{base}/content", json={"path": "/workspace/notes/b.txt", "content": "legacy"}
    )
    assert legacy.status_code == 204
    entries = (await client.get(base, params={"path": "/workspace/notes"})).json()
    assert [(e["name"], e["type"], e["size"]) for e in entries] == [
        ("a.txt", "file", 7),
        ("b.txt", "file", 6),
    ]
    top = (await client.get(base)).json()
    assert any(e["name"] == "notes" and e["type"] == "directory" for e in top)


async def test_files_refuse_traversal_and_oversize(
    client: httpx.AsyncClient, shared_sandbox: dict[str, Any]
) -> None:
    base = f"/v1/sandboxes/{shared_sandbox['id']}/files"
    for path in ("../../etc/passwd", "/etc/passwd", "/workspace/../etc/shadow"):
        refused = await client.get(f"{base}/content", params={"path": path})
        assert refused.status_code == 403, (path, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
    await _exec(client, shared_sandbox["id"], "ln -sf /etc/hostname escape")
    assert (await client.get(f"{base}/content", params={"path": "escape"})).status_code == 403
    missing = await client.get(f"{base}/content", params={"path": "nope.txt"})
    assert missing.status_code == 404
    await _exec(client, shared_sandbox["id"], "head -c 1100000 /dev/zero | tr '\\0' a > big.txt")
    assert (await client.get(f"{base}/content", params={"path": "big.txt"})).status_code == 413
    assert (await client.get(f"{base}/content")).status_code == 400  # path is required


async def test_git_diff_reports_changes(client: httpx.AsyncClient, sync_client: Any) -> None:
    sandbox_id = create_running(sync_client)["id"]
    try:
        await _exec(
            client,
            sandbox_id,
            "git init -q && echo one > f.txt && git add f.txt && "
            "git -c user.email=t@t -c user.name=t commit -qm init && echo two >> f.txt && "
            "echo new > u.txt && echo staged > s.txt && git add s.txt",
        )
        diff = (await client.get(f"/v1/sandboxes/{sandbox_id}/git/diff")).json()
        assert {(f["path"], f["status"]) for f in diff["files"]} == {
            ("f.txt", "modified"),
            ("u.txt", "untracked"),
            ("s.txt", "added"),
        }
        assert "+two" in diff["diff"] and "+staged" in diff["staged_diff"]
        only = await client.get(f"/v1/sandboxes/{sandbox_id}/git/diff", params={"path": "f.txt"})
        assert [f["path"] for f in only.json()["files"]] == ["f.txt"]
    finally:
        await client.delete(f"/v1/sandboxes/{sandbox_id}")


async def test_snapshot_create_download_restore_delete(
    client: httpx.AsyncClient, sync_client: Any, shared_sandbox: dict[str, Any]
) -> None:
    source = shared_sandbox["id"]
    await _exec(client, source, "mkdir -p snap && echo kept > snap/data.txt")
    created = await client.post(
        f"/v1/sandboxes/{source}/snapshots", json={"name": "before", "description": "d"}
    )
    assert created.status_code == 201, created.text
    snapshot = created.json()
    assert snapshot["status"] == "completed" and snapshot["trigger"] == "manual"
    assert snapshot["name"] == "before" and snapshot["size_bytes"] > 0
    assert (await client.get(f"/v1/snapshots/{snapshot['id']}")).json()["id"] == snapshot["id"]
    listed = (await client.get(f"/v1/sandboxes/{source}/snapshots")).json()
    assert snapshot["id"] in {s["id"] for s in listed}

    link = (await client.get(f"/v1/snapshots/{snapshot['id']}/download")).json()
    assert link["url"].startswith(f"/v1/snapshots/{snapshot['id']}/download/content")
    assert link["expires_in_seconds"] == 3600
    archive = await client.get(link["url"])
    assert archive.status_code == 200 and archive.headers["content-type"] == "application/gzip"
    with tarfile.open(fileobj=io.BytesIO(archive.content), mode="r:gz") as tar:
        assert "snap/data.txt" in tar.getnames()
    forged = await client.get(f"/v1/snapshots/{snapshot['id']}/download/content?sig=1.bad")
    assert forged.status_code == 403

    target = create_running(sync_client)["id"]
    try:
        await _exec(client, target, "echo doomed > only-here.txt")
        missing = await client.post(f"/v1/snapshots/{snapshot['id']}/restore", json={})
        assert missing.status_code == 400
        restored = await client.post(
            f"/v1/snapshots/{snapshot['id']}/restore", json={"target_sandbox_id": target}
        )
        assert restored.status_code == 204, restored.text
        assert "kept" in await _exec(client, target, "cat snap/data.txt")
        assert "No such file" in await _exec(client, target, "cat only-here.txt")
    finally:
        await client.delete(f"/v1/sandboxes/{target}")
    assert (await client.delete(f"/v1/snapshots/{snapshot['id']}")).status_code == 204
    assert (await client.get(f"/v1/snapshots/{snapshot['id']}")).status_code == 404
