"""Sandbox lifecycle against real cages: create, exec, logs, ports, pause, resume, destroy,
provisioning, idle auto-pause and surviving a platform crash."""

from __future__ import annotations

import asyncio
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from eventually import eventually_async
from nethost import serving_host
from platform_helpers import create_running, wait_for_status

from caged_platform.runtime.identity import sandboxes_root

pytestmark = pytest.mark.integration


def _host_pids_with(marker: str) -> list[int]:
    """Host pids whose command line contains ``marker`` (cage processes are host processes)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline:
            found.append(int(entry.name))
    return found


async def _exec(client: httpx.AsyncClient, sandbox_id: str, command: str) -> dict[str, Any]:
    response = await client.post(f"/v1/sandboxes/{sandbox_id}/exec", json={"command": command})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_exec_output_exit_code_and_logs(
    client: httpx.AsyncClient, shared_sandbox: dict[str, Any]
) -> None:
    sandbox_id = shared_sandbox["id"]
    result = await _exec(client, sandbox_id, "echo out; echo err >&2; pwd; exit 7")
    assert result["exit_code"] == 7 and result.get("error") is None
    assert result["output"].splitlines() == ["out", "err", "/workspace"]
    timed = await client.post(
        f"/v1/sandboxes/{sandbox_id}/exec", json={"command": "sleep 5", "timeout": 0.5}
    )
    assert "timed out" in timed.json()["error"]
    logs = (await client.get(f"/v1/sandboxes/{sandbox_id}/logs", params={"tail": 500})).json()
    messages = [entry["message"] for entry in logs]
    assert "$ echo out; echo err >&2; pwd; exit 7" in messages
    assert any(m.startswith("exit 7") for m in messages)
    assert {"lifecycle", "exec"} <= {entry["type"] for entry in logs}
    assert len((await client.get(f"/v1/sandboxes/{sandbox_id}/logs?tail=2")).json()) == 2


async def test_a_running_command_shows_in_the_log_before_it_ends(
    client: httpx.AsyncClient, shared_sandbox: dict[str, Any]
) -> None:
    sandbox_id = shared_sandbox["id"]
    marker = f"wait-{secrets.token_hex(4)}"
    command = f"while [ ! -e {marker} ]; do sleep 0.05; done; rm {marker}"
    running = asyncio.create_task(_exec(client, sandbox_id, command))

    async def logged() -> bool:
        logs = await client.get(f"/v1/sandboxes/{sandbox_id}/logs", params={"tail": 20})
        return f"$ {command}" in [entry["message"] for entry in logs.json()]

    try:
        await eventually_async(logged, what="the running command's log line")
        assert not running.done()
    finally:
        await _exec(client, sandbox_id, f"touch {marker}")
        assert (await running)["exit_code"] == 0
    logs = (await client.get(f"/v1/sandboxes/{sandbox_id}/logs", params={"tail": 20})).json()
    exec_lines = [e["message"] for e in logs if e["type"] == "exec"]
    started = exec_lines.index(f"$ {command}")
    assert exec_lines[started + 1] == f"$ touch {marker}"  # logged while the first ran


async def test_sandbox_shape_reports_isolation_and_cost(
    client: httpx.AsyncClient, shared_sandbox: dict[str, Any]
) -> None:
    sandbox = (await client.get(f"/v1/sandboxes/{shared_sandbox['id']}")).json()
    assert sandbox["status"] == "running" and sandbox["template"] == "minimal"
    assert (sandbox["cpus"], sandbox["memory_mb"], sandbox["disk_gb"]) == (2, 512, 5)
    assert sandbox["timeout"] == 900
    assert sandbox["config"]["isolation"] in ("bwrap", "none")
    assert sandbox["config"]["limits"] and sandbox["config"]["network"]
    assert sandbox["started_at"] and sandbox["stopped_at"] is None
    assert sandbox["cost"] > 0 and sandbox["total_cost"] == sandbox["cost"]
    assert sandbox["llm_cost"] == 0
    listed = (await client.get("/v1/sandboxes")).json()
    assert shared_sandbox["id"] in {s["id"] for s in listed}


async def test_ports_list_a_listening_server_with_a_working_preview(
    client: httpx.AsyncClient, shared_sandbox: dict[str, Any]
) -> None:
    sandbox_id = shared_sandbox["id"]
    await _exec(client, sandbox_id, "echo preview-ok > index.html")
    await _exec(
        client,
        sandbox_id,
        "nohup python3 -m http.server 8765 --bind 127.0.0.1 >/dev/null 2>&1 & sleep 0.1",
    )

    async def listed() -> dict[str, Any] | None:
        ports = (await client.get(f"/v1/sandboxes/{sandbox_id}/ports")).json()
        return next((p for p in ports if p["port"] == 8765), None)

    port = await eventually_async(listed, what="port 8765 to be listed")
    assert port["protocol"] == "http" and port["protected"] is False and port["detected_at"]
    async with httpx.AsyncClient() as outside:
        page = await outside.get(port["preview_url"] + "/index.html")
    assert page.text.strip() == "preview-ok"
    protect = await client.post(f"/v1/sandboxes/{sandbox_id}/ports/8765/protect", json={})
    assert protect.status_code == 501
    await _exec(client, sandbox_id, "pkill -f 'http.server 8765' || true")


async def test_pause_freezes_and_resume_continues(
    client: httpx.AsyncClient, sync_client: Any, platform: Any
) -> None:
    sandbox = create_running(sync_client)
    sandbox_id = sandbox["id"]
    try:
        ticker = "while :; do date +%s%N >> ticks; sleep 0.05; done"
        await _exec(client, sandbox_id, f"nohup sh -c '{ticker}' >/dev/null 2>&1 &")
        ticks = _workspace(platform, sandbox_id) / "ticks"

        def count() -> int:
            return ticks.read_text().count("\n") if ticks.exists() else 0

        await eventually_async(count, what="the ticker to start")
        assert (await client.post(f"/v1/sandboxes/{sandbox_id}/pause")).status_code == 204
        paused = (await client.get(f"/v1/sandboxes/{sandbox_id}")).json()
        assert paused["status"] == "paused"

        async def frozen() -> bool:
            before = count()
            await asyncio.sleep(0.5)  # the window in which a running ticker would tick
            return count() == before

        await eventually_async(frozen, what="the paused sandbox to stop ticking")
        frozen_at = count()
        # A paused sandbox refuses work with 409, and cannot be paused twice.
        refused = await client.post(f"/v1/sandboxes/{sandbox_id}/exec", json={"command": "true"})
        assert refused.status_code == 409
        assert (await client.post(f"/v1/sandboxes/{sandbox_id}/pause")).status_code == 409
        # Pausing took an automatic snapshot first.
        snapshots = (await client.get(f"/v1/sandboxes/{sandbox_id}/snapshots")).json()
        assert [s["trigger"] for s in snapshots] == ["auto-pause"]
        assert snapshots[0]["status"] == "completed"
        assert (await client.post(f"/v1/sandboxes/{sandbox_id}/resume")).status_code == 204
        await eventually_async(lambda: count() > frozen_at, what="the ticker to resume")
        assert (await client.post(f"/v1/sandboxes/{sandbox_id}/resume")).status_code == 409
    finally:
        await client.delete(f"/v1/sandboxes/{sandbox_id}")


def _workspace(platform: Any, sandbox_id: str) -> Path:
    """Host path of a sandbox's workspace (the runtime's layout)."""
    return sandboxes_root(Path(platform.data_dir).resolve()) / sandbox_id / "workspace"


async def test_destroy_kills_processes_and_keeps_the_row(
    client: httpx.AsyncClient, sync_client: Any
) -> None:
    sandbox_id = create_running(sync_client)["id"]
    # A sleep of an unlikely length is its own marker in the host's process table.
    marker = f"{9_000_000 + secrets.randbelow(999_999)}"
    await _exec(client, sandbox_id, f"nohup sleep {marker} >/dev/null 2>&1 &")
    await eventually_async(lambda: _host_pids_with(marker), what="the sleeper to start")
    assert (await client.delete(f"/v1/sandboxes/{sandbox_id}")).status_code == 204
    assert _host_pids_with(marker) == []
    gone = (await client.get(f"/v1/sandboxes/{sandbox_id}")).json()
    assert gone["status"] == "destroyed" and gone["stopped_at"]
    assert sandbox_id not in {s["id"] for s in (await client.get("/v1/sandboxes")).json()}
    # Nothing can happen to a destroyed sandbox any more.
    assert (await client.delete(f"/v1/sandboxes/{sandbox_id}")).status_code == 404
    assert (await client.post(f"/v1/sandboxes/{sandbox_id}/resume")).status_code == 404


@pytest.fixture
def host_repo(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A two-commit git repository served over HTTP from a test host that cages reach over
    their own networks (nothing of the host's filesystem is visible in a cage)."""
    work = tmp_path / "work"
    git = ["git", "-C", str(work), "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
    (work / "sub").mkdir()
    (work / "sub" / "README").write_text("first\n")
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    first = subprocess.run(
        [*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    (work / "sub" / "README").write_text("second\n")
    subprocess.run([*git, "commit", "-qam", "two"], check=True)
    served = tmp_path / "served"
    subprocess.run(
        ["git", "clone", "-q", "--bare", str(work), str(served / "repo.git")], check=True
    )
    # Git's "dumb" HTTP protocol: any static file server will do.
    subprocess.run(["git", "-C", str(served / "repo.git"), "update-server-info"], check=True)
    with serving_host() as host:
        yield f"{host.serve(served)}/repo.git", first


async def test_provisioning_applies_env_repo_and_init_script(
    client: httpx.AsyncClient, sync_client: Any, host_repo: tuple[str, str]
) -> None:
    repo, first_commit = host_repo
    token = "ghp_" + secrets.token_hex(10)
    sandbox = create_running(
        sync_client,
        env={"GREETING": "hello"},
        repo=repo,
        repo_token=token,
        repo_branch="main",
        repo_commit=first_commit,
        repo_subdir="sub",
        init_script='echo "$GREETING from init" > init.txt',
    )
    sandbox_id = sandbox["id"]
    try:
        result = await _exec(client, sandbox_id, "cat init.txt sub/README; echo $GREETING")
        assert result["output"] == "hello from init\nfirst\nhello\n"
        head = await _exec(client, sandbox_id, "git rev-parse HEAD")
        assert head["output"].strip() == first_commit
        assert sandbox["repo_url"] == repo
        logs = (await client.get(f"/v1/sandboxes/{sandbox_id}/logs?tail=1000")).text
        assert "init script" in logs and f"clone {repo}" in logs
        assert token not in logs
        # The token is not left behind in the clone's configuration either.
        config = await _exec(client, sandbox_id, "cat .git/config")
        assert token not in config["output"]
    finally:
        await client.delete(f"/v1/sandboxes/{sandbox_id}")


async def test_a_missing_repo_subdir_fails_provisioning(
    client: httpx.AsyncClient, sync_client: Any, host_repo: tuple[str, str]
) -> None:
    repo, _ = host_repo
    created = (
        await client.post(
            "/v1/sandboxes",
            json={"template": "minimal", "repo": repo, "repo_subdir": "nope"},
        )
    ).json()
    failed = wait_for_status(sync_client, created["id"], "error")
    assert "check subdirectory nope failed" in failed["last_error"]
    assert (await client.delete(f"/v1/sandboxes/{created['id']}")).status_code == 204


async def test_failed_init_script_puts_the_sandbox_in_error(
    client: httpx.AsyncClient, sync_client: Any
) -> None:
    body = {"template": "minimal", "init_script": "echo boom; exit 3"}
    created = (await client.post("/v1/sandboxes", json=body)).json()
    failed = wait_for_status(sync_client, created["id"], "error")
    assert "init script failed with exit code 3" in failed["last_error"]
    logs = [e["message"] for e in (await client.get(f"/v1/sandboxes/{created['id']}/logs")).json()]
    assert "boom" in logs
    # error → only destroy is allowed.
    assert (await client.post(f"/v1/sandboxes/{created['id']}/pause")).status_code == 409
    assert (await client.delete(f"/v1/sandboxes/{created['id']}")).status_code == 204
