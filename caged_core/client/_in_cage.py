"""Workspace verbs the REST API lacks, as small scripts run *inside* the sandbox.

The contract has list/read/write and a git diff, but no recursive listing (for a
fuzzy find over the whole workspace), no first bytes of a file (to describe a
binary one), no mkdir, rename or delete, and no git status with ignored files.
Every platform offers ``POST /sandboxes/{id}/exec`` (``sh -c`` in ``/workspace``),
so :class:`~caged_core.client.files.Files` builds these from it: git and the
shell run in the cage, never on the caller's machine.

Each script here is fixed text with the caller's paths ``shlex``-quoted, so no
caller text is ever parsed as shell. Each prints :data:`MARK` then its answer
base64-encoded (exec output is decoded as UTF-8 and may merge stderr; base64
keeps names with any bytes exact), then its exit status. The answer comes from
the sandbox and is untrusted: it is only decoded, and anything malformed is a
:class:`~caged_core.errors.CagedCommandError`.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import UTC, datetime

from caged_core.errors import CagedCommandError
from caged_core.framing import unframe
from caged_core.models import FileEntry, FileType, GitFileStatus

__all__ = [
    "MARK",
    "WALK_LIMIT",
    "WORKSPACE",
    "Answer",
    "GitStatus",
    "delete_script",
    "git_status_script",
    "head_script",
    "mkdir_script",
    "parse",
    "parse_git_status",
    "parse_walk",
    "rename_script",
    "walk_script",
]

#: The line that starts every answer.
MARK = "@caged-in-cage"
#: The sandbox's workspace.
WORKSPACE = "/workspace"
#: Most entries :func:`walk_script` lists.
WALK_LIMIT = 200_000

# Runs ``body`` (which writes its answer to stdout, errors to "$d/err") and frames it:
# MARK, base64 of stdout, ".", base64 of stderr's tail, ".", the exit status.
_FRAME = f"""\
d=$(mktemp -d) || exit 125
trap 'rm -rf "$d"' EXIT
echo '{MARK}'
{{ ( @BODY@ ) 2>"$d/err"; echo $? >"$d/rc"; }} | base64
echo .
tail -c 2048 "$d/err" | base64
echo .
cat "$d/rc"
"""


def _framed(body: str) -> str:
    return _FRAME.replace("@BODY@", body)


def absolute(path: str) -> str:
    """A client path (``src/a.py`` or ``/workspace/src/a.py``) as ``/workspace/...``."""
    if path.startswith("/"):
        return path
    return f"{WORKSPACE}/{path}" if path else WORKSPACE


def walk_script(limit: int = WALK_LIMIT) -> str:
    """Every file and directory below ``/workspace`` (not inside ``.git``), NUL-separated
    as ``<type> <size> <mtime> <relative path>``."""
    find = (
        "{ cd /workspace && find . -mindepth 1 -name .git -prune -o "
        r"-printf '%y %s %T@ %P\0' | head -z -n " + str(int(limit)) + "; }"
    )
    return _framed(find)


def head_script(path: str, count: int) -> str:
    """The first ``count`` bytes of a file."""
    return _framed(f"head -c {int(count)} -- {shlex.quote(absolute(path))}")


def mkdir_script(path: str) -> str:
    """Create a directory and its missing parents."""
    return _framed(f"mkdir -p -- {shlex.quote(absolute(path))}")


def rename_script(old: str, new: str) -> str:
    """Rename ``old`` to ``new``; refuse when ``new`` exists (never overwrite)."""
    target = shlex.quote(absolute(new))
    return _framed(
        f"{{ if [ -e {target} ] || [ -L {target} ]; then "
        f"echo 'already exists: '{target} >&2; exit 17; fi; "
        f"mv -T -- {shlex.quote(absolute(old))} {target}; }}"
    )


def delete_script(path: str) -> str:
    """Delete a file, a link (not its target) or a directory tree."""
    return _framed(f"rm -rf -- {shlex.quote(absolute(path))}")


def git_status_script() -> str:
    """``git status`` of the workspace with ignored files: the top level, then the
    porcelain entries, NUL-separated. Exit 128 with nothing printed means "not a repository"."""
    git = (
        "git -c safe.directory='*' -c core.quotePath=false -c color.ui=false --no-pager"
        " status --porcelain=v1 -z --untracked-files=all --ignored=matching --no-renames"
        " --ignore-submodules=all"
    )
    return _framed(
        "{ command -v git >/dev/null || exit 127; "
        'export GIT_OPTIONAL_LOCKS=0 GIT_CEILING_DIRECTORIES="/"; '
        "top=$(git -c safe.directory='*' rev-parse --show-toplevel 2>/dev/null) || exit 128; "
        f'printf "%s\\0" "$top"; {git}; }}'
    )


@dataclass(frozen=True, slots=True)
class Answer:
    """What a framed script said: its stdout bytes, the tail of stderr, its exit status."""

    stdout: bytes
    stderr: str
    code: int


def parse(what: str, output: str) -> Answer:
    """Decode a framed answer; raise :class:`CagedCommandError` when it cannot be read."""
    _, found, rest = output.partition(MARK + "\n")
    try:
        if not found:
            raise ValueError("no answer")
        stdout, stderr, code = unframe(rest.split("\n"))
    except ValueError as err:
        last = output.strip().splitlines()[-1:] or ["(no output)"]
        raise CagedCommandError(
            f"{what}: the sandbox gave an answer that could not be read: {last[0][:200]}",
            exit_code=None,
        ) from err
    return Answer(stdout, stderr.decode("utf-8", "replace"), code)


def check(what: str, answer: Answer) -> Answer:
    """``answer`` when it succeeded, else a :class:`CagedCommandError` with its last word."""
    if answer.code != 0:
        said = answer.stderr.strip().splitlines()
        detail = said[-1] if said else f"exit status {answer.code}"
        raise CagedCommandError(f"{what} failed: {detail}", exit_code=answer.code)
    return answer


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def parse_walk(stdout: bytes) -> list[FileEntry]:
    """The entries of :func:`walk_script`'s answer, in the order found."""
    entries = []
    for record in stdout.split(b"\0"):
        fields = record.split(b" ", 3)
        if len(fields) != 4 or not fields[3]:
            continue  # the empty tail after the last NUL, or a record cut at the cap
        kind, size, mtime, relative = fields
        try:
            modified = datetime.fromtimestamp(float(mtime), tz=UTC)
            length = int(size)
        except (ValueError, OverflowError):
            continue
        name = _text(relative)
        entries.append(
            FileEntry(
                name=name.rsplit("/", 1)[-1],
                path=f"{WORKSPACE}/{name}",
                type=FileType.DIRECTORY if kind == b"d" else FileType.FILE,
                size=0 if kind == b"d" else length,
                mod_time=modified,
            )
        )
    return entries


@dataclass(frozen=True, slots=True)
class GitStatus:
    """The git state of the workspace: None when it is not in a repository.

    ``files`` paths are ``/workspace/...``; statuses are the contract's four
    (modified, added, deleted, untracked) plus ``ignored``.
    """

    files: list[GitFileStatus] | None

    @property
    def is_repository(self) -> bool:
        """Whether the workspace is inside a git work tree."""
        return self.files is not None


def _status_of(code: str) -> str:
    if code == "??":
        return "untracked"
    if code == "!!":
        return "ignored"
    if "D" in code:
        return "deleted"
    if "A" in code:
        return "added"
    return "modified"


def parse_git_status(answer: Answer) -> GitStatus:
    """:func:`git_status_script`'s answer (128 = not a repository)."""
    if answer.code == 128 and not answer.stdout:
        return GitStatus(None)
    if answer.code == 127:
        raise CagedCommandError("git is not installed in this sandbox", exit_code=127)
    check("git status", answer)
    top, *records = _text(answer.stdout).split("\0")
    top = top.rstrip("/")
    statuses = [
        GitFileStatus(path=f"{top}/{record[3:].rstrip('/')}", status=_status_of(record[:2]))
        for record in records
        if len(record) > 3
    ]
    return GitStatus(statuses)
