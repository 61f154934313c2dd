"""Warm spare cages: a new sandbox claims one (its limits, network and environment are set
then, before anything of it runs), spares are replaced in the background, and none outlives
the runtime that started it, a sandbox it was taken for, or a server that died."""

# Tiny blocking file checks are fine in tests; the runtime itself keeps them off the loop.
# ruff: noqa: ASYNC240

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from eventually import eventually_async
from runtime_helpers import ISOLATION, SKIP_WITHOUT_BWRAP, alive, destroy_all

from caged_platform.runtime import identity
from caged_platform.runtime.api import CageError, CageSpec, new_sandbox_id
from caged_platform.runtime.channel import AgentLink
from caged_platform.runtime.limits import Cgroups
from caged_platform.runtime.manager import SPARE_MARK, SPARES_PER_TEMPLATE, CageState, LocalRuntime

pytestmark = [pytest.mark.integration, pytest.mark.needs_bwrap, SKIP_WITHOUT_BWRAP]


def _spare_dirs(runtime: LocalRuntime) -> list[Path]:
    root = identity.sandboxes_root(runtime.data_dir)
    return sorted(p for p in root.iterdir() if (p / SPARE_MARK).exists())


async def _spares_ready(runtime: LocalRuntime) -> list[Path]:
    """The spare cages' folders once every spare has started (its network is up)."""

    async def ready() -> list[Path] | None:
        found = _spare_dirs(runtime)
        states = [CageState.load(p / "cage.json") for p in found]
        if len(found) == SPARES_PER_TEMPLATE and all(
            s is not None and s.running and "starting" not in s.network for s in states
        ):
            return found
        return None

    return await eventually_async(ready, what="the spare cages to start")


async def _first_sandbox(runtime: LocalRuntime) -> str:
    """Start the template's first sandbox (cold: nothing is kept before it); spares follow."""
    assert runtime.take_spare("minimal") is None
    sandbox_id = new_sandbox_id()
    await runtime.start(CageSpec(sandbox_id, network_mode="none"))
    return sandbox_id


def _running_as(sandbox_id: str) -> set[int]:
    """Host pids of live processes carrying the sandbox's id in their environment."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"CAGED_SANDBOX_ID={sandbox_id}".encode() in environ and alive(int(entry.name)):
            found.add(int(entry.name))
    return found


def _host_uid(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError(f"no Uid line for {pid}")


async def test_a_claimed_spare_is_its_sandbox_in_every_respect(runtime: LocalRuntime) -> None:
    first = await _first_sandbox(runtime)
    spares = await _spares_ready(runtime)
    sid = runtime.take_spare("minimal")
    assert sid in [p.name for p in spares]
    info = await runtime.start(
        CageSpec(sid, network_mode="none", memory_mb=1024, cpus=1, env={"GREETING": "hello"})
    )
    assert info.network == "own network namespace, loopback only"
    assert not (runtime.sandbox_dir(sid) / SPARE_MARK).exists()
    assert sid in runtime.sandbox_ids()

    seen = await runtime.exec(
        sid,
        'echo "$GREETING $CAGED_SANDBOX_ID proxy=$HTTP_PROXY"; hostname; '
        "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; tail -1 /etc/hosts; "
        "cat /etc/resolv.conf; id -u",
    )
    assert seen.output.split("\n") == [
        f"hello {sid} proxy=",
        sid,
        "lo",
        f"127.0.1.1\t{sid}",
        "0",
        "",
    ], seen.output

    # The sandbox's limits, not the spare's defaults.
    state = CageState.load(runtime.sandbox_dir(sid) / "cage.json")
    assert state is not None
    cgroups = Cgroups.from_json(state.cgroups)
    if "memory" in cgroups.dirs:
        limit = Path(cgroups.dirs["memory"], "memory.limit_in_bytes").read_text()
        assert int(limit) == 1024 << 20
    if "cpu" in cgroups.dirs:
        assert Path(cgroups.dirs["cpu"], "cpu.cfs_quota_us").read_text().strip() == "100000"

    # Its own host uid (claimed for its folder), not the first sandbox's.
    uids = {_host_uid(pid) for pid in runtime.cage_pids(sid)}
    if identity.switches_uid():
        assert uids == {int((runtime.sandbox_dir(sid) / identity.UID_FILE).read_text())}
        assert uids.isdisjoint(_host_uid(pid) for pid in runtime.cage_pids(first))

    # Claimed once: neither it nor a cage started cold takes another config.
    for claimed in (sid, first):
        link = AgentLink(str(runtime.sandbox_dir(claimed) / "run" / "agent.sock"))
        with pytest.raises(CageError, match="not an unclaimed spare"):
            await link.call("claim", config={"env": {"PATH": "/tmp"}})
        link.close()
    assert (await runtime.exec(sid, "echo $PATH")).output != "/tmp\n"

    # Another spare took its place.
    assert sid not in [p.name for p in await _spares_ready(runtime)]


async def test_a_spare_claimed_for_a_full_or_allowlist_network(runtime: LocalRuntime) -> None:
    await _first_sandbox(runtime)
    await _spares_ready(runtime)
    full = runtime.take_spare("minimal")
    assert full is not None
    info = await runtime.start(CageSpec(full, network_mode="full"))
    assert info.ip is not None
    devices = await runtime.exec(full, "tail -n +3 /proc/net/dev | cut -d: -f1")
    assert sorted(devices.output.split()) == ["lo", "tap0"]
    assert (await runtime.exec(full, "tail -1 /etc/hosts")).output == f"{info.ip}\t{full}\n"

    await _spares_ready(runtime)
    listed = runtime.take_spare("minimal")
    assert listed is not None
    await runtime.start(CageSpec(listed, network_mode="allowlist", allowlist=("example.invalid",)))
    devices = await runtime.exec(listed, "tail -n +3 /proc/net/dev | cut -d: -f1")
    assert devices.output.split() == ["lo"]  # the spare's network helper is gone
    denied = await runtime.exec(listed, "curl -s -o /dev/null -w '%{http_code}' http://x.test/")
    assert denied.output == "403"  # through the allowlist proxy, which refuses it


async def test_fallback_limits_are_applied_when_a_spare_is_claimed(tmp_path: Path) -> None:
    runtime = LocalRuntime(tmp_path / "data", isolation=ISOLATION, cgroups=False)
    try:
        await _first_sandbox(runtime)
        await _spares_ready(runtime)
        sid = runtime.take_spare("minimal")
        assert sid is not None
        info = await runtime.start(CageSpec(sid, network_mode="none", cpus=1, memory_mb=128))
        assert info.limits == "rlimit-data + cpu-affinity + sigstop-pause"
        assert (await runtime.exec(sid, "nproc")).output == "1\n"
        big = await runtime.exec(
            sid, "python3 -c \"b = b'x' * (400 << 20); print('allocated')\" 2>&1"
        )
        assert "MemoryError" in big.output and big.exit_code != 0
    finally:
        await destroy_all(runtime)


async def test_spares_die_with_their_runtime(runtime: LocalRuntime) -> None:
    await _first_sandbox(runtime)
    spares = await _spares_ready(runtime)
    pids = set().union(*(runtime.cage_pids(p.name) for p in spares))
    assert len(pids) >= 2 * SPARES_PER_TEMPLATE  # init and agent (and slirp4netns) each
    assert runtime.take_spare("minimal") is not None  # taken, its sandbox never started
    await runtime.aclose()
    assert not any(alive(pid) for pid in pids)
    assert _spare_dirs(runtime) == []
    assert not any(p.exists() for p in spares)


async def test_a_spare_taken_for_a_sandbox_destroyed_before_it_started(
    runtime: LocalRuntime,
) -> None:
    await _first_sandbox(runtime)
    spares = await _spares_ready(runtime)
    sid = runtime.take_spare("minimal")
    assert sid is not None
    pids = runtime.cage_pids(sid)
    assert pids
    await runtime.destroy(sid)
    assert not any(alive(pid) for pid in pids)
    assert not runtime.sandbox_dir(sid).exists()
    assert len(spares) == SPARES_PER_TEMPLATE


async def test_spares_of_a_server_that_died_are_removed_by_the_next(
    runtime: LocalRuntime,
) -> None:
    first = await _first_sandbox(runtime)
    spares = await _spares_ready(runtime)
    pids = set().union(*(runtime.cage_pids(p.name) for p in spares))
    # A server starting on the same data dir while these spares' server is gone (as after a
    # SIGKILL: nothing could ever claim them).
    restarted = LocalRuntime(runtime.data_dir, isolation=ISOLATION)
    try:
        assert not any(alive(pid) for pid in pids)
        assert not any(p.exists() for p in spares)
        assert await restarted.attach(first)  # the sandbox itself is untouched
        assert (await restarted.exec(first, "echo alive")).output == "alive\n"
    finally:
        await restarted.aclose()


async def test_a_start_cancelled_while_its_spare_starts_leaves_nothing(
    runtime: LocalRuntime,
) -> None:
    await _first_sandbox(runtime)
    sid = runtime.take_spare("minimal")  # its spares have only begun to start
    assert sid is not None
    start = asyncio.create_task(runtime.start(CageSpec(sid, network_mode="none")))
    await asyncio.sleep(0)  # the start is waiting for the spare
    start.cancel()
    with pytest.raises(asyncio.CancelledError):
        await start
    await runtime.aclose()  # waits for the spare's start to end, then for its kill
    still_starting = [
        t for t in asyncio.all_tasks() if t.get_name() == f"spare cage {sid}" and not t.done()
    ]
    assert still_starting == []
    assert _running_as(sid) == set()
    assert not runtime.sandbox_dir(sid).exists()


async def test_a_spare_that_died_is_replaced_by_a_cold_start(runtime: LocalRuntime) -> None:
    await _first_sandbox(runtime)
    spares = await _spares_ready(runtime)
    for spare in spares:  # both die (the host was short of memory, say)
        for pid in runtime.cage_pids(spare.name):
            with contextlib.suppress(ProcessLookupError):  # gone with its cage's init
                os.kill(pid, signal.SIGKILL)
    sid = runtime.take_spare("minimal")
    assert sid in [p.name for p in spares]
    await runtime.start(CageSpec(sid, network_mode="none", env={"GREETING": "hello"}))
    assert (await runtime.exec(sid, "echo $GREETING $(hostname)")).output == f"hello {sid}\n"
    assert not (runtime.sandbox_dir(sid) / SPARE_MARK).exists()
    assert sid in runtime.sandbox_ids()


async def test_a_spare_whose_processes_survive_keeps_its_uid(
    runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Removing a spare's folder frees its uid for another sandbox: never while a process of
    the spare may still run as that uid (the next server tries the kill again)."""
    await _first_sandbox(runtime)
    spares = await _spares_ready(runtime)
    kill = runtime._kill

    def kill_leaving_one(cage: Any, sandbox_dir: Path | None = None) -> set[int]:
        kill(cage, sandbox_dir)
        return {cage.state.pid}  # as if it had survived SIGKILL

    monkeypatch.setattr(runtime, "_kill", kill_leaving_one)
    await runtime.aclose()
    assert _spare_dirs(runtime) == spares  # kept, each with its uid file
    monkeypatch.undo()
    LocalRuntime(runtime.data_dir, isolation=ISOLATION)  # the next server removes them
    assert _spare_dirs(runtime) == []


async def test_a_spare_is_never_made_a_sandbox_of_another_template(runtime: LocalRuntime) -> None:
    """The image is bound when the cage starts: a spare of another template is not claimed
    (the sandbox starts cold, on its own template's image)."""
    await _first_sandbox(runtime)
    await _spares_ready(runtime)
    sid = runtime.take_spare("minimal")
    assert sid is not None
    info = await runtime.start(CageSpec(sid, template="node-22", network_mode="none"))
    assert info.template == "node-22"
    assert (await runtime.exec(sid, "node --version")).output.startswith("v22.")
