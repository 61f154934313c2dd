"""A fixed workspace, git state and snapshot list for the files, diff and snapshots
screens' snapshot tests, served on top of :class:`fake_platform.FakePlatform`.

The in-sandbox verbs (git status, the recursive listing, first bytes) arrive as exec
scripts; they are answered in the framing :mod:`caged_core.client._in_cage` reads.
"""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import httpx
from fake_platform import FakePlatform

from caged_core.client import _in_cage

SANDBOX = "cage-0a1b2c3d"

_DIRS: dict[str, list[tuple[str, str, int, str]]] = {
    # name, type, size, modified
    "/workspace": [
        ("docs", "directory", 0, "2026-11-27T10:00:00Z"),
        ("src", "directory", 0, "2026-11-27T11:50:00Z"),
        (".env", "file", 24, "2026-11-27T09:00:00Z"),
        ("README.md", "file", 412, "2026-11-27T09:30:00Z"),
        ("notes.txt", "file", 38, "2026-11-27T11:58:00Z"),
    ],
    "/workspace/src": [
        ("app.py", "file", 391, "2026-11-27T11:55:00Z"),
        ("logo.png", "file", 20_480, "2026-11-26T12:00:00Z"),
        ("util.py", "file", 120, "2026-11-26T18:00:00Z"),
    ],
    "/workspace/docs": [
        ("big.log", "file", 2_500_000, "2026-11-27T11:41:00Z"),
        ("guide.md", "file", 64, "2026-11-27T11:40:00Z"),
    ],
}

APP_PY = '''"""A tiny web service."""

from http.server import BaseHTTPRequestHandler, HTTPServer

PORT = 8000


class Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"hello from the cage\\n")


if __name__ == "__main__":
    HTTPServer(("", PORT), Hello).serve_forever()
'''

_CONTENT = {
    "/workspace/src/app.py": APP_PY,
    "/workspace/README.md": "# demo\n\nA small service, run by an agent.\n",
    "/workspace/src/logo.png": "\ufffdPNG\r\n\x1a\n\x00\x00",
}

_DIFF = """\
diff --git a/src/app.py b/src/app.py
index 3b18e51..a9c2f4e 100644
--- a/src/app.py
+++ b/src/app.py
@@ -2,7 +2,7 @@
\x20
 from http.server import BaseHTTPRequestHandler, HTTPServer
\x20
-PORT = 8080
+PORT = 8000
\x20
\x20
 class Hello(BaseHTTPRequestHandler):
@@ -10,7 +10,8 @@ class Hello(BaseHTTPRequestHandler):
         self.send_response(200)
         self.end_headers()
-        self.wfile.write(b"hello\\n")
+        self.wfile.write(b"hello from the cage\\n")
+        self.log_message("greeted %s", self.client_address[0])
\x20
\x20
 if __name__ == "__main__":
"""

_STAGED = """\
diff --git a/docs/guide.md b/docs/guide.md
new file mode 100644
index 0000000..e69de29
--- /dev/null
+++ b/docs/guide.md
@@ -0,0 +1,3 @@
+# Guide
+
+Run `python src/app.py` and open port 8000.
"""

_STATUS = [
    ("src/app.py", "modified", " M"),
    ("docs/guide.md", "added", "A "),
    ("notes.txt", "untracked", "??"),
    (".env", "ignored", "!!"),
]

SNAPSHOTS = [
    {
        "id": "snap-5e6f7a8b",
        "sandbox_id": SANDBOX,
        "name": "before refactor",
        "description": "working server",
        "status": "completed",
        "trigger": "manual",
        "size_bytes": 48_213,
        "created_at": "2026-11-27T11:30:00Z",
        "completed_at": "2026-11-27T11:30:01Z",
    },
    {
        "id": "snap-1c2d3e4f",
        "sandbox_id": SANDBOX,
        "name": "auto-pause 2026-11-27 08:15:00",
        "description": "",
        "status": "completed",
        "trigger": "auto-pause",
        "size_bytes": 45_002,
        "created_at": "2026-11-27T08:15:00Z",
        "completed_at": "2026-11-27T08:15:01Z",
    },
    {
        "id": "snap-9a8b7c6d",
        "sandbox_id": SANDBOX,
        "name": "nightly",
        "description": "",
        "status": "pending",
        "trigger": "manual",
        "size_bytes": 0,
        "created_at": "2026-11-27T11:59:00Z",
        "completed_at": None,
    },
]


def _framed(stdout: bytes, code: int = 0) -> str:
    return f"{_in_cage.MARK}\n{base64.encodebytes(stdout).decode()}.\n.\n{code}\n"


def _exec(command: str) -> str:
    if "rev-parse --show-toplevel" in command:
        records = "".join(f"{code} {path}\0" for path, _, code in _STATUS)
        return _framed(f"/workspace\0{records}".encode())
    if "find . -mindepth 1" in command:
        records = [
            f"{'d' if kind == 'directory' else 'f'} {size} 1764240000.0 "
            f"{(folder + '/' + name).removeprefix('/workspace/')}"
            for folder, entries in _DIRS.items()
            for name, kind, size, _ in entries
        ]
        return _framed("\0".join(records).encode() + b"\0")
    if "head -c" in command:
        return _framed(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00")
    return _framed(b"", 1)


class FakeWorkspace(FakePlatform):
    """The fixed platform plus one sandbox's files, git state and snapshots."""

    def __init__(self) -> None:
        super().__init__()
        self.snapshots = copy.deepcopy(SNAPSHOTS)
        self.content = dict(_CONTENT)

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Route the files, git, exec and snapshot requests; the rest as the base does."""
        answer = self._workspace(request)
        if answer is None:
            return super().handle(request)
        self.requests.append(request)
        return answer

    def _workspace(self, request: httpx.Request) -> httpx.Response | None:
        path = request.url.path.removeprefix("/v1")
        prefix = f"/sandboxes/{SANDBOX}"
        if path == f"{prefix}/files":
            listing = _DIRS.get(request.url.params.get("path", "/workspace"), [])
            folder = request.url.params.get("path", "/workspace")
            return self._json(
                [
                    {"name": n, "path": f"{folder}/{n}", "type": t, "size": s, "mod_time": m}
                    for n, t, s, m in listing
                ]
            )
        if path == f"{prefix}/files/content" and request.method == "PUT":
            self.content[request.url.params["path"]] = json.loads(request.content)["content"]
            return httpx.Response(204)
        if path == f"{prefix}/files/content":
            text = self.content.get(request.url.params.get("path", ""), "")
            return httpx.Response(200, text=text, headers={"content-type": "text/plain"})
        if path == f"{prefix}/git/diff":
            files = [{"path": p, "status": s} for p, s, _ in _STATUS if s != "ignored"]
            return self._json({"files": files, "diff": _DIFF, "staged_diff": _STAGED})
        if path == f"{prefix}/exec":
            command = json.loads(request.content)["command"]
            return self._json({"output": _exec(command), "exit_code": 0})
        if path.startswith("/snapshots/") and path.endswith("/download"):
            link = f"/v1/snapshots/{path.split('/')[2]}/download/content"
            return self._json({"url": link, "expires_in_seconds": 3600})
        if path.endswith("/snapshots") and path.startswith("/sandboxes/"):
            sandbox = path.split("/")[2]
            return self._json([s for s in self.snapshots if s["sandbox_id"] == sandbox])
        return None


def workspace_handler() -> Any:
    """A transport handler serving :class:`FakeWorkspace`."""
    return FakeWorkspace().handle
