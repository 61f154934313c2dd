"""Snapshot archives of a cage's ``/workspace``: create, restore, download.

**Everything here is synchronous and blocking**; the server runs it with
``asyncio.to_thread`` (and streams :func:`iter_archive` through a thread).

API (failures are :mod:`caged_platform.content.content_errors` exceptions)::

    check_limits(count_for_sandbox, account_total_bytes, *, sandbox_id="") -> int
        LimitReached (403, reason plan_limit_reached) at 20 snapshots per sandbox
        or 10 GiB per account; otherwise the most bytes the new archive may take
    create_archive(workspace, dest, *, max_bytes=MAX_SNAPSHOT_BYTES) -> int
        tar.gz of the workspace's contents, streamed; returns its size. Over
        max_bytes: the partial file is deleted and TooLarge (413) raised
    restore_archive(archive, workspace) -> None
        replaces the workspace's contents; OperationFailed (500) on a corrupt or
        unsafe archive, with the workspace untouched
    iter_archive(path, chunk=CHUNK) -> Iterator[bytes]
        the archive in 64 KiB chunks; NotFound (404) if it is gone
    download_token(snapshot_id, secret, ttl=DOWNLOAD_TTL) -> str
    download_url(snapshot_id, secret, ttl=DOWNLOAD_TTL) -> str
        "/v1/snapshots/{id}/download/content?sig=<token>" (the API key is still required)
    verify_download_token(snapshot_id, token, secret) -> None
        TokenRefused (403) when forged, for another snapshot, or expired

Archives hold the workspace's entries (not the root itself) under relative
names: regular files with their mode (less setuid/setgid) and mtime,
directories, and symbolic links stored as links, never followed. FIFOs, sockets
and devices are skipped. The cage keeps running while an archive is made, so
each file is captured as it was when read; pause the sandbox first for a
consistent point in time.

The host handles sandbox-controlled content here, so this is what keeps it
data (audited for issue 9, where the host's git was found running a
repository's programs): nothing is executed or interpreted; every open is
descriptor-relative with ``O_NOFOLLOW`` (a link swapped in fails the open) and
``O_NONBLOCK`` (a FIFO swapped in cannot hang us), and only what ``fstat``
says is a regular file is read. A hard link is archived as a plain copy of the
file: the cage can only link what it sees on the same mount, which is its own
workspace (links into its image or home are cross-mount, ``EXDEV``), so no
host file can be read through one; device nodes cannot be made in its user
namespace, and would be skipped anyway. Restore (below) refuses hard links,
devices, FIFOs and anything below a link, strips setuid/setgid, and owns
everything by the workspace's owner, so an archive cannot write outside the
workspace or leave a privileged file behind on the host.

Restore extracts into a hidden sibling directory of the workspace, then swaps
the *contents* of the workspace rather than the directory itself: the workspace
is the source of a running cage's bind mount, and replacing its inode would
leave the cage looking at the old, deleted tree. The swap renames every old
top-level entry into a trash directory and every new one in, and puts
everything back if a rename fails. It is not atomic as seen from inside a
running cage: for the few milliseconds of the renames the cage sees a partial
workspace, and processes holding files or directories open keep the old ones.
The server should pause the target around a restore.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import hmac
import os
import secrets
import stat
import tarfile
import time
import zlib
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

from caged_platform.content.content_errors import (
    ContentError,
    LimitReached,
    NotFound,
    OperationFailed,
    TokenRefused,
    TooLarge,
)

__all__ = [
    "CHUNK",
    "DOWNLOAD_TTL",
    "MAX_ACCOUNT_SNAPSHOT_BYTES",
    "MAX_SNAPSHOTS_PER_SANDBOX",
    "MAX_SNAPSHOT_BYTES",
    "check_limits",
    "create_archive",
    "download_token",
    "download_url",
    "iter_archive",
    "restore_archive",
    "verify_download_token",
]

MAX_SNAPSHOTS_PER_SANDBOX = 20
MAX_SNAPSHOT_BYTES = 2 * 1024**3
MAX_ACCOUNT_SNAPSHOT_BYTES = 10 * 1024**3
#: Download chunk size.
CHUNK = 64 * 1024
#: Seconds a download link stays valid (the contract's "one hour").
DOWNLOAD_TTL = 3600

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: a FIFO swapped in for a file must not hang the snapshot.
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_GIB = 1024**3
# Passes over the workspace when moving its entries aside (see _swap_contents).
_SWEEPS = 5


# --------------------------------------------------------------------------- limits


def check_limits(count_for_sandbox: int, account_total_bytes: int, *, sandbox_id: str = "") -> int:
    """Refuse a new snapshot over the plan limits; else return its byte budget.

    ``count_for_sandbox`` is how many snapshots the sandbox has now and
    ``account_total_bytes`` the size of all of the account's snapshots. The
    budget is the smaller of the per-snapshot limit and what is left of the
    account's; pass it to :func:`create_archive` as ``max_bytes``.
    """
    if count_for_sandbox >= MAX_SNAPSHOTS_PER_SANDBOX:
        raise LimitReached(
            f"a sandbox can keep at most {MAX_SNAPSHOTS_PER_SANDBOX} snapshots; "
            "delete one to take another",
            action="delete_snapshot",
            subject_type="sandbox",
            subject_id=sandbox_id,
        )
    left = MAX_ACCOUNT_SNAPSHOT_BYTES - account_total_bytes
    if left <= 0:
        raise LimitReached(
            f"the account's snapshots use {account_total_bytes / _GIB:.1f} GiB of the "
            f"{MAX_ACCOUNT_SNAPSHOT_BYTES // _GIB} GiB allowed; delete some to take another",
            action="delete_snapshot",
            subject_type="account",
        )
    return min(MAX_SNAPSHOT_BYTES, left)


# --------------------------------------------------------------------------- create


class _Overflow(Exception):
    """The archive grew past its budget (internal: becomes TooLarge)."""


class _CountingWriter:
    """A file wrapper that counts bytes written and stops at a budget."""

    def __init__(self, handle: BinaryIO, budget: int) -> None:
        self._handle = handle
        self._budget = budget
        self.count = 0

    def write(self, data: bytes) -> int:
        self.count += len(data)
        if self.count > self._budget:
            raise _Overflow
        return self._handle.write(data)

    def flush(self) -> None:
        self._handle.flush()


class _Exactly:
    """Read exactly ``size`` bytes: a file that shrank is padded, one that grew is cut.

    The size in a tar header is written before the content; a file the cage
    changes meanwhile must still yield that many bytes or the archive breaks.
    """

    def __init__(self, handle: BinaryIO, size: int) -> None:
        self._handle = handle
        self._left = size

    def read(self, size: int = -1) -> bytes:
        want = self._left if size < 0 else min(size, self._left)
        data = self._handle.read(want)
        if len(data) < want:
            data += b"\0" * (want - len(data))
        self._left -= want
        return data


def _member(name: str, st: os.stat_result) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    # No setuid/setgid: a downloaded archive extracted by root (GNU tar keeps modes for
    # root) would otherwise plant the sandbox's programs as setuid-root files.
    info.mode = stat.S_IMODE(st.st_mode) & ~(stat.S_ISUID | stat.S_ISGID)
    info.mtime = int(st.st_mtime)
    # Owners are not kept: a restore gives every entry the workspace's owner.
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _open_below(start_fd: int, parts: list[str]) -> int | None:
    """Open a directory below ``start_fd``, following no links; None if it changed meanwhile."""
    fd = os.dup(start_fd)
    for name in parts:
        try:
            new_fd = os.open(name, _DIR_FLAGS, dir_fd=fd)
        except OSError:
            os.close(fd)
            return None
        os.close(fd)
        fd = new_fd
    return fd


def _add_file(tar: tarfile.TarFile, info: tarfile.TarInfo, name: str, dir_fd: int) -> None:
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    except OSError:
        return  # replaced by a link or removed since it was listed
    with open(fd, "rb") as handle:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return
        info.size = st.st_size
        tar.addfile(info, _Exactly(handle, st.st_size))


def _add_tree(tar: tarfile.TarFile, root_fd: int) -> None:
    """Add everything below ``root_fd``, depth first, without following any link.

    Iterative, so that a cage's very deep tree cannot exhaust the recursion
    limit, and holding at most three descriptors however deep or wide the
    tree is: a directory is opened from the one listed just before it when
    that is its parent (the common case in depth-first order), otherwise again
    from the root by name.
    """
    pending: list[list[str]] = [[]]
    previous: tuple[list[str], int] | None = None
    try:
        while pending:
            parts = pending.pop()
            if previous is not None and previous[0] == parts[:-1]:
                dir_fd = _open_below(previous[1], parts[-1:])
            else:
                dir_fd = _open_below(root_fd, parts)
            if previous is not None:
                os.close(previous[1])
                previous = None
            if dir_fd is None:
                continue
            previous = (parts, dir_fd)
            subdirs: list[list[str]] = []
            for name in sorted(os.listdir(dir_fd)):
                try:
                    st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
                except FileNotFoundError:
                    continue
                info = _member("/".join([*parts, name]), st)
                if stat.S_ISLNK(st.st_mode):
                    info.type = tarfile.SYMTYPE
                    info.linkname = os.readlink(name, dir_fd=dir_fd)
                    tar.addfile(info)
                elif stat.S_ISDIR(st.st_mode):
                    info.type = tarfile.DIRTYPE
                    tar.addfile(info)
                    subdirs.append([*parts, name])
                elif stat.S_ISREG(st.st_mode):
                    _add_file(tar, info, name, dir_fd)
            pending.extend(reversed(subdirs))
    finally:
        if previous is not None:
            os.close(previous[1])


def create_archive(workspace: Path, dest: Path, *, max_bytes: int = MAX_SNAPSHOT_BYTES) -> int:
    """Write a tar.gz of the workspace's contents to ``dest``; return its size in bytes.

    The archive is streamed to ``dest.partial`` and renamed to ``dest`` once
    complete, so ``dest`` never holds a partial archive. Symbolic links are
    stored as links. Past ``max_bytes`` (compressed) the partial file is
    deleted and :class:`TooLarge` raised.
    """
    partial = dest.with_name(dest.name + ".partial")
    try:
        root_fd = os.open(workspace, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError as err:
        raise NotFound("the sandbox's workspace does not exist") from err
    try:
        with open(partial, "wb") as raw:  # a leftover .partial can only be from a crash
            counter = _CountingWriter(raw, max_bytes)
            # Level 6: most of level 9's ratio at a fraction of its time on big trees.
            with (
                gzip.GzipFile(fileobj=counter, mode="wb", compresslevel=6, mtime=0) as gz,
                tarfile.open(fileobj=gz, mode="w|", format=tarfile.PAX_FORMAT) as tar,
            ):
                _add_tree(tar, root_fd)
        os.replace(partial, dest)
    except _Overflow as err:
        partial.unlink(missing_ok=True)
        raise TooLarge(
            f"the snapshot archive grew past {max_bytes:,} bytes and was abandoned"
        ) from err
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        os.close(root_fd)
    return dest.stat().st_size


# --------------------------------------------------------------------------- restore


class _ArchiveFilter:
    """Extraction filter: the rules of tarfile's ``data`` filter, and stricter ones.

    Refused: absolute names, ``..`` components, hard links, devices, FIFOs,
    names listed twice, and entries whose parent directory was not listed
    before them as a directory, which rules out anything below a symbolic
    link (the classic way of writing through a link out of the destination).
    Modes lose setuid/setgid/sticky and group/other write; owners are
    dropped (the restore gives every entry the workspace's owner).

    Two deliberate differences from ``filter="data"``. Symbolic links are kept
    whatever they point at: inside the cage ``.venv/bin/python ->
    /usr/bin/python3`` is normal, a link is only data until something follows
    it, and nothing here does. And there is no per-entry ``realpath`` check:
    with the rules above no entry can lead out, and that check costs one
    ``lstat`` per level per entry, which took minutes on a 1,000-level tree.
    Directories keep their mode (plus owner rwx, so extraction can fill them).
    """

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._dirs: set[str] = {""}
        self._links: set[str] = set()

    def __call__(self, member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo | None:
        name = member.name
        if name.startswith("/"):
            raise _unsafe(f"it holds an absolute name, {name}")
        parts = [p for p in name.split("/") if p not in ("", ".")]
        if not parts:
            return None  # the archive's root entry
        if ".." in parts:
            raise _unsafe(f"{name} climbs out with ..")
        key = "/".join(parts)
        if key in self._seen:
            raise _unsafe(f"it lists {key} twice")
        parent = "/".join(parts[:-1])
        if parent in self._links:
            raise _unsafe(f"{key} lies below a symbolic link")
        if parent not in self._dirs:
            raise _unsafe(f"{key} comes before its directory")
        self._seen.add(key)
        mode = member.mode & 0o755
        if member.issym():
            self._links.add(key)
        elif member.isdir():
            self._dirs.add(key)
            mode |= 0o700
        elif member.isreg():
            if not mode & 0o100:
                mode &= ~0o111
            mode |= 0o600
        else:
            raise _unsafe(f"{key} is not a file, directory or symbolic link")
        return member.replace(name=key, mode=mode, uid=0, gid=0, uname="", gname="", deep=False)


def _unsafe(why: str) -> OperationFailed:
    return OperationFailed(f"the snapshot archive is unsafe: {why}")


def _extract(archive: Path, staging: Path) -> None:
    try:
        with tarfile.open(archive, mode="r:gz", errorlevel=2) as tar:
            tar.extractall(staging, filter=_ArchiveFilter())
    except ContentError:
        raise
    except FileNotFoundError as err:
        raise NotFound("the snapshot archive is missing") from err
    except (tarfile.TarError, EOFError, zlib.error, OSError) as err:
        raise OperationFailed(f"the snapshot archive could not be read: {err}") from err


def _adopt_owner(tree: Path, owner: os.stat_result) -> None:
    """Give every extracted entry the workspace's owner (only possible, and needed, as root)."""
    if os.geteuid() != 0:
        return
    # Iterative rather than os.walk, which recurses once per level in 3.11.
    pending = [str(tree)]
    while pending:
        with os.scandir(pending.pop()) as listing:
            for item in listing:
                os.lchown(item.path, owner.st_uid, owner.st_gid)
                if item.is_dir(follow_symlinks=False):
                    pending.append(item.path)


def _discard(tree: Path) -> None:
    """``rm -rf`` for our own staging and trash directories, which the cage cannot see.

    Iterative because 3.11's ``shutil.rmtree`` recurses once per level and
    fails on the deep trees a cage can make. Failures are ignored: a
    leftover hidden directory must not turn a finished restore into an error.
    """
    stack: list[tuple[str, bool]] = [(str(tree), False)]
    with suppress(OSError):
        while stack:
            path, emptied = stack.pop()
            if emptied:
                os.rmdir(path)
                continue
            stack.append((path, True))
            with os.scandir(path) as listing:
                for item in listing:
                    if item.is_dir(follow_symlinks=False):
                        stack.append((item.path, False))
                    else:
                        os.unlink(item.path)


def _roll_back(
    fds: tuple[int, int, int], moved_out: list[str], moved_in: list[str], trash: Path
) -> list[str]:
    """Undo a half-done swap; return the names that could not be put back."""
    ws_fd, staging_fd, trash_fd = fds
    stuck: list[str] = []
    for name in reversed(moved_in):
        try:
            os.rename(name, name, src_dir_fd=ws_fd, dst_dir_fd=staging_fd)
        except OSError:
            stuck.append(name)
    for name in reversed(moved_out):
        try:
            os.rename(name, name, src_dir_fd=trash_fd, dst_dir_fd=ws_fd)
        except OSError:
            stuck.append(name)
    return stuck


def _swap_contents(workspace: Path, staging: Path, trash: Path) -> None:
    """Move the workspace's entries into ``trash`` and ``staging``'s in, or put all back."""
    trash.mkdir(mode=0o700)
    fds = (
        os.open(workspace, _DIR_FLAGS),
        os.open(staging, _DIR_FLAGS),
        os.open(trash, _DIR_FLAGS),
    )
    ws_fd, staging_fd, trash_fd = fds
    moved_out: list[str] = []
    moved_in: list[str] = []
    try:
        # The cage may create entries while we move; sweep until none are left.
        for _ in range(_SWEEPS):
            current = os.listdir(ws_fd)
            if not current:
                break
            for name in current:
                os.rename(name, name, src_dir_fd=ws_fd, dst_dir_fd=trash_fd)
                moved_out.append(name)
        else:
            raise OSError(errno.EBUSY, "the workspace kept gaining new entries")
        for name in os.listdir(staging_fd):
            os.rename(name, name, src_dir_fd=staging_fd, dst_dir_fd=ws_fd)
            moved_in.append(name)
    except OSError as err:
        stuck = _roll_back(fds, moved_out, moved_in, trash)
        if stuck:
            # Keep the trash: it holds the only copy of what could not go back.
            raise OperationFailed(
                f"restoring the snapshot failed ({err.strerror or err}) and {len(stuck)} "
                f"entries could not be put back; the old files are kept in {trash.name} "
                "beside the workspace"
            ) from err
        _discard(trash)
        raise OperationFailed(
            f"restoring the snapshot failed ({err.strerror or err}); the workspace is unchanged"
        ) from err
    finally:
        for fd in fds:
            os.close(fd)
    _discard(trash)


def restore_archive(archive: Path, workspace: Path) -> None:
    """Replace the workspace's contents with the archive's.

    The archive is extracted into a hidden sibling of the workspace first;
    any failure up to then (a corrupt or unsafe archive) leaves the workspace
    untouched and raises :class:`OperationFailed` (:class:`NotFound` if the
    archive is missing). Then the contents are swapped as described in the
    module docstring. Entries get the workspace's owner when we run as root.
    """
    try:
        ws_stat = os.stat(workspace)
    except FileNotFoundError as err:
        raise NotFound("the target sandbox's workspace does not exist") from err
    parent = workspace.parent
    if os.stat(parent).st_dev != ws_stat.st_dev:
        # Renames cannot cross filesystems, and copying into a live workspace
        # would follow links the cage plants.
        raise OperationFailed("the workspace is a separate filesystem; it cannot be restored")
    token = secrets.token_hex(4)
    staging = parent / f".{workspace.name}.restore-{token}"
    staging.mkdir(mode=0o700)
    try:
        _extract(archive, staging)
        _adopt_owner(staging, ws_stat)
        _swap_contents(workspace, staging, parent / f".{workspace.name}.trash-{token}")
    finally:
        _discard(staging)


# --------------------------------------------------------------------------- download


def _chunks(handle: BinaryIO, chunk: int) -> Iterator[bytes]:
    with handle:
        while block := handle.read(chunk):
            yield block


def iter_archive(path: Path, chunk: int = CHUNK) -> Iterator[bytes]:
    """The archive's bytes in ``chunk``-sized pieces, for a streaming response.

    The file is opened now, so a missing archive is :class:`NotFound` before
    any byte is sent; it is closed when the iterator is exhausted or closed.
    """
    try:
        handle = open(path, "rb")  # noqa: SIM115 - _chunks closes it
    except FileNotFoundError as err:
        raise NotFound("the snapshot archive is missing") from err
    return _chunks(handle, chunk)


def _signature(snapshot_id: str, expires: int, secret: bytes) -> str:
    # The prefix keeps these signatures from being valid for any other use of the secret.
    message = f"caged-snapshot-download\x00{snapshot_id}\x00{expires}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def download_token(
    snapshot_id: str, secret: bytes, ttl: int = DOWNLOAD_TTL, *, now: float | None = None
) -> str:
    """A token that lets one snapshot be downloaded until ``ttl`` seconds from now.

    ``secret`` is the server's own random key (at least 32 bytes). The token
    is ``<expiry unix seconds>.<hex HMAC-SHA256>``; it adds expiry to the
    download URL and does not replace the API key.
    """
    expires = int((time.time() if now is None else now) + ttl)
    return f"{expires}.{_signature(snapshot_id, expires, secret)}"


def download_url(snapshot_id: str, secret: bytes, ttl: int = DOWNLOAD_TTL) -> str:
    """The API-relative download URL for ``GET /snapshots/{id}/download``'s ``url``."""
    token = download_token(snapshot_id, secret, ttl)
    return f"/v1/snapshots/{quote(snapshot_id, safe='')}/download/content?sig={token}"


def verify_download_token(
    snapshot_id: str, token: str, secret: bytes, *, now: float | None = None
) -> None:
    """Raise :class:`TokenRefused` unless ``token`` is a live token for ``snapshot_id``."""
    expires_text, dot, signature = token.partition(".")
    if not dot or not expires_text.isdigit():
        raise TokenRefused("the download link is malformed; ask for a new one")
    expected = _signature(snapshot_id, int(expires_text), secret)
    if not hmac.compare_digest(signature, expected):
        raise TokenRefused("the download link is not valid for this snapshot")
    if (time.time() if now is None else now) >= int(expires_text):
        raise TokenRefused("the download link has expired; ask for a new one")
