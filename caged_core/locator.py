"""Where a running local platform is: its data dir, lock file and key file.

The one piece of knowledge both sides need — the client's configuration finds a running
embedded platform here, and the platform (``caged_platform.service``) writes what this reads
— so it imports neither: only the standard library and ``platformdirs``.  One server runs per
data dir; ``DATA_DIR/server.lock`` is held with ``flock`` while it runs and records its pid
and URL, so a live server can be told from a stale file.
"""

from __future__ import annotations

import fcntl
import json
from pathlib import Path
from typing import NamedTuple

import platformdirs

__all__ = ["KEY_FILE_NAME", "LOCK_FILE", "ServerStatus", "default_data_dir", "read_key", "status"]

LOCK_FILE = "server.lock"
#: The first key, readable by its owner only (mode 0600), beside the keyring's copy.
KEY_FILE_NAME = "api_key"


def default_data_dir() -> Path:
    """Where the platform keeps its data unless told otherwise."""
    return Path(platformdirs.user_data_dir("caged")) / "local"


class ServerStatus(NamedTuple):
    """Whether a server runs for a data dir, and where (unpacks as a triple)."""

    running: bool
    url: str | None = None
    pid: int | None = None


def status(data_dir: Path | None = None) -> ServerStatus:
    """Is a server running for ``data_dir``? Unpacks as ``(running, url, pid)``."""
    path = (data_dir or default_data_dir()) / LOCK_FILE
    try:
        handle = open(path)  # noqa: SIM115 — closed below on every path
    except FileNotFoundError:
        return ServerStatus(False)
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            pass  # held: a server is running
        else:
            fcntl.flock(handle, fcntl.LOCK_UN)
            return ServerStatus(False)
        try:
            record = json.loads(handle.read() or "{}")
        except json.JSONDecodeError:
            record = {}
    # The lock is held but the record may not be written yet (the server is starting).
    return ServerStatus(True, record.get("url"), record.get("pid"))


def read_key(data_dir: Path | None = None) -> str | None:
    """The platform's first key from its key file, when readable."""
    try:
        return (data_dir or default_data_dir()).joinpath(KEY_FILE_NAME).read_text().strip() or None
    except OSError:
        return None
