"""A cage's ``/workspace`` as seen from the host: confined file access.

Every function takes ``workspace``, the host directory that is bind-mounted as
the cage's ``/workspace`` (``runtime.workspace_dir(sandbox_id)``), and a ``path``
as a client names it: ``/workspace/src/a.py`` or workspace-relative ``src/a.py``.

**Everything here is synchronous and blocking.** The server calls it with
``await asyncio.to_thread(files.read_text, ws, path)``;
:class:`caged_platform.services.mcp.MCPSession` does the same.

API (failures are :mod:`caged_platform.content.content_errors` exceptions)::

    workspace_path(path) -> str                  "/workspace/..." form, lexically checked
    resolve(workspace, path) -> Path             host path, symlinks resolved inside
    list_dir(workspace, path="/workspace") -> list[FileEntry]
                                                 directories first, then by name
    read_text(workspace, path, limit=READ_LIMIT) -> str
                                                 TooLarge over 1 MB; bytes that are not
                                                 UTF-8 come back as U+FFFD (lossy)
    write_text(workspace, path, content) -> int  bytes written; parents created;
                                                 atomic (temp file + rename); TooLarge
                                                 over 1 MB, like read_text
    delete(workspace, path) -> None              recursive; a final symlink is removed,
                                                 never followed; OperationFailed for trees
                                                 deeper than 3.11's rmtree can recurse
    search(workspace, pattern, limit=SEARCH_LIMIT) -> list[str]
                                                 glob on base names, skips .git contents

Confinement. The workspace's contents belong to the cage, which is untrusted and
runs concurrently with us, and the server may run with more rights than the
cage. So a client path is first checked lexically (``..`` may not climb above
``/workspace``; absolute paths must lie under ``/workspace``; no NUL), then walked
one component at a time with directory file descriptors, every ``open`` using
``O_NOFOLLOW``. Symbolic links are resolved by hand *in the cage's namespace*:
a relative target is followed if it stays inside, ``/workspace/...`` maps to the
workspace, and any other absolute target (``/etc``) is refused. A link swapped
in between two steps makes the ``O_NOFOLLOW`` open fail instead of leading
out. ``..`` in a client path is lexical (like Go's ``filepath.Clean``):
``a/link/../b`` is ``a/b`` whatever ``link`` is.

Nothing here executes or interprets what it reads: the host treats workspace
content as data only. git, which would (a repository's config names programs
to run), is not here: :mod:`caged_platform.content.cage_git` runs it inside the cage.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
import stat
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from pathlib import Path

from caged_core.models import FileEntry, FileType
from caged_platform.content.content_errors import (
    Conflict,
    ContentError,
    InvalidInput,
    NotFound,
    OperationFailed,
    PathRefused,
    TooLarge,
)

__all__ = [
    "READ_LIMIT",
    "SEARCH_LIMIT",
    "WORKSPACE",
    "delete",
    "list_dir",
    "read_text",
    "resolve",
    "search",
    "workspace_path",
    "write_text",
]

#: The cage's name for its workspace.
WORKSPACE = "/workspace"
#: Largest file :func:`read_text` returns (the contract's "1 MB").
READ_LIMIT = 1_000_000
#: Most names :func:`search` returns.
SEARCH_LIMIT = 1000

# Deepest directory level search descends to.
_SEARCH_DEPTH = 256
# Linux's own limit on links followed while resolving one path.
_MAX_SYMLINKS = 40
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


# --------------------------------------------------------------------------- paths


def _lexical_parts(path: str) -> list[str]:
    """The components of ``path`` below the workspace root, ``..`` resolved lexically."""
    if not isinstance(path, str):
        raise InvalidInput("the path must be a string")
    if "\x00" in path:
        raise InvalidInput("the path must not contain a NUL byte")
    components = [c for c in path.split("/") if c not in ("", ".")]
    if path.startswith("/"):
        if not components or components[0] != "workspace":
            raise PathRefused(f"{path} is outside {WORKSPACE}")
        components = components[1:]
    parts: list[str] = []
    for component in components:
        if component != "..":
            parts.append(component)
        elif parts:
            parts.pop()
        else:
            raise PathRefused(f"{path} leads out of {WORKSPACE}")
    return parts


def _display(parts: list[str]) -> str:
    return "/".join([WORKSPACE, *parts]) if parts else WORKSPACE


def _printable(name: str) -> str:
    # Names that are not UTF-8 arrive with surrogate escapes, which JSON cannot carry.
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def workspace_path(path: str) -> str:
    """``path`` in its canonical ``/workspace/...`` form.

    Raises :class:`InvalidInput` (NUL byte) or :class:`PathRefused` (leaves the
    workspace). Symbolic links are not looked at: this is for display and
    event records, not access.
    """
    return _display(_lexical_parts(path))


@dataclass(slots=True)
class _Location:
    """A resolved path: ``name`` inside the open directory ``dir_fd``.

    ``name`` is ``None`` when the path is that directory itself. ``name`` is
    never a symbolic link unless the walk was asked not to follow the last one;
    it may not exist.
    """

    dir_fd: int
    dir_parts: list[str] = field(default_factory=list)
    name: str | None = None

    @property
    def parts(self) -> list[str]:
        return self.dir_parts if self.name is None else [*self.dir_parts, self.name]


def _walk(
    root_fd: int, parts: list[str], shown: str, *, follow: bool, make_parents: bool
) -> _Location:
    """Walk ``parts`` from ``root_fd`` without ever leaving the workspace.

    Returns a location whose ``dir_fd`` the caller closes (unless it is
    ``root_fd``). Intermediate descriptors are closed as the walk moves on.
    """
    pending = deque(parts)
    dir_fd = root_fd
    dir_parts: list[str] = []
    hops = 0

    def move_to(new_fd: int, new_parts: list[str]) -> None:
        nonlocal dir_fd, dir_parts
        if dir_fd != root_fd:
            os.close(dir_fd)
        dir_fd, dir_parts = new_fd, new_parts

    try:
        while pending:
            name = pending.popleft()
            if name in ("", "."):
                continue
            if name == "..":  # only link targets still hold "..": client paths are lexical
                if not dir_parts:
                    raise PathRefused(f"{shown} leads out of {WORKSPACE} through a symbolic link")
                above = dir_parts[:-1]
                move_to(_reopen(root_fd, above, shown), above)
                continue
            last = not pending
            if last and not follow:
                return _Location(dir_fd, dir_parts, name)
            try:
                st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            except FileNotFoundError:
                if last:
                    return _Location(dir_fd, dir_parts, name)
                if not make_parents:
                    raise
                _make_dir(name, dir_fd)
                st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                hops += 1
                if hops > _MAX_SYMLINKS:
                    raise PathRefused(f"{shown} has too many levels of symbolic links")
                try:
                    target = os.readlink(name, dir_fd=dir_fd)
                except OSError as err:
                    if err.errno not in (errno.EINVAL, errno.ENOENT):
                        raise
                    # No longer a link since the stat (EINVAL) or gone: look again.
                    pending.appendleft(name)
                    continue
                components = target.split("/")
                if target.startswith("/"):
                    # Absolute targets mean what they mean inside the cage.
                    rest = [c for c in components if c]
                    if not rest or rest[0] != "workspace":
                        where = _display([*dir_parts, name])
                        raise PathRefused(
                            f"{where} is a symbolic link to {target}, outside {WORKSPACE}"
                        )
                    move_to(root_fd, [])
                    components = rest[1:]
                pending.extendleft(reversed(components))
                continue
            if last:
                return _Location(dir_fd, dir_parts, name)
            if not stat.S_ISDIR(st.st_mode):
                raise InvalidInput(f"{_display([*dir_parts, name])} is not a directory")
            try:
                new_fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
            except OSError as err:
                if err.errno not in (errno.ENOTDIR, errno.ELOOP):
                    raise
                # Replaced by a link since the stat: look again (counted as a hop).
                hops += 1
                if hops > _MAX_SYMLINKS:
                    raise PathRefused(f"{shown} keeps changing while being resolved") from err
                pending.appendleft(name)
                continue
            move_to(new_fd, [*dir_parts, name])
        return _Location(dir_fd, dir_parts, None)
    except BaseException:
        if dir_fd != root_fd:
            os.close(dir_fd)
        raise


def _reopen(root_fd: int, parts: list[str], shown: str) -> int:
    """Open the directory ``parts`` below the root again, following no links."""
    fd = root_fd
    try:
        for name in parts:
            try:
                new_fd = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except OSError as err:
                raise PathRefused(f"{shown} changed while being resolved") from err
            if fd != root_fd:
                os.close(fd)
            fd = new_fd
    except BaseException:
        if fd != root_fd:
            os.close(fd)
        raise
    return fd if fd != root_fd else os.dup(root_fd)


def _adopt_owner(fd_or_name: int | str, dir_fd: int) -> None:
    """Give a new entry its directory's owner when we run as root.

    The cage may run as another user; a root-owned file in its workspace is
    one it could not change.
    """
    if os.geteuid() != 0:
        return
    parent = os.fstat(dir_fd)
    if isinstance(fd_or_name, int):
        os.fchown(fd_or_name, parent.st_uid, parent.st_gid)
    else:
        os.chown(fd_or_name, parent.st_uid, parent.st_gid, dir_fd=dir_fd, follow_symlinks=False)


def _make_dir(name: str, dir_fd: int) -> None:
    try:
        os.mkdir(name, 0o777, dir_fd=dir_fd)
    except FileExistsError:
        return  # created concurrently; the walk stats it again
    _adopt_owner(name, dir_fd)


@contextmanager
def _os_errors(shown: str) -> Iterator[None]:
    """Turn the OS's refusals into content errors that name the client's path."""
    try:
        yield
    except ContentError:
        raise
    except FileNotFoundError as err:
        raise NotFound(f"{shown} does not exist") from err
    except NotADirectoryError as err:
        raise InvalidInput(f"{shown} is not a directory") from err
    except IsADirectoryError as err:
        raise InvalidInput(f"{shown} is a directory") from err
    except PermissionError as err:
        raise PathRefused(f"{shown}: permission denied") from err
    except OSError as err:
        if err.errno == errno.ENAMETOOLONG:
            raise InvalidInput(f"{shown}: the name is too long") from err
        if err.errno == errno.ELOOP:
            # A component became a link between the walk and the open: the cage is
            # changing the path right now, which is a conflict, not a refusal.
            raise Conflict(f"{shown} changed while being accessed; try again") from err
        raise OperationFailed(f"{shown}: {err.strerror or err}") from err


@contextmanager
def _locate(
    workspace: Path, path: str, *, follow: bool = True, make_parents: bool = False
) -> Iterator[_Location]:
    """Resolve ``path`` confined to ``workspace``; descriptors are closed on exit."""
    parts = _lexical_parts(path)
    shown = _display(parts)
    with _os_errors(shown):
        try:
            root_fd = os.open(workspace, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError as err:
            raise NotFound(f"the workspace directory for {shown} does not exist") from err
        try:
            location = _walk(root_fd, parts, shown, follow=follow, make_parents=make_parents)
            try:
                yield location
            finally:
                if location.dir_fd != root_fd:
                    os.close(location.dir_fd)
        finally:
            os.close(root_fd)


def resolve(workspace: Path, path: str) -> Path:
    """The host path ``path`` names, every symbolic link resolved inside the workspace.

    The result may not exist. Raises :class:`PathRefused` when the path or a
    link on it leads out of the workspace. Opening the returned path later is
    subject to races with the cage; the functions of this module never do that.
    """
    with _locate(workspace, path) as location:
        return workspace.joinpath(*location.parts)


# --------------------------------------------------------------------------- files


def _mod_time(st: os.stat_result) -> datetime:
    return datetime.fromtimestamp(st.st_mtime, tz=UTC)


def _link_entry(workspace: Path, link_path: str) -> tuple[FileType, int]:
    """Type and size of what a listed link points at; an escaping or dangling link is a file."""
    try:
        with _locate(workspace, link_path) as location:
            if location.name is None:
                return FileType.DIRECTORY, 0
            st = os.stat(location.name, dir_fd=location.dir_fd, follow_symlinks=False)
    except (ContentError, OSError):
        return FileType.FILE, 0
    if stat.S_ISDIR(st.st_mode):
        return FileType.DIRECTORY, 0
    return FileType.FILE, st.st_size


def list_dir(workspace: Path, path: str = WORKSPACE) -> list[FileEntry]:
    """The entries of a directory, directories first, then by name (case-insensitive).

    Entry paths are under the path as the client gave it. A symbolic link is
    listed as what it points at when that is inside the workspace, otherwise as
    an empty file. Raises :class:`NotFound`, :class:`InvalidInput` (not a
    directory) or :class:`PathRefused`.
    """
    base = _lexical_parts(path)
    shown = _display(base)
    entries: list[FileEntry] = []
    with _locate(workspace, path) as location, _os_errors(shown):
        if location.name is None:
            fd = os.dup(location.dir_fd)
        else:
            fd = os.open(location.name, _DIR_FLAGS, dir_fd=location.dir_fd)
        try:
            with os.scandir(fd) as listing:
                for item in listing:
                    st = item.stat(follow_symlinks=False)
                    entry_path = _display([*base, item.name])
                    if stat.S_ISLNK(st.st_mode):
                        kind, size = _link_entry(workspace, entry_path)
                    elif stat.S_ISDIR(st.st_mode):
                        kind, size = FileType.DIRECTORY, 0
                    else:
                        kind, size = FileType.FILE, st.st_size
                    entries.append(
                        FileEntry(
                            name=_printable(item.name),
                            path=_printable(entry_path),
                            type=kind,
                            size=size,
                            mod_time=_mod_time(st),
                        )
                    )
        finally:
            os.close(fd)
    entries.sort(key=lambda e: (not e.is_dir, e.name.casefold(), e.name))
    return entries


def read_text(workspace: Path, path: str, limit: int = READ_LIMIT) -> str:
    """A file's text. Raises :class:`TooLarge` over ``limit`` bytes.

    The bytes are decoded as UTF-8 with invalid sequences replaced by U+FFFD:
    the contract serves ``text/plain``, and a readable approximation of a
    binary file is more useful to a viewer than a refusal. Writing such text
    back does not reproduce the original bytes.
    """
    shown = workspace_path(path)
    with _locate(workspace, path) as location, _os_errors(shown):
        if location.name is None:
            raise InvalidInput(f"{shown} is a directory")
        # O_NONBLOCK: opening a FIFO the cage planted must not hang the server.
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        fd = os.open(location.name, flags, dir_fd=location.dir_fd)
        with open(fd, "rb", closefd=True) as handle:
            st = os.fstat(fd)
            if stat.S_ISDIR(st.st_mode):
                raise InvalidInput(f"{shown} is a directory")
            if not stat.S_ISREG(st.st_mode):
                raise InvalidInput(f"{shown} is not a regular file")
            if st.st_size > limit:
                raise TooLarge(f"{shown} is {st.st_size:,} bytes; at most {limit:,} can be read")
            data = handle.read(limit + 1)  # the file may have grown since the fstat
    if len(data) > limit:
        raise TooLarge(f"{shown} is over {limit:,} bytes; at most {limit:,} can be read")
    return data.decode("utf-8", errors="replace")


def write_text(workspace: Path, path: str, content: str) -> int:
    """Write ``content`` (UTF-8) to a file, creating missing parent directories.

    Atomic for readers: the text goes to a temporary file in the same
    directory, which is then renamed over the target. An existing file keeps
    its mode (and its owner, when we run as root). A final symbolic link inside
    the workspace is written through; one pointing out is refused. Returns the
    number of bytes written. Raises :class:`TooLarge` over :data:`READ_LIMIT`
    bytes: what is written here can always be read back with :func:`read_text`.
    """
    shown = workspace_path(path)
    try:
        data = content.encode("utf-8")
    except UnicodeEncodeError as err:
        raise InvalidInput(f"the content for {shown} is not valid Unicode text") from err
    if len(data) > READ_LIMIT:
        raise TooLarge(
            f"{shown} would be {len(data):,} bytes; at most {READ_LIMIT:,} can be written "
            "(and read back)"
        )
    with _locate(workspace, path, make_parents=True) as location, _os_errors(shown):
        if location.name is None:
            raise InvalidInput(f"{shown} is a directory")
        name, dir_fd = location.name, location.dir_fd
        try:
            existing: os.stat_result | None = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            existing = None
        if existing is not None and stat.S_ISDIR(existing.st_mode):
            raise InvalidInput(f"{shown} is a directory")
        if existing is not None and not stat.S_ISREG(existing.st_mode):
            raise InvalidInput(f"{shown} is not a regular file")
        temp = f".caged-write-{secrets.token_hex(6)}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(temp, flags, 0o666, dir_fd=dir_fd)
        try:
            with open(fd, "wb", closefd=True) as handle:
                handle.write(data)
                handle.flush()
                if existing is not None:
                    os.fchmod(fd, stat.S_IMODE(existing.st_mode))
                    if os.geteuid() == 0:
                        os.fchown(fd, existing.st_uid, existing.st_gid)
                else:
                    _adopt_owner(fd, dir_fd)
                os.fsync(fd)
            os.replace(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            with suppress(FileNotFoundError):
                os.unlink(temp, dir_fd=dir_fd)
            raise
    return len(data)


def delete(workspace: Path, path: str) -> None:
    """Delete a file, a symbolic link (not its target) or a directory tree.

    Refuses the workspace root itself (:class:`PathRefused`); a missing path is
    :class:`NotFound`. Directory trees are removed with descriptor-relative
    calls that do not follow links.
    """
    shown = workspace_path(path)
    with _locate(workspace, path, follow=False) as location, _os_errors(shown):
        if location.name is None:
            raise PathRefused(f"refusing to delete {shown} itself")
        st = os.stat(location.name, dir_fd=location.dir_fd, follow_symlinks=False)
        if not stat.S_ISDIR(st.st_mode):
            os.unlink(location.name, dir_fd=location.dir_fd)
            return
        try:
            shutil.rmtree(location.name, dir_fd=location.dir_fd)
        except RecursionError as err:
            # 3.11's rmtree recurses once per level; a cage can nest deeper than that.
            raise OperationFailed(
                f"{shown} is nested too deeply to delete from the host; delete it in the sandbox"
            ) from err


def search(workspace: Path, pattern: str, limit: int = SEARCH_LIMIT) -> list[str]:
    """``/workspace/...`` paths of files and directories whose base name matches ``pattern``.

    ``pattern`` is a shell glob (``*.py``, ``test_?.txt``, ``[ab]*``) matched
    case-sensitively against base names only, so it may not contain ``/``.
    Symbolic links are matched but never descended into; the contents of
    ``.git`` directories are skipped (an agent searching its project does not
    want git's objects), and so is anything more than 256 levels deep. At most
    ``limit`` paths are returned, sorted.
    """
    if not isinstance(pattern, str) or not pattern:
        raise InvalidInput("the search pattern is empty")
    if "\x00" in pattern or "/" in pattern:
        raise InvalidInput("the search pattern matches base names: it may not contain / or NUL")
    found: list[str] = []
    with _locate(workspace, WORKSPACE) as location, _os_errors(WORKSPACE):
        for directory, dirnames, filenames, _ in os.fwalk(".", dir_fd=location.dir_fd):
            relative = [] if directory == "." else directory[2:].split("/")
            if len(relative) >= _SEARCH_DEPTH:
                dirnames.clear()  # fwalk recurses once per level: stop well before the limit
            for name in sorted(dirnames + filenames):
                if fnmatchcase(name, pattern):
                    found.append(_printable(_display([*relative, name])))
                    if len(found) >= limit:
                        return sorted(found)
            dirnames[:] = sorted(d for d in dirnames if d != ".git")
    return sorted(found)
