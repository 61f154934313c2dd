"""``client.files``: the sandbox's workspace and its git state."""

from __future__ import annotations

import builtins
import json

from pydantic import TypeAdapter

from caged_core.client._resource import Resource
from caged_core.client._transport import encode_path, parse_json
from caged_core.models import FileEntry, GitDiff

__all__ = ["Files"]

_ENTRIES = TypeAdapter(list[FileEntry])
_DIFF = TypeAdapter(GitDiff)


def _is_json(content_type: str) -> bool:
    return "json" in content_type.split(";")[0]


class Files(Resource):
    """List, read and write files; show the git diff."""

    async def list(
        self, sandbox_id: str, path: str = "/workspace", *, timeout: float | None = None
    ) -> builtins.list[FileEntry]:
        """Entries of the directory ``path``."""
        return await self._core.call(
            "GET",
            encode_path("/sandboxes/{}/files", sandbox_id),
            _ENTRIES,
            params={"path": path},
            timeout=timeout,
        )

    async def read(self, sandbox_id: str, path: str, *, timeout: float | None = None) -> str:
        """A file's text (the platform refuses files over 1 MB)."""
        response = await self._core.request(
            "GET",
            encode_path("/sandboxes/{}/files/content", sandbox_id),
            params={"path": path},
            timeout=timeout,
        )
        # The contract serves text/plain; some deployments wrap it as
        # {"content": …}. Anything else (a .json file served as JSON) is the text.
        if _is_json(response.headers.get("content-type", "")):
            try:
                envelope = json.loads(response.text)
            except ValueError:
                envelope = None
            if isinstance(envelope, dict) and isinstance(envelope.get("content"), str):
                return str(envelope["content"])
        return response.text

    async def write(
        self, sandbox_id: str, path: str, content: str, *, timeout: float | None = None
    ) -> None:
        """Create or replace a file (the path travels in the query)."""
        await self._core.act(
            "PUT",
            encode_path("/sandboxes/{}/files/content", sandbox_id),
            params={"path": path},
            json={"content": content},
            timeout=timeout,
        )

    async def git_diff(
        self, sandbox_id: str, *, path: str | None = None, timeout: float | None = None
    ) -> GitDiff:
        """Changed files with the unstaged and staged diff (``path`` narrows it)."""
        response = await self._core.request(
            "GET",
            encode_path("/sandboxes/{}/git/diff", sandbox_id),
            params={"path": path},
            timeout=timeout,
        )
        if _is_json(response.headers.get("content-type", "")):
            return parse_json(response, _DIFF)
        return GitDiff(diff=response.text)  # legacy deployments send the bare diff
