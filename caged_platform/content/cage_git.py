"""git on a sandbox's repository, run inside the sandbox's own cage.

``GET /v1/sandboxes/{id}/git/diff`` and the MCP tools ``git_status``,
``git_diff``, ``git_log`` and ``git_commit`` all come here::

    git = in_sandbox(runtime, sandbox_id)   # or CageGit(exec_fn) with any ExecFn
    await git.diff(path=None) -> GitDiff    files, unstaged and staged diff
    await git.status() -> str               ``git status --short --branch``
    await git.log(count=10) -> str          one line per commit, "" with no commits
    await git.commit(message) -> str        ``add -A`` then commit; git's summary line

Failures are :mod:`caged_platform.content.content_errors` exceptions:
:class:`NotARepository` (a :class:`Conflict`, 409) when ``/workspace`` is not a
work tree — the HTTP route answers that with an empty :class:`GitDiff`, as the
contract asks — :class:`Conflict` when the sandbox is not running or paused,
there is nothing to commit, git is not installed in the template or the
sandbox's own git holds the index lock, :class:`InvalidInput` for bad
arguments, and :class:`OperationFailed` (500) when git fails, times out
(:data:`GIT_TIMEOUT` per command) or gives an answer that cannot be read.

**Why inside the cage.** A repository is sandbox-controlled content that git
*executes*: ``.git/config`` and what it includes can name filter drivers,
textconv and external diff programs, ``core.fsmonitor``, ``core.pager``,
``core.sshCommand``, aliases and hooks, and ``core.worktree``, a ``.git`` file,
``commondir`` or alternates point git at other directories. Running the host's
git on it (as this platform once did) let a sandbox run programs on the host
as root: a filter named ``a=b`` slipped past ``-c filter.<name>.clean=cat``
because git splits ``-c`` at the first ``=``. No list of settings to override
can keep up with git, so none is kept: git runs where the repository's
programs can do no more than the sandbox can already do itself, under the
cage's user, filesystem, network and limits. Some settings are still passed
(``-c``) — not for safety, but so that answers keep the shape this module
parses (no colour, no quoted paths, no signature lines) and a tool call never
waits on or starts unasked work (hooks, signing, gc, network fetches). A
``read_only`` key that asks for a diff can thus make the sandbox's own
configured programs run inside the sandbox; they gain nothing by it that the
sandbox's writers did not already have, and the key only sees git's output.

**How.** Each git command is one :data:`ExecFn` call (``sh -c`` in the cage's
``/workspace``, see :meth:`Runtime.exec
<caged_platform.runtime.api.Runtime.exec>`): a short POSIX script that checks
that git exists and that ``/workspace`` is a work tree (never looking above it),
runs git with its stdout capped in the cage, and prints a header line, then
stdout and the tail of stderr base64-encoded (the runtime's exec interleaves
the two streams and decodes them as UTF-8; base64 keeps them apart and keeps
the bytes exact), then git's exit status. Every argument is ``shlex``-quoted;
the commit message travels base64-encoded and is fed to git on stdin, so no
text of the caller's is ever parsed by a shell. The answer is untrusted (the
cage may tamper with it): it is only decoded, never interpreted, and anything
malformed is an :class:`OperationFailed`. Nothing of this module runs git or
reads the workspace on the host, and it needs no hook in the runtime beyond
``exec``.

**Audit of the other places where the host meets sandbox content** (issue 9):

- *Repository clone at create* (``SandboxService._clone_steps``): already runs
  ``git clone`` inside the cage through ``Runtime.exec``, so the repository URL
  (``file://``, ``ext::``, local paths) and the cloned content are resolved
  in the cage, under its network mode: ``none`` cannot clone, ``allowlist``
  needs the git host allowed. No host git is kept anywhere.
- *Snapshots* (:mod:`caged_platform.content.snapshots`): archives are made on the host
  with descriptor-relative, ``O_NOFOLLOW`` opens; links are stored, never
  followed; devices, FIFOs and sockets are skipped; setuid/setgid bits are no
  longer stored (an archive extracted by root elsewhere must not create setuid
  files); restore refuses hard links, devices and anything below a link. See
  that module's docstring.
- *File API and MCP file tools* (:mod:`caged_platform.content.files`): data only —
  paths resolved in the cage's namespace with ``O_NOFOLLOW`` walks, FIFOs
  opened non-blocking, nothing executed.
- *Log capture and exec output*: stored and shown as text, never run.
"""

from __future__ import annotations

import asyncio
import base64
import shlex
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from caged_core.framing import unframe
from caged_core.models import GitDiff, GitFileStatus
from caged_platform.content import files
from caged_platform.content.content_errors import (
    Conflict,
    ContentError,
    InvalidInput,
    OperationFailed,
)
from caged_platform.runtime.api import (
    CageError,
    CageNotFound,
    CagePaused,
    ExecOutcome,
    Runtime,
)

__all__ = [
    "DIFF_LIMIT",
    "GIT_TIMEOUT",
    "MESSAGE_LIMIT",
    "OUTPUT_LIMIT",
    "CageGit",
    "ExecFn",
    "NotARepository",
    "in_sandbox",
]

#: Runs ``sh -c command`` in the cage's /workspace with a timeout in seconds.
ExecFn = Callable[[str, float], Awaitable[ExecOutcome]]

#: Seconds any one git command may take.
GIT_TIMEOUT = 30.0
#: Bytes of each diff kept; the rest is replaced by a note.
DIFF_LIMIT = 2_000_000
#: Bytes of any other git output kept (base64 of it must fit the runtime's 16 MiB exec cap).
OUTPUT_LIMIT = 8 * 1024 * 1024
#: Longest commit message in bytes (the whole ``sh -c`` script must stay below Linux's
#: 128 KiB limit on one argument, and the message travels in it base64-encoded).
MESSAGE_LIMIT = 64 * 1024

# Trailing bytes of git's stderr kept: enough for the line that says what went wrong.
_STDERR_TAIL = 4096
# git killed by SIGPIPE once the cap was reached (128 + 13): a truncation, not a failure.
_SIGPIPE_EXIT = 141
_DEFAULT_NAME = "Caged Agent"
_DEFAULT_EMAIL = "agent@caged.local"
_MARK = "@caged-git"

# Settings for the shape of git's answers and against unasked work; none is for safety
# (see the module docstring). The cage's workspace may be owned by an id the cage's git
# does not run as, which is meaningless inside the cage: safe.directory=* keeps git working.
_SETTINGS = (
    "safe.directory=*",
    "core.quotePath=false",
    "color.ui=false",
    "core.hooksPath=/dev/null",
    "commit.gpgSign=false",
    "tag.gpgSign=false",
    "log.showSignature=false",
    "gc.auto=0",
    "maintenance.auto=false",
    "protocol.allow=never",
    "submodule.recurse=false",
    "diff.ignoreSubmodules=all",
    "status.submoduleSummary=false",
)

# @ARGS@, @CAP@, @INPUT@ and @STDIN@ are filled in by _script; everything else is fixed.
# ${PWD%/*} is the workspace's parent ("" for /workspace itself): git must not find a
# repository around the workspace (possible when a cage is not isolated).
_SCRIPT = f"""\
command -v git >/dev/null 2>&1 || {{ echo '{_MARK} no-git'; exit 0; }}
export LC_ALL=C GIT_OPTIONAL_LOCKS=0 GIT_TERMINAL_PROMPT=0 GIT_LITERAL_PATHSPECS=1 \\
  GIT_NO_LAZY_FETCH=1 GIT_EDITOR=true GIT_PAGER=cat
up=${{PWD%/*}}
export GIT_CEILING_DIRECTORIES="${{up:-/}}"
g() {{ git --no-pager {shlex.join(arg for s in _SETTINGS for arg in ("-c", s))} "$@"; }}
[ "$(g rev-parse --is-inside-work-tree 2>/dev/null)" = true ] || \\
  {{ echo '{_MARK} no-repository'; exit 0; }}
d=$(mktemp -d) || exit 125
trap 'rm -rf "$d"' EXIT
@INPUT@
echo '{_MARK} ok'
{{ g @ARGS@ <@STDIN@ 2>"$d/err"; echo $? >"$d/rc"; }} | head -c @CAP@ | base64
echo .
tail -c {_STDERR_TAIL} "$d/err" | base64
echo .
cat "$d/rc"
"""


class NotARepository(Conflict):
    """``/workspace`` is not a git work tree (409; the HTTP diff answers it with no changes)."""

    def __init__(self) -> None:
        super().__init__(f"{files.WORKSPACE} is not a git repository")


@dataclass(frozen=True, slots=True)
class _Answer:
    """What one git command said: exit status, stdout (capped), the tail of stderr."""

    command: str
    code: int
    stdout: bytes
    stderr: str
    truncated: bool

    def text(self, what: str = "output") -> str:
        """stdout as text, with a note when it was cut at the cap."""
        text = self.stdout.decode("utf-8", "replace")
        if self.truncated:
            text += f"\n[{what} truncated: only the first {len(self.stdout):,} bytes are shown]\n"
        return text

    def failure(self) -> ContentError:
        """The error for a non-zero exit, naming the command and git's last word."""
        said = self.stderr.strip() or self.stdout.decode("utf-8", "replace").strip()
        if "index.lock" in said:
            # The sandbox's own git is running: a clash of timing, not a fault.
            return Conflict("another git process is using the repository; try again")
        lines = said.splitlines()
        detail = lines[-1] if lines else f"exit status {self.code}"
        return OperationFailed(f"git {self.command} failed: {detail}")


def _script(args: Sequence[str], *, cap: int, stdin: bytes | None) -> str:
    """The ``sh -c`` script that runs ``git args`` and prints its framed answer."""
    if stdin is None:
        feed, source = "", "/dev/null"
    else:
        # base64 needs no quoting and survives any bytes; it is decoded inside the cage.
        encoded = base64.b64encode(stdin).decode("ascii")
        feed, source = f"printf '%s' '{encoded}' | base64 -d >\"$d/in\" || exit 125", '"$d/in"'
    return (
        _SCRIPT.replace("@INPUT@", feed)
        .replace("@STDIN@", source)
        .replace("@ARGS@", shlex.join(args))
        .replace("@CAP@", str(cap + 1))  # one byte more than kept tells a cut from a fit
    )


def _parse(command: str, output: str, cap: int) -> _Answer:
    """Decode the framed answer of :func:`_script`; raise for the script's refusals."""
    head, _, rest = output.partition("\n")
    if head == f"{_MARK} no-repository":
        raise NotARepository
    if head == f"{_MARK} no-git":
        raise Conflict("git is not installed in this sandbox's template")
    try:
        if head != f"{_MARK} ok":
            raise ValueError(head)
        stdout, stderr, code = unframe(rest.split("\n"))
    except ValueError as err:
        last = output.strip().splitlines()[-1:] or ["(no output)"]
        raise OperationFailed(
            f"git {command} gave an answer that could not be read: {last[0][:200]}"
        ) from err
    truncated = len(stdout) > cap
    return _Answer(command, code, stdout[:cap], stderr.decode("utf-8", "replace"), truncated)


def _status_of(code: str) -> str:
    """Map a porcelain XY code to the contract's four statuses."""
    if code == "??":
        return "untracked"
    if "D" in code:
        return "deleted"
    if "A" in code:
        return "added"
    return "modified"


def _pathspec(path: str | None) -> list[str]:
    """``-- <path relative to /workspace>`` for a client path, nothing for the root."""
    if path is None:
        return []
    relative = files.workspace_path(path).removeprefix(files.WORKSPACE).lstrip("/")
    return ["--", relative] if relative else []


class CageGit:
    """git on the repository in one sandbox's ``/workspace``, run through ``exec_fn``.

    ``exec_fn(command, seconds)`` must run ``sh -c command`` in the cage's
    ``/workspace`` (see :func:`in_sandbox`); its refusals from the runtime
    (paused, not running) become :class:`Conflict`.
    """

    def __init__(self, exec_fn: ExecFn) -> None:
        self._exec = exec_fn

    async def _run(
        self,
        args: list[str],
        *,
        check: bool = True,
        cap: int = OUTPUT_LIMIT,
        stdin: bytes | None = None,
        settings: Sequence[str] = (),
    ) -> _Answer:
        """Run ``git [-c setting]... args`` in the cage; raise for a failure when ``check``."""
        command = args[0]
        options = [arg for setting in settings for arg in ("-c", setting)]
        try:
            outcome = await self._exec(
                _script([*options, *args], cap=cap, stdin=stdin), GIT_TIMEOUT
            )
        except CagePaused as err:
            raise Conflict("the sandbox is paused: resume it to use git") from err
        except CageNotFound as err:
            raise Conflict(
                "the sandbox is not running: git runs inside the sandbox, so it needs a running one"
            ) from err
        except CageError as err:
            raise OperationFailed(f"git {command} could not run in the sandbox: {err}") from err
        if outcome.timed_out or outcome.exit_code is None:
            raise OperationFailed(f"git {command} did not finish within {GIT_TIMEOUT:g} s")
        answer = _parse(command, outcome.output, cap)
        cut_short = answer.truncated and answer.code == _SIGPIPE_EXIT
        if check and answer.code != 0 and not cut_short:
            raise answer.failure()
        return answer

    async def diff(self, path: str | None = None) -> GitDiff:
        """Changed files and the unstaged and staged diffs, optionally for one path.

        ``files[].path`` is relative to the repository root, as in the diff
        headers. Renames are reported as a deletion plus an addition. A staged
        addition later deleted from the work tree counts as ``deleted``. Each
        diff text is cut at :data:`DIFF_LIMIT` bytes with a note.
        """
        spec = _pathspec(path)
        status_args = [
            "status",
            "--porcelain=v1",
            "-z",
            "--untracked-files=all",
            "--no-renames",
            "--ignore-submodules=all",
            *spec,
        ]
        diff_args = ["diff", "--no-ext-diff", "--no-textconv", "--no-color"]
        # Three reads that take no lock (GIT_OPTIONAL_LOCKS=0): asked at once.
        reads = [
            asyncio.ensure_future(self._run(status_args)),
            asyncio.ensure_future(self._run([*diff_args, *spec], cap=DIFF_LIMIT)),
            asyncio.ensure_future(self._run([*diff_args, "--cached", *spec], cap=DIFF_LIMIT)),
        ]
        try:
            status, unstaged, staged = await asyncio.gather(*reads)
        except BaseException:
            # One failed (or we were cancelled): the others must not run on without us.
            for read in reads:
                read.cancel()
            await asyncio.gather(*reads, return_exceptions=True)
            raise
        entries = status.stdout.decode("utf-8", "replace").split("\x00")
        if status.truncated:
            entries.pop()  # cut mid-entry
        changed = [
            GitFileStatus(path=entry[3:], status=_status_of(entry[:2]))
            for entry in entries
            if len(entry) > 3
        ]
        return GitDiff(files=changed, diff=unstaged.text("diff"), staged_diff=staged.text("diff"))

    async def status(self) -> str:
        """``git status --short --branch`` of the workspace."""
        args = ["status", "--short", "--branch", "--untracked-files=all", "--ignore-submodules=all"]
        return (await self._run(args)).text()

    async def log(self, count: int = 10) -> str:
        """The last ``count`` (1 to 1000) commits, one line each.

        Each line is ``<hash> <date> <author>: <subject>``; a repository
        without commits gives ``""``.
        """
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 1000:
            raise InvalidInput("count must be an integer from 1 to 1000")
        if (await self._run(["rev-parse", "--verify", "--quiet", "HEAD"], check=False)).code:
            return ""
        args = ["log", f"--max-count={count}", "--date=iso", "--format=%h %ad %an: %s"]
        return (await self._run(args)).text()

    async def commit(self, message: str) -> str:
        """Stage everything (``git add -A``) and commit it; returns git's summary line.

        Without a configured identity (the repository's or the sandbox's own
        ``~/.gitconfig``) the commit is made as ``Caged Agent
        <agent@caged.local>``. Hooks and signing never run: a tool call must not
        wait on them (the sandbox can still run ``git commit`` itself). Raises
        :class:`InvalidInput` (empty, NUL-bearing or over :data:`MESSAGE_LIMIT`
        bytes) and :class:`Conflict` (nothing to commit, or the index locked).
        """
        if not isinstance(message, str) or not message.strip():
            raise InvalidInput("a commit message is required")
        if "\x00" in message:
            raise InvalidInput("the commit message must not contain a NUL byte")
        encoded = message.encode("utf-8", "replace")
        if len(encoded) > MESSAGE_LIMIT:
            raise InvalidInput(f"the commit message is longer than {MESSAGE_LIMIT:,} bytes")
        await self._run(["add", "-A"])
        configured = await self._run(
            ["config", "--get-regexp", r"^user\.(name|email)$"], check=False
        )
        keys = {line.split(" ", 1)[0] for line in configured.text().splitlines()}
        defaults = (("user.name", _DEFAULT_NAME), ("user.email", _DEFAULT_EMAIL))
        result = await self._run(
            ["commit", "--no-verify", "--no-gpg-sign", "--file=-"],
            check=False,
            stdin=encoded,
            settings=[f"{key}={value}" for key, value in defaults if key not in keys],
        )
        output = result.text()
        if result.code != 0:
            if "nothing to commit" in output or "nothing added to commit" in output:
                raise Conflict("nothing to commit: the working tree is clean")
            raise result.failure()
        return output.splitlines()[0] if output else ""


def in_sandbox(runtime: Runtime, sandbox_id: str) -> CageGit:
    """:class:`CageGit` for a sandbox, through ``runtime.exec`` (not recorded as the
    agent's commands: these are the platform's own)."""

    async def run(command: str, seconds: float) -> ExecOutcome:
        return await runtime.exec(sandbox_id, command, timeout=seconds)

    return CageGit(run)
