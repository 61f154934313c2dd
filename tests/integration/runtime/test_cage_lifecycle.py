"""Limits, pause/resume, stop/destroy, and surviving a restart of the server."""

# Tiny blocking file checks are fine in tests; the runtime itself keeps them off the loop.
# ruff: noqa: ASYNC240

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from eventually import eventually_async
from runtime_helpers import (
    ISOLATION,
    StartCage,
    alive,
    destroy_all,
    needs_bwrap,
    processes_of,
)

from caged_platform.runtime.api import CageError, CageNotFound, CagePaused, CageSpec
from caged_platform.runtime.manager import LocalRuntime

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]


def _cage_markers(init_pid: int) -> tuple[int | None, str]:
    """The cage's PID namespace inode and its memory cgroup path, read from the host."""
    ns = os.readlink(f"/proc/{init_pid}/ns/pid")
    ns_inode = int(ns[ns.index("[") + 1 : -1]) if ns != os.readlink("/proc/self/ns/pid") else None
    memory = next(
        line.split(":", 2)[2]
        for line in Path(f"/proc/{init_pid}/cgroup").read_text().splitlines()
        if line.split(":")[1] == "memory"
    )
    return ns_inode, memory


async def test_memory_limit_stops_a_big_allocation(
    runtime: LocalRuntime, start_cage: StartCage
) -> None:
    sid = await start_cage(network_mode="none", memory_mb=128)
    outcome = await runtime.exec(
        sid, "python3 -c \"b = b'x' * (400 << 20); print('allocated', len(b))\"", timeout=60
    )
    assert "allocated" not in outcome.output
    assert outcome.exit_code not in (0, None)
    # The cage itself is fine afterwards.
    assert (await runtime.exec(sid, "echo still-here")).output == "still-here\n"


async def test_pause_freezes_and_resume_continues(
    runtime: LocalRuntime, start_cage: StartCage
) -> None:
    sid = await start_cage(network_mode="none")
    counter = runtime.workspace_dir(sid) / "counter"
    await runtime.exec(
        sid,
        "nohup sh -c 'i=0; while :; do i=$((i+1)); echo $i > counter.tmp;"
        " mv counter.tmp counter; sleep 0.02; done' > /dev/null 2>&1 &",
    )

    def count() -> int:
        try:
            return int(counter.read_text() or 0)
        except (OSError, ValueError):
            return 0

    async def counting() -> bool:
        return count() > 3

    await eventually_async(counting)
    await runtime.pause(sid)

    async def frozen() -> bool:
        before = count()
        await asyncio.sleep(0.4)  # the window in which a running counter would move on
        return count() == before

    await eventually_async(frozen, what="the counter to stop")
    frozen_at = count()
    with pytest.raises(CagePaused):
        await runtime.exec(sid, "true")
    stats = await runtime.stats(sid)  # answered from the host while the agent is frozen
    assert stats.memory_bytes > 0

    await runtime.resume(sid)

    async def moved_on() -> bool:
        return count() > frozen_at + 3

    await eventually_async(moved_on)
    assert (await runtime.exec(sid, "echo ok")).output == "ok\n"


async def test_rlimit_affinity_and_sigstop_fallback(tmp_path: Path) -> None:
    """Without cgroups: RLIMIT_DATA, CPU affinity and SIGSTOP pause, reported as such."""
    runtime = LocalRuntime(tmp_path / "data", isolation=ISOLATION, cgroups=False)
    try:
        info = await runtime.start(CageSpec("cage-rl", network_mode="none", cpus=1, memory_mb=128))
        assert info.limits == "rlimit-data + cpu-affinity + sigstop-pause"
        assert (await runtime.exec("cage-rl", "nproc")).output == "1\n"
        big = await runtime.exec(
            "cage-rl", "python3 -c \"b = b'x' * (400 << 20); print('allocated')\" 2>&1"
        )
        assert "MemoryError" in big.output and big.exit_code != 0
        await runtime.exec(
            "cage-rl",
            "nohup sh -c 'while :; do date +%s%N > t; sleep 0.02; done' > /dev/null 2>&1 &",
        )
        ticks = runtime.workspace_dir("cage-rl") / "t"

        async def ticking() -> bool:
            return ticks.exists() and ticks.stat().st_size > 0

        await eventually_async(ticking)
        await runtime.pause("cage-rl")

        async def stopped() -> int | None:
            before = ticks.stat().st_mtime_ns
            await asyncio.sleep(0.3)  # the window in which a running ticker would tick
            return before if ticks.stat().st_mtime_ns == before else None

        frozen = await eventually_async(stopped, what="the ticker to stop")
        await runtime.resume("cage-rl")

        async def ticking_again() -> bool:
            return ticks.stat().st_mtime_ns != frozen

        await eventually_async(ticking_again)

        # A SIGSTOPped cage still dies completely.
        await runtime.pause("cage-rl")
        pids = runtime.cage_pids("cage-rl")
        await runtime.destroy("cage-rl")
        assert not any(alive(pid) for pid in pids)
    finally:
        await destroy_all(runtime)


async def test_a_cage_that_died_is_cleaned_up_on_attach(runtime: LocalRuntime) -> None:
    info = await runtime.start(CageSpec("cage-dies", network_mode="none"))
    cgroup_dirs = [
        Path(d)
        for d in json.loads((runtime.sandbox_dir("cage-dies") / "cage.json").read_text())[
            "cgroups"
        ]["dirs"].values()
    ]
    os.kill(info.pid, signal.SIGKILL)  # the cage's init: everything in it dies

    async def dead() -> bool:
        return not alive(info.pid)

    await eventually_async(dead)
    restarted = LocalRuntime(runtime.data_dir, isolation=ISOLATION)
    assert not await restarted.attach("cage-dies")
    assert restarted.cage_pids("cage-dies") == set()
    assert not any(d.exists() for d in cgroup_dirs)
    with pytest.raises(CageNotFound):
        await restarted.exec("cage-dies", "true")
    # It can be started again on the same workspace.
    await restarted.start(CageSpec("cage-dies", network_mode="none"))
    assert (await restarted.exec("cage-dies", "echo back")).output == "back\n"
    await restarted.destroy("cage-dies")


async def test_stats_and_ports(runtime: LocalRuntime, start_cage: StartCage) -> None:
    sid = await start_cage(network_mode="none")
    await runtime.exec(
        # The memory is taken before the port opens: once it listens, the stats must see both.
        sid,
        "nohup python3 -c 'import socket,time; b=bytearray(30<<20);"
        ' s=socket.create_server(("0.0.0.0", 5055)); time.sleep(300)\' > /dev/null 2>&1 &',
    )

    async def listening() -> bool:
        return await runtime.listening_ports(sid) == [5055]

    await eventually_async(listening)
    stats = await runtime.stats(sid)
    assert stats.memory_bytes > 30 << 20
    assert stats.cpu_seconds > 0


@needs_bwrap
async def test_destroy_leaves_no_process_behind(runtime: LocalRuntime) -> None:
    sid = "cage-doomed"
    info_pid = (await runtime.start(CageSpec(sid, network_mode="none"))).pid
    await runtime.exec(sid, "setsid nohup sleep 300 > /dev/null 2>&1 & sleep 300 &")
    await runtime.pause(sid)  # frozen processes must die too
    ns_inode, memory_cgroup = _cage_markers(info_pid)
    before = processes_of(ns_inode, memory_cgroup + "\n")
    assert len(before) >= 4  # init, agent, two sleeps

    await runtime.destroy(sid)
    assert not any(alive(pid) for pid in before)
    assert {p for p in processes_of(ns_inode, memory_cgroup + "\n") if alive(p)} == set()
    assert not runtime.sandbox_dir(sid).exists()
    assert not Path("/sys/fs/cgroup/memory" + memory_cgroup).exists()
    with pytest.raises(CageNotFound):
        await runtime.exec(sid, "true")


async def test_stop_keeps_the_workspace_and_start_again(
    runtime: LocalRuntime, start_cage: StartCage
) -> None:
    sid = await start_cage(network_mode="none")
    await runtime.exec(sid, "echo kept > kept.txt")
    await runtime.stop(sid)
    assert not await runtime.attach(sid)
    assert (runtime.workspace_dir(sid) / "kept.txt").read_text() == "kept\n"
    await runtime.start(CageSpec(sid, network_mode="none"))
    assert (await runtime.exec(sid, "cat kept.txt")).output == "kept\n"
    with pytest.raises(CageError):
        await runtime.start(CageSpec(sid, network_mode="none"))


@needs_bwrap
async def test_a_new_runtime_attaches_to_a_running_cage(
    runtime: LocalRuntime, start_cage: StartCage
) -> None:
    sid = await start_cage(network_mode="allowlist", allowlist=("example.invalid",))
    await runtime.exec(sid, "echo before > state.txt")
    await runtime.aclose()  # the old server goes away without stopping anything

    restarted = LocalRuntime(runtime.data_dir, isolation=ISOLATION)
    try:
        assert await restarted.attach(sid)
        assert (await restarted.exec(sid, "cat state.txt")).output == "before\n"
        assert not await restarted.attach("cage-never-started")
        # The allowlist proxy came back with the attach.
        denied = await restarted.exec(sid, "curl -s -o /dev/null -w '%{http_code}' http://x.test/")
        assert denied.output == "403"
    finally:
        await restarted.aclose()


@needs_bwrap
async def test_cage_survives_a_sigkilled_server(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    script = (
        "import asyncio, sys, time\n"
        "from caged_platform.runtime.api import CageSpec\n"
        "from caged_platform.runtime.manager import LocalRuntime\n"
        "async def main():\n"
        f"    rt = LocalRuntime({str(data_dir)!r})\n"
        "    await rt.start(CageSpec('cage-orphan', network_mode='none'))\n"
        "    await rt.exec('cage-orphan', 'nohup sleep 300 > /dev/null 2>&1 &')\n"
        "    print('started', flush=True)\n"
        "    time.sleep(300)\n"
        "asyncio.run(main())\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, stdout=subprocess.PIPE, env=env, start_new_session=True
    )
    runtime = LocalRuntime(data_dir)
    try:
        assert server.stdout is not None
        line = await asyncio.wait_for(server.stdout.readline(), 30)
        assert line.strip() == b"started"
        os.killpg(server.pid, signal.SIGKILL)  # the whole server process group
        await server.wait()

        assert await runtime.attach("cage-orphan")
        ps = await runtime.exec("cage-orphan", "ps -eo args= | grep -c '[s]leep 300'")
        assert ps.output.strip() == "1"
    finally:
        await runtime.destroy("cage-orphan")
        await runtime.aclose()
        if server.returncode is None:
            server.kill()
            await server.wait()
