"""The key a fresh platform starts with, and where it is left for its user.

On first start (no live key in the store) a full-scope key is created, written
to ``DATA_DIR/api_key`` (mode 0600, which is where :func:`ensure_running`
reads it) and saved in the keyring for the ``local`` profile. Only *where* it
is gets printed — never the key. A key pinned with ``CAGED_API_KEY`` is
accepted instead of creating one — unless it was revoked: a revoked secret stays
revoked, the platform says so on stderr and starts as if none were pinned.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from caged_core.errors import CagedConfigError
from caged_core.locator import KEY_FILE_NAME
from caged_platform.services.auth import Keys

__all__ = ["KEY_FILE_NAME", "ensure_first_key", "write_secret_file"]

LOCAL_PROFILE = "local"

_log = logging.getLogger(__name__)


def write_secret_file(path: Path, secret: str) -> None:
    """Write ``secret`` to ``path`` atomically, readable by its owner only."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _save_in_keyring(secret: str) -> bool:
    from caged_core.config import save_api_key  # the client's profile store

    try:
        save_api_key(LOCAL_PROFILE, secret)
    except CagedConfigError as exc:
        _log.warning("the local API key was not saved in the keyring: %s", exc)
        return False
    return True


async def ensure_first_key(keys: Keys, data_dir: Path, pinned: str | None) -> None:
    """Make sure the store has a key its user can find (see the module docstring)."""
    had_keys = bool(await keys.live())
    key_file = data_dir / KEY_FILE_NAME
    if pinned:
        row = await keys.add(pinned, name="pinned (CAGED_API_KEY)", scope="full")
        if row["revoked_at"] is None:
            if not had_keys:
                write_secret_file(key_file, pinned)
            return
        print(
            f"WARNING: the key in CAGED_API_KEY ({row['prefix']}…, {row['id']}) was revoked "
            f"at {row['revoked_at']}; it is not accepted. Unset it or pin a live key.",
            file=sys.stderr,
            flush=True,
        )
    if had_keys:
        return
    secret, _ = await keys.create("local (created on first start)", "full")
    write_secret_file(key_file, secret)
    where = f"{key_file} (mode 0600)"
    if _save_in_keyring(secret):
        where += f" and in the keyring (profile {LOCAL_PROFILE!r})"
    print(f"Created the platform's first API key; it is stored in {where}", flush=True)
