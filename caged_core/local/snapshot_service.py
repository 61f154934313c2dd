"""Snapshot records and their archives: the bookkeeping around ``local.snapshots``.

The archive work itself (tar.gz create, atomic restore, streaming) lives in
:mod:`caged_core.local.snapshots`; this module owns the database rows, the
contract's limits and where the archives are kept (``DATA_DIR/snapshots``).
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

from caged_core.local import snapshots as archives
from caged_core.local.problems import Problem
from caged_core.local.runtime.api import Runtime
from caged_core.local.store import Row, Store, utcnow
from caged_core.models import Snapshot

__all__ = ["MAX_PER_SANDBOX", "SnapshotService", "snapshot_model"]

MAX_PER_SANDBOX = 20
MAX_ARCHIVE_BYTES = 2 * 1024**3
MAX_TOTAL_BYTES = 10 * 1024**3
AUTO_TRIGGERS = frozenset({"auto-pause"})


def snapshot_model(row: Row) -> Snapshot:
    """The wire shape of a snapshot row."""
    return Snapshot.model_validate(row)


class SnapshotService:
    """Creates, lists, restores and deletes snapshots of sandbox workspaces."""

    def __init__(self, store: Store, runtime: Runtime, root: Path) -> None:
        self._store = store
        self._runtime = runtime
        self._root = root

    def archive_path(self, snapshot_id: str) -> Path:
        return self._root / f"{snapshot_id}.tar.gz"

    async def get(self, snapshot_id: str) -> Row:
        """The snapshot row, or a 404 problem."""
        row = await self._store.get("snapshots", snapshot_id)
        if row is None:
            raise Problem(404, f"snapshot {snapshot_id!r} not found")
        return row

    async def of_sandbox(self, sandbox_id: str) -> list[Row]:
        return await self._store.snapshots_of(sandbox_id)

    async def create(
        self, sandbox_id: str, *, name: str = "", description: str = "", trigger: str = "manual"
    ) -> Row:
        """Archive a sandbox's workspace now; returns the completed (or failed) row."""
        existing = await self._store.snapshots_of(sandbox_id)
        if len(existing) >= MAX_PER_SANDBOX:
            automatic = [r for r in existing if r["trigger"] in AUTO_TRIGGERS]
            if trigger not in AUTO_TRIGGERS or not automatic:
                raise Problem(
                    409,
                    f"sandbox {sandbox_id!r} already has {MAX_PER_SANDBOX} snapshots, the limit; "
                    "delete one first",
                )
            # Automatic snapshots make room for themselves by dropping the oldest automatic one.
            await self.delete(automatic[-1]["id"])
        if await self._store.snapshot_bytes() >= MAX_TOTAL_BYTES:
            raise Problem(409, "the 10 GB snapshot quota is used up; delete snapshots first")
        self._root.mkdir(parents=True, exist_ok=True)
        row: Row = {
            "id": "snap-" + secrets.token_hex(4),
            "sandbox_id": sandbox_id,
            "name": name or f"{trigger} {utcnow():%Y-%m-%d %H:%M:%S}",
            "description": description,
            "status": "pending",
            "trigger": trigger,
            "size_bytes": 0,
            "created_at": utcnow(),
            "completed_at": None,
        }
        await self._store.insert("snapshots", row)
        path = self.archive_path(row["id"])
        try:
            size = await archives.create_archive(self._runtime.workspace_dir(sandbox_id), path)
        except BaseException:
            # Whatever went wrong (even a cancellation), the row must not stay pending.
            path.unlink(missing_ok=True)
            await self._store.update("snapshots", row["id"], status="failed")
            raise
        if size > MAX_ARCHIVE_BYTES:
            path.unlink(missing_ok=True)
            await self._store.update("snapshots", row["id"], status="failed", size_bytes=size)
            raise Problem(413, "the workspace archive exceeds the 2 GB snapshot limit")
        row.update(status="completed", size_bytes=size, completed_at=utcnow())
        await self._store.update(
            "snapshots",
            row["id"],
            status="completed",
            size_bytes=size,
            completed_at=row["completed_at"],
        )
        return row

    async def delete(self, snapshot_id: str) -> None:
        """Remove a snapshot and its archive (404 if unknown)."""
        await self.get(snapshot_id)
        self.archive_path(snapshot_id).unlink(missing_ok=True)
        await self._store.delete("snapshots", snapshot_id)

    async def restore(self, snapshot_id: str, target_sandbox_id: str) -> None:
        """Replace the target sandbox's workspace with the snapshot's content."""
        row = await self.get(snapshot_id)
        if row["status"] != "completed":
            raise Problem(409, f"snapshot {snapshot_id!r} is {row['status']}, not completed")
        await archives.restore_archive(
            self.archive_path(snapshot_id), self._runtime.workspace_dir(target_sandbox_id)
        )

    async def open_archive(self, snapshot_id: str) -> tuple[Row, AsyncIterator[bytes]]:
        """The snapshot row and its archive's bytes as a stream.

        Checked before streaming starts, so that an unusable snapshot is a clean
        problem answer rather than a response cut off midway.
        """
        row = await self.get(snapshot_id)
        if row["status"] != "completed":
            raise Problem(409, f"snapshot {snapshot_id!r} is {row['status']}, not completed")
        return row, archives.stream_archive(self.archive_path(snapshot_id))
