"""``client.files``: the sandbox's workspace and its git state."""

from __future__ import annotations

import builtins
import json

from pydantic import TypeAdapter

from caged_core.client import _in_cage
from caged_core.client._in_cage import GitStatus
from caged_core.client._pages import AsyncPaginator, Listing, list_of
from caged_core.client._resource import Resource
from caged_core.client._transport import encode_path, parse_json
from caged_core.errors import CagedCommandError
from caged_core.models import ExecResult, FileEntry, GitDiff

__all__ = ["Files", "GitStatus"]

_ENTRIES = Listing.array(list_of(FileEntry))
_DIFF = TypeAdapter(GitDiff)
_EXEC = TypeAdapter(ExecResult)
#: Seconds an in-sandbox verb may take (a listing of a big workspace takes a few).
IN_CAGE_TIMEOUT = 60.0


def _is_json(content_type: str) -> bool:
    return "json" in content_type.split(";")[0]


class Files(Resource):
    """List, read and write files; show the git diff.

    Verbs the REST API lacks (a recursive listing, a file's first bytes, mkdir,
    rename, delete, git status with ignored files) run as fixed scripts inside
    the sandbox through exec (see :mod:`caged_core.client._in_cage`); they need a
    running sandbox and raise :class:`~caged_core.errors.CagedCommandError`
    when the command fails there.
    """

    def list(
        self, sandbox_id: str, path: str = "/workspace", *, timeout: float | None = None
    ) -> AsyncPaginator[FileEntry]:
        """Entries of the directory ``path`` (one page)."""
        return AsyncPaginator(
            self._core,
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

    async def _run_in_cage(
        self, sandbox_id: str, what: str, script: str, timeout: float | None
    ) -> _in_cage.Answer:
        result = await self._core.call(
            "POST",
            encode_path("/sandboxes/{}/exec", sandbox_id),
            _EXEC,
            json={"command": script},
            timeout=IN_CAGE_TIMEOUT if timeout is None else timeout,
        )
        if result.error:
            raise CagedCommandError(f"{what}: {result.error}", exit_code=result.exit_code)
        return _in_cage.parse(what, result.output)

    async def walk(
        self,
        sandbox_id: str,
        *,
        limit: int = _in_cage.WALK_LIMIT,
        timeout: float | None = None,
    ) -> builtins.list[FileEntry]:
        """Every file and directory below ``/workspace`` (``.git`` contents left out),
        at most ``limit`` — one request, for a find over the whole workspace."""
        what = "listing the workspace"
        answer = await self._run_in_cage(sandbox_id, what, _in_cage.walk_script(limit), timeout)
        return _in_cage.parse_walk(_in_cage.check(what, answer).stdout)

    async def head(
        self, sandbox_id: str, path: str, count: int = 64, *, timeout: float | None = None
    ) -> bytes:
        """The first ``count`` bytes of a file, exactly (``read`` decodes as text)."""
        what = f"reading the start of {path}"
        answer = await self._run_in_cage(
            sandbox_id, what, _in_cage.head_script(path, count), timeout
        )
        return _in_cage.check(what, answer).stdout

    async def make_dir(self, sandbox_id: str, path: str, *, timeout: float | None = None) -> None:
        """Create a directory (and missing parents)."""
        what = f"creating {path}"
        _in_cage.check(
            what, await self._run_in_cage(sandbox_id, what, _in_cage.mkdir_script(path), timeout)
        )

    async def rename(
        self, sandbox_id: str, path: str, new_path: str, *, timeout: float | None = None
    ) -> None:
        """Rename (move) ``path`` to ``new_path``; refused when ``new_path`` exists."""
        what = f"renaming {path}"
        script = _in_cage.rename_script(path, new_path)
        _in_cage.check(what, await self._run_in_cage(sandbox_id, what, script, timeout))

    async def delete(self, sandbox_id: str, path: str, *, timeout: float | None = None) -> None:
        """Delete a file, a link or a whole directory tree (never ``/workspace`` itself)."""
        if _in_cage.absolute(path).rstrip("/") in (_in_cage.WORKSPACE, ""):
            raise ValueError("refusing to delete the workspace itself")
        what = f"deleting {path}"
        _in_cage.check(
            what, await self._run_in_cage(sandbox_id, what, _in_cage.delete_script(path), timeout)
        )

    async def git_status(self, sandbox_id: str, *, timeout: float | None = None) -> GitStatus:
        """Each changed, untracked or ignored path of the workspace's repository
        (``GitStatus.files`` is None when the workspace is not in one)."""
        script = _in_cage.git_status_script()
        return _in_cage.parse_git_status(
            await self._run_in_cage(sandbox_id, "git status", script, timeout)
        )
