"""Who a cage is on the host: an unprivileged uid of its own, and where its files live.

A server running as root gives every sandbox a distinct host uid (and gid) from
``CAGE_UID_BASE`` upwards, never 0 and never a real account's; inside the cage a user
namespace maps that uid to root, so programs that expect to be root work while the host sees
only an unprivileged stranger — it cannot read root-only files, write kernel settings, signal
host processes or touch another sandbox's files.  The uid is claimed machine-wide (a file per
uid under ``/var/lib/caged/uids``, created exclusively, naming the sandbox's folder) so two
data dirs never hand out the same one; a claim whose sandbox folder is gone is free again.

A server running as a regular user cannot switch uids: its cages run as that user (mapped to
root inside), which is unprivileged already.  The mechanism in force is reported either way.

Because the uid must be able to reach its own ``/workspace`` while bwrap sets the cage up,
a root server keeps sandbox folders under ``/var/lib/caged/sandboxes/<data-dir hash>/``
(``0711`` folders: traversable, not listable) rather than under the data dir, which usually
sits in root's private home.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .api import CageError

CAGE_UID_BASE = 1_000_000
CAGE_UID_SPAN = 1_000_000
STATE_ROOT = Path("/var/lib/caged")
UID_FILE = "uid"  # in a sandbox folder: the uid claimed for it


def switches_uid() -> bool:
    """Whether cages get uids of their own (only a root server can hand them out)."""
    return os.geteuid() == 0


def sandboxes_root(data_dir: Path) -> Path:
    """The folder holding every sandbox folder of the platform on ``data_dir``."""
    if not switches_uid():
        return data_dir / "sandboxes"
    digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:16]
    parent = STATE_ROOT / "sandboxes"
    root = parent / digest
    if root.is_dir():
        return root
    parent.mkdir(parents=True, exist_ok=True)
    for folder in (STATE_ROOT, parent):
        os.chmod(folder, 0o755)
    # Made whole, then renamed into place: a root always names its data dir (so the roots of
    # deleted data dirs can be pruned), and one without is never a root being set up.
    staging = Path(tempfile.mkdtemp(prefix=".new-", dir=parent))
    (staging / "data_dir").write_text(str(data_dir))
    os.chmod(staging, 0o711)
    try:
        staging.rename(root)
    except OSError:  # another server of the same data dir made it first
        shutil.rmtree(staging, ignore_errors=True)
    return root


@contextlib.contextmanager
def orphaned_sandbox_roots() -> Iterator[list[Path]]:
    """Sandbox roots of data dirs that no longer exist (left by deleted test platforms), for
    one server at a time to remove (the next one waits, then finds what is left)."""
    parent = STATE_ROOT / "sandboxes"
    if not switches_uid() or not parent.is_dir():
        yield []
        return
    with open(parent / ".prune.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        orphans = []
        for root in parent.iterdir():
            if root.name.startswith(".") or not root.is_dir():
                continue  # the lock, or a root still being made
            try:
                data_dir: Path | None = Path((root / "data_dir").read_text())
            except OSError:
                data_dir = None  # left half-removed: nothing can reach it
            if data_dir is None or not data_dir.exists():
                orphans.append(root)
        try:
            yield orphans
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def cage_uid(sandbox_dir: Path) -> int:
    """The host uid of the sandbox in ``sandbox_dir``: its recorded claim, or a new one."""
    if not switches_uid():
        return os.getuid()
    recorded = _recorded_uid(sandbox_dir)
    claims = _claims_dir()
    with _locked(claims):
        if recorded is not None and _claim_owner(claims / str(recorded)) in (None, sandbox_dir):
            _write_claim(claims / str(recorded), sandbox_dir)
            return recorded
        start = int(hashlib.sha256(str(sandbox_dir).encode()).hexdigest(), 16) % CAGE_UID_SPAN
        for step in range(CAGE_UID_SPAN):
            uid = CAGE_UID_BASE + (start + step) % CAGE_UID_SPAN
            claim = claims / str(uid)
            owner = _claim_owner(claim)
            if owner is not None and owner != sandbox_dir and _claim_is_live(owner, uid):
                continue
            _write_claim(claim, sandbox_dir)
            (sandbox_dir / UID_FILE).write_text(str(uid))
            return uid
    raise CageError("no free uid is left for a new sandbox")


def release_uid(sandbox_dir: Path) -> None:
    """Give the sandbox's uid back (after destroy)."""
    uid = _recorded_uid(sandbox_dir)
    if uid is None or not switches_uid():
        return
    claims = _claims_dir()
    with _locked(claims):
        claim = claims / str(uid)
        if _claim_owner(claim) == sandbox_dir:
            claim.unlink(missing_ok=True)


def remove_tree(root: Path) -> None:
    """Remove a sandbox root (or folder) and release every uid claimed in it."""
    if root.is_dir():
        for sandbox_dir in root.iterdir():
            if sandbox_dir.is_dir():
                release_uid(sandbox_dir)
    shutil.rmtree(root, ignore_errors=True)


def chown_tree(path: Path, uid: int) -> None:
    """Give ``path`` and everything below it to ``uid`` without following symlinks (what an
    older version left owned by root, or what the host wrote for the cage)."""
    if os.geteuid() != 0:
        return
    os.lchown(path, uid, uid)
    for dirpath, dirnames, filenames in os.walk(path):
        for name in (*dirnames, *filenames):
            with contextlib.suppress(FileNotFoundError):
                os.lchown(os.path.join(dirpath, name), uid, uid)


def _recorded_uid(sandbox_dir: Path) -> int | None:
    try:
        return int((sandbox_dir / UID_FILE).read_text())
    except (OSError, ValueError):
        return None


def _claims_dir() -> Path:
    claims = STATE_ROOT / "uids"
    claims.mkdir(parents=True, exist_ok=True)
    os.chmod(claims, 0o700)
    return claims


@contextlib.contextmanager
def _locked(claims: Path) -> Iterator[None]:
    with open(claims / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _claim_owner(claim: Path) -> Path | None:
    try:
        return Path(claim.read_text())
    except OSError:
        return None


def _claim_is_live(owner: Path, uid: int) -> bool:
    """A claim holds while its sandbox folder exists and still records that uid."""
    return _recorded_uid(owner) == uid


def _write_claim(claim: Path, sandbox_dir: Path) -> None:
    tmp = claim.with_suffix(".tmp")
    tmp.write_text(str(sandbox_dir))
    tmp.replace(claim)
