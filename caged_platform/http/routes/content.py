"""REST endpoints of a sandbox's content: files, git diff and snapshots.

The work is done by :mod:`caged_platform.content.files` (path confinement, list,
read, write — blocking, so it runs on a worker thread),
:mod:`caged_platform.content.cage_git` (git, run inside the sandbox's cage, never on
the host) and :mod:`caged_platform.services.snapshot_service`; these handlers check
the sandbox, parse the request and shape the answer.
"""

from __future__ import annotations

import asyncio

from starlette.responses import PlainTextResponse, Response, StreamingResponse

from caged_core.models import FileEntry, GitDiff, Snapshot, SnapshotDownload
from caged_platform.content import cage_git, files
from caged_platform.content.snapshots import DOWNLOAD_TTL
from caged_platform.errors import Problem
from caged_platform.http.bodies import FileWrite, SnapshotCreate, SnapshotRestore
from caged_platform.http.routes.base import Call, Operation, Query, json_response, no_content
from caged_platform.services.snapshot_service import snapshot_model

__all__ = ["OPERATIONS"]

WORKSPACE = "/workspace"
#: JSON-escaping can double text (and \\u escapes sextuple control bytes), so a file write
#: may carry a body well above the 1 MB file limit that the files module enforces (for
#: writes and reads alike).
MAX_FILE_WRITE_BODY = 8 * 1024 * 1024
DIR_PATH = Query(
    "path", description="A directory: /workspace/… or workspace-relative (default /workspace)"
)
FILE_PATH = Query("path", required=True, description="A file: /workspace/… or workspace-relative")
WRITE_PATH = Query(
    "path", description="The file to write (legacy 0.2 clients send it in the body instead)"
)
DIFF_PATH = Query("path", description="Only the changes under this path")
SIGNATURE = Query("sig", description="The signature of a download link")


async def _workspace(call: Call) -> tuple[str, str]:
    """The (sandbox id, path query) of a files request on a sandbox that still exists."""
    row = await call.platform.sandboxes.live_row(call.param("id"))
    return row["id"], DIR_PATH.text(call) or WORKSPACE


async def list_files(call: Call) -> Response:
    sandbox_id, path = await _workspace(call)
    workspace = call.platform.runtime.workspace_dir(sandbox_id)
    return json_response(await asyncio.to_thread(files.list_dir, workspace, path))


async def read_file(call: Call) -> Response:
    sandbox_id, path = await _workspace(call)
    if FILE_PATH.text(call) is None:
        raise Problem(400, "query parameter 'path' is required")
    workspace = call.platform.runtime.workspace_dir(sandbox_id)
    return PlainTextResponse(await asyncio.to_thread(files.read_text, workspace, path))


async def write_file(call: Call) -> Response:
    row = await call.platform.sandboxes.live_row(call.param("id"))
    body = await call.body(FileWrite)
    # The contract puts the path in the query; legacy 0.2 clients put it in the body.
    path = WRITE_PATH.text(call) or body.path
    if not path:
        raise Problem(400, "query parameter 'path' is required")
    workspace = call.platform.runtime.workspace_dir(row["id"])
    await asyncio.to_thread(files.write_text, workspace, path, body.content)
    call.platform.sandboxes.touch(row["id"])
    await call.platform.sandboxes.record(
        row["id"],
        "file_op",
        {"path": files.workspace_path(path), "kind": "write", "source": "api"},
    )
    return no_content()


async def git_diff(call: Call) -> Response:
    sandbox_id, _ = await _workspace(call)
    git = cage_git.in_sandbox(call.platform.runtime, sandbox_id)
    try:
        diff = await git.diff(call.query("path"))
    except cage_git.NotARepository:
        diff = GitDiff()  # the contract: a plain workspace simply has no changes
    return json_response(diff)


async def list_snapshots(call: Call) -> Response:
    row = await call.platform.sandboxes.row(call.param("id"))
    rows = await call.platform.snapshots.of_sandbox(row["id"])
    return json_response([snapshot_model(r) for r in rows])


async def create_snapshot(call: Call) -> Response:
    row = await call.platform.sandboxes.live_row(call.param("id"))
    body = await call.body(SnapshotCreate, optional=True)
    created = await call.platform.snapshots.create(
        row["id"], name=body.name or "", description=body.description or ""
    )
    return json_response(snapshot_model(created), 201)


async def get_snapshot(call: Call) -> Response:
    return json_response(snapshot_model(await call.platform.snapshots.get(call.param("sid"))))


async def delete_snapshot(call: Call) -> Response:
    await call.platform.snapshots.delete(call.param("sid"))
    return no_content()


async def download_link(call: Call) -> Response:
    row = await call.platform.snapshots.completed(call.param("sid"))
    # A filesystem store hands out an API-relative path (signed, expiring); fetching it
    # still needs the API key.
    url = call.platform.snapshots.download_url(row["id"])
    return json_response(SnapshotDownload(url=url, expires_in_seconds=DOWNLOAD_TTL))


async def download_content(call: Call) -> Response:
    snapshots = call.platform.snapshots
    row, chunks = await snapshots.open_archive(call.param("sid"), SIGNATURE.text(call))
    return StreamingResponse(
        chunks,
        media_type="application/gzip",
        headers={
            "Content-Disposition": f'attachment; filename="{row["id"]}.tar.gz"',
            "Content-Length": str(row["size_bytes"]),
        },
    )


async def restore_snapshot(call: Call) -> Response:
    body = await call.body(SnapshotRestore)
    await call.platform.sandboxes.restore(call.param("sid"), body.target_sandbox_id)
    return no_content()


OPERATIONS = (
    Operation(
        "GET",
        "/sandboxes/{id}/files",
        list_files,
        "List a directory",
        response=FileEntry,
        response_many=True,
        tag="files",
        query=(DIR_PATH,),
    ),
    Operation(
        "GET",
        "/sandboxes/{id}/files/content",
        read_file,
        "Read a text file (text/plain; over 1 MB → 413)",
        tag="files",
        query=(FILE_PATH,),
    ),
    Operation(
        "PUT",
        "/sandboxes/{id}/files/content",
        write_file,
        "Write a text file (over 1 MB → 413, as for reads)",
        status=204,
        request=FileWrite,
        max_body_size=MAX_FILE_WRITE_BODY,
        tag="files",
        query=(WRITE_PATH,),
    ),
    Operation(
        "GET",
        "/sandboxes/{id}/git/diff",
        git_diff,
        "Git status and diff of the workspace",
        response=GitDiff,
        tag="files",
        query=(DIFF_PATH,),
    ),
    Operation(
        "GET",
        "/sandboxes/{id}/snapshots",
        list_snapshots,
        "List a sandbox's snapshots",
        response=Snapshot,
        response_many=True,
        tag="snapshots",
    ),
    Operation(
        "POST",
        "/sandboxes/{id}/snapshots",
        create_snapshot,
        "Snapshot the workspace",
        status=201,
        request=SnapshotCreate,
        response=Snapshot,
        tag="snapshots",
    ),
    Operation(
        "GET",
        "/snapshots/{sid}",
        get_snapshot,
        "Get a snapshot",
        response=Snapshot,
        tag="snapshots",
    ),
    Operation(
        "DELETE",
        "/snapshots/{sid}",
        delete_snapshot,
        "Delete a snapshot",
        status=204,
        tag="snapshots",
    ),
    Operation(
        "GET",
        "/snapshots/{sid}/download",
        download_link,
        "Where to download the archive",
        response=SnapshotDownload,
        tag="snapshots",
    ),
    Operation(
        "GET",
        "/snapshots/{sid}/download/content",
        download_content,
        "The .tar.gz archive (streamed)",
        tag="snapshots",
        query=(SIGNATURE,),
    ),
    Operation(
        "POST",
        "/snapshots/{sid}/restore",
        restore_snapshot,
        "Overwrite a sandbox's workspace with the snapshot",
        status=204,
        request=SnapshotRestore,
        tag="snapshots",
    ),
)
