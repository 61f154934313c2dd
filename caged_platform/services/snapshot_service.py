"""Snapshot records and their archives: the bookkeeping around ``local.snapshots``.

The archive work itself (limits, tar.gz create, restore, streaming, signed
download links) lives in :mod:`caged_platform.content.snapshots`, which blocks, so
it runs on worker threads here. This module owns the database rows and where
the archives are kept (``DATA_DIR/snapshots``).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path

from caged_core.models import Snapshot
from caged_platform.content import snapshots as archives
from caged_platform.content.content_errors import LimitReached
from caged_platform.errors import Problem
from caged_platform.runtime.api import Runtime
from caged_platform.store import Row, Store, utcnow

__all__ = ["SnapshotService", "snapshot_model"]

AUTO_TRIGGERS = frozenset({"auto-pause"})


def snapshot_model(row: Row) -> Snapshot:
    """The wire shape of a snapshot row."""
    return Snapshot.model_validate(row)


class SnapshotService:
    """Creates, lists, restores and deletes snapshots of sandbox workspaces."""

    def __init__(self, store: Store, runtime: Runtime, root: Path, link_secret: bytes) -> None:
        self._store = store
        self._runtime = runtime
        self._root = root
        self._link_secret = link_secret

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

    async def _budget(self, sandbox_id: str, trigger: str) -> int:
        """Bytes the new archive may take; automatic snapshots make room for themselves."""
        while True:
            existing = await self._store.snapshots_of(sandbox_id)
            total = await self._store.snapshot_bytes()
            try:
                return archives.check_limits(len(existing), total, sandbox_id=sandbox_id)
            except LimitReached:
                automatic = [r for r in existing if r["trigger"] in AUTO_TRIGGERS]
                # A pause must not fail for want of room: drop the oldest automatic snapshot.
                if trigger not in AUTO_TRIGGERS or not automatic:
                    raise
                await self.delete(automatic[-1]["id"])

    async def create(
        self, sandbox_id: str, *, name: str = "", description: str = "", trigger: str = "manual"
    ) -> Row:
        """Archive a sandbox's workspace now; returns the completed row."""
        budget = await self._budget(sandbox_id, trigger)
        self._root.mkdir(parents=True, exist_ok=True)
        now = utcnow()
        row: Row = {
            "id": "snap-" + secrets.token_hex(4),
            "sandbox_id": sandbox_id,
            "name": name or f"{trigger} {now:%Y-%m-%d %H:%M:%S}",
            "description": description,
            "status": "pending",
            "trigger": trigger,
            "size_bytes": 0,
            "created_at": now,
            "completed_at": None,
        }
        await self._store.insert("snapshots", row)
        path = self.archive_path(row["id"])
        try:
            size = await asyncio.to_thread(
                archives.create_archive,
                self._runtime.workspace_dir(sandbox_id),
                path,
                max_bytes=budget,
            )
        except BaseException:
            # Whatever went wrong (even a cancellation), the row must not stay pending.
            path.unlink(missing_ok=True)
            await self._store.update("snapshots", row["id"], status="failed")
            raise
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

    async def completed(self, snapshot_id: str) -> Row:
        """The row of a snapshot whose archive is usable (409 otherwise)."""
        row = await self.get(snapshot_id)
        if row["status"] != "completed":
            raise Problem(409, f"snapshot {snapshot_id!r} is {row['status']}, not completed")
        return row

    async def restore_into(self, snapshot_id: str, sandbox_id: str) -> None:
        """Replace a workspace's contents with the archive (the caller quiesces the cage)."""
        await asyncio.to_thread(
            archives.restore_archive,
            self.archive_path(snapshot_id),
            self._runtime.workspace_dir(sandbox_id),
        )

    def download_url(self, snapshot_id: str) -> str:
        """The API-relative, signed, expiring link to the archive."""
        return archives.download_url(snapshot_id, self._link_secret)

    async def open_archive(
        self, snapshot_id: str, signature: str | None
    ) -> tuple[Row, Iterator[bytes]]:
        """The snapshot row and its archive as a (blocking) chunk iterator.

        Checked before streaming starts, so that an unusable snapshot is a clean
        problem answer rather than a response cut off midway. A signature, when
        the link carries one, must be valid and unexpired.
        """
        row = await self.completed(snapshot_id)
        if signature is not None:
            archives.verify_download_token(snapshot_id, signature, self._link_secret)
        return row, archives.iter_archive(self.archive_path(snapshot_id))
