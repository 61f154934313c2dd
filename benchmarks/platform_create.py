"""platform_create: ``POST /sandboxes`` until the sandbox is ``running``, p50/p99.

The sandbox is created with ``wait=False`` and then polled every 5 ms, so the
figure is the platform's provisioning time rather than the client's own
polling interval (``Sandboxes.create(wait=True)`` polls every 0.5 s).

The platform keeps warm spare cages of each template it has created from (a
spare is a started, unprivileged cage that a create claims: its limits,
network and environment are set then, before anything of the sandbox runs).
The timed creates are what a user sees: each comes after a pause
(:data:`PAUSE`, more than a cage takes to start on a loaded machine), the
platform has created from the template before (one untimed create first: the
first create of a template after a server start is a cold start, and starts
its spares), and each sandbox is destroyed before the pause (a destroy must
not overlap the next create).  The burst row
is context: creates back to back drain the spares faster than cages start,
so it shows what a create costs when it must wait for a cage.

Reference: ``bwrap … true`` spawned directly with the namespace flags the
platform's isolation probe uses — the floor of any bubblewrap cage on this
machine. The targets are absolute, though: p50 ≤ 50 ms and p99 ≤ 150 ms,
against E2B (~440 ms) and Daytona (~110 ms) to first command in the public
ComputeSDK runs; the ratio shows how the cage compares with a bare bwrap.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time

from benchmarks._common import (
    CONTEXT,
    Context,
    Row,
    ainterleave,
    at_most,
    median,
    percentile,
    timed,
)
from caged_core.client import AsyncCaged
from caged_core.models import SandboxStatus

_POLL = 0.005
#: Untimed pause before each timed create (see the module docstring).
PAUSE = 0.3


def _bwrap() -> None:
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise RuntimeError("bwrap is not installed: no reference for platform_create")
    subprocess.run(
        [
            bwrap,
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-net",
            "--cap-drop",
            "ALL",
            "--ro-bind",
            "/",
            "/",
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--",
            "true",
        ],
        check=True,
    )


async def _create(caged: AsyncCaged, created: list[str]) -> float:
    """Seconds from the create request to the sandbox seen ``running``."""
    started = time.perf_counter()
    sandbox = await caged.sandboxes.create("minimal", wait=False)
    created.append(sandbox.id)
    while sandbox.status == SandboxStatus.PENDING:
        await asyncio.sleep(_POLL)
        sandbox = await caged.sandboxes.get(sandbox.id)
    elapsed = time.perf_counter() - started
    if sandbox.status != SandboxStatus.RUNNING:
        raise RuntimeError(f"sandbox {sandbox.id} ended {sandbox.status}")
    return elapsed


async def _measure(
    context: Context, rounds: int, burst: int
) -> tuple[list[float], list[float], list[float]]:
    created: list[str] = []
    async with context.platform.client() as caged:

        async def ours() -> float:
            # Untimed: the previous sandbox goes (the platform holds a limited number), then
            # the pause.
            while created:
                await caged.sandboxes.destroy(created.pop())
            await asyncio.sleep(PAUSE)
            return await _create(caged, created)

        async def reference() -> float:
            return timed(_bwrap)

        try:
            await _create(caged, created)  # untimed: the template's first create since start
            ours_s, ref_s = await ainterleave(ours, reference, rounds)
            while created:
                await caged.sandboxes.destroy(created.pop())
            await asyncio.sleep(PAUSE)
            burst_s = [await _create(caged, created) for _ in range(burst)]
        finally:
            for sandbox_id in created:
                await caged.sandboxes.destroy(sandbox_id)
    return ours_s, ref_s, burst_s


def run(context: Context) -> list[Row]:
    """Create → running latency vs a bare bubblewrap spawn."""
    rounds = context.pick(5, 20)
    burst = context.pick(4, 8)
    ours, ref, burst_s = asyncio.run(_measure(context, rounds, burst))
    return [
        Row(
            "platform_create",
            f"create → running p50 ({rounds} runs)",
            "ms",
            median(ours) * 1e3,
            median(ref) * 1e3,
            at_most(50, "p50 ≤ 50 ms"),
            judged="ours",
            samples={"ours_s": ours, "reference_s": ref},
        ),
        Row(
            "platform_create",
            "create → running p99",
            "ms",
            percentile(ours, 99) * 1e3,
            percentile(ref, 99) * 1e3,
            at_most(150, "p99 ≤ 150 ms"),
            judged="ours",
        ),
        Row(
            "platform_create",
            f"creates back to back, p50 ({burst} runs)",
            "ms",
            median(burst_s) * 1e3,
            median(ref) * 1e3,
            CONTEXT,
            judged="ours",
            samples={"ours_s": burst_s},
        ),
    ]
