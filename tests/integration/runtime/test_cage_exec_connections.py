"""Execs reuse the agent's connections: concurrent ones never mix their output, and a
cancelled one (whose connection is closed, which kills the command) leaves the rest working."""

from __future__ import annotations

import asyncio

import pytest
from eventually import eventually_async
from runtime_helpers import StartCage

from caged_platform.runtime.manager import LocalRuntime

pytestmark = pytest.mark.integration


async def test_concurrent_execs_over_kept_connections_keep_their_own_output(
    runtime: LocalRuntime, start_cage: StartCage
) -> None:
    sid = await start_cage(network_mode="none")
    # Each round's execs hold a connection each; later rounds reuse the kept ones.
    for _ in range(3):
        outcomes = await asyncio.gather(
            *(runtime.exec(sid, f"echo out-{n}; exit {n}") for n in range(6))
        )
        assert [(o.output, o.exit_code) for o in outcomes] == [(f"out-{n}\n", n) for n in range(6)]


async def test_a_cancelled_exec_is_killed_and_the_next_runs(
    runtime: LocalRuntime, start_cage: StartCage
) -> None:
    sid = await start_cage(network_mode="none")
    await runtime.exec(sid, "true")  # a kept connection for the command to come
    task = asyncio.create_task(runtime.exec(sid, "sleep 43"))

    async def sleepers() -> int:
        ps = await runtime.exec(sid, "ps -eo args= | grep -c '[s]leep 43' || true")
        return int(ps.output)

    async def killed() -> bool:
        return await sleepers() == 0

    await eventually_async(sleepers, what="the command to start")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await eventually_async(killed, what="the cancelled command to be killed")
    after = await runtime.exec(sid, "echo after")
    assert (after.output, after.exit_code) == ("after\n", 0)
