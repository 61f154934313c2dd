"""git on a sandbox's repository runs inside the sandbox's cage, never on the host (issue 9).

A sandbox writes a hostile repository — filter drivers (one named ``a=b``, which
once slipped past the host's ``-c filter.<name>.clean=cat``), a process filter,
``diff.external``, ``textconv``, ``core.fsmonitor``, ``core.pager``,
``core.sshCommand``, ``core.editor``, ``gpg.program``, aliases shadowing the
commands used, a filter defined through ``include.path`` and every hook git
might run — each command trying to create a marker in a host directory that any
host uid can write to and no cage can see. Then the platform's git is driven
over HTTP and MCP, with a full and a ``read_only`` key, and no marker may
appear on the host.

Where git does run one of the repository's programs (filters, the included
filter, fsmonitor), the program also leaves a proof in the workspace holding
its ``/proc/self/uid_map``: that it ran at all, and ran in the cage's user
namespace rather than as a host user. No mechanism needs a proof to pass: the
marker check alone would catch git running on the host again.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from platform_helpers import call, create_running, mcp, problem_detail, wait_for_status
from runtime_helpers import SKIP_WITHOUT_BWRAP

pytestmark = [pytest.mark.integration, pytest.mark.needs_bwrap, SKIP_WITHOUT_BWRAP]

# On the host, a uid_map is the identity over every id; in a cage, root maps to one host uid.
HOST_UID_MAP = "0 0 4294967295"
HOOKS = (
    "pre-commit",
    "prepare-commit-msg",
    "commit-msg",
    "post-commit",
    "post-checkout",
    "post-index-change",
    "reference-transaction",
    "pre-auto-gc",
    "fsmonitor-watchman",
)
GIT_TOOLS = ("git_status", "git_diff", "git_log")


def payload(host_dir: Path, name: str) -> str:
    """A shell command that marks ``host_dir`` (only possible on the host) and leaves a
    proof with its uid map in ``.fired/`` of the work tree (git's working directory)."""
    return (
        f"touch {host_dir}/{name} 2>/dev/null; mkdir -p .fired; "
        f"cat /proc/self/uid_map > .fired/{name}"
    )


def hostile_setup(host_dir: Path) -> str:
    """The script the sandbox runs to make its repository hostile.

    The repository is committed before the hostile configuration is written, so none
    of it runs during the setup itself; then tracked files change, for git to look at.
    """

    def p(name: str) -> str:
        return payload(host_dir, name)

    config = f"""
[filter "a=b"]
\tclean = "{p("filter-a=b")}; cat"
\tsmudge = "{p("filter-a=b-smudge")}; cat"
[diff]
\texternal = "{p("diff-external")}"
[diff "evil"]
\ttextconv = "{p("textconv")}; cat"
[core]
\tfsmonitor = "{p("fsmonitor")}; false"
\tpager = "{p("pager")}; cat"
\tsshCommand = "{p("ssh")}"
\teditor = "{p("editor")}"
\thooksPath = .git/hooks
[commit]
\tgpgSign = true
[gpg]
\tprogram = "{p("gpg")}"
[alias]
\tstatus = "!{p("alias-status")}"
\tdiff = "!{p("alias-diff")}"
\tlog = "!{p("alias-log")}"
\tcommit = "!{p("alias-commit")}"
\tadd = "!{p("alias-add")}"
[include]
\tpath = /workspace/.evil-include
"""
    include = f'[filter "inc"]\n\tclean = "{p("include")}; cat"\n'
    attributes = "*.txt filter=a=b\n*.md diff=evil\n*.inc filter=inc\n*.proc filter=proc\n"
    hooks = "\n".join(
        f"printf '#!/bin/sh\\n%s\\n' '{p('hook-' + hook)}' > .git/hooks/{hook} && "
        f"chmod +x .git/hooks/{hook}"
        for hook in HOOKS
    )
    return f"""set -e
git init -q -b main
git config user.email sandbox@example.com
git config user.name Sandbox
for f in a.txt b.md c.inc d.proc; do echo one > $f; done
git add -A
git commit -qm init
cat >> .git/config <<'EOF'
{config}
EOF
cat > .evil-include <<'EOF'
{include}EOF
cat > .gitattributes <<'EOF'
{attributes}EOF
{hooks}
for f in a.txt b.md c.inc; do echo two >> $f; done
rm -rf .fired
echo .fired/ >> .git/info/exclude
"""


async def exec_in(client: httpx.AsyncClient, sandbox_id: str, command: str) -> dict[str, Any]:
    response = await client.post(f"/v1/sandboxes/{sandbox_id}/exec", json={"command": command})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def tool(ws: Any, request_id: int, name: str, **arguments: Any) -> dict[str, Any]:
    answer = await call(ws, request_id, "tools/call", name=name, arguments=arguments)
    assert "result" in answer, answer
    result: dict[str, Any] = answer["result"]
    return result


def text_of(result: dict[str, Any]) -> str:
    text: str = result["content"][0]["text"]
    return text


async def test_hostile_repository_runs_nothing_on_the_host(
    platform: Any,
    client: httpx.AsyncClient,
    sync_client: httpx.Client,
    read_only_key: str,
    host_dir: Path,
) -> None:
    sandbox_id = create_running(sync_client)["id"]
    try:
        setup = await exec_in(client, sandbox_id, hostile_setup(host_dir))
        assert setup["exit_code"] == 0, setup["output"]
        base = f"/v1/sandboxes/{sandbox_id}"

        # HTTP, full and read_only keys.
        for headers in (platform.headers, {"Authorization": f"Bearer {read_only_key}"}):
            answer = await client.get(f"{base}/git/diff", headers=headers)
            assert answer.status_code == 200, answer.text
            changed = {f["path"]: f["status"] for f in answer.json()["files"]}
            assert changed == {
                "a.txt": "modified",
                "b.md": "modified",
                "c.inc": "modified",
                ".evil-include": "untracked",
                ".gitattributes": "untracked",
            }
            assert "+two" in answer.json()["diff"]
            one = await client.get(f"{base}/git/diff", params={"path": "b.md"}, headers=headers)
            assert [f["path"] for f in one.json()["files"]] == ["b.md"]

        # MCP with a read_only key: the read tools; git_commit does not exist for it.
        async with mcp(platform, read_only_key, sandbox_id) as ws:
            for number, name in enumerate(GIT_TOOLS, start=1):
                result = await tool(ws, number, name)
                assert not result.get("isError"), result
            staged = await tool(ws, 10, "git_diff", staged=True)
            assert text_of(staged) == "no staged changes"
            refused = await call(
                ws, 11, "tools/call", name="git_commit", arguments={"message": "x"}
            )
            assert refused["error"]["code"] == -32602

        # MCP with the full key, committing last: add -A, commit and its hooks.
        async with mcp(platform, platform.api_key, sandbox_id) as ws:
            for number, name in enumerate(GIT_TOOLS, start=1):
                assert not (await tool(ws, number, name)).get("isError")
            committed = await tool(ws, 10, "git_commit", message="through the tool")
            assert not committed.get("isError"), committed
            assert "through the tool" in text_of(await tool(ws, 11, "git_log", count=1))

        # A process filter that breaks git's protocol fails git, clearly; still in the cage.
        process = payload(host_dir, "filter-process")
        await exec_in(
            client, sandbox_id, f"git config filter.proc.process '{process}' && echo two >> d.proc"
        )
        broken = await client.get(f"{base}/git/diff")
        assert problem_detail(broken, 500).startswith("git diff failed: ")

        assert os.listdir(host_dir) == []

        proofs = await exec_in(client, sandbox_id, "grep -r . .fired | sort")
        fired = dict(line.split(":", 1) for line in proofs["output"].splitlines())
        # git did run the repository's filters and fsmonitor hook: inside the cage.
        assert {"filter-a=b", "include", "fsmonitor"} <= {Path(k).name for k in fired}
        for where, uid_map in fired.items():
            assert uid_map.split() != HOST_UID_MAP.split(), where
    finally:
        await client.delete(f"/v1/sandboxes/{sandbox_id}")


async def test_git_still_works(
    platform: Any, client: httpx.AsyncClient, sync_client: httpx.Client
) -> None:
    """git diff over HTTP and the four MCP tools, on a plain workspace, then a repository."""
    sandbox_id = create_running(sync_client)["id"]
    try:
        base = f"/v1/sandboxes/{sandbox_id}"
        plain = (await client.get(f"{base}/git/diff")).json()
        assert plain == {"files": [], "diff": "", "staged_diff": ""}  # not a repository yet
        async with mcp(platform, platform.api_key, sandbox_id) as ws:
            status = await tool(ws, 1, "git_status")
            assert status["isError"] and "not a git repository" in text_of(status)

        setup = await exec_in(
            client,
            sandbox_id,
            "git init -q -b main && echo one > f.txt && git add f.txt && "
            "git -c user.email=t@t -c user.name=t commit -qm init && echo two >> f.txt && "
            "echo new > 'u é.txt' && echo staged > s.txt && git add s.txt",
        )
        assert setup["exit_code"] == 0, setup["output"]
        diff = (await client.get(f"{base}/git/diff")).json()
        assert {(f["path"], f["status"]) for f in diff["files"]} == {
            ("f.txt", "modified"),
            ("u é.txt", "untracked"),
            ("s.txt", "added"),
        }
        assert "+two" in diff["diff"] and "+staged" in diff["staged_diff"]

        async with mcp(platform, platform.api_key, sandbox_id) as ws:
            status = text_of(await tool(ws, 1, "git_status"))
            assert status.startswith("## main") and " M f.txt" in status
            unstaged = text_of(await tool(ws, 2, "git_diff"))
            assert "+two" in unstaged and unstaged.endswith("untracked files:\n  u é.txt")
            assert "+staged" in text_of(await tool(ws, 3, "git_diff", staged=True))
            message = 'agent\'s "change" $(nothing) `runs`\n\nbody'
            summary = text_of(await tool(ws, 4, "git_commit", message=message))
            assert summary.startswith("[main ") and "agent's" in summary
            log = text_of(await tool(ws, 5, "git_log", count=5)).splitlines()
            assert len(log) == 2 and log[0].endswith(': agent\'s "change" $(nothing) `runs`')
            again = await tool(ws, 6, "git_commit", message="again")
            assert again["isError"] and "nothing to commit" in text_of(again)
        author = await exec_in(
            client, sandbox_id, "git log -1 --format='%an <%ae>' && git status -s"
        )
        assert author["output"] == "Caged Agent <agent@caged.local>\n"
    finally:
        await client.delete(f"/v1/sandboxes/{sandbox_id}")


async def test_git_needs_a_running_sandbox(
    client: httpx.AsyncClient, sync_client: httpx.Client
) -> None:
    """No host-side fallback: a paused sandbox's repository is a clear 409."""
    sandbox_id = create_running(sync_client)["id"]
    try:
        await exec_in(client, sandbox_id, "git init -q")
        paused = await client.post(f"/v1/sandboxes/{sandbox_id}/pause")
        assert paused.status_code == 204, paused.text
        wait_for_status(sync_client, sandbox_id, "paused")
        detail = problem_detail(await client.get(f"/v1/sandboxes/{sandbox_id}/git/diff"), 409)
        assert "paused" in detail and "git" in detail
    finally:
        await client.delete(f"/v1/sandboxes/{sandbox_id}")
