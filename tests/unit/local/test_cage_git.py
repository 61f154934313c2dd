"""caged_platform.content.cage_git: git's answers framed, parsed and mapped to content errors.

These drive :class:`CageGit` through a plain ``sh -c`` on directories the tests make
themselves (benign repositories), which is what the runtime's exec does inside a cage.
That git never runs on the host for a real sandbox — and what hostile repositories
cannot do — is tested against the real platform in ``tests/security``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from local_helpers import shell_in

from caged_platform.content import cage_git
from caged_platform.content.cage_git import CageGit, NotARepository
from caged_platform.content.content_errors import (
    Conflict,
    InvalidInput,
    OperationFailed,
    PathRefused,
)
from caged_platform.runtime.api import CageError, CageNotFound, CagePaused, ExecOutcome

GitRunner = Callable[..., str]  # the ``git`` fixture: git(ws, *args) -> stdout


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """The cage's own home: its ~/.gitconfig, and nothing of this machine's."""
    path = tmp_path / "home"
    path.mkdir()
    return path


def git_in(workspace: Path, home: Path, **env: str) -> CageGit:
    return CageGit(shell_in(workspace, {"HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1", **env}))


@pytest.fixture
def in_repo(repo: Path, home: Path) -> CageGit:
    return git_in(repo, home)


def give_away(tree: Path, uid: int) -> None:
    """Make ``uid`` own ``tree`` and everything in it."""
    for path in [tree, *tree.rglob("*")]:
        os.lchown(path, uid, uid)


def answering(output: str = "", **outcome: object) -> CageGit:
    """A CageGit whose exec returns a fixed outcome (or raises ``outcome['raises']``)."""

    async def run(command: str, seconds: float) -> ExecOutcome:
        error = outcome.get("raises")
        if isinstance(error, Exception):
            raise error
        timed_out = bool(outcome.get("timed_out"))
        return ExecOutcome(output, None if timed_out else 0, 1.0, timed_out)

    return CageGit(run)


async def test_diff_statuses(repo: Path, in_repo: CageGit, git: GitRunner) -> None:
    (repo / "a.txt").write_text("alpha changed\n")  # modified
    (repo / "b.txt").unlink()  # deleted
    (repo / "c.txt").write_text("gamma\n")
    git(repo, "add", "c.txt")  # added (staged)
    (repo / "new dir").mkdir()
    (repo / "new dir" / "d é.txt").write_text("delta\n")  # untracked, quoted by default
    result = await in_repo.diff()
    assert {f.path: f.status for f in result.files} == {
        "a.txt": "modified",
        "b.txt": "deleted",
        "c.txt": "added",
        "new dir/d é.txt": "untracked",
    }
    assert "+alpha changed" in result.diff and "-beta" in result.diff
    assert "c.txt" not in result.diff
    assert "+gamma" in result.staged_diff and "a.txt" not in result.staged_diff


async def test_diff_for_one_path(repo: Path, in_repo: CageGit) -> None:
    (repo / "a.txt").write_text("alpha changed\n")
    (repo / "b.txt").write_text("beta changed\n")
    result = await in_repo.diff("/workspace/a.txt")
    assert [f.path for f in result.files] == ["a.txt"]
    assert "b.txt" not in result.diff
    assert len((await in_repo.diff("/workspace")).files) == 2
    with pytest.raises(PathRefused):
        await in_repo.diff("../outside")


async def test_diff_is_cut_at_the_limit(
    repo: Path, in_repo: CageGit, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cage_git, "DIFF_LIMIT", 300)
    (repo / "a.txt").write_text("".join(f"line {n}\n" for n in range(1000)))
    text = (await in_repo.diff()).diff
    shown, _, note = text.partition("\n[diff truncated")
    assert len(shown.encode()) == 300 and "only the first 300 bytes" in note


async def test_diff_in_a_repository_without_commits(
    workspace: Path, home: Path, git: GitRunner
) -> None:
    git(workspace, "init", "-q")
    (workspace / "x").write_text("x\n")
    git(workspace, "add", "x")
    result = await git_in(workspace, home).diff()
    assert [(f.path, f.status) for f in result.files] == [("x", "added")]
    assert "+x" in result.staged_diff


async def test_a_plain_directory_is_not_a_repository(workspace: Path, home: Path) -> None:
    (workspace / "f").write_text("x")
    (workspace / ".git").mkdir()  # an empty .git is not a repository either
    git = git_in(workspace, home)
    for call in (git.diff(), git.status(), git.log(), git.commit("msg")):
        with pytest.raises(NotARepository, match="/workspace is not a git repository"):
            await call
    assert issubclass(NotARepository, Conflict)


async def test_never_walks_above_the_workspace(tmp_path: Path, home: Path, git: GitRunner) -> None:
    git(tmp_path, "init", "-q")  # a repository around the workspace
    ws = tmp_path / "ws"
    ws.mkdir()
    with pytest.raises(NotARepository):
        await git_in(ws, home).diff()


async def test_status_log_and_commit(repo: Path, in_repo: CageGit) -> None:
    assert (await in_repo.status()).startswith("## main")
    (repo / "a.txt").write_text("changed\n")
    (repo / "z.txt").write_text("new\n")
    assert " M a.txt" in await in_repo.status()
    summary = await in_repo.commit("second commit")
    assert summary.startswith("[main ") and "second commit" in summary
    log = (await in_repo.log(5)).splitlines()
    assert len(log) == 2
    assert log[0].endswith(": second commit") and log[1].endswith(": initial")
    assert (await in_repo.log(1)).count("\n") == 1
    with pytest.raises(Conflict, match="nothing to commit"):
        await in_repo.commit("again")


async def test_commit_identity(workspace: Path, home: Path, git: GitRunner) -> None:
    git(workspace, "init", "-q")
    (workspace / "f").write_text("x")
    cage = git_in(workspace, home)
    assert await cage.log() == ""  # no commits yet
    await cage.commit("-starts with a dash\n\nbody")
    author = git(workspace, "log", "-1", "--format=%an <%ae>|%s").strip()
    assert author == "Caged Agent <agent@caged.local>|-starts with a dash"
    # The sandbox's own ~/.gitconfig is its configuration, and is honoured.
    (home / ".gitconfig").write_text("[user]\n\tname = Agent Smith\n")
    (workspace / "f").write_text("y")
    await cage.commit("second")
    author = git(workspace, "log", "-1", "--format=%an <%ae>").strip()
    assert author == "Agent Smith <agent@caged.local>"


async def test_commit_message_is_never_parsed_by_a_shell(repo: Path, in_repo: CageGit) -> None:
    message = 'it\'s $(touch pwned) `touch pwned2` "q" \\ ${HOME}\n\nbody ünï'
    (repo / "a.txt").write_text("changed\n")
    await in_repo.commit(message)
    assert not (repo / "pwned").exists() and not (repo / "pwned2").exists()
    subject = (await in_repo.log(1)).rstrip("\n").split(": ", 1)[1]
    assert subject == message.split("\n", 1)[0]


async def test_argument_validation(in_repo: CageGit) -> None:
    for message in ("   ", "a\x00b", "x" * (cage_git.MESSAGE_LIMIT + 1)):
        with pytest.raises(InvalidInput):
            await in_repo.commit(message)
    for count in (0, 1001, True):
        with pytest.raises(InvalidInput):
            await in_repo.log(count)


async def test_commit_while_the_sandbox_holds_the_index_lock(repo: Path, in_repo: CageGit) -> None:
    (repo / "a.txt").write_text("changed\n")
    (repo / ".git" / "index.lock").write_text("")
    with pytest.raises(Conflict, match="another git process"):
        await in_repo.commit("clash")


async def test_a_workspace_owned_by_another_id_is_no_dubious_ownership(
    repo: Path, in_repo: CageGit
) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to own files as another user")
    (repo / "a.txt").write_text("changed\n")
    give_away(repo, 4321)
    assert " M a.txt" in await in_repo.status()


async def test_git_missing_from_the_template(workspace: Path, home: Path) -> None:
    with pytest.raises(Conflict, match="git is not installed"):
        await git_in(workspace, home, PATH="/nonexistent").status()


async def test_runtime_refusals_become_content_errors() -> None:
    with pytest.raises(Conflict, match="paused: resume it"):
        await answering(raises=CagePaused("x is paused")).status()
    with pytest.raises(Conflict, match="not running"):
        await answering(raises=CageNotFound("x is not running")).diff()
    with pytest.raises(OperationFailed, match="could not run in the sandbox: agent gone"):
        await answering(raises=CageError("agent gone")).log()
    with pytest.raises(OperationFailed, match=r"did not finish within 30 s"):
        await answering(timed_out=True).status()


@pytest.mark.parametrize(
    "output",
    [
        "",
        "mktemp: No space left on device\n",
        "@caged-git ok\nnot base64!\n.\n.\n0\n",
        "@caged-git ok\n.\n.\n",
        "@caged-git ok\n.\n.\nzero\n",
    ],
)
async def test_unreadable_answers_are_failures(output: str) -> None:
    with pytest.raises(OperationFailed, match="could not be read"):
        await answering(output).status()
