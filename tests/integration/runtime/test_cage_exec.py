"""Running commands in cages, and what a cage can and cannot see of the host."""

# Tiny blocking file checks are fine in tests; the runtime itself keeps them off the loop.
# ruff: noqa: ASYNC240

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from eventually import eventually_async
from runtime_helpers import StartCage, alive, destroy_all, needs_bwrap

from caged_platform.runtime.api import CageSpec
from caged_platform.runtime.manager import LocalRuntime

pytestmark = pytest.mark.integration


async def test_exec_interleaves_output_and_reports_exit_code(
    runtime: LocalRuntime, start_cage: StartCage
) -> None:
    sid = await start_cage(network_mode="none")
    outcome = await runtime.exec(sid, "echo one; echo two >&2; echo three; exit 7")
    assert outcome.output == "one\ntwo\nthree\n"
    assert outcome.exit_code == 7
    assert not outcome.timed_out

    outcome = await runtime.exec(sid, 'echo "$GREETING $PWD"', env={"GREETING": "hello"})
    workspace = "/workspace" if runtime.isolation == "bwrap" else str(runtime.workspace_dir(sid))
    assert outcome.output == f"hello {workspace}\n"
    assert outcome.exit_code == 0


async def test_exec_timeout_kills_the_process_group(
    runtime: LocalRuntime, start_cage: StartCage
) -> None:
    sid = await start_cage(network_mode="none")
    outcome = await runtime.exec(
        sid,
        "(sleep 30; echo child-survived > /workspace/late) & echo started; sleep 30",
        timeout=0.5,
    )
    assert outcome.timed_out and outcome.exit_code is None
    assert outcome.output == "started\n"
    # The backgrounded child was in the same group: nothing is left running.
    ps = await runtime.exec(sid, "ps -eo args= | grep -c '[s]leep 30' || true")
    assert ps.output.strip() == "0"


async def test_cancelling_an_exec_kills_the_command(
    runtime: LocalRuntime, start_cage: StartCage
) -> None:
    sid = await start_cage(network_mode="none")
    task = asyncio.create_task(runtime.exec(sid, "sleep 41; echo never"))

    async def sleepers() -> int:
        ps = await runtime.exec(sid, "ps -eo args= | grep -c '[s]leep 41' || true")
        return int(ps.output)

    await eventually_async(sleepers, what="the command to start")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    async def killed() -> bool:
        return await sleepers() == 0

    await eventually_async(killed)


@needs_bwrap
async def test_files_written_in_the_cage_land_in_the_workspace_only(
    runtime: LocalRuntime, start_cage: StartCage
) -> None:
    sid = await start_cage(network_mode="none")
    marker = f"caged-test-{sid}-{time.time_ns()}"
    outcome = await runtime.exec(
        sid,
        f"echo data > /workspace/{marker}; echo tmp > /tmp/{marker}; echo home > ~/{marker};"
        f" (echo x > /{marker}) 2>/dev/null || echo root-readonly;"
        f" (echo x > /etc/{marker}) 2>/dev/null || echo etc-readonly",
    )
    assert outcome.output == "root-readonly\netc-readonly\n"
    assert (runtime.workspace_dir(sid) / marker).read_text() == "data\n"
    assert not Path("/tmp", marker).exists()  # the cage's /tmp is private
    assert not Path("/", marker).exists()
    assert not Path("/etc", marker).exists()
    # ~ is the cage's own home, kept beside (not inside) the workspace.
    assert (runtime.sandbox_dir(sid) / "home" / marker).read_text() == "home\n"
    assert not Path("/root", marker).exists()


@needs_bwrap
async def test_cage_cannot_see_private_host_paths() -> None:
    # A data dir outside /tmp, so hiding it is the runtime's doing and not the private /tmp's.
    data_dir = Path(tempfile.mkdtemp(prefix="caged-rt-", dir="/var/tmp"))
    runtime = LocalRuntime(data_dir)
    try:
        await runtime.start(CageSpec("cage-a", network_mode="none"))
        await runtime.start(CageSpec("cage-b", network_mode="none"))
        other = runtime.workspace_dir("cage-b")
        (other / "secret.txt").write_text("b's secret")
        assert any(Path("/root").iterdir()), "host /root must have entries for this test"
        for command, expected in [
            ("ls -A /root", ""),  # the cage's own (fresh) home, not the host's
            ("ls -A /home", ""),
            (f"ls -A {data_dir}", "No such file or directory"),  # the template's root only
            (f"cat {other}/secret.txt", "No such file or directory"),
            ("cat /proc/1/comm", "bwrap"),  # its own PID namespace
            ("hostname", "cage-a"),
        ]:
            outcome = await runtime.exec("cage-a", command)
            assert expected in outcome.output if expected else outcome.output == "", (
                command,
                outcome.output,
            )
    finally:
        await destroy_all(runtime)
        shutil.rmtree(data_dir, ignore_errors=True)


async def test_without_isolation_the_runtime_says_so(tmp_path: Path) -> None:
    runtime = LocalRuntime(tmp_path / "data", isolation="none", cgroups=False)
    try:
        assert runtime.isolation == "none"
        info = await runtime.start(CageSpec("cage-plain", network_mode="none", memory_mb=256))
        assert info.isolation == "none"
        assert "rlimit-data" in info.limits and "cpu-affinity" in info.limits
        assert "NOT enforced" in info.network
        outcome = await runtime.exec("cage-plain", "pwd; echo hi > made-here")
        assert outcome.output.strip() == str(runtime.workspace_dir("cage-plain"))
        assert (runtime.workspace_dir("cage-plain") / "made-here").exists()
        # Detached processes are still found and killed by stop.
        await runtime.exec("cage-plain", "setsid sleep 300 > /dev/null 2>&1 &")
        pids = runtime.cage_pids("cage-plain")
        assert len(pids) >= 2
        await runtime.stop("cage-plain")
        assert runtime.cage_pids("cage-plain") == set()
        assert not any(alive(pid) for pid in pids)
    finally:
        await destroy_all(runtime)
