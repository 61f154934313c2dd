"""``client.snapshots``: workspace archives, their download and restore."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from pydantic import TypeAdapter

from caged_core.client._pages import AsyncPaginator, Listing, list_of
from caged_core.client._resource import Resource
from caged_core.client._transport import API_PREFIX, encode_path, transport_error
from caged_core.client.sandboxes import Sandboxes
from caged_core.errors import CagedConnectionError
from caged_core.models import Sandbox, SandboxStatus, Snapshot, SnapshotDownload

__all__ = ["Snapshots"]

_SNAPSHOT = TypeAdapter(Snapshot)
_SNAPSHOTS = Listing.array(list_of(Snapshot))
_DOWNLOAD = TypeAdapter(SnapshotDownload)
# Archives are up to 2 GB; the budget covers waiting for each chunk, not the whole.
DOWNLOAD_TIMEOUT = 300.0


class Snapshots(Resource):
    """Create, list, download, restore, fork and delete snapshots."""

    @property
    def _sandboxes(self) -> Sandboxes:
        return Sandboxes(self._core)

    def list(self, sandbox_id: str, *, timeout: float | None = None) -> AsyncPaginator[Snapshot]:
        """Snapshots of one sandbox (one page)."""
        return AsyncPaginator(
            self._core,
            encode_path("/sandboxes/{}/snapshots", sandbox_id),
            _SNAPSHOTS,
            timeout=timeout,
        )

    async def create(
        self,
        sandbox_id: str,
        name: str | None = None,
        description: str | None = None,
        *,
        timeout: float | None = None,
    ) -> Snapshot:
        """Snapshot the sandbox's workspace now."""
        body = {k: v for k, v in {"name": name, "description": description}.items() if v}
        return await self._core.call(
            "POST",
            encode_path("/sandboxes/{}/snapshots", sandbox_id),
            _SNAPSHOT,
            json=body,
            timeout=timeout,
        )

    async def get(self, snapshot_id: str, *, timeout: float | None = None) -> Snapshot:
        """One snapshot."""
        return await self._core.call(
            "GET", encode_path("/snapshots/{}", snapshot_id), _SNAPSHOT, timeout=timeout
        )

    async def delete(self, snapshot_id: str, *, timeout: float | None = None) -> None:
        """Delete a snapshot."""
        await self._core.act("DELETE", encode_path("/snapshots/{}", snapshot_id), timeout=timeout)

    async def download(self, snapshot_id: str, *, timeout: float | None = None) -> SnapshotDownload:
        """Where to fetch the ``.tar.gz`` archive, and until when (``expires_at``)."""
        return await self._core.call(
            "GET", encode_path("/snapshots/{}/download", snapshot_id), _DOWNLOAD, timeout=timeout
        )

    async def download_url(self, snapshot_id: str, *, timeout: float | None = None) -> str:
        """Just the URL of :meth:`download` (the 0.2 call)."""
        return (await self.download(snapshot_id, timeout=timeout)).url

    async def download_to(
        self,
        snapshot_id: str,
        path: str | os.PathLike[str],
        *,
        progress: Callable[[int, int | None], object] | None = None,
        timeout: float | None = None,
    ) -> Path:
        """Stream the archive into ``path``; return it.

        A presigned absolute URL is fetched without the API key; the local
        platform's API-relative ``/v1/...`` URL with it. The file appears only
        once complete, and only when it has the size the server announced
        (``Content-Length``); otherwise :class:`CagedConnectionError` says how
        much arrived. ``progress(received, total)`` is called after each chunk
        (``total`` None when the server does not say).
        """
        link = await self.download(snapshot_id, timeout=timeout)
        budget = DOWNLOAD_TIMEOUT if timeout is None else timeout
        if link.url.startswith("/"):
            response = await self._core.request(
                "GET", link.url.removeprefix(API_PREFIX), timeout=budget, stream=True
            )
        else:
            response = await self._core.request(
                "GET", "", absolute_url=link.url, timeout=budget, stream=True
            )
        target = Path(path)
        announced = response.headers.get("content-length")
        # Content-Length counts the bytes as sent: comparable only when they are not re-encoded.
        plain = response.headers.get("content-encoding", "identity") == "identity"
        total = int(announced) if plain and announced and announced.isdigit() else None
        received = 0
        fd, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        try:
            try:
                with os.fdopen(fd, "wb") as out:
                    async for chunk in response.aiter_bytes():
                        out.write(chunk)
                        received += len(chunk)
                        if progress is not None:
                            progress(received, total)
            except httpx.TransportError as err:
                raise transport_error(err, f"download of snapshot {snapshot_id}", budget) from err
            if total is not None and received != total:
                raise CagedConnectionError(
                    f"download of snapshot {snapshot_id} is incomplete: "
                    f"{received:,} of {total:,} bytes arrived"
                )
            os.replace(partial, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(partial)
            raise
        finally:
            await response.aclose()
        return target

    async def fork(self, snapshot_id: str, *, timeout: float | None = None) -> Sandbox:
        """A new sandbox with the template and resources of the snapshot's sandbox,
        its workspace restored from the snapshot; returned once running and restored.

        The contract has no fork verb: this is create (waiting until it runs) then
        restore. Raises :class:`CagedNotFoundError` when the snapshot's sandbox no
        longer exists (its template and resources are not known then).
        """
        snapshot = await self.get(snapshot_id, timeout=timeout)
        source = await self._sandboxes.get(snapshot.sandbox_id, timeout=timeout)
        fields: dict[str, Any] = {
            "cpus": source.cpus,
            "memory_mb": source.memory_mb,
            "disk_gb": source.disk_gb,
            "network_mode": source.network_mode.value,
        }
        if source.allowlist:
            fields["allowlist"] = source.allowlist
        sandbox = await self._sandboxes.create(source.template, timeout=timeout, **fields)
        if sandbox.status != SandboxStatus.RUNNING:
            raise CagedConnectionError(
                f"the fork {sandbox.id} is {sandbox.status.value}, not running: "
                f"{sandbox.last_error or 'no reason given'}"
            )
        await self.restore(snapshot_id, sandbox.id, timeout=timeout)
        return sandbox

    async def restore(
        self,
        snapshot_id: str,
        target_sandbox_id: str | None = None,
        *,
        timeout: float | None = None,
    ) -> None:
        """Overwrite a sandbox's workspace with the snapshot — by default the
        sandbox it was taken from."""
        if target_sandbox_id is None:
            target_sandbox_id = (await self.get(snapshot_id, timeout=timeout)).sandbox_id
        await self._core.act(
            "POST",
            encode_path("/snapshots/{}/restore", snapshot_id),
            json={"target_sandbox_id": target_sandbox_id},
            timeout=timeout,
        )
